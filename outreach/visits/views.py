"""Recording a visit in a few taps, and the installable app (manifest, service worker, offline pages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlmodel import select

from outreach.core.clock import add_months_end
from outreach.core.formatting import parse_day
from outreach.core.scope import get_in_scope
from outreach.db import committing, get_session
from outreach.models import Household, Person
from outreach.models.codes import FOLLOW_UP_OUTCOMES, Channel, Outcome, RefusalReason, Role
from outreach.teams.service import teammates
from outreach.visits.outbox_file import outbox_token
from outreach.visits.service import OutcomeInput, VisitError, VisitInput, record_visit
from outreach.visits.sync import scope_token
from outreach.web.guards import audit, current_scope, roles_required
from outreach.web.guards import today as request_today
from outreach.worklist.service import offline_search_keys, worklist_for

visits_bp = Blueprint("visits", __name__)


def quick_picks(today: date) -> list[tuple[str, date]]:
    """Dates a canvasser picks most: tomorrow, +3 days, next week, the 15th, the end of the month."""
    fifteenth = (
        today.replace(day=15) if today.day < 15 else add_months_end(today, 1).replace(day=15)
    )
    month_end = add_months_end(today, 0)
    if month_end == today:
        month_end = add_months_end(today, 1)
    return [
        (_("Ngày mai"), today + timedelta(days=1)),
        (_("3 ngày nữa"), today + timedelta(days=3)),
        (_("Tuần sau"), today + timedelta(days=7)),
        (_("Ngày 15"), fifteenth),
        (_("Cuối tháng"), month_end),
    ]


def _household_and_members(household_id: int) -> tuple[Household, list[Person]]:
    session = get_session()
    household = get_in_scope(session, Household, household_id, current_scope())
    if household is None:
        abort(404)
    # Off every list (an objection to contact, an approved move or death): not asked again.
    members = list(
        session.exec(
            select(Person)
            .where(Person.household_id == household.id, Person.off_list == "")
            .order_by(Person.id)
        )
    )
    return household, members


def _int(value: str | None) -> int | None:
    digits = (value or "").replace(".", "").replace(",", "").strip()
    return int(digits) if digits.isdigit() else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# The outcomes shown first on the form; the rarer ones wait behind "Kết quả khác".
MAIN_OUTCOMES = (
    Outcome.PROMISED,
    Outcome.CONSIDERING,
    Outcome.REFUSED,
    Outcome.ENROLLED_NEW,
    Outcome.RENEWED,
    Outcome.NOT_HOME,
)
OTHER_OUTCOMES = tuple(o for o in Outcome if o not in MAIN_OUTCOMES)


def _date(value: str | None, key: str, errors: dict[str, str]) -> date | None:
    """A day typed day-first (15/11/2026) or picked; a clear message when it is not a day."""
    if not value or not value.strip():
        return None
    try:
        return parse_day(value)
    except ValueError:
        errors[key] = _("Ngày hẹn phải viết ngày/tháng/năm, ví dụ 15/11/2026.")
        return None


def _parse_form(
    form, household_id: int, members: list[Person]
) -> tuple[VisitInput, dict[str, str]]:
    """The visit the form describes, and the fields that could not be read (by field key).

    "Không ai ở nhà" records every member as not home, whatever else the form holds.
    """
    errors: dict[str, str] = {}
    nobody_home = bool(form.get("nobody_home"))
    outcomes = []
    for person in members:
        code = Outcome.NOT_HOME.value if nobody_home else form.get(f"outcome_{person.id}", "")
        if not code:
            continue  # not met on this visit
        follow_up = None
        if code in FOLLOW_UP_OUTCOMES:
            follow_up = _date(form.get(f"date_{person.id}"), f"person_{person.id}", errors)
        outcomes.append(
            OutcomeInput(
                person_id=person.id,
                outcome=code,
                follow_up_on=follow_up,
                refusal_reason=form.get(f"reason_{person.id}") or None,
                months_paid=_int(form.get(f"months_{person.id}")),
                amount=_int(form.get(f"amount_{person.id}")),
                receipt_number=(form.get(f"receipt_{person.id}") or "").strip() or None,
            )
        )
    visit = VisitInput(
        client_uuid=form.get("client_uuid", ""),
        household_id=household_id,
        channel=form.get("channel", ""),
        outcomes=tuple(outcomes),
        note=form.get("note", ""),
        latitude=_float(form.get("latitude")),
        longitude=_float(form.get("longitude")),
        accuracy_m=_float(form.get("accuracy")),
    )
    return visit, errors


def _render_form(household, members, *, client_uuid, form=None, errors=None, status=200):
    return (
        render_template(
            "visits/new.html",
            household=household,
            members=members,
            client_uuid=client_uuid,
            # Kept with a visit saved offline: proof the household was this canvasser's today.
            scope_token=scope_token(
                secret=current_app.secret_key,
                canvasser_id=current_user.id,
                household_id=household.id,
            ),
            form=form or {},
            errors=errors or {},
            picks=quick_picks(request_today()),
            channels=list(Channel),
            main_outcomes=[o.value for o in MAIN_OUTCOMES],
            other_outcomes=[o.value for o in OTHER_OUTCOMES],
            reasons=list(RefusalReason),
        ),
        status,
    )


@visits_bp.get("/households/<int:household_id>/visits/new")
@roles_required(Role.CANVASSER)
def new(household_id: int):
    """The visit form, with a fresh UUID so a resubmitted form is the same visit."""
    household, members = _household_and_members(household_id)
    # The form names every member: a view of the household's record, audited like its page.
    audit(
        "view_visit_form",
        object_type="household",
        object_id=household.id,
        detail={"persons": [p.id for p in members]},
    )
    return _render_form(household, members, client_uuid=str(uuid.uuid4()))


@visits_bp.post("/households/<int:household_id>/visits")
@roles_required(Role.CANVASSER)
def create(household_id: int):
    """Store the visit, or show the form again with each problem next to its field."""
    household, members = _household_and_members(household_id)
    data, unreadable = _parse_form(request.form, household.id, members)
    try:
        if unreadable:
            raise VisitError(unreadable)
        with committing(get_session()):
            result = record_visit(
                get_session(),
                canvasser=current_user,
                scope=current_scope(),
                data=data,
                today=request_today(),
                members=members,
            )
    except VisitError as exc:
        return _render_form(
            household,
            members,
            client_uuid=data.client_uuid,
            form=request.form,
            errors=exc.errors,
            status=400,
        )
    flash(
        _("Đã lưu lượt thăm hộ %(name)s.", name=household.head_name)
        if not result.replayed
        else _("Lượt thăm này đã được lưu trước đó."),
        "ok",
    )
    return redirect(url_for("worklist.show"))


pwa_bp = Blueprint("pwa", __name__)

# What the service worker keeps from its install on: the look of every page and the offline page.
SHELL_FILES = (
    "css/app.css",
    "js/app.js",
    "js/outbox.js",
    "js/offline.js",
    "js/visit.js",
    "vendor/htmx-2.0.11.min.js",
    "icons/favicon.svg",
    "icons/icon-192.png",
)
OFFLINE_HOUSEHOLDS = 500  # brief §10: up to 500 households of the canvasser's scope
PAGE = 30  # the worklist's page size (worklist/views.py)
# Whose pages these are, for the service worker's per-user page caches (static/js/sw.js): on every
# HTML answer to a logged-in session, and as a cookie that lives and dies with the session (the
# session cookie is HttpOnly, so the worker could not see it). Offline, the worker serves a kept
# page only to the user this cookie names: nobody once the session has ended.
PAGE_CACHE_HEADER = "X-Page-Cache"
PAGE_CACHE_COOKIE = "page_cache"


def page_cache_key(user_id: int | str) -> str:
    """An opaque per-user name for that user's page cache: an HMAC of the id with the app secret."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    message = f"outreach-page-cache:{user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _logged_in_id() -> str | None:
    """The session's user id, without loading the user (static files ask too)."""
    loaded = g.get("_login_user")  # Flask-Login's, once a view asked for current_user
    if loaded is not None and not loaded.is_authenticated:
        return None  # a deactivated user, a session that failed its protection
    return flask_session.get("_user_id")


