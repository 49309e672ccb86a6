"""Authorization in one place: a decorator for roles and the current user's scope."""

from __future__ import annotations

from datetime import date
from functools import wraps

from flask import abort, current_app, g, render_template, request
from flask_login import current_user, login_required
from werkzeug.routing import IntegerConverter

from outreach.core.audit import record_event
from outreach.core.clock import today_local
from outreach.core.scope import Scope, scope_for
from outreach.db import get_session

# Ids are INTEGER columns on both databases: anything larger names no row (and must not reach
# the database, where it overflows into a 500).
MAX_ID = 2**31 - 1


def parse_id(value: str | None) -> int | None:
    """A row id from a form or query string: digits up to MAX_ID, else None."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:…>` in a route is a row id: above MAX_ID the route does not match (a 404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


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
    """Write an audit entry for the logged-in user and this request's address, and commit it."""
    session = get_session()
    record_event(
        session,
        action=action,
        user_id=current_user.id,
        username=current_user.username,
        object_type=object_type,
        object_id=object_id,
        ip=request.remote_addr or "",
        detail=detail,
    )
    session.commit()
