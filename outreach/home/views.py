"""Each role's home page: who you are, what is in your scope, what to do next."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from outreach.campaigns import service as campaigns
from outreach.core.clock import VIETNAM
from outreach.db import committing, get_session
from outreach.digest.service import FLAG_LIMIT, build_weekly_digest
from outreach.home import service as overview
from outreach.home.notices import dismiss_notice, open_notices
from outreach.leaders.meetings import due_reminders
from outreach.models import GeoUnit
from outreach.models.codes import Role
from outreach.summaries.service import published_archive, summary_board
from outreach.web.guards import current_scope
from outreach.web.guards import today as request_today

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    """Land each role on its own home page."""
    session = get_session()
    scope = current_scope()
    unit = session.get(GeoUnit, scope.unit_id)
    context = {
        "scope": scope,
        "unit": unit,
        "notices": open_notices(session, user_id=current_user.id),
    }
    if current_user.role == Role.CANVASSER:
        # The canvasser's home is their worklist.
        return redirect(url_for("worklist.show"))
    if scope.is_national:
        # The country's figures: the national dashboard, or for media the national bulletin.
        page = "summaries.index" if current_user.role == Role.MEDIA else "dashboard.show"
        return redirect(url_for(page))
    if current_user.role == Role.LEADER:
        # "The last 30 days" end with the app's today (which training and tests may fix).
        now = datetime.combine(request_today(), time.max, tzinfo=VIETNAM)
        context["totals"] = overview.scope_totals(session, scope=scope, now=now)
        context["communes"] = overview.commune_counts(session, scope=scope, now=now)
        context["campaign"] = campaigns.active_campaign(session, province_id=scope.province_id)
        context["digest"] = build_weekly_digest(session, scope=scope, today=request_today())
        context["flag_limit"] = FLAG_LIMIT
        context["reminders"] = due_reminders(session, scope=scope, today=request_today())
        return render_template("home/leader.html", **context)
    if current_user.role == Role.ADMIN:
        context["totals"] = overview.admin_totals(session, province_id=scope.province_id)
        campaign = campaigns.active_campaign(session, province_id=scope.province_id)
        context["campaign"] = campaign
        context["board"] = (
            summary_board(session, campaign=campaign, today=request_today(), count=2)
            if campaign
            else []
        )
        return render_template("home/admin.html", **context)
    context["archive"] = published_archive(session, province_id=scope.province_id)
    return render_template("home/media.html", **context)


@bp.post("/notices/<int:notice_id>/dismiss")
@login_required
def dismiss(notice_id: int):
    """Take one of the user's own notices off their home page."""
    with committing(get_session()) as session:
        if not dismiss_notice(session, notice_id=notice_id, user_id=current_user.id):
            abort(404)
    return redirect(url_for(".index"), 303)
