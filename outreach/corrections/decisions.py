"""A leader's decision on a correction: approve it (it takes effect), reject it, or lift an objection.

An approved correction changes the household or person rows in the same transaction as the
decision, and the household's worklist score is recomputed at once, so the household page, the
worklists, the offline download and the leaders' follow-ups all read the new facts. A rejected one
changes nothing but its own status. Each decision is audited.
"""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.i18n import _
from outreach.core.scope import Scope, get_in_scope
from outreach.core.text import fold
from outreach.corrections.services import CorrectionError, check_new_identifiers, reason_text
from outreach.models import Correction, Household, Person, User
from outreach.models.base import utcnow
from outreach.models.codes import CorrectionKind, CorrectionStatus, OffList
from outreach.worklist.service import refresh_household

APPROVE, REJECT, LIFT = "approve", "reject", "lift"
DECISIONS = (APPROVE, REJECT, LIFT)


def _note(text: str, *, required: bool) -> str:
    return reason_text(text, missing=_("Hãy ghi lý do để cán bộ biết.") if required else None)


def decide(
    session: Session,
    *,
    scope: Scope,
    correction_id: int | None,
    decision: str,
    note: str = "",
    by_user: User,
    today: date,
) -> Correction:
    """Approve or reject a pending correction in scope, or lift an objection in force; a
    rejection and a lifting need a reason."""
    correction = get_in_scope(session, Correction, correction_id, scope) if correction_id else None
    if correction is None:
        raise CorrectionError(_("Không tìm thấy sửa đổi này trong phạm vi của bạn."))
    if decision not in DECISIONS:
        raise CorrectionError(_("Hãy chọn duyệt hoặc không duyệt."))
    if decision == LIFT:
        if not (
            correction.kind == CorrectionKind.OBJECTION
            and correction.status == CorrectionStatus.APPLIED
        ):
            raise CorrectionError(_("Chỉ gỡ được yêu cầu không liên hệ đang có hiệu lực."))
        note = _note(note, required=True)
        _lift_objection(session, correction)
        status = CorrectionStatus.LIFTED
    else:
        if correction.status != CorrectionStatus.PENDING:
            raise CorrectionError(_("Sửa đổi này đã được quyết định rồi."))
        note = _note(note, required=decision == REJECT)
        if decision == APPROVE:
            _apply(session, correction)
        status = CorrectionStatus.APPROVED if decision == APPROVE else CorrectionStatus.REJECTED
    correction.status = status
    correction.decided_by_id = by_user.id
    correction.decided_at = utcnow()
    correction.decision_note = note
    session.add(correction)
    refresh_household(session, household_id=correction.household_id, today=today)
    record_event(
        session,
        action=f"correction.{decision}",
        user_id=by_user.id,
        username=by_user.username,
        object_type="correction",
        object_id=correction.id,
        detail={"kind": correction.kind, "note": note[:200]} if note else {"kind": correction.kind},
    )
    session.flush()
    return correction


def _lift_objection(session: Session, correction: Correction) -> None:
    person = session.get(Person, correction.person_id)
    if person is not None and person.off_list == OffList.OBJECTION:
        person.off_list = ""
        session.add(person)


def _apply(session: Session, correction: Correction) -> None:
    """Make an approved correction take effect on the household or person rows."""
    details = json.loads(correction.details or "{}")
    household = session.get(Household, correction.household_id)
    person = session.get(Person, correction.person_id) if correction.person_id else None
    if correction.kind == CorrectionKind.ADD_PERSON:
        correction.person_id = _add_person(session, household, details).id
    elif correction.kind == CorrectionKind.PHONE:
        target = person or household
        details["replaced"] = target.phone  # what it says now, if it changed since the report
        target.phone = details["new"]
        session.add(target)
    elif correction.kind == CorrectionKind.DECEASED:
        person.off_list = OffList.DECEASED
        session.add(person)
    elif correction.kind == CorrectionKind.MOVED:
        _apply_move(session, household, person, details)
    elif correction.kind == CorrectionKind.LOCATION:
        household.latitude, household.longitude = details["latitude"], details["longitude"]
        session.add(household)
    correction.details = json.dumps(details, ensure_ascii=False)


def _add_person(session: Session, household: Household, details: dict) -> Person:
    # The numbers may have reached the lists (an import) since the report.
    check_new_identifiers(
        session,
        bhxh=details.get("bhxh_number"),
        citizen_id=details.get("citizen_id"),
        pending_too=False,
    )
    person = Person(
        household_id=household.id,
        province_id=household.province_id,
        commune_id=household.commune_id,
        full_name=details["full_name"],
        name_key=fold(details["full_name"]),
        date_of_birth=date.fromisoformat(details["date_of_birth"]),
        sex=details.get("sex"),
        bhxh_number=details.get("bhxh_number"),
        citizen_id=details.get("citizen_id"),
        citizen_id_is_legacy=bool(details.get("citizen_id_is_legacy")),
        phone=details.get("phone"),
        # Met at the door and not on BHXH's lists: someone to talk to about joining.
        is_potential=True,
    )
    session.add(person)
    session.flush()
    return person


def _apply_move(
    session: Session, household: Household, person: Person | None, details: dict
) -> None:
    if person is not None:  # one member left
        person.off_list = OffList.MOVED
        session.add(person)
        return
    if details.get("still_in_commune"):  # the household lives elsewhere in the commune
        details["replaced_address"] = household.address
        household.address = details["new_address"]
        session.add(household)
        return
    for member in session.exec(select(Person).where(Person.household_id == household.id)):
        if not member.off_list:  # the whole household left the commune
            member.off_list = OffList.MOVED
            session.add(member)