@pwa_bp.after_app_request
def _page_cache_owner(response: Response) -> Response:
    user_id = _logged_in_id()
    secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
    if user_id is None:
        if PAGE_CACHE_COOKIE in request.cookies:  # logged out, expired, refused
            response.delete_cookie(PAGE_CACHE_COOKIE, path="/", secure=secure, samesite="Lax")
        return response
    key = page_cache_key(user_id)
    if response.mimetype == "text/html":
        response.headers[PAGE_CACHE_HEADER] = key
    # Sent with every answer, like the session cookie, so that both expire at the same moment.
    response.set_cookie(
        PAGE_CACHE_COOKIE,
        key,
        max_age=current_app.permanent_session_lifetime,
        path="/",
        secure=secure,
        httponly=False,  # read by the service worker (Cookie Store API); it opens nothing
        samesite="Lax",
    )
    return response


@lru_cache(maxsize=4)
def _service_worker(static_folder: str, session_seconds: int) -> tuple[str, str]:
    """The worker's script, versioned by the shell's content so a new release replaces the cache."""
    folder = Path(static_folder)
    digest = hashlib.sha256()
    for name in SHELL_FILES + ("js/sw.js",):
        digest.update((folder / name).read_bytes())
    version = digest.hexdigest()[:12]
    shell = [f"/static/{name}" for name in SHELL_FILES] + ["/offline", "/manifest.webmanifest"]
    source = (folder / "js" / "sw.js").read_text(encoding="utf-8")
    values = {
        "{{VERSION}}": version,
        "{{SHELL_URLS}}": json.dumps(shell),
        "{{SESSION_SECONDS}}": str(session_seconds),
        "{{PAGE_CACHE_HEADER}}": PAGE_CACHE_HEADER,
        "{{PAGE_CACHE_COOKIE}}": PAGE_CACHE_COOKIE,
    }
    for placeholder, value in values.items():
        source = source.replace(placeholder, value)
    return source, version


