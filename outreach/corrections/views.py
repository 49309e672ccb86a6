"""Corrections at the door (the canvasser's forms) and the leader's decisions and sheet."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.core.audit import vietnam_time
from outreach.core.scope import Scope
from outreach.corrections import decisions, listing, services
from outreach.corrections.sheet import corrections_workbook
from outreach.db import committing, get_session
from outreach.models import GeoUnit
from outreach.models.codes import CorrectionKind, CorrectionStatus, Role
from outreach.web.guards import audit, current_scope, parse_id, roles_required
from outreach.web.guards import today as request_today

bp = Blueprint("corrections", __name__)
LEADERS = (Role.LEADER, Role.ADMIN)
EXPORTS = {
    "pending": (CorrectionStatus.PENDING,),
    "approved": (CorrectionStatus.APPROVED,),
    "all": (CorrectionStatus.PENDING, CorrectionStatus.APPROVED),
}


@bp.app_template_global()
def pending_corrections() -> int:
    """How many corrections wait for the logged-in leader (0 for anyone else)."""
    if not current_user.is_authenticated or current_user.role not in LEADERS:
        return 0
    return listing.pending_count(get_session(), scope=current_scope())


@bp.app_template_global()
def household_corrections(household_id: int) -> list[listing.CorrectionLine]:
    """The household's corrections the logged-in user may read (for the household page)."""
    scope = current_scope()
    if not scope.sees_personal_data:
        return []
    return listing.corrections_of_household(
        get_session(), scope=scope, household_id=household_id, limit=10
    )


def _form(name: str) -> str:
    return request.form.get(name, "")


def _report(scope: Scope, household_id: int, kind: str):
    """Run the service for one kind of correction; returns the correction made."""
    session = get_session()
    common = {"scope": scope, "household_id": household_id, "by_user": current_user}
    if kind == "add_person":
        typed = services.NewPerson(
            **{
                field: _form(field)
                for field in ("full_name", "born", "sex", "bhxh_number", "citizen_id", "phone")
            }
        )
        return services.report_new_person(session, typed=typed, today=request_today(), **common)
    if kind == "phone":
        return services.report_phone(session, whose=_form("whose"), phone=_form("phone"), **common)
    if kind == "departure":
        return services.report_departure(
            session,
            who=_form("who"),
            deceased=_form("what") == "deceased",
            new_address=_form("new_address"),
            still_in_commune=bool(_form("still_in_commune")),
            **common,
        )
    if kind == "objection":
        return services.record_objection(
            session,
            person_id=parse_id(_form("person_id")),
            reason=_form("reason"),
            today=request_today(),
            **common,
        )
    if kind == "location":
        return services.save_location(
            session,
            visit_id=parse_id(_form("visit_id")),
            consent=bool(_form("consent")),
            **common,
        )
    raise services.CorrectionError(_("Hãy chọn việc cần sửa."))


def _page(household_id: int, *, error: str = "", kind: str = "", status: int = 200):
    """The household's corrections and the forms to make one."""
    session = get_session()
    scope = current_scope()
    try:
        household = services.household_in_scope(session, scope=scope, household_id=household_id)
    except services.CorrectionError:
        abort(404)
    members = services.members_of(session, scope=scope, household=household)
    if not error:
        # A view of the household's record, audited like its page. A refused form is shown again
        # without a new entry, like the visit form's: a refusal writes nothing (the page it came
        # from was audited when it was opened).
        audit(
            "view_household",
            object_type="household",
            object_id=household.id,
            detail={"persons": [p.id for p in members], "page": "corrections"},
        )
    return render_template(
        "corrections/household.html",
        household=household,
        members=members,
        lines=listing.corrections_of_household(session, scope=scope, household_id=household.id),
        visits=services.located_visits(
            session, scope=scope, household=household, canvasser_id=current_user.id
        ),
        error=error,
        open_kind=kind,
        form=request.form if error else {},
        when=vietnam_time,
        household_choice=services.HOUSEHOLD,
    ), status


