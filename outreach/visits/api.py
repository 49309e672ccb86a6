"""The JSON API the offline outbox talks to: visit sync, and its OpenAPI description.

Answers are always JSON, never an HTML page or a redirect to the login form: the browser's outbox
code reads them to decide whether to keep a visit, drop it, or ask the user to log in again.
The OpenAPI document is built here from the routes' description (`openapi_document`) and the JSON
Schemas of the contract's models (`contract.component_schemas`), the ones that check the requests
and build the answers.
"""

from __future__ import annotations

import json
from functools import cache, wraps

from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from outreach.core.i18n import _
from outreach.db import get_session
from outreach.models.codes import Role
from outreach.tallies.service import OFFLINE_WINDOW_DAYS
from outreach.visits.contract import (
    MAX_BATCH,
    REF,
    ApiError,
    ItemResult,
    ItemStatus,
    SyncRequest,
    SyncResponse,
    component_schemas,
)
from outreach.visits.sync import SCOPE_TOKEN_MAX_AGE_DAYS, counts, scope_token, sync_visits
from outreach.web.extensions import csrf
from outreach.web.guards import current_scope
from outreach.web.guards import today as request_today

bp = Blueprint("api", __name__, url_prefix="/api")

# A batch of 200 visits with full notes is under 2 MB; the app-wide limit is sized for imports.
# Enforced on every /api/ request before anything reads its body, chunked or not (issue 19 #3).
MAX_BODY = 4 * 1024 * 1024
_READ_PIECE = 64 * 1024

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
    503: (
        "busy",
        "Máy chủ đang ghi một danh sách lớn. Các lượt thăm vẫn được giữ trên máy và sẽ được gửi "
        "lại sau ít phút.",
    ),
    500: (
        "server_error",
        "Hệ thống gặp sự cố. Các lượt thăm chưa gửi vẫn được giữ trên máy và sẽ được gửi lại sau.",
    ),
}

# The CSRF token is still required on every POST here: `_login_then_csrf` checks it after the
# login check, where the app-wide hook would check it before.
csrf.exempt(bp)


def password_change_message() -> str:
    """Why a user whose password must be changed gets 403 here (the phone shows it)."""
    return _(
        "Bạn cần đổi mật khẩu trước khi gửi lượt thăm. Hãy mở trang Đổi mật khẩu rồi gửi lại; "
        "các lượt thăm chưa gửi vẫn được giữ trên máy."
    )


def is_api_request() -> bool:
    """True when the request is for the JSON API (its errors are JSON too)."""
    return request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/")


def json_error(status: int, *, code: str | None = None, message: str | None = None) -> Response:
    """A JSON error: {"error": Vietnamese message, "code": machine-readable reason}."""
    default_code, default_message = ERRORS.get(status, ERRORS[500])
    body = ApiError(error=message or default_message, code=code or default_code)
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = status
    return response


def csrf_error() -> Response:
    """The JSON answer to a missing or stale CSRF token (the page must be reloaded for a new one)."""
    return json_error(400, code="csrf", message=CSRF_FAILED)


@bp.url_value_preprocessor
def _limit_body(_endpoint, _values) -> None:
    # Flask runs these before every before_request hook, the app's included (some read a form,
    # which opens the body): the stream any of them opens is bounded by this limit, not the
    # app-wide one sized for imports. A body sent chunked, without a Content-Length, then fails
    # with 413 once it passes the limit, instead of being read whole.
    request.max_content_length = MAX_BODY


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
            if current_user.must_change_password:
                # Not the redirect to the password form the pages get (accounts/views.py lets
                # /api/ through): the phone would read it as "no signal" and never say why.
                return json_error(
                    403, code="password_change_required", message=password_change_message()
                )
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


