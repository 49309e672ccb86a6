"""One household's page: members, their list facts and the visit history."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.core.formatting import format_phone
from outreach.db import committing, get_session
from outreach.households.service import household_detail
from outreach.leaders.review import ReviewError, answer_returned_visit
from outreach.models.codes import Outcome, Role
from outreach.web.guards import audit, current_scope, render_page_or_fragment, roles_required
from outreach.web.guards import today as request_today
from outreach.worklist.service import decode_reasons, member_priorities

bp = Blueprint("households", __name__, url_prefix="/households")


@bp.get("/<int:household_id>")
@roles_required(Role.CANVASSER, Role.LEADER, Role.ADMIN)
def show(household_id: int):
    """A household in the user's scope; anything else is a 404, whether it exists or not."""
    session = get_session()
    detail = household_detail(session, household_id=household_id, scope=current_scope())
    if detail is None:
        abort(404)
    # Every view of a person's record is audited (Decree 13/2023).
    audit(
        "view_household",
        object_type="household",
        object_id=household_id,
        detail={"persons": [p.id for p in detail.members]},
    )
    today = request_today()
    return render_page_or_fragment(
        "households/show.html",
        "households/_members.html",
        detail=detail,
        reasons=decode_reasons(detail.household.priority_reasons, today=today),
        member_status=member_priorities(session, members=detail.members, today=today),
        outcome_codes=[o.value for o in Outcome],
        sms_text=_(
            "BHXH tự nguyện: xin nhắc hạn đóng. Cán bộ %(name)s, %(phone)s.",
            name=current_user.full_name,
            phone=format_phone(current_user.phone),
        ),
    )


@bp.post("/<int:household_id>/visits/<int:visit_id>/reply")
@roles_required(Role.CANVASSER)
def reply(household_id: int, visit_id: int):
    """The canvasser answers a visit of theirs a leader returned; the leader reads it on review."""
    session = get_session()
    try:
        with committing(session):
            visit = answer_returned_visit(
                session,
                scope=current_scope(),
                visit_id=visit_id,
                canvasser=current_user,
                reply=request.form.get("reply", ""),
            )
            if visit.household_id != household_id:
                raise ReviewError(_("Lượt thăm này không chờ bạn trả lời."))
    except ReviewError as error:
        flash(str(error), "error")
    else:
        flash(_("Đã gửi câu trả lời cho người soát."), "ok")
    target = url_for(".show", household_id=household_id, _anchor=f"visit-{visit_id}")
    return redirect(target, 303)
