"""Leaders' and admins' team pages: the scoreboard, setting a team up, changing or ending it."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.campaigns.service import active_campaign
from outreach.core.scope import communes_in
from outreach.db import committing, get_session
from outreach.models.codes import Role
from outreach.teams import service as teams
from outreach.web.guards import audit, current_scope, parse_id, roles_required
from outreach.web.guards import today as request_today

bp = Blueprint("teams", __name__, url_prefix="/teams")
MANAGERS = (Role.LEADER, Role.ADMIN)


def _window(today: date) -> tuple[date, date, object]:
    """The active campaign's days so far (the scoreboard's period), or this month without one."""
    campaign = active_campaign(get_session(), province_id=current_scope().province_id)
    if campaign is None:
        return today.replace(day=1), today, None
    return campaign.starts_on, min(today, campaign.ends_on), campaign


@bp.get("")
@roles_required(*MANAGERS)
def index():
    """The scoreboard of the scope's teams, best progress first, with their members."""
    first, last, campaign = _window(request_today())
    scores = teams.team_scoreboard(get_session(), scope=current_scope(), first=first, last=last)
    audit("view_teams", object_type="team", detail={"teams": [s.team.id for s in scores]})
    return render_template(
        "teams/index.html", scores=scores, first=first, last=last, campaign=campaign
    )


def _number(name: str) -> int | None:
    raw = (request.form.get(name) or "0").replace(".", "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 7 else None


def _form_page(*, team=None, commune=None, error: str = "", status: int = 200):
    session = get_session()
    scope = current_scope()
    commune_id = team.commune_id if team is not None else commune
    communes = communes_in(session, scope)
    if commune_id not in {c.id for c in communes}:  # none chosen yet, or not the user's
        commune_id = communes[0].id if len(communes) == 1 else None
    canvassers = (
        teams.eligible_canvassers(
            session, scope=scope, commune_id=commune_id, team_id=team.id if team else None
        )
        if commune_id is not None
        else []
    )
    chosen = (
        {int(v) for v in request.form.getlist("members") if v.isascii() and v.isdigit()}
        if request.method == "POST"
        else {m.id for m in team.members}
        if team is not None
        else set()
    )
    return (
        render_template(
            "teams/form.html",
            team=team,
            communes=communes,
            commune_id=commune_id,
            canvassers=canvassers,
            chosen=chosen,
            values=request.form if request.method == "POST" else {},
            error=error,
        ),
        status,
    )


def _view_of(team_id: int):
    found = next(
        (t for t in teams.teams_in(get_session(), scope=current_scope()) if t.id == team_id), None
    )
    if found is None:
        abort(404)
    return found


def _save(team_id: int | None):
    session = get_session()
    targets = (_number("target_new"), _number("target_renewals"))
    try:
        if None in targets:
            raise teams.TeamError(_("Chỉ tiêu phải là số từ 0 đến %(n)s.", n="1.000.000"))
        with committing(session):
            team = teams.save_team(
                session,
                scope=current_scope(),
                by_user=current_user._get_current_object(),
                commune_id=parse_id(request.form.get("commune")),
                name=request.form.get("name", ""),
                member_ids=[
                    int(v) for v in request.form.getlist("members") if v.isascii() and v.isdigit()
                ][:50],
                target_new=targets[0],
                target_renewals=targets[1],
                team_id=team_id,
            )
    except teams.TeamError as error:
        team = _view_of(team_id) if team_id is not None else None
        commune = None if team else parse_id(request.form.get("commune"))
        return _form_page(team=team, commune=commune, error=str(error), status=422)
    flash(_("Đã lưu tổ “%(name)s”.", name=team.name), "info")
    return redirect(url_for(".index"), 303)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new():
    """Set up a team: a name, two or more canvassers of one commune, and its targets."""
    if request.method == "POST":
        return _save(None)
    return _form_page(commune=parse_id(request.args.get("commune")))


@bp.route("/<int:team_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(team_id: int):
    """Change a team's name, members or targets."""
    if request.method == "POST":
        _view_of(team_id)
        return _save(team_id)
    return _form_page(team=_view_of(team_id))


@bp.post("/<int:team_id>/dissolve")
@roles_required(*MANAGERS)
def dissolve(team_id: int):
    """End a team; its members' households stay theirs."""
    session = get_session()
    view = _view_of(team_id)
    with committing(session):
        teams.dissolve_team(
            session,
            scope=current_scope(),
            by_user=current_user._get_current_object(),
            team_id=team_id,
        )
    flash(_("Đã giải thể tổ “%(name)s”.", name=view.name), "info")
    return redirect(url_for(".index"), 303)
