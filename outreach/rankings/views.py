"""Rankings for the review meetings: units by % of target at a chosen date, and the .xlsx."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from sqlmodel import select

from outreach.campaigns import service as campaign_service
from outreach.core.formatting import parse_day
from outreach.core.text import place_key
from outreach.db import get_session, read_session
from outreach.models import Campaign, GeoUnit
from outreach.models.codes import Role, UnitKind
from outreach.rankings.service import (
    LEVELS,
    RankingError,
    countdown_text,
    days_left,
    rank_provinces,
    rank_units,
    ranking_level,
    rankings_workbook,
)
from outreach.web.guards import (
    audit,
    current_scope,
    parse_id,
    render_page_or_fragment,
    roles_required,
)
from outreach.web.guards import today as request_today

bp = Blueprint("rankings", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _campaigns() -> list[Campaign]:
    return campaign_service.list_campaigns(get_session(), province_id=current_scope().province_id)


def _campaign(campaigns: list[Campaign]) -> Campaign:
    """The campaign asked for (of the user's province only), else the active one."""
    wanted = request.args.get("campaign", "").strip()
    if wanted:
        found = next((c for c in campaigns if str(c.id) == wanted), None)
        if found is None:
            abort(404)
        return found
    campaign = campaign_service.active_campaign(
        get_session(), province_id=current_scope().province_id
    )
    if campaign is None:
        abort(404)
    return campaign


def _request_ranking() -> dict:
    """Everything the page and the sheet need, or an `error` for bad input (nothing ranked)."""
    # Figures that may lag a few seconds: from the replica when there is one (docs/operations.md).
    session, scope = read_session(), current_scope()
    campaigns = _campaigns()
    campaign = _campaign(campaigns)
    context: dict = {"campaigns": campaigns, "campaign": campaign, "error": None, "rows": None}
    raw_day = request.args.get("date", "").strip()
    context["date_text"] = raw_day
    try:
        as_of = parse_day(raw_day) if raw_day else request_today()
    except ValueError:
        as_of = None
        context["error"] = _(
            "Ngày “%(text)s” không hợp lệ: nhập theo dạng 15/11/2026.", text=raw_day
        )
    try:
        level = ranking_level(scope, request.args.get("level", "commune"))
    except RankingError:
        level = "commune"
        context["error"] = _("Cấp xếp hạng không hợp lệ: chọn xã, phường hoặc thôn, tổ dân phố.")
    raw_commune = request.args.get("commune", "").strip()
    commune_id = parse_id(raw_commune)
    if raw_commune and commune_id is None:
        abort(404)  # ids are INTEGER: anything else names no commune
    communes = []
    if scope.unit_kind != UnitKind.COMMUNE:
        stmt = select(GeoUnit).where(
            GeoUnit.province_id == campaign.province_id, GeoUnit.kind == UnitKind.COMMUNE
        )
        if scope.commune_ids is not None:
            stmt = stmt.where(GeoUnit.id.in_(sorted(scope.commune_ids)))
        communes = sorted(session.exec(stmt).all(), key=lambda u: place_key(u.name, u.type_name))
        if level == "village" and commune_id is None:
            context["error"] = context["error"] or _("Chọn xã, phường để xếp hạng các thôn.")
    context.update(
        as_of=as_of, level=level, commune_id=commune_id, communes=communes, levels=LEVELS
    )
    if context["error"]:
        return context
    try:
        rows = rank_units(
            session,
            scope=scope,
            campaign=campaign,
            as_of=as_of,
            level=level,
            commune_id=commune_id,
        )
    except LookupError:
        abort(404)
    scope_unit = session.get(GeoUnit, scope.unit_id)
    within = session.get(GeoUnit, commune_id) if level == "village" and commune_id else None
    context.update(
        rows=rows,
        days_left=days_left(campaign, as_of),
        countdown=countdown_text(campaign, as_of),
        scope_name=(within or scope_unit).name,
    )
    return context


def _national() -> str | tuple[str, int]:
    """The provinces ranked for a national leader or admin, at ?date= (else today)."""
    raw_day = request.args.get("date", "").strip()
    try:
        as_of = parse_day(raw_day) if raw_day else request_today()
    except ValueError:
        error = _("Ngày “%(text)s” không hợp lệ: nhập theo dạng 15/11/2026.", text=raw_day)
        return render_template("rankings/national.html", rows=None, error=error), 400
    rows = rank_provinces(
        read_session(),
        scope=current_scope(),
        campaigns=campaign_service.active_campaigns(get_session()),
        as_of=as_of,
    )
    return render_template("rankings/national.html", rows=rows, as_of=as_of, error=None)


@bp.get("/rankings")
@roles_required(Role.LEADER, Role.ADMIN)
def show():
    """The ranking page: pick a campaign, a date and (for wide scopes) the level."""
    if current_scope().is_national:
        return _national()
    context = _request_ranking()
    page = render_page_or_fragment("rankings/show.html", "rankings/_table.html", **context)
    # htmx swaps only 2xx answers: its request gets the error fragment with 200 so it shows.
    is_htmx = request.headers.get("HX-Request") == "true"
    return (page, 400) if context["error"] and not is_htmx else page


@bp.get("/rankings.xlsx")
@roles_required(Role.LEADER, Role.ADMIN)
def workbook():
    """The same ranking as an .xlsx for the review meeting (audited: it is an export)."""
    context = _request_ranking()
    if context["error"]:
        page = render_page_or_fragment("rankings/show.html", "rankings/_table.html", **context)
        return page, 400
    as_of, campaign = context["as_of"], context["campaign"]
    body = rankings_workbook(
        context["rows"],
        campaign=campaign,
        as_of=as_of,
        scope_name=context["scope_name"],
        level=context["level"],
    )
    audit(
        "export_rankings",
        object_type="campaign",
        object_id=campaign.id,
        detail={
            "as_of": as_of.isoformat(),
            "level": context["level"],
            "rows": len(context["rows"]),
        },
    )
    response = Response(body, mimetype=XLSX)
    filename = f"xep-hang-{context['level']}-{as_of.isoformat()}.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