def _read_body() -> bytes | None:
    """The request's body, or None when it is larger than MAX_BODY.

    Read piece by piece, at most MAX_BODY + 1 bytes whatever the headers say: a body sent
    chunked (no Content-Length) is never held whole, even if a stream was opened before
    `_limit_body` set the route's limit.
    """
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    pieces, size = [], 0
    try:
        stream = request.stream
        while size <= MAX_BODY:
            piece = stream.read(min(_READ_PIECE, MAX_BODY + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
    except RequestEntityTooLarge:  # the stream's own limit (`_limit_body`)
        return None
    return b"".join(pieces) if size <= MAX_BODY else None


def _read_batch() -> list | Response:
    """The `visits` list of the request body, or the 400/413 answer explaining what is wrong."""
    raw = _read_body()
    if raw is None:
        return json_error(413)
    body = None
    if request.is_json:
        try:
            body = current_app.json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or absurdly nested
            body = None
    try:
        # The items themselves are checked one by one (sync.parse_item), not here.
        return SyncRequest.model_validate(body).visits
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
    if problem["loc"] == ():
        return json_error(
            400,
            code="bad_json",
            message='Dữ liệu gửi lên phải là JSON dạng {"visits": [...]}.',
        )
    if problem["type"] == "too_long":
        return json_error(
            400,
            code="too_many",
            message=f"Mỗi lần gửi tối đa {MAX_BATCH} lượt thăm; hãy chia nhỏ rồi gửi lại.",
        )
    return json_error(
        400, code="bad_json", message="Trường visits phải là một danh sách lượt thăm."
    )


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
        offline_window_days=current_app.config.get("OFFLINE_WINDOW_DAYS", OFFLINE_WINDOW_DAYS),
    )
    answer = SyncResponse(results=results, **counts(results))
    return jsonify(answer.model_dump(mode="json"))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    document = json.dumps(openapi_document(), ensure_ascii=False, indent=2)
    return Response(document, mimetype="application/json")


# --- the OpenAPI document -------------------------------------------------------------------------

API_DESCRIPTION = """\
The browser keeps visits recorded offline in an outbox (IndexedDB) and sends them in batches when \
the signal returns. Each visit carries a UUID made on the phone, so a batch can be sent again \
after a lost answer without storing anything twice.

Authentication is the web app's own cookie session (log in through /login); every POST also needs \
the page's CSRF token in the `X-CSRFToken` header. Answers are always JSON, never an HTML page or \
a redirect. Messages (`error`, `errors`) are in Vietnamese, for the user; `code` and `status` are \
for the program.

What the outbox should do with each answer:
- 200, item `stored` or `duplicate`: the visit is on the server; remove it from the outbox.
- 200, item `rejected`: not stored; keep it and show `errors` so the user can correct or discard \
it. Sending it again unchanged gives the same answer.
- 200, item `conflict`: not stored, because its `client_uuid` is already on the server with other \
content; keep it (never drop it as if it were stored) and show `errors` for a leader to settle.
- 401 (`login_required`): keep the outbox, ask the user to log in, then send again.
- 403 `password_change_required`: keep the outbox, show `error` (the password must be changed \
first, on /account/password), then send again.
- 400 `csrf`: keep the outbox, get a fresh token (reload a page), then send again.
- 400 `bad_json` / `too_many`, 413: the request itself is wrong (split batches to at most \
{max_batch} visits).
- 500 or no answer: keep everything and send the same batch later; items already stored then come \
back as `duplicate`."""

SYNC_DESCRIPTION = """\
Canvassers only. Each item is handled on its own, in order, and committed on its own: a rejected \
item does not stop the others, and the answer has one result per item in the order sent. \
Idempotent by `client_uuid`: an item whose UUID was already stored with the same content \
(household, channel, time, outcomes, note, position) is a `duplicate` (nothing new is stored); \
the same UUID with other content, or another canvasser's, is a `conflict`, never stored. A visit \
made longer ago than the offline window ({window_days} days unless configured), or in a half-month \
whose bulletin is already published, is stored but counts on the day it arrived, flagged late for \
the leader: a published period never changes. Visits are append-only, so two canvassers visiting \
the same household (with their own UUIDs) both count.

Scope: the household must be in the canvasser's scope. If it has left the scope since the page \
was served, the visit is still stored, with `out_of_scope: true` for the leader to review, when \
the item carries the `scope_token` the household page gave for this canvasser and household \
(valid {token_days} days). Without a valid token such a visit is rejected with `errors.household`."""

SYNC_REQUEST_EXAMPLE = {
    "visits": [
        {
            "client_uuid": "0b7e6c1a-3f7d-4a8e-9f1e-2c4d5b6a7e80",
            "household_id": 1234,
            "channel": "home",
            "visited_at": "2026-11-22T09:30:00+07:00",
            "outcomes": [
                {
                    "person_id": 5678,
                    "outcome": "promised",
                    "follow_up_on": "2026-11-30",
                    "amount": 792000,
                },
                {"person_id": 5679, "outcome": "refused", "refusal_reason": "no_money"},
            ],
            "note": "Hẹn cuối tháng đóng 3 tháng.",
            "latitude": 21.2731,
            "longitude": 106.1946,
            "accuracy_m": 15,
            "scope_token": "WzEyLDEyMzRd.Z0BkAA.abc…",
        }
    ]
}


def _json(schema: str, example: dict) -> dict:
    return {"application/json": {"schema": {"$ref": REF + schema}, "example": example}}


def _error_answer(
    status: int, description: str, *, code: str | None = None, message: str | None = None
) -> dict:
    default_code, default_message = ERRORS[status]
    example = ApiError(error=message or default_message, code=code or default_code)
    return {
        "description": description,
        "content": _json("ApiError", example.model_dump(mode="json")),
    }


def _sync_answer_example() -> dict:
    results = [
        ItemResult(
            client_uuid="0b7e6c1a-3f7d-4a8e-9f1e-2c4d5b6a7e80",
            status=ItemStatus.STORED,
            visit_id=2000123,
        ),
        ItemResult(
            client_uuid="5d2f0c9e-1b7a-4c3d-8e6f-7a9b0c1d2e3f",
            status=ItemStatus.REJECTED,
            errors={"outcomes[0].follow_up_on": "Ngày phải theo dạng YYYY-MM-DD."},
        ),
    ]
    return SyncResponse(results=results, **counts(results)).model_dump(mode="json")


@cache
def openapi_document() -> dict:
    """The OpenAPI 3.1 document: the routes described here, the schemas from the contract."""
    session_and_csrf = [{"sessionCookie": [], "csrfToken": []}]
    sync = {
        "operationId": "syncVisits",
        "summary": "Store a batch of visits recorded offline",
        "description": SYNC_DESCRIPTION.format(
            token_days=SCOPE_TOKEN_MAX_AGE_DAYS, window_days=OFFLINE_WINDOW_DAYS
        ),
        "tags": ["visits"],
        "security": session_and_csrf,
        "requestBody": {"required": True, "content": _json("SyncRequest", SYNC_REQUEST_EXAMPLE)},
        "responses": {
            "200": {
                "description": "One result per item, in the order sent, and the counts.",
                "content": _json("SyncResponse", _sync_answer_example()),
            },
            "400": _error_answer(
                400,
                "The request as a whole is wrong: body not a JSON object, `visits` not a list, "
                f"more than {MAX_BATCH} visits (`too_many`), or a missing or stale CSRF token "
                "(`csrf`).",
                code="bad_json",
                message="Trường visits phải là một danh sách lượt thăm.",
            ),
            "401": _error_answer(401, "Not logged in, or the session expired. Nothing was stored."),
            "403": _error_answer(
                403,
                "Logged in, but not as a canvasser (`forbidden`), or the password must be "
                "changed first (`password_change_required`). Nothing was stored.",
            ),
            "413": _error_answer(
                413,
                f"The body is larger than {MAX_BODY // 1024 // 1024} MB (sent with a "
                "Content-Length or chunked). Nothing was stored.",
            ),
            "503": _error_answer(
                503,
                "The database is busy writing an imported list (the embedded SQLite default has "
                "one writer). Items before it may have been stored; keep the rest and send the "
                "same batch again after `Retry-After` seconds (stored ones come back as "
                "`duplicate`).",
            ),
            "500": _error_answer(
                500,
                "A server fault. Items before the fault may have been stored; send the same batch "
                "again later (they come back as `duplicate`).",
            ),
        },
    }
    document = {
        "summary": "This document",
        "operationId": "getOpenApi",
        "description": "Public: it describes the API and holds no data.",
        "tags": ["meta"],
        "security": [],
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "outreach API",
            "version": "1.0.0",
            "summary": "Syncing the visits canvassers recorded offline.",
            "description": API_DESCRIPTION.format(max_batch=MAX_BATCH),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "security": session_and_csrf,
        "paths": {
            "/api/visits/sync": {"post": sync},
            "/api/openapi.json": {"get": document},
        },
        "components": {
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The web app's signed session cookie, set by logging in at "
                    "/login (HttpOnly, SameSite=Lax; Secure in production). It expires after the "
                    "configured idle time (120 minutes by default).",
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "The CSRF token of the session, as every page carries it in "
                    '<meta name="csrf-token" content="…">. Checked after the login: an expired '
                    "session gives 401, not a CSRF error.",
                },
            },
            "schemas": component_schemas(),
        },
        "tags": [
            {"name": "visits", "description": "Visits recorded in the field."},
            {"name": "meta", "description": "About the API itself."},
        ],
    }
