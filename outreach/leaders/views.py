"""Leaders' tools: assign work to canvassers, review visits that look wrong, follow promises."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from outreach.campaigns.milestones import MilestoneError, milestone_board
from outreach.campaigns.milestones import add_milestone as add_milestone_to
from outreach.campaigns.service import active_campaign
from outreach.core.clock import VIETNAM
from outreach.core.formatting import parse_day
from outreach.core.periods import half_month_start, local_midnight
from outreach.core.scope import Scope
from outreach.core.text import place_key
from outreach.db import committing, get_session
from outreach.leaders import assignment, meetings, review
from outreach.leaders.followthrough import GRACE_DAYS, followthrough
from outreach.models import GeoUnit, User
from outreach.models.codes import MeetingDecision, MilestoneKind, Role, UnitKind
from outreach.tallies.retention import BREAK_MINUTES, canvasser_pace, conversion
from outreach.tallies.retention import retention as retention_of
from outreach.web.guards import (
    audit,
    bounded_day,
    current_scope,
    parse_id,
    render_page_or_fragment,
    roles_required,
)
from outreach.web.guards import today as request_today
from outreach.worklist.service import person_categories

bp = Blueprint("leader", __name__, url_prefix="/leader")
LEADERS = (Role.LEADER, Role.ADMIN)
# The longest review window a leader can ask for: it bounds the rows the flags read.
MAX_REVIEW_DAYS = 62
# Flagged visits shown at once; a leader who hits it narrows the days.
REVIEW_LIMIT = 300
PACE_DAYS = 30  # the canvassers' pace on the retention page: the last 30 days


def _form_int(name: str) -> int | None:
    return parse_id(request.form.get(name))


def _arg_int(name: str) -> int | None:
    return parse_id(request.args.get(name))


def _back_to_assign(village_id: int | None = None):
    # Back to the commune the leader was working in (a wide scope picks one commune at a time).
    commune = _form_int("commune")
    return redirect(url_for(".assign", commune=commune, village=village_id)), 303


def _communes(scope: Scope) -> list[GeoUnit]:
    """The communes of the leader's scope, by name."""
    stmt = select(GeoUnit).where(
        GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == scope.province_id
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(GeoUnit.id.in_(sorted(scope.commune_ids)))
    return sorted(get_session().exec(stmt).all(), key=lambda u: place_key(u.name, u.type_name))


@bp.get("/assign")
@roles_required(*LEADERS)
def assign():
    """Workload per canvasser and the three ways to hand out work, one commune at a time."""
    session = get_session()
    scope = current_scope()
    communes = _communes(scope)
    # A group or province leader works in one chosen commune at a time, so the page stays small
    # on a phone (a province has 2,000 villages and 1,500 canvassers).
    wanted = _arg_int("commune")
    commune = next((c for c in communes if c.id == wanted), None)
    if commune is None and len(communes) == 1:
        commune = communes[0]
    context = {"communes": communes, "commune": commune, "chosen_village": None, "households": []}
    if commune is None:
        context.update(loads=[], villages=[], canvassers=[])
        return render_template("leader/assign.html", **context)
    narrow = replace(scope, commune_ids=frozenset({commune.id}))
    villages = assignment.villages_in_scope(session, scope=narrow)
    chosen = _arg_int("village")
    chosen_village = next((v for v, _c in villages if v.id == chosen), None)
    context.update(
        loads=assignment.workload(session, scope=narrow, today=request_today()),
        villages=villages,
        canvassers=assignment.canvassers_in_scope(session, scope=narrow, active_only=True),
        chosen_village=chosen_village,
        households=assignment.households_of_village(
            session, scope=narrow, village_id=chosen_village.id
        )
        if chosen_village
        else [],
    )
    if chosen_village:  # the village's households, with their heads' names
        audit(
            "view_list",
            object_type="households",
            detail={"list": "assign", "village": chosen_village.id},
        )
    return render_page_or_fragment("leader/assign.html", "leader/_households.html", **context)


def _assigned(n: int, who_id: int | None) -> None:
    who = get_session().get(User, who_id)
    flash(_("Đã giao %(n)s hộ cho %(name)s.", n=n, name=who.full_name), "ok")


def _assign_or_refuse(action, *, who: int | None, back, **arguments):
    """Run one assignment service; a refusal is shown as it is and changes nothing."""
    session = get_session()
    try:
        with committing(session):
            n = action(session, scope=current_scope(), by_user=current_user, **arguments)
    except assignment.AssignmentError as error:
        flash(str(error), "error")
        return back
    _assigned(n, who)
    return back


@bp.post("/assign/village")
@roles_required(*LEADERS)
def assign_village():
    """Give a whole village to a canvasser."""
    canvasser_id = _form_int("canvasser_id")
    return _assign_or_refuse(
        assignment.assign_village,
        who=canvasser_id,
        back=_back_to_assign(),
        village_id=_form_int("village_id"),
        canvasser_id=canvasser_id,
    )


@bp.post("/assign/households")
@roles_required(*LEADERS)
def assign_households():
    """Give the ticked households to a canvasser."""
    village_id = _form_int("village_id")
    canvasser_id = _form_int("canvasser_id")
    raw = request.form.getlist("household_id")
    if any(not value.isdigit() or len(value) > 11 for value in raw):
        flash(_("Danh sách hộ không hợp lệ."), "error")
        return _back_to_assign(village_id)
    return _assign_or_refuse(
        assignment.assign_households,
        who=canvasser_id,
        back=_back_to_assign(village_id),
        household_ids=[int(value) for value in raw],
        canvasser_id=canvasser_id,
    )


@bp.post("/assign/move")
@roles_required(*LEADERS)
def move_work():
    """Hand all of one canvasser's households to another (when one is away or has left)."""
    canvasser_id = _form_int("to_canvasser_id")
    return _assign_or_refuse(
        assignment.move_work,
        who=canvasser_id,
        back=_back_to_assign(),
        from_canvasser_id=_form_int("from_canvasser_id"),
        to_canvasser_id=canvasser_id,
    )


def _review_window() -> tuple[date, date, str | None]:
    """The days to review (from, to, both included): this half-month unless the leader picks."""
    today = request_today()
    default = (half_month_start(today), today)
    raw_from, raw_to = request.args.get("from", ""), request.args.get("to", "")
    if not raw_from and not raw_to:
        return (*default, None)
    try:
        first = bounded_day(parse_day(raw_from)) if raw_from else default[0]
        last = bounded_day(parse_day(raw_to)) if raw_to else today
    except ValueError:
        return (*default, _("Ngày không hợp lệ; đang xem nửa tháng này."))
    if last < first:
        return (*default, _("Ngày bắt đầu phải trước ngày kết thúc; đang xem nửa tháng này."))
    if (last - first).days >= MAX_REVIEW_DAYS:
        return (
            *default,
            _("Mỗi lần xem tối đa %(n)s ngày; đang xem nửa tháng này.", n=MAX_REVIEW_DAYS),
        )
    return first, last, None


@bp.get("/review")
@roles_required(*LEADERS)
def review_list():
    """Visits that look wrong in the window, with confirm and return forms."""
    first, last, problem = _review_window()
    flags = review.review_flags(
        get_session(),
        scope=current_scope(),
        since=local_midnight(first),
        until=local_midnight(last + timedelta(days=1)),
        limit=REVIEW_LIMIT,
    )
    audit(
        "view_list",
        object_type="households",
        detail={"list": "review", "from": first.isoformat(), "to": last.isoformat()},
    )
    return render_template(
        "leader/review.html",
        flags=flags,
        first=first,
        last=last,
        problem=problem,
        far_metres=int(review.FAR_METRES),
        burst_minutes=int(review.BURST_GAP.total_seconds() // 60),
        burst_run=review.BURST_RUN,
        same_min=review.SAME_OUTCOME_MIN,
        max_comment=review.MAX_COMMENT,
        limit=REVIEW_LIMIT,
        replies=review.review_replies(get_session(), scope=current_scope()),
    )


def _back_to_review():
    # Back to the same window the leader was looking at (only our own query string is kept).
    window = {k: request.form.get(k) for k in ("from", "to") if request.form.get(k)}
    return redirect(url_for(".review_list", **window)), 303


@bp.post("/review/<int:visit_id>/confirm")
@roles_required(*LEADERS)
def confirm(visit_id: int):
    """Confirm a visit as fine."""
    session = get_session()
    try:
        with committing(session):
            review.confirm_visit(
                session, scope=current_scope(), visit_id=visit_id, by_user=current_user
            )
    except review.ReviewError as error:
        flash(str(error), "error")
        return _back_to_review()
    flash(_("Đã xác nhận lượt thăm."), "ok")
    return _back_to_review()


@bp.post("/review/<int:visit_id>/return")
@roles_required(*LEADERS)
def return_(visit_id: int):
    """Send a visit back to its canvasser with a comment."""
    session = get_session()
    try:
        with committing(session):
            review.return_visit(
                session,
                scope=current_scope(),
                visit_id=visit_id,
                comment=request.form.get("comment", ""),
                by_user=current_user,
            )
    except review.ReviewError as error:
        flash(str(error), "error")
        return _back_to_review()
    flash(_("Đã trả lại lượt thăm cho cán bộ."), "ok")
    return _back_to_review()


@bp.get("/promises")
@roles_required(*LEADERS)
def promises():
    """Promises kept, broken, pending; enrollments reported vs confirmed by BHXH."""
    session = get_session()
    scope = current_scope()
    campaign = active_campaign(session, province_id=scope.province_id)
    report = (
        followthrough(session, scope=scope, campaign=campaign, today=request_today())
        if campaign
        else None
    )
    return render_template(
        "leader/promises.html",
        campaign=campaign,
        report=report,
        grace_days=GRACE_DAYS,
        unit=session.get(GeoUnit, scope.unit_id),
    )


@bp.get("/retention")
@roles_required(*LEADERS)
def retention():
    """Whether the campaign's new participants keep paying, what converts, how doors are worked."""
    session = get_session()
    scope = current_scope()
    campaign = active_campaign(session, province_id=scope.province_id)
    context = {"campaign": campaign, "unit": session.get(GeoUnit, scope.unit_id)}
    if campaign is not None:
        last = min(request_today(), campaign.ends_on)
        pace_from = max(campaign.starts_on, last - timedelta(days=PACE_DAYS - 1))
        by_category, by_path = conversion(
            session, scope=scope, campaign=campaign, last=last, categories_of=person_categories
        )
        context.update(
            retention=retention_of(session, scope=scope, campaign=campaign, last=last),
            by_category=by_category,
            by_path=by_path,
            # The last 30 days: how doors are worked now, and a bounded read of raw visits.
            pace=canvasser_pace(session, scope=scope, first=pace_from, last=last),
            pace_from=pace_from,
            pace_to=last,
            break_minutes=BREAK_MINUTES,
        )
    return render_template("leader/retention.html", **context)


def _meetings_page(status: int = 200, error: str | None = None, form=None):
    session = get_session()
    scope = current_scope()
    campaign = active_campaign(session, province_id=scope.province_id)
    context = {"campaign": campaign, "error": error, "form": form or {}}
    if campaign is not None:
        today = request_today()
        context.update(
            board=milestone_board(session, scope=scope, campaign=campaign, today=today),
            meetings=meetings.meetings_in_scope(session, scope=scope, campaign_id=campaign.id),
            communes=_communes(scope),
            today=today,
            decisions=list(MeetingDecision),
            kinds=list(MilestoneKind),
        )
    return render_template("leader/meetings.html", **context), status


@bp.get("/meetings")
@roles_required(*LEADERS)
def meetings_page():
    """Each commune against the next milestone, the ones that must review, the meetings held."""
    return _meetings_page()


def _day_field(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        return None


@bp.post("/meetings")
@roles_required(*LEADERS)
def record_meeting():
    """Record a review meeting with its decision and commitments."""
    session = get_session()
    scope = current_scope()
    campaign = active_campaign(session, province_id=scope.province_id)
    if campaign is None:
        return _meetings_page(400, _("Chưa có chiến dịch nào đang chạy."))
    form = request.form
    commitments = [
        meetings.CommitmentInput(
            form.get(f"commitment_{i}", ""), form.get(f"owner_{i}", ""), _day_field(f"due_{i}")
        )
        for i in range(1, 4)
    ]
    try:
        with committing(session):
            meetings.record_meeting(
                session,
                scope=scope,
                campaign=campaign,
                held_on=_day_field("held_on"),
                unit_ids=[i for i in (parse_id(v) for v in form.getlist("unit_id")) if i],
                attendees=form.get("attendees", ""),
                findings=form.get("findings", ""),
                decision=form.get("decision", "none"),
                decision_text=form.get("decision_text", ""),
                commitments=commitments,
                by_user=current_user,
                today=request_today(),
            )
    except meetings.MeetingError as error:
        return _meetings_page(400, str(error), form)
    flash(_("Đã ghi cuộc họp kiểm điểm."), "ok")
    return redirect(url_for(".meetings_page"), 303)


@bp.post("/milestones")
@roles_required(Role.ADMIN)
def add_milestone():
    """An admin adds a milestone to the active campaign."""
    session = get_session()
    campaign = active_campaign(session, province_id=current_scope().province_id)
    if campaign is None:
        return _meetings_page(400, _("Chưa có chiến dịch nào đang chạy."))
    share = request.form.get("share", "").strip().replace(",", ".")
    try:
        with committing(session):
            due_on = _day_field("due_on")
            if due_on is None:
                raise MilestoneError(_("Hãy nhập ngày của mốc."))
            add_milestone_to(
                session,
                campaign=campaign,
                kind=request.form.get("kind", ""),
                due_on=due_on,
                share=float(share) / 100 if share.replace(".", "", 1).isdigit() else None,
                note=request.form.get("note", ""),
                by_user=current_user,
            )
    except MilestoneError as error:
        return _meetings_page(400, str(error))
    flash(_("Đã thêm mốc của chiến dịch."), "ok")
    return redirect(url_for(".meetings_page"), 303)


@bp.post("/commitments/<int:commitment_id>/done")
@roles_required(*LEADERS)
def commitment_done(commitment_id: int):
    """Mark a commitment done: its reminder leaves the home page."""
    try:
        with committing(get_session()) as session:
            meetings.complete_commitment(
                session, scope=current_scope(), commitment_id=commitment_id, by_user=current_user
            )
    except meetings.MeetingError:
        abort(404)
    flash(_("Đã đánh dấu cam kết hoàn thành."), "ok")
    return redirect(url_for("home.index"), 303)


@bp.app_template_filter("vn_time")
def vn_time(moment) -> str:
    """dd/MM/yyyy HH:mm in Vietnam for an aware timestamp (the review list and workload)."""
    if moment is None:
        return "—"
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
