"""The leader's dashboard: progress against targets in the leader's scope, and the lists behind it."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from outreach.campaigns.milestones import milestones_of, next_milestone, units_against
from outreach.campaigns.service import active_campaign, active_campaigns, list_campaigns
from outreach.core.scope import Scope, canvasser_in_scope, narrow_scope, village_in_scope
from outreach.dashboard import cells as cell_lists
from outreach.dashboard import service
from outreach.dashboard.national import national_dashboard
from outreach.db import get_session, read_session
from outreach.models import Campaign, GeoUnit, User
from outreach.models.codes import Role, UnitKind
from outreach.web.guards import (
    audit,
    current_scope,
    parse_id,
    render_page_or_fragment,
    roles_required,
)
from outreach.web.guards import today as request_today

bp = Blueprint("dashboard", __name__)
LIST_PAGE = 50
LIST_KINDS = ("never_visited", "overdue")
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 320, 160, 24


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name))


def _scope_and_unit(*, allow_village: bool) -> Scope:
    """The user's scope, or the unit asked for by ?unit= inside it (404 outside)."""
    scope = current_scope()
    raw = request.args.get("unit", "")
    if not raw:
        return scope
    if parse_id(raw) is None:
        abort(404)
    narrowed = narrow_scope(get_session(), scope=scope, unit_id=parse_id(raw))
    if narrowed is None or (narrowed[1].kind == UnitKind.VILLAGE and not allow_village):
        abort(404)
    return narrowed[0]


def _campaign(scope: Scope) -> Campaign | None:
    session = get_session()
    campaign_id = _int_arg("campaign")
    if request.args.get("campaign") and campaign_id is None:
        abort(404)
    if campaign_id is None:
        return active_campaign(session, province_id=scope.province_id)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.province_id != scope.province_id:
        abort(404)
    return campaign


def chart(points: list) -> dict:
    """Coordinates of the trend chart (new participants and renewals per half-month) in SVG units."""
    top = max([max(p.new, p.renewals) for p in points] + [1])
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(points) - 1, 1)

    def xy(i: int, value: int) -> tuple[float, float]:
        return (round(CHART_PAD + i * step, 1), round(CHART_PAD + inner_h * (1 - value / top), 1))

    new = [xy(i, p.new) for i, p in enumerate(points)]
    renewals = [xy(i, p.renewals) for i, p in enumerate(points)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "top": top,
        "baseline": CHART_HEIGHT - CHART_PAD,
        "new": " ".join(f"{x},{y}" for x, y in new),
        "renewals": " ".join(f"{x},{y}" for x, y in renewals),
        "new_points": new,
        "renewal_points": renewals,
        "labels": [(x, p.period) for (x, _), p in zip(new, points, strict=True)],
    }


def _group_by(scope) -> str:
    """The table's rows as asked; never by canvasser (staff by name) for a national account."""
    group_by = request.args.get("by", "")
    return "" if scope.aggregates_only and group_by == "canvasser" else group_by


@bp.get("/dashboard")
@roles_required(Role.LEADER, Role.ADMIN)
def show():
    """The dashboard of the scope (or a unit in it), the table alone when htmx re-sorts it."""
    session = get_session()
    scope = _scope_and_unit(allow_village=False)
    if scope.is_national:
        board = national_dashboard(
            read_session(), scope=scope, campaigns=active_campaigns(session), today=request_today()
        )
        return render_template("dashboard/national.html", board=board)
    campaign = _campaign(scope)
    campaigns = list_campaigns(session, province_id=scope.province_id)
    if campaign is None:
        return render_template("dashboard/show.html", board=None, campaigns=campaigns)
    # Aggregates that may lag a few seconds: from the replica when there is one (docs/operations.md).
    board = service.dashboard_for(
        read_session(),
        scope=scope,
        campaign=campaign,
        today=request_today(),
        group_by=_group_by(scope),
        sort=request.args.get("sort", "name"),
        descending=request.args.get("dir") == "desc",
    )
    upcoming = next_milestone(milestones_of(session, campaign_id=campaign.id), request_today())
    return render_page_or_fragment(
        "dashboard/show.html",
        "dashboard/_table.html",
        milestone=upcoming,
        short_of_milestone=[
            u
            for u in units_against(board.rows if board.group_by == "commune" else [], upcoming)
            if u.gap
        ]
        if upcoming
        else [],
        board=board,
        campaigns=campaigns,
        chart=chart(board.trend),
        unit_arg=board.unit.id if board.unit.id != current_scope().unit_id else None,
    )


