"""The canvasser's worklist: households best first, each saying why it is there."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlmodel import select

from outreach.core.scope import unit_in_scope
from outreach.core.text import person_key, place_key
from outreach.db import get_session
from outreach.leaders.review import returned_visits_for
from outreach.models import GeoUnit, User
from outreach.models.codes import Role
from outreach.tallies.figures import canvasser_tally
from outreach.teams.service import teammates
from outreach.web.guards import current_scope, parse_id, render_page_or_fragment, roles_required
from outreach.web.guards import today as request_today
from outreach.worklist.service import worklist_for

bp = Blueprint("worklist", __name__)
PAGE = 30


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name))


def _canvasser_in_scope(canvasser_id: int | None) -> User:
    """The canvasser whose list is shown: oneself, or one a leader or admin may look at."""
    if current_user.role == Role.CANVASSER:
        return current_user
    if canvasser_id is None:
        abort(404)
    session = get_session()
    canvasser = session.get(User, canvasser_id)
    scope = current_scope()
    if (
        canvasser is None
        or canvasser.role != Role.CANVASSER
        or not unit_in_scope(session, scope=scope, unit_id=canvasser.scope_unit_id)
    ):
        abort(404)
    return canvasser


@bp.get("/worklist")
@roles_required(Role.CANVASSER, Role.LEADER, Role.ADMIN)
def show():
    """The list (the whole page, or just the rows when htmx asks for more or filters)."""
    session = get_session()
    canvasser = _canvasser_in_scope(_int_arg("canvasser"))
    today = request_today()
    offset = _int_arg("offset") or 0
    filters = {
        "village_id": _int_arg("village"),
        "reason": request.args.get("reason") or None,
        "query": request.args.get("q", "")[:100],
    }
    worklist = worklist_for(
        session,
        scope=current_scope(),
        canvasser_id=canvasser.id,
        today=today,
        offset=offset,
        limit=PAGE,
        teammate_ids=teammates(session, canvasser_id=canvasser.id),
        **filters,
    )
    # Everything the page needs, whichever answer is asked for: a request for "more rows" without
    # htmx (a bookmark, a reload, a crawler) gets the whole page (render_page_or_fragment picks).
    context = {
        "worklist": worklist,
        "canvasser": canvasser,
        "filters": filters,
        "offset": offset,
        "page_size": PAGE,
        "tally": canvasser_tally(session, canvasser_id=canvasser.id, today=today),
        "returned": returned_visits_for(session, canvasser_id=canvasser.id, scope=current_scope()),
    }
    more_rows = request.headers.get("HX-Target") == "worklist-rows" or offset
    fragment = "worklist/_rows.html" if more_rows else "worklist/_list.html"
    return render_page_or_fragment("worklist/show.html", fragment, **context)


@bp.get("/worklist/canvassers")
@roles_required(Role.LEADER, Role.ADMIN)
def canvassers():
    """Leaders pick a canvasser in their scope to open that canvasser's list."""
    session = get_session()
    scope = current_scope()
    stmt = (
        select(User, GeoUnit.name)
        .join(GeoUnit, GeoUnit.id == User.scope_unit_id)
        .where(User.role == Role.CANVASSER)
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(User.scope_unit_id.in_(sorted(scope.commune_ids)))
    rows = session.exec(stmt.order_by(GeoUnit.id, User.id).limit(500)).all()
    rows = sorted(rows, key=lambda row: (place_key(row[1]), person_key(row[0].full_name)))
    return render_template("worklist/canvassers.html", rows=rows)
