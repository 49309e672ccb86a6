"""Authorization in one place: a decorator for roles and the current user's scope."""

from __future__ import annotations

import re
from datetime import date
from functools import wraps

from flask import abort, current_app, g, render_template, request
from flask_login import current_user, login_required
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

from outreach.core.audit import record_event
from outreach.core.clock import today_local
from outreach.core.scope import Scope, scope_for
from outreach.db import get_session, write_or_defer
from outreach.models.codes import UnitKind

# Ids are INTEGER columns on both databases: anything larger names no row (and must not reach
# the database, where it overflows into a 500).
MAX_ID = 2**31 - 1


def parse_id(value: str | None) -> int | None:
    """A row id from a form or query string: ASCII digits up to MAX_ID, else None.

    ASCII: `str.isdigit` is true for "²", which `int` refuses (a 500), and for other scripts'
    digits, which no link of the app writes.
    """
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    return int(text) if int(text) <= MAX_ID else None


# The days a query string may name. Year 1 and year 9999 are valid dates that overflow as soon
# as a day or Vietnam's time zone is added to them (local_midnight: a 500).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


def bounded_day(day: date) -> date:
    """`day` if a page can compute with it; ValueError (like a day that cannot be read) if not."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(day)
    return day


class IdConverter(IntegerConverter):
    """`<int:…>` in a route is a row id: above MAX_ID the route does not match (a 404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# ---- what a query string or a form may carry ----------------------------------------------------
#
# Characters nobody types and no field needs: C0 and C1 controls and DEL (a NUL in a parameter is a
# 500 on PostgreSQL, which refuses it in text), bidirectional embeddings, overrides and isolates
# (text that displays other than it reads) and zero-width characters (names that look the same
# and do not match, pasted from chat apps). Removed from every query argument and form field,
# names included, before any view reads them. Line breaks and tabs are kept in form fields (a
# visit's note) and become spaces in a query string, like the other spacing controls everywhere.
# Password fields are left as typed: they are hashed, never stored or shown, and an old password
# holding such a character must still match.
_REMOVED = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))] + list(
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space, (non-)joiner, word joiner, BOM
    "\u200e\u200f\u061c"  # left-to-right, right-to-left and Arabic letter marks
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # embeddings, overrides, isolates
)
_SPACING = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"
_ARG_TABLE = str.maketrans({c: " " if c in _SPACING else None for c in _REMOVED})
_FORM_TABLE = str.maketrans(
    {c: " " if c in _SPACING else None for c in _REMOVED if c not in "\t\n\r"}
)
_SUSPECT = re.compile("[" + re.escape("".join(_REMOVED)) + "]")
_FORM_SUSPECT = re.compile("[" + re.escape("".join(c for c in _REMOVED if c not in "\t\n\r")) + "]")


def _cleaned(values: MultiDict, table: dict, suspect: re.Pattern) -> MultiDict | None:
    """The same pairs without the characters `table` removes, or None when there were none."""
    pairs = list(values.items(multi=True))
    if not any(suspect.search(key) or suspect.search(value) for key, value in pairs):
        return None
    return ImmutableMultiDict(
        (
            key.translate(table),
            value if key.endswith("password") else value.translate(table),
        )
        for key, value in pairs
    )


def clean_input() -> None:
    """A before_request hook: query arguments and form fields without invisible characters."""
    changed = False
    args = _cleaned(request.args, _ARG_TABLE, _SUSPECT)
    if args is not None:
        request.args, changed = args, True
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = _cleaned(request.form, _FORM_TABLE, _FORM_SUSPECT)
        if form is not None:
            request.form, changed = form, True
    if changed:
        request.__dict__.pop("values", None)  # built from the uncleaned ones if read already


# What a national account (the whole country's figures, never a person: core/scope.py) may
# open. Every other route answers it 403, so a route added later stays closed to national
# accounts until it is listed here (tests/security/authz_matrix.py checks each one).
COUNTRY_FIGURES_ENDPOINTS = frozenset(
    {
        "static",
        "home.index",  # sends them on to the country's dashboard or figures
        "home.dismiss",  # their own notices
        "dashboard.show",  # the country, a province, a commune: figures
        "rankings.show",
        "rankings.workbook",
        "summaries.index",  # the country's figures for the half-month
        "summaries.national_pdf",
        "pwa.manifest",
        "pwa.service_worker",
        "pwa.offline",
        "pwa.outbox",
        "pwa.session_info",
        "api.openapi",
    }
)
_OWN_BLUEPRINTS = frozenset({"auth", "prefs", "account"})  # logging in and one's own account


def figures_only_for_the_country() -> None:
    """A before_request hook: a national account gets 403 outside the figures pages."""
    endpoint = request.endpoint or ""
    if endpoint in COUNTRY_FIGURES_ENDPOINTS or endpoint.partition(".")[0] in _OWN_BLUEPRINTS:
        return
    if not current_user.is_authenticated:
        return
    unit = g.get("scope_unit")  # loaded with the user (web/extensions.py, load_user)
    if unit is not None and unit.kind == UnitKind.NATION:
        abort(403)


def roles_required(*roles: str):
    """Let only logged-in users with one of these roles through; others get a Vietnamese 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def current_scope() -> Scope:
    """The logged-in user's scope, resolved once per request."""
    if "scope" not in g:
        g.scope = scope_for(get_session(), current_user)
    return g.scope


def render_page_or_fragment(page: str, fragment: str, **context):
    """Render the whole page, or just its fragment when htmx asks for it."""
    is_htmx = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
    return render_template(fragment if is_htmx else page, **context)


def today() -> date:
    """Today in Vietnam, or the date the app is configured to treat as today (tests, training)."""
    fixed = current_app.config.get("OUTREACH_TODAY")
    if fixed:
        return fixed if isinstance(fixed, date) else date.fromisoformat(str(fixed))
    return today_local()


def audit(
    action: str, *, object_type: str = "", object_id: str | int = "", detail: dict | None = None
) -> None:
    """Write an audit entry for the logged-in user and this request's address, and commit it
    (kept for later, never lost, while an import holds the database: `db.write_or_defer`)."""
    write_or_defer(
        get_session(),
        lambda session: record_event(
            session,
            action=action,
            user_id=current_user.id,
            username=current_user.username,
            object_type=object_type,
            object_id=object_id,
            ip=request.remote_addr or "",
            detail=detail,
        ),
    )
