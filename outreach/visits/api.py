"""The JSON API the offline outbox talks to: visit sync, and its OpenAPI description.

Answers are always JSON, never an HTML page or a redirect to the login form: the browser's outbox
code reads them to decide whether to keep a visit, drop it, or ask the user to log in again.
"""

from __future__ import annotations

from functools import wraps
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user

from outreach.db import get_session
from outreach.models.codes import Role
from outreach.visits.sync import MAX_BATCH, counts, scope_token, sync_visits
from outreach.web.extensions import csrf
from outreach.web.guards import current_scope
from outreach.web.guards import today as request_today

bp = Blueprint("api", __name__, url_prefix="/api")

# A batch of 200 visits with full notes is under 2 MB; the app-wide limit is sized for imports.
MAX_BODY = 4 * 1024 * 1024

LOGIN_REQUIRED = (
    "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại; các lượt thăm chưa gửi vẫn được giữ trên máy."
)
CSRF_FAILED = (
    "Mã bảo mật của trang đã hết hạn. Hãy tải lại trang rồi gửi lại; "
    "các lượt thăm chưa gửi vẫn được giữ trên máy."
)
# Generic answers for the HTTP errors an /api/ request can meet (see errors.register).
ERRORS = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("login_required", LOGIN_REQUIRED),
    403: ("forbidden", "Bạn không có quyền thực hiện thao tác này."),
    404: ("not_found", "Không tìm thấy địa chỉ này."),
    405: ("method_not_allowed", "Thao tác không được hỗ trợ."),
    413: ("too_large", "Dữ liệu gửi lên quá lớn."),
    500: (
        "server_error",
        "Hệ thống gặp sự cố. Các lượt thăm chưa gửi vẫn được giữ trên máy và sẽ được gửi lại sau.",
    ),
}

# The CSRF token is still required on every POST here: `_login_then_csrf` checks it after the
# login check, where the app-wide hook would check it before.
csrf.exempt(bp)


def is_api_request() -> bool:
    """True when the request is for the JSON API (its errors are JSON too)."""
    return request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/")


def json_error(status: int, *, code: str | None = None, message: str | None = None) -> Response:
    """A JSON error: {"error": Vietnamese message, "code": machine-readable reason}."""
    default_code, default_message = ERRORS.get(status, ERRORS[500])
    response = jsonify(error=message or default_message, code=code or default_code)
    response.status_code = status
    return response


def csrf_error() -> Response:
    """The JSON answer to a missing or stale CSRF token (the page must be reloaded for a new one)."""
    return json_error(400, code="csrf", message=CSRF_FAILED)


@bp.before_request
def _login_then_csrf():
    # Login first: a session that expired also loses its CSRF token, and "log in again" is the
    # answer the phone can act on, not "bad token". CSRFError raised here is turned into JSON
    # by the handler in errors.py.
    if request.method not in current_app.config["WTF_CSRF_METHODS"]:
        return None
    if not current_user.is_authenticated:
        return json_error(401)
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def api_roles_required(*roles: str):
    """Let only logged-in users with one of these roles through, answering 401/403 in JSON."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return json_error(401)
            if current_user.role not in roles:
                return json_error(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def scope_token_for(household_id: int) -> str:
    """The scope token the household page and visit form embed for the logged-in canvasser."""
    return scope_token(
        secret=current_app.config["SECRET_KEY"],
        canvasser_id=current_user.id,
        household_id=household_id,
    )


def _read_batch() -> list | Response:
    """The `visits` list of the request body, or the 400/413 answer explaining what is wrong."""
    # Browsers always send a Content-Length with fetch(); a chunked body falls back to the app-wide
    # limit (the CSRF check has already opened the stream by now).
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413)
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly nested JSON
        body = None
    if not isinstance(body, dict):
        return json_error(
            400,
            code="bad_json",
            message='Dữ liệu gửi lên phải là JSON dạng {"visits": [...]}.',
        )
    visits = body.get("visits")
    if not isinstance(visits, list):
        return json_error(
            400, code="bad_json", message="Trường visits phải là một danh sách lượt thăm."
        )
    if len(visits) > MAX_BATCH:
        return json_error(
            400,
            code="too_many",
            message=f"Mỗi lần gửi tối đa {MAX_BATCH} lượt thăm; hãy chia nhỏ rồi gửi lại.",
        )
    return visits


@bp.post("/visits/sync")
@api_roles_required(Role.CANVASSER)
def sync():
    """Store a batch of visits recorded offline; one result per item, in the order sent."""
    visits = _read_batch()
    if isinstance(visits, Response):
        return visits
    results = sync_visits(
        get_session(),
        canvasser=current_user._get_current_object(),
        scope=current_scope(),
        items=visits,
        today=request_today(),
        secret=current_app.config["SECRET_KEY"],
    )
    return jsonify(results=[r.as_json() for r in results], **counts(results))


@bp.get("/openapi.json")
def openapi():
    """The hand-written OpenAPI 3.1 description of this API (public: it holds no data)."""
    document = resources.files("outreach").joinpath("api_openapi.json").read_bytes()
    return Response(document, mimetype="application/json")