@bp.get("/dashboard/list")
@roles_required(Role.LEADER, Role.ADMIN)
def list_page():
    """Households never visited, or follow-ups overdue, in the scope or a unit of it (paged)."""
    kind = request.args.get("kind", "")
    if kind not in LIST_KINDS:
        abort(404)
    session = get_session()
    scope = _scope_and_unit(allow_village=True)
    offset = _int_arg("offset") or 0
    today = request_today()
    if kind == "never_visited":
        total = service.count_never_visited(session, scope=scope)
        items = service.list_never_visited(session, scope=scope, offset=offset, limit=LIST_PAGE)
    else:
        total = service.count_overdue(session, scope=scope, today=today)
        items = service.list_overdue(
            session, scope=scope, today=today, offset=offset, limit=LIST_PAGE
        )
    unit = session.get(GeoUnit, scope.unit_id)
    # A list of households and persons: one audit entry per page viewed (brief §9).
    audit(
        "view_list",
        object_type="households",
        detail={"list": kind, "unit": unit.id, "offset": offset},
    )
    return render_template(
        "dashboard/list.html",
        kind=kind,
        items=items,
        total=total,
        offset=offset,
        page_size=LIST_PAGE,
        unit=unit,
        unit_arg=request.args.get("unit") or None,
    )


def _cell(scope: Scope, campaign: Campaign) -> cell_lists.Cell:
    """The cell asked for by ?metric=, ?village= and ?canvasser= (404 for anything outside)."""
    metric = request.args.get("metric", "")
    if metric not in cell_lists.METRICS:
        abort(404)
    village: int | str | None = None
    raw_village = request.args.get("village", "")
    if raw_village == cell_lists.OTHER_VILLAGE:
        village = raw_village
    elif raw_village:
        village_id = parse_id(raw_village)
        found = village_id and village_in_scope(get_session(), scope=scope, village_id=village_id)
        if not found:
            abort(404)
        village = found.id
    canvasser_id = _int_arg("canvasser")
    if request.args.get("canvasser") and (
        canvasser_id is None
        or canvasser_in_scope(get_session(), scope=scope, user_id=canvasser_id) is None
    ):
        abort(404)
    first, last = service.campaign_window(campaign, request_today())
    return cell_lists.Cell(scope, campaign.id, first, last, metric, village, canvasser_id)


@bp.get("/dashboard/cell")
@roles_required(Role.LEADER, Role.ADMIN)
def cell_page():
    """The visits, households or outcomes behind one number of the dashboard (paged)."""
    session = get_session()
    scope = _scope_and_unit(allow_village=False)
    campaign = _campaign(scope)
    if campaign is None:
        abort(404)
    cell = _cell(scope, campaign)
    offset = _int_arg("offset") or 0
    audit(
        "view_list",
        object_type="households",
        detail={"list": "cell", "metric": cell.metric, "unit": scope.unit_id, "offset": offset},
    )
    return render_template(
        "dashboard/cell.html",
        cell=cell,
        campaign=campaign,
        unit=session.get(GeoUnit, scope.unit_id),
        village=session.get(GeoUnit, cell.village) if isinstance(cell.village, int) else None,
        canvasser=session.get(User, cell.canvasser_id) if cell.canvasser_id else None,
        total=cell_lists.count_cell(session, cell=cell),
        items=cell_lists.list_cell(session, cell=cell, offset=offset, limit=LIST_PAGE),
        offset=offset,
        page_size=LIST_PAGE,
        unit_arg=request.args.get("unit") or None,
        args={k: v for k, v in request.args.items() if k != "offset"},
    )
