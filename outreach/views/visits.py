"""Recording a visit in a few taps: channel, one outcome per person met, dates from quick picks."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from ..db import get_session
from ..models import Household, Person
from ..models.codes import Channel, Outcome, RefusalReason, Role
from ..services.clock import add_months_end
from ..services.scope import get_in_scope
from ..services.sync import scope_token
from ..services.visits import OutcomeInput, VisitError, VisitInput, record_visit
from .guards import current_scope, roles_required
from .guards import today as request_today

bp = Blueprint("visits", __name__)


def quick_picks(today: date) -> list[tuple[str, date]]:
    """Dates a canvasser picks most: tomorrow, +3 days, next week, the 15th, the end of the month."""
    fifteenth = (
        today.replace(day=15) if today.day < 15 else add_months_end(today, 1).replace(day=15)
    )
    month_end = add_months_end(today, 0)
    if month_end == today:
        month_end = add_months_end(today, 1)
    return [
        (_("Ngày mai"), today + timedelta(days=1)),
        (_("3 ngày nữa"), today + timedelta(days=3)),
        (_("Tuần sau"), today + timedelta(days=7)),
        (_("Ngày 15"), fifteenth),
        (_("Cuối tháng"), month_end),
    ]


def _household_and_members(household_id: int) -> tuple[Household, list[Person]]:
    session = get_session()
    household = get_in_scope(session, Household, household_id, current_scope())
    if household is None:
        abort(404)
    members = list(
        session.exec(select(Person).where(Person.household_id == household.id).order_by(Person.id))
    )
    return household, members


def _int(value: str | None) -> int | None:
    digits = (value or "").replace(".", "").replace(",", "").strip()
    return int(digits) if digits.isdigit() else None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _parse_form(form, household_id: int, members: list[Person]) -> VisitInput:
    outcomes = []
    for person in members:
        code = form.get(f"outcome_{person.id}", "")
        if not code:
            continue  # not met on this visit
        outcomes.append(
            OutcomeInput(
                person_id=person.id,
                outcome=code,
                follow_up_on=_date(form.get(f"date_{person.id}")),
                refusal_reason=form.get(f"reason_{person.id}") or None,
                months_paid=_int(form.get(f"months_{person.id}")),
                amount=_int(form.get(f"amount_{person.id}")),
                receipt_number=(form.get(f"receipt_{person.id}") or "").strip() or None,
            )
        )
    return VisitInput(
        client_uuid=form.get("client_uuid", ""),
        household_id=household_id,
        channel=form.get("channel", ""),
        outcomes=tuple(outcomes),
        note=form.get("note", ""),
        latitude=_float(form.get("latitude")),
        longitude=_float(form.get("longitude")),
        accuracy_m=_float(form.get("accuracy")),
    )


def _render_form(household, members, *, client_uuid, form=None, errors=None, status=200):
    return (
        render_template(
            "visits/new.html",
            household=household,
            members=members,
            client_uuid=client_uuid,
            # Kept with a visit saved offline: proof the household was this canvasser's today.
            scope_token=scope_token(
                secret=current_app.secret_key,
                canvasser_id=current_user.id,
                household_id=household.id,
            ),
            form=form or {},
            errors=errors or {},
            picks=quick_picks(request_today()),
            channels=list(Channel),
            outcomes=list(Outcome),
            reasons=list(RefusalReason),
        ),
        status,
    )


@bp.get("/households/<int:household_id>/visits/new")
@roles_required(Role.CANVASSER)
def new(household_id: int):
    """The visit form, with a fresh UUID so a resubmitted form is the same visit."""
    household, members = _household_and_members(household_id)
    return _render_form(household, members, client_uuid=str(uuid.uuid4()))


@bp.post("/households/<int:household_id>/visits")
@roles_required(Role.CANVASSER)
def create(household_id: int):
    """Store the visit, or show the form again with each problem next to its field."""
    household, members = _household_and_members(household_id)
    data = _parse_form(request.form, household.id, members)
    try:
        result = record_visit(
            get_session(),
            canvasser=current_user,
            scope=current_scope(),
            data=data,
            today=request_today(),
            members=members,
        )
    except VisitError as exc:
        get_session().rollback()
        return _render_form(
            household,
            members,
            client_uuid=data.client_uuid,
            form=request.form,
            errors=exc.errors,
            status=400,
        )
    flash(
        _("Đã lưu lượt thăm hộ %(name)s.", name=household.head_name)
        if not result.replayed
        else _("Lượt thăm này đã được lưu trước đó."),
        "ok",
    )
    return redirect(url_for("worklist.show"))
