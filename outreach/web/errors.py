"""Vietnamese error pages for 400, 403, 404, 405, 413, 429, 500 and 503 (JSON answers under /api/)."""

from contextlib import suppress
from types import ModuleType

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from outreach.core.spool import is_locked
from outreach.db import get_session

BUSY_RETRY_SECONDS = 30


def _too_many_requests(api: ModuleType, _error: RateLimitExceeded):
    """429 from the login throttle: a page, a short text for htmx, JSON for scripts.

    Flask-Limiter adds Retry-After (seconds) to whichever answer this returns.
    """
    message = _(
        "Bạn đã thử đăng nhập quá nhiều lần từ máy này. Hãy đợi một lúc rồi thử lại; "
        "nếu quên mật khẩu, hãy liên hệ quản trị viên."
    )
    if api.is_api_request() or request.accept_mimetypes.best == "application/json":
        return jsonify(error=message, code="too_many_requests"), 429
    if request.headers.get("HX-Request"):
        return message, 429, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("errors/too_many.html", message=message), 429


def register(app: Flask, *, api: ModuleType) -> None:
    """Render errors as pages in the base layout (or a short fragment for htmx, or JSON for the API).

    `api` is the JSON API's module (visits.api: `is_api_request`, `json_error`, `csrf_error`),
    handed in by create_app so that web/ imports no feature.
    """

    def render(code: int):
        if api.is_api_request():
            return api.json_error(code)
        template = (
            "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
        )
        return render_template(template, code=code), code

    def server_error(_error):
        # Undo whatever the request's session was doing first: after a failed flush it refuses
        # every query (PendingRollbackError), and the page itself loads the user, so the 500
        # page would fail too, and go out bare, without its headers (issue 19 #5).
        with suppress(Exception):  # the connection is gone: still show the page
            get_session().rollback()
        return render(500)

    def database_error(error: OperationalError):
        if not is_locked(error):
            return server_error(error)
        # An import holds SQLite's only write lock (core/spool.py): nothing of this request was
        # written; the phone keeps its visits in the outbox, a form can be sent again.
        with suppress(Exception):
            get_session().rollback()
        headers = {"Retry-After": str(BUSY_RETRY_SECONDS)}
        if api.is_api_request():
            message = _(
                "Máy chủ đang ghi một danh sách lớn. Các lượt thăm vẫn được giữ trên máy và "
                "sẽ được gửi lại sau ít phút."
            )
            response = api.json_error(503, code="busy", message=message)
            response.headers.update(headers)
            return response
        page, code = render(503)
        return page, code, headers

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, lambda _e, code=code: render(code))
    app.register_error_handler(500, server_error)
    app.register_error_handler(OperationalError, database_error)
    app.register_error_handler(
        CSRFError, lambda _e: api.csrf_error() if api.is_api_request() else render(400)
    )
    app.register_error_handler(RateLimitExceeded, lambda e: _too_many_requests(api, e))
