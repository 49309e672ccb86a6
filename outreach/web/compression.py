"""Gzip for text responses, by Flask-Compress: gunicorn serves the app with no proxy in front.

brief §10 wants the pages light over a weak signal; gzip cuts the worklist's HTML, app.css and
htmx to about a third (docs/decisions.md, "Gzip: Flask-Compress"). Why the settings are so:

- gzip only: every phone browser accepts it, and one encoding means one cached variant per URL
  (tests/browser/test_page_weight.py requires gzip on the wire).
- Text types only: PDFs, spreadsheets and PNGs are compressed already and pass untouched.
- Level 6 (zlib's default): nearly all of level 9's saving for a fraction of its CPU. Bodies under
  500 bytes stay as they are: the gzip header and a round of CPU cost more than they save.
- Static files come from send_file as a stream, so streams are compressed (on the fly, never
  buffered by the library). For the static endpoint the library then evaluates If-None-Match,
  which reads the gzipped file into memory to give it a Content-Length: our files are a few KB.
- ETags: a gzipped body gets the file's tag plus ":gzip" (the library's way; the old module made
  it weak), so it never carries the strong tag of other bytes, and revalidating with it gives 304.

The hook wraps the library's for three things it gets wrong: it reads "gzip;q=0" as acceptable
(RFC 9110 §12.5.3: refused), it would gzip a 206 whose Content-Range counts the plain file's
bytes, and it leaves Accept-Ranges on a gzipped body, whose bytes no range would address.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

MIN_SIZE = 500
SETTINGS = {
    "COMPRESS_ALGORITHM": ["gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["gzip"],
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    ],
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": MIN_SIZE,
    "COMPRESS_STREAMS": True,
}


def _refuses_gzip() -> bool:
    """Whether Accept-Encoding names gzip with q=0, which Flask-Compress takes for a yes."""
    return any(
        coding.lower() in ("gzip", "x-gzip") and quality == 0
        for coding, quality in request.accept_encodings
    )


def init_app(app: Flask) -> None:
    """Configure Flask-Compress and hook it in after every other after_request hook."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.config["COMPRESS_REGISTER"] = False  # registered below, in its place
    compress = Compress(app)
    app.extensions["compress"] = compress

    def compress_response(response: Response) -> Response:
        if response.status_code == 206 or _refuses_gzip():
            response.vary.add("Accept-Encoding")
            return response
        response = compress.after_request(response)
        if response.headers.get("Content-Encoding") == "gzip":
            response.headers.pop("Accept-Ranges", None)
        return response

    # Flask runs app-level after_request hooks in reverse order of registration. Putting this one
    # first in the list makes it run last, whenever it is registered: it compresses the final
    # body, and merges Accept-Encoding into the one Vary line web/extensions.py adds for htmx.
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)
