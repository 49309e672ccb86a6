"""Gzip for text responses: gunicorn serves the app with no proxy in front, so the app compresses.

DESIGN §10 wants the pages light over a weak signal; HTML, CSS, JS and JSON shrink four- to
six-fold with gzip, while PDFs, spreadsheets and PNGs are compressed already and are left alone.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    }
)
LEVEL = 6  # zlib's default: nearly all of level 9's saving for a fraction of its CPU
MIN_SIZE = 500  # below this the gzip header and a round of CPU cost more than they save
# A file served by send_file is read into memory to compress it; our static files are a few KB,
# and this bound keeps a large file from ever being buffered whole.
MAX_FILE_SIZE = 1024 * 1024


def accepts_gzip() -> bool:
    """Whether the request's Accept-Encoding allows gzip (q > 0, directly or through `*`)."""
    qualities = {item.lower(): quality for item, quality in request.accept_encodings}
    # An explicit "gzip;q=0" refuses gzip even when "*" would allow it (RFC 9110 §12.5.3).
    quality = qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0)))
    return quality > 0


def _add_vary(response: Response) -> None:
    """Add Accept-Encoding to Vary, keeping the values already there (HX-Request, for one)."""
    values = [
        value.strip()
        for line in response.headers.getlist("Vary")
        for value in line.split(",")
        if value.strip()
    ]
    lowered = {value.lower() for value in values}
    if "accept-encoding" in lowered or "*" in lowered:
        return
    # One Vary line with every value: some clients read only the first of several lines.
    response.headers["Vary"] = ", ".join([*dict.fromkeys(values), "Accept-Encoding"])


def _weaken_etag(response: Response) -> None:
    """Turn a strong ETag weak: the gzipped bytes differ from the file the tag was computed on."""
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)


def _body_to_buffer(response: Response) -> bool:
    """Make the body a byte sequence we may rewrite; False when it must pass through as it is.

    send_file (static files) answers with direct_passthrough and a file iterator of known length:
    that is read into memory. Any other stream (a generator) is left alone, since buffering it
    would defeat the point of streaming.
    """
    if response.direct_passthrough:
        length = response.content_length
        if length is None or length > MAX_FILE_SIZE:
            return False
        response.direct_passthrough = False
        response.make_sequence()  # reads the file and closes it when the response closes
        return True
    return not response.is_streamed


def compress_response(response: Response) -> Response:
    """Gzip a 200 text response for a client that accepts it; mark every text response Vary."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    if response.status_code == 304:
        # The 304 stands for the 200 the client holds, which carried these headers.
        _add_vary(response)
        if accepts_gzip():
            _weaken_etag(response)
        return response
    if response.status_code != 200:
        return response
    _add_vary(response)
    if (
        not accepts_gzip()
        or "Content-Encoding" in response.headers
        or "no-transform" in response.headers.get("Cache-Control", "")
        or (response.content_length is not None and response.content_length < MIN_SIZE)
        or not _body_to_buffer(response)
    ):
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    # mtime=0 keeps the output identical for identical input (stable sizes, cache-friendly).
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.get_data()))
    # Byte ranges of the file would not address the gzipped body.
    response.headers.pop("Accept-Ranges", None)
    _weaken_etag(response)
    return response


def init_app(app: Flask) -> None:
    """Register the gzip hook so that it runs after every other after_request hook."""
    # Flask runs app-level after_request hooks in reverse order of registration. Putting this one
    # first in the list makes it run last, whenever it is registered: it compresses the final
    # body, and sees the final headers (the Vary that web/extensions.py adds for htmx).
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)