# One rule for the page and its form: two rules on one path would answer a POST naming an id no
# column can hold with 405 (the GET rule's path matches) rather than 404.
@bp.route("/households/<int:household_id>/corrections", methods=["GET", "POST"])
@roles_required(Role.CANVASSER)
def household(household_id: int):
    """The canvasser's corrections for a household they may visit, and the forms to make one."""
    if request.method == "POST":
        return _report_one(household_id)
    return _page(household_id)


def _report_one(household_id: int):
    """Record one correction; a refusal is shown on the form with what was typed, nothing kept."""
    session = get_session()
    scope = current_scope()
    try:
        services.household_in_scope(session, scope=scope, household_id=household_id)
    except services.CorrectionError:
        abort(404)
    kind = _form("kind")
    try:
        with committing(session):
            correction = _report(scope, household_id, kind)
    except services.CorrectionError as error:
        return _page(household_id, error=str(error), kind=kind, status=400)
    if correction.status == CorrectionStatus.PENDING:
        flash(_("Đã ghi: %(what)s, chờ lãnh đạo duyệt.", what=_kind(correction.kind)), "ok")
    else:
        flash(_("Đã ghi: %(what)s, có hiệu lực ngay.", what=_kind(correction.kind)), "ok")
    return redirect(url_for(".household", household_id=household_id), 303)


def _kind(kind: str) -> str:
    return str(listing.KIND_LABELS.get(kind, kind)).lower()


@bp.get("/leader/corrections")
@roles_required(*LEADERS)
def leader_list():
    """Corrections waiting for the leader, objections in force, and the latest decisions."""
    session = get_session()
    scope = current_scope()
    pending = listing.corrections_in_scope(
        session, scope=scope, statuses=(CorrectionStatus.PENDING,)
    )
    objections = listing.corrections_in_scope(
        session,
        scope=scope,
        statuses=(CorrectionStatus.APPLIED,),
        kinds=(CorrectionKind.OBJECTION,),
    )
    decided = listing.recent_decisions(session, scope=scope)
    audit(
        "view_list",
        object_type="households",
        detail={"list": "corrections", "corrections": [line.correction.id for line in pending]},
    )
    return render_template(
        "corrections/leader.html",
        pending=pending,
        objections=objections,
        decided=decided,
        when=vietnam_time,
        max_note=services.MAX_REASON,
    )


@bp.post("/leader/corrections/<int:correction_id>")
@roles_required(*LEADERS)
def decide(correction_id: int):
    """Approve, reject (with a reason) or lift (with a reason); back to the list either way."""
    session = get_session()
    decision = _form("decision")
    try:
        with committing(session):
            decisions.decide(
                session,
                scope=current_scope(),
                correction_id=correction_id,
                decision=decision,
                note=_form("note"),
                by_user=current_user,
                today=request_today(),
            )
    except services.CorrectionError as error:
        flash(str(error), "error")
        return redirect(url_for(".leader_list"), 303)
    done = {
        decisions.APPROVE: _("Đã duyệt: thông tin mới có hiệu lực."),
        decisions.REJECT: _("Đã không duyệt và báo lý do cho cán bộ."),
        decisions.LIFT: _("Đã gỡ yêu cầu không liên hệ."),
    }
    flash(done[decision], "ok")
    return redirect(url_for(".leader_list"), 303)


@bp.get("/leader/corrections/export.xlsx")
@roles_required(*LEADERS)
def export():
    """The pending, approved or both corrections in scope as a sheet for BHXH."""
    session = get_session()
    scope = current_scope()
    which = request.args.get("status", "all")
    statuses = EXPORTS.get(which, EXPORTS["all"])
    unit = session.get(GeoUnit, scope.unit_id)
    today = request_today()
    data, rows = corrections_workbook(
        session, scope=scope, statuses=statuses, scope_name=unit.name, today=today
    )
    audit("correction.export", object_type="corrections", detail={"status": which, "rows": rows})
    return (
        data,
        200,
        {
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="sua-doi-{which}-{today.isoformat()}.xlsx"',
        },
    )
