"""Gzip over the wire: text responses shrink when the browser asks, binaries and small bodies don't.

Everything goes through the real app, so these pin what outreach/web/compression.py configures
Flask-Compress to do, and the three things its hook corrects (q=0, byte ranges, Accept-Ranges).
"""

from __future__ import annotations

import gzip
import io

import pytest
from flask import Response, request, send_file

from outreach.web.compression import MIN_SIZE

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
STATIC_TEXT = [
    ("/static/css/app.css", "text/css"),
    ("/static/js/app.js", "javascript"),
    ("/static/vendor/htmx-2.0.11.min.js", "javascript"),
]
BINARY_MIMETYPES = [
    "application/pdf",
    "image/png",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
]


def _vary(response) -> set[str]:
    """Every Vary value, over however many Vary header lines the response has."""
    return {
        value.strip().lower()
        for line in response.headers.getlist("Vary")
        for value in line.split(",")
        if value.strip()
    }


def _assert_gzipped(response) -> bytes:
    """Check the gzip headers and return the decompressed body."""
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    raw = response.get_data()
    assert int(response.headers["Content-Length"]) == len(raw)
    assert "accept-encoding" in _vary(response)
    return gzip.decompress(raw)


def _blob(size: int) -> bytes:
    return (b"%PDF-1.7 binary-ish payload " * (size // 28 + 1))[:size]


@pytest.fixture
def blob_app(app):
    """The app with test routes answering bytes of any mimetype (added before any request)."""

    @app.get("/_test/blob/<int:size>")
    def _blob_route(size):
        return Response(_blob(size), mimetype=request.args["type"])

    @app.get("/_test/file/<int:size>")
    def _file_route(size):
        # How the summaries and rankings could hand out a file: send_file, direct passthrough.
        return send_file(
            io.BytesIO(_blob(size)), mimetype=request.args["type"], download_name="bao-cao"
        )

    @app.get("/_test/stream")
    def _stream():
        def chunks():
            for n in range(3):
                app.config["_TEST_CHUNKS_READ"] = n + 1
                yield b"<p>%d</p>" % n + b"x" * 1000

        app.config["_TEST_CHUNKS_READ"] = 0
        return Response(chunks(), mimetype="text/html")

    return app


def test_html_page_is_gzipped_when_asked(login_as):
    client = login_as("canbo.07210.1")
    response = client.get("/worklist", headers=GZIP)
    html = _assert_gzipped(response).decode("utf-8")
    assert html.startswith("<!doctype html>") and "hộ cần thăm" in html
    assert len(response.get_data()) < len(html.encode()) / 2
    # The app's own Vary (htmx fragments vs pages) is kept, on the same single line.
    assert "hx-request" in _vary(response)
    assert len(response.headers.getlist("Vary")) == 1
    assert (
        "HX-Request" in response.headers["Vary"] and "Accept-Encoding" in response.headers["Vary"]
    )


def test_htmx_fragment_is_gzipped_too(login_as):
    client = login_as("canbo.07210.1")
    plain = client.get("/worklist", headers={"HX-Request": "true"}).get_data()
    response = client.get("/worklist", headers={**GZIP, "HX-Request": "true"})
    assert _assert_gzipped(response) == plain
    assert not plain.startswith(b"<!doctype html>")


def test_not_gzipped_without_accept_encoding(login_as):
    client = login_as("canbo.07210.1")
    response = client.get("/worklist")
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).startswith("<!doctype html>")
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    # A cache must still keep the plain and the gzipped answers apart.
    assert {"accept-encoding", "hx-request"} <= _vary(response)


@pytest.mark.parametrize(
    "header", ["identity", "gzip;q=0", "gzip;q=0, *", "GZIP;Q=0", "x-gzip;q=0, *", "br", ""]
)
def test_refused_gzip_is_not_sent(client, header):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" in _vary(response)


@pytest.mark.parametrize("header", ["*", "gzip", "deflate, gzip;q=0.5", "identity;q=0.1, gzip"])
def test_gzip_accepted_any_way_is_sent(client, header):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": header})
    assert response.headers.get("Content-Encoding") == "gzip"


@pytest.mark.parametrize(("path", "mimetype"), STATIC_TEXT)
def test_static_css_and_js_are_gzipped_byte_for_byte(client, path, mimetype):
    plain = client.get(path)
    original = plain.get_data()
    plain_etag = plain.get_etag()
    plain.close()
    response = client.get(path, headers=GZIP)
    assert mimetype in response.mimetype
    assert _assert_gzipped(response) == original
    assert len(response.get_data()) < len(original)
    # Byte ranges of the file would not address the gzipped body.
    assert "Accept-Ranges" not in response.headers
    assert plain.headers["Accept-Ranges"] == "bytes"
    etag = response.get_etag()
    assert etag[0] and plain_etag[0]
    assert etag != plain_etag, "the gzipped body must not carry the file's strong ETag"


def test_static_revalidation_with_the_gzip_etag_is_304(client):
    first = client.get("/static/css/app.css", headers=GZIP)
    etag = first.headers["ETag"]
    again = client.get("/static/css/app.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "accept-encoding" in _vary(again)


def test_static_revalidation_without_gzip_is_304_on_the_plain_etag(client):
    plain_etag = client.get("/static/css/app.css").headers["ETag"]
    again = client.get("/static/css/app.css", headers={"If-None-Match": plain_etag})
    assert again.status_code == 304 and again.headers["ETag"] == plain_etag
    assert "Content-Encoding" not in again.headers
    assert "accept-encoding" in _vary(again)


def test_a_byte_range_is_never_gzipped(client):
    original = client.get("/static/css/app.css").get_data()
    response = client.get("/static/css/app.css", headers={**GZIP, "Range": "bytes=0-4999"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Range"] == f"bytes 0-4999/{len(original)}"
    assert response.get_data() == original[:5000]
    assert "accept-encoding" in _vary(response)


def test_json_manifest_and_service_worker_are_gzipped(client):
    for path in ("/manifest.webmanifest", "/sw.js"):
        plain = client.get(path)
        body = plain.get_data()
        response = client.get(path, headers=GZIP)
        if len(body) >= MIN_SIZE:
            assert _assert_gzipped(response) == body, path
        else:
            assert "Content-Encoding" not in response.headers, path
        # The service worker's own headers survive.
        for name in ("Cache-Control", "Service-Worker-Allowed"):
            assert response.headers.get(name) == plain.headers.get(name), (path, name)


def test_small_bodies_are_left_alone(client):
    response = client.get("/static/icons/favicon.svg", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert len(response.get_data()) < MIN_SIZE
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" in _vary(response)


def test_small_dynamic_body_is_left_alone_and_one_at_the_minimum_is_gzipped(blob_app):
    client = blob_app.test_client()
    response = client.get(f"/_test/blob/{MIN_SIZE - 1}?type=application/json", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert len(response.get_data()) == MIN_SIZE - 1
    response = client.get(f"/_test/blob/{MIN_SIZE}?type=application/json", headers=GZIP)
    assert _assert_gzipped(response) == _blob(MIN_SIZE)


@pytest.mark.parametrize("route", ["blob", "file"])
@pytest.mark.parametrize("mimetype", BINARY_MIMETYPES)
def test_binary_downloads_are_left_alone(blob_app, route, mimetype):
    client = blob_app.test_client()
    response = client.get(f"/_test/{route}/5000?type={mimetype}", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == mimetype
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == _blob(5000)
    assert int(response.headers["Content-Length"]) == 5000


def test_text_sent_as_a_file_from_a_view_is_gzipped(blob_app):
    client = blob_app.test_client()
    response = client.get("/_test/file/5000?type=text/html", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data()) == _blob(5000)


def test_png_icon_is_left_alone(client):
    response = client.get("/static/icons/icon-512.png", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers


def test_streamed_response_is_gzipped_as_it_streams(blob_app):
    client = blob_app.test_client()
    response = client.get("/_test/stream", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in response.headers  # not known before the last chunk
    # The test client reads the app's first piece to start the response: gzip's header, for which
    # the compressor takes the first chunk. Buffering the stream would have read all three.
    assert blob_app.config["_TEST_CHUNKS_READ"] < 3, "the stream was read before it was sent"
    body = gzip.decompress(response.get_data())
    assert body == b"".join(b"<p>%d</p>" % n + b"x" * 1000 for n in range(3))
    assert blob_app.config["_TEST_CHUNKS_READ"] == 3


def test_error_pages_are_not_gzipped(login_as):
    response = login_as("admin").get("/khong-co-trang-nay", headers=GZIP)
    assert response.status_code == 404
    assert "Content-Encoding" not in response.headers
