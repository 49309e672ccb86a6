"""Gzip over the wire: text responses shrink when the browser asks, binaries and small bodies don't."""

from __future__ import annotations

import gzip

import pytest
from flask import Response, request

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


@pytest.fixture
def blob_app(app):
    """The app with a test route answering `size` bytes of any mimetype (before any request)."""

    @app.get("/_test/blob/<int:size>")
    def _blob(size):
        body = (b"%PDF-1.7 binary-ish payload " * (size // 28 + 1))[:size]
        return Response(body, mimetype=request.args["type"])

    @app.get("/_test/stream")
    def _stream():
        return Response((b"x" * 1000 for _ in range(3)), mimetype="text/html")

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


def test_not_gzipped_without_accept_encoding(login_as):
    client = login_as("canbo.07210.1")
    response = client.get("/worklist")
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).startswith("<!doctype html>")
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    # A cache must still keep the plain and the gzipped answers apart.
    assert {"accept-encoding", "hx-request"} <= _vary(response)


@pytest.mark.parametrize("header", ["identity", "gzip;q=0", "gzip;q=0, *", "br"])
def test_refused_gzip_is_not_sent(client, header):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_wildcard_accepts_gzip(client):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": "*"})
    assert response.headers.get("Content-Encoding") == "gzip"


@pytest.mark.parametrize(("path", "mimetype"), STATIC_TEXT)
def test_static_css_and_js_are_gzipped_byte_for_byte(client, path, mimetype):
    plain = client.get(path)
    original = plain.get_data()
    plain.close()
    response = client.get(path, headers=GZIP)
    assert mimetype in response.mimetype
    assert _assert_gzipped(response) == original
    assert len(response.get_data()) < len(original)
    assert "Accept-Ranges" not in response.headers
    etag, weak = response.get_etag()
    assert etag and weak, "the gzipped body must not carry the file's strong ETag"


def test_static_revalidation_with_the_weak_etag_is_304(client):
    first = client.get("/static/css/app.css", headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = client.get("/static/css/app.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert "accept-encoding" in _vary(again)


def test_json_manifest_and_service_worker_are_gzipped(client):
    for path in ("/manifest.webmanifest", "/sw.js"):
        plain = client.get(path).get_data()
        response = client.get(path, headers=GZIP)
        if len(plain) >= MIN_SIZE:
            assert _assert_gzipped(response) == plain, path
        else:
            assert "Content-Encoding" not in response.headers, path


def test_small_bodies_are_left_alone(client):
    response = client.get("/static/icons/favicon.svg", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert len(response.get_data()) < MIN_SIZE
    assert "Content-Encoding" not in response.headers
    assert "accept-encoding" in _vary(response)


def test_small_dynamic_body_is_left_alone(blob_app):
    client = blob_app.test_client()
    response = client.get(f"/_test/blob/{MIN_SIZE - 1}?type=application/json", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert len(response.get_data()) == MIN_SIZE - 1


@pytest.mark.parametrize("mimetype", BINARY_MIMETYPES)
def test_binary_downloads_are_left_alone(blob_app, mimetype):
    client = blob_app.test_client()
    response = client.get(f"/_test/blob/5000?type={mimetype}", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == mimetype
    assert "Content-Encoding" not in response.headers
    assert len(response.get_data()) == 5000


def test_png_icon_is_left_alone(client):
    response = client.get("/static/icons/icon-512.png", headers=GZIP)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers


def test_streamed_response_is_left_alone(blob_app):
    client = blob_app.test_client()
    response = client.get("/_test/stream", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == b"x" * 3000


def test_error_pages_are_not_gzipped(login_as):
    response = login_as("admin").get("/khong-co-trang-nay", headers=GZIP)
    assert response.status_code == 404
    assert "Content-Encoding" not in response.headers