@pwa_bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that it controls every page."""
    seconds = int(current_app.permanent_session_lifetime.total_seconds())
    source, _version = _service_worker(current_app.static_folder, seconds)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new one each load
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@pwa_bp.get("/manifest.webmanifest")
def manifest():
    """What the phone needs to install the app on its home screen."""
    icons = [
        ("icons/icon-192.png", "192x192", "any"),
        ("icons/icon-512.png", "512x512", "any"),
        ("icons/maskable-512.png", "512x512", "maskable"),
    ]
    data = {
        "name": _("Vận động BHXH tự nguyện"),
        "short_name": _("Vận động BHXH"),
        "description": _("Danh sách hộ cần thăm, ghi lượt thăm cả khi mất sóng."),
        "lang": "vi",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f7fa",
        "theme_color": "#0b5394",
        "icons": [
            {
                "src": url_for("static", filename=src),
                "sizes": sizes,
                "type": "image/png",
                "purpose": p,
            }
            for src, sizes, p in icons
        ],
    }
    return Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")


@pwa_bp.get("/offline")
def offline():
    """Shown for a page that was never saved on the phone while there is no signal."""
    return render_template("pwa/offline.html")


@pwa_bp.get("/outbox")
def outbox():
    """The visits still on this phone (read from the browser's storage by outbox.js)."""
    return render_template("pwa/outbox.html")


@pwa_bp.get("/session.json")
def session_info():
    """Who is logged in and a fresh CSRF token, for the outbox before it sends (401 if nobody).

    A canvasser also gets the outbox token: the phone keeps it with the visits this user records
    and signs them with it in an export, which `outreach import-outbox` checks.
    """
    if not current_user.is_authenticated:
        return jsonify(error=_("Chưa đăng nhập.")), 401
    token = (
        outbox_token(secret=current_app.secret_key, user_id=current_user.id)
        if current_user.role == Role.CANVASSER
        else None
    )
    # Cache-Control: private, no-store, like every personal answer (web/extensions.py).
    return jsonify(user_id=current_user.id, csrf_token=generate_csrf(), outbox_token=token)


def _offline_rows(session) -> list:
    """The households a canvasser takes offline: today's appointments, then the list (their
    team's included), as many as OFFLINE_HOUSEHOLDS."""
    worklist = worklist_for(
        session,
        scope=current_scope(),
        canvasser_id=current_user.id,
        today=request_today(),
        limit=OFFLINE_HOUSEHOLDS,
        teammate_ids=teammates(session, canvasser_id=current_user.id),
    )
    return worklist.due_today + worklist.rows


@pwa_bp.get("/offline/pages.json")
@roles_required(Role.CANVASSER)
def offline_pages():
    """The pages to save for a day without signal: the list, its households and their forms."""
    ids = [row.household.id for row in _offline_rows(get_session())]
    pages = [
        url_for("home.index"),
        url_for("worklist.show"),
        url_for("pwa.outbox"),
        url_for("pwa.offline_search"),
    ]
    for household_id in ids:
        pages.append(url_for("households.show", household_id=household_id))
        pages.append(url_for("visits.new", household_id=household_id))
    # The list's further pages, as htmx asks for them when the canvasser scrolls.
    fragments = [url_for("worklist.show", offset=offset) for offset in range(PAGE, len(ids), PAGE)]
    return jsonify(pages=pages, fragments=fragments, households=len(ids))


@pwa_bp.get("/offline/search")
@roles_required(Role.CANVASSER)
def offline_search():
    """What the list's search looks through without signal: the households downloaded for
    offline use, with their members' names folded, phones, and hashed BHXH and CCCD numbers.

    Kept by the service worker in this user's page cache, like the pages it finds.
    """
    session = get_session()
    rows = _offline_rows(session)
    ids = [row.household.id for row in rows]
    audit("view_list", object_type="households", detail={"list": "offline_search", "ids": ids})
    return render_template(
        "pwa/offline_search.html",
        rows=rows,
        keys=offline_search_keys(session, scope=current_scope(), household_ids=ids),
    )
