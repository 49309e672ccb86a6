"""Leaders' tools: assign work to canvassers, review visits that look wrong, follow promises."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from outreach.campaigns.service import active_campaign
from outreach.core.clock import VIETNAM
from outreach.core.periods import half_month_start, local_midnight
from outreach.core.scope import Scope
from outreach.core.text import place_key
from outreach.db import committing, get_session
from outreach.leaders import assignment, review
from outreach.leaders.followthrough import GRACE_DAYS, followthrough
from outreach.models import GeoUnit, User
from outreach.models.codes import Role, UnitKind
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
from outreach.worklist.priority import list_categories

bp = Blueprint("leader", __name__, url_prefix="/leader")
LEADERS = (Role.LEADER, Role.ADMIN)
# The longest review window a leader can ask for: it bounds the rows the flags read.
MAX_REVIEW_DAYS = 62
# Flagged visits shown at once; a leader who hits it narrows the days.
REVIEW_LIMIT = 300


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
        first = bounded_day(date.fromisoformat(raw_from)) if raw_from else default[0]
        last = bounded_day(date.fromisoformat(raw_to)) if raw_to else today
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
        by_category, by_path = conversion(
            session, scope=scope, campaign=campaign, last=last, categories_of=list_categories
        )
        context.update(
            retention=retention_of(session, scope=scope, campaign=campaign, last=last),
            by_category=by_category,
            by_path=by_path,
            pace=canvasser_pace(session, scope=scope, first=campaign.starts_on, last=last),
            break_minutes=BREAK_MINUTES,
        )
    return render_template("leader/retention.html", **context)


@bp.app_template_filter("vn_time")
def vn_time(moment) -> str:
    """dd/MM/yyyy HH:mm in Vietnam for an aware timestamp (the review list and workload)."""
    if moment is None:
        return "—"
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
