"""Corrections at the door: what a canvasser reports about a household, kept as events.

A correction is a row of `correction`, never an overwrite. Those that change BHXH's facts (a
person added, a phone, a move, a death: `codes.NEEDS_APPROVAL`) wait for a leader
(`corrections.decisions`); an objection to being contacted (Decree 13/2023) takes effect at once,
and so does the household's first location. Every report is audited with the change it records,
and everything goes through the scope door: a canvasser reports only on households of their scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import Scope, apply_scope, get_in_scope
from outreach.imports.reading.cells import (
    CellError,
    parse_bhxh,
    parse_birth_date,
    parse_citizen_id,
    parse_name,
    parse_phone,
    parse_sex,
    parse_text,
)
from outreach.models import Correction, Household, Person, User, Visit
from outreach.models.codes import CorrectionKind, CorrectionStatus, OffList, Sex
from outreach.worklist.service import refresh_household

MAX_REASON = 500
MAX_ADDRESS = 300  # Household.address
HOUSEHOLD = "household"  # the "whose phone / who moved" choice meaning the whole household


class CorrectionError(DomainError):
    """A correction refused; the message says why in the user's language, nothing was written."""


@dataclass(frozen=True)
class NewPerson:
    """A person met at the door, as typed: every field is checked like an imported list's."""

    full_name: str = ""
    born: str = ""  # dd/mm/yyyy, or the year alone
    sex: str = ""
    bhxh_number: str = ""
    citizen_id: str = ""
    phone: str = ""


# ---- reading ------------------------------------------------------------------------------------


def household_in_scope(session: Session, *, scope: Scope, household_id: int) -> Household:
    """The household if the scope covers it; a CorrectionError otherwise (the view answers 404)."""
    household = get_in_scope(session, Household, household_id, scope)
    if household is None:
        raise CorrectionError(_("Không tìm thấy hộ này trong phạm vi của bạn."), code="not_found")
    return household


def members_of(session: Session, *, scope: Scope, household: Household) -> list[Person]:
    """The household's persons the scope may read, in the order of the lists."""
    return list(
        session.exec(
            apply_scope(
                select(Person).where(Person.household_id == household.id), Person, scope
            ).order_by(Person.id)
        )
    )


def located_visits(
    session: Session, *, scope: Scope, household: Household, canvasser_id: int, limit: int = 5
) -> list[Visit]:
    """The canvasser's own visits to the household that carry GPS, newest first."""
    return list(
        session.exec(
            apply_scope(select(Visit), Visit, scope)
            .where(
                Visit.household_id == household.id,
                Visit.canvasser_id == canvasser_id,
                Visit.latitude.is_not(None),
                Visit.longitude.is_not(None),
            )
            .order_by(Visit.visited_at.desc())
            .limit(limit)
        )
    )


# ---- reporting ----------------------------------------------------------------------------------


def _member(session: Session, *, scope: Scope, household: Household, person_id: int | None):
    """A person of this household in scope, or a CorrectionError."""
    person = get_in_scope(session, Person, person_id, scope) if person_id else None
    if person is None or person.household_id != household.id:
        raise CorrectionError(_("Hãy chọn một người trong hộ."))
    return person


def reason_text(text: str, *, missing: str | None) -> str:
    """A reason or note with its spaces collapsed; `missing` is the refusal when it is empty
    (None: it may be)."""
    reason = " ".join((text or "").split())
    if missing is not None and not reason:
        raise CorrectionError(missing)
    if len(reason) > MAX_REASON:
        raise CorrectionError(_("Lý do dài quá %(n)s ký tự.", n=MAX_REASON))
    return reason


def _record(
    session: Session,
    *,
    household: Household,
    by_user: User,
    kind: str,
    status: str,
    person_id: int | None = None,
    details: dict | None = None,
    reason: str = "",
    visit_id: int | None = None,
) -> Correction:
    """Store a correction and its audit entry."""
    correction = Correction(
        kind=kind,
        status=status,
        household_id=household.id,
        person_id=person_id,
        province_id=household.province_id,
        commune_id=household.commune_id,
        details=json.dumps(details or {}, ensure_ascii=False),
        reason=reason,
        reported_by_id=by_user.id,
        visit_id=visit_id,
    )
    session.add(correction)
    session.flush()
    record_event(
        session,
        action="correction.report",
        user_id=by_user.id,
        username=by_user.username,
        object_type="correction",
        object_id=correction.id,
        detail={"kind": kind, "household": household.id, "person": person_id, "status": status},
    )
    return correction


def _field(parse, value: str, *args):
    """A typed field through the imports' parser; its message becomes a CorrectionError."""
    try:
        return parse(value, *args)
    except CellError as error:
        raise CorrectionError(str(error)) from None


def check_new_identifiers(
    session: Session, *, bhxh: str | None, citizen_id: str | None, pending_too: bool = True
) -> None:
    """Refuse a number already on the lists (or, with `pending_too`, in a person still waiting
    to be added)."""
    for number, column, key, label in (
        (bhxh, Person.bhxh_number, "bhxh_number", _("Mã số BHXH")),
        (citizen_id, Person.citizen_id, "citizen_id", _("Số CCCD")),
    ):
        if not number:
            continue
        taken = session.exec(select(Person.id).where(column == number)).first() is not None
        if pending_too and not taken:
            taken = (
                session.exec(
                    select(Correction.id).where(
                        Correction.kind == CorrectionKind.ADD_PERSON,
                        Correction.status == CorrectionStatus.PENDING,
                        Correction.details.contains(f'"{key}": "{number}"'),
                    )
                ).first()
                is not None
            )
        if taken:
            raise CorrectionError(
                _(
                    "%(label)s %(number)s đã có trong danh sách: hãy tìm người đó thay vì thêm mới.",
                    label=label,
                    number=number,
                )
            )


def new_person_details(session: Session, *, typed: NewPerson, today: date) -> dict:
    """The fields of a person to add, checked as an imported list's row is (`imports.reading`)."""
    name = _field(parse_name, typed.full_name)
    if not typed.born.strip():
        raise CorrectionError(_("Thiếu ngày sinh (hoặc năm sinh)."))
    born, year_only = _field(parse_birth_date, typed.born.strip())
    if born > today:
        raise CorrectionError(_("Ngày sinh không thể sau hôm nay."))
    sex = _field(parse_sex, typed.sex) if typed.sex.strip() else None
    bhxh = _field(parse_bhxh, typed.bhxh_number) if typed.bhxh_number.strip() else None
    citizen_id, legacy = (
        _field(parse_citizen_id, typed.citizen_id) if typed.citizen_id.strip() else (None, False)
    )
    phone = _field(parse_phone, typed.phone) if typed.phone.strip() else None
    check_new_identifiers(session, bhxh=bhxh, citizen_id=citizen_id)
    return {
        "full_name": name,
        "date_of_birth": born.isoformat(),
        "year_only": year_only,
        "sex": Sex(sex).value if sex else None,
        "bhxh_number": bhxh,
        "citizen_id": citizen_id,
        "citizen_id_is_legacy": legacy,
        "phone": phone,
    }


def report_new_person(
    session: Session,
    *,
    scope: Scope,
    household_id: int,
    typed: NewPerson,
    by_user: User,
    today: date,
) -> Correction:
    """A person met at the door (a walk-in, a new member), to be added once a leader approves."""
    household = household_in_scope(session, scope=scope, household_id=household_id)
    details = new_person_details(session, typed=typed, today=today)
    return _record(
        session,
        household=household,
        by_user=by_user,
        kind=CorrectionKind.ADD_PERSON,
        status=CorrectionStatus.PENDING,
        details=details,
    )


def report_phone(
    session: Session,
    *,
    scope: Scope,
    household_id: int,
    whose: str,
    phone: str,
    by_user: User,
) -> Correction:
    """A phone number to correct, the household's or a member's; waits for a leader."""
    household = household_in_scope(session, scope=scope, household_id=household_id)
    if not (phone or "").strip():
        raise CorrectionError(_("Hãy nhập số điện thoại mới."))
    new = _field(parse_phone, phone)
    person = None
    if whose != HOUSEHOLD:
        person = _member(session, scope=scope, household=household, person_id=_id(whose))
    old = person.phone if person else household.phone
    if new == old:
        raise CorrectionError(_("Số này trùng với số đang có."))
    return _record(
        session,
        household=household,
        by_user=by_user,
        kind=CorrectionKind.PHONE,
        status=CorrectionStatus.PENDING,
        person_id=person.id if person else None,
        details={"old": old, "new": new},
    )


def report_departure(
    session: Session,
    *,
    scope: Scope,
    household_id: int,
    who: str,
    deceased: bool,
    new_address: str = "",
    still_in_commune: bool = False,
    by_user: User,
) -> Correction:
    """A member (or the whole household) moved, with the new address if known, or a member died."""
    household = household_in_scope(session, scope=scope, household_id=household_id)
    person = None
    if who != HOUSEHOLD or deceased:
        person = _member(session, scope=scope, household=household, person_id=_id(who))
    if deceased:
        return _record(
            session,
            household=household,
            by_user=by_user,
            kind=CorrectionKind.DECEASED,
            status=CorrectionStatus.PENDING,
            person_id=person.id,
        )
    address = parse_text(new_address, MAX_ADDRESS) if new_address.strip() else ""
    if len(address) > MAX_ADDRESS:
        raise CorrectionError(_("Địa chỉ mới dài quá %(n)s ký tự.", n=MAX_ADDRESS))
    if still_in_commune and (person is not None or not address):
        raise CorrectionError(
            _("Chuyển trong xã: hãy chọn cả hộ và ghi địa chỉ mới để cán bộ tìm được nhà.")
        )
    return _record(
        session,
        household=household,
        by_user=by_user,
        kind=CorrectionKind.MOVED,
        status=CorrectionStatus.PENDING,
        person_id=person.id if person else None,
        details={
            "new_address": address,
            "still_in_commune": still_in_commune,
            "old_address": household.address,
        },
    )


def record_objection(
    session: Session,
    *,
    scope: Scope,
    household_id: int,
    person_id: int | None,
    reason: str,
    by_user: User,
    today: date,
) -> Correction:
    """A person objects to being contacted (Decree 13/2023): off every list at once, until a
    leader lifts it; their stated reason is kept."""
    household = household_in_scope(session, scope=scope, household_id=household_id)
    person = _member(session, scope=scope, household=household, person_id=person_id)
    stated = reason_text(reason, missing=_("Hãy ghi lý do người dân nêu."))
    if person.off_list:
        raise CorrectionError(_("Người này đã được đưa ra khỏi mọi danh sách."))
    correction = _record(
        session,
        household=household,
        by_user=by_user,
        kind=CorrectionKind.OBJECTION,
        status=CorrectionStatus.APPLIED,
        person_id=person.id,
        reason=stated,
    )
    person.off_list = OffList.OBJECTION
    session.add(person)
    refresh_household(session, household_id=household.id, today=today)
    session.flush()
    return correction


def save_location(
    session: Session,
    *,
    scope: Scope,
    household_id: int,
    visit_id: int | None,
    consent: bool,
    by_user: User,
) -> Correction:
    """The household's place from one of the canvasser's visits there, with the household's
    consent: in force at once for a household without one; replacing one waits for a leader."""
    household = household_in_scope(session, scope=scope, household_id=household_id)
    if not consent:
        raise CorrectionError(_("Chỉ lưu vị trí nhà khi chủ hộ đồng ý: hãy đánh dấu ô đồng ý."))
    visit = get_in_scope(session, Visit, visit_id, scope) if visit_id else None
    if (
        visit is None
        or visit.household_id != household.id
        or visit.canvasser_id != by_user.id
        or visit.latitude is None
        or visit.longitude is None
    ):
        raise CorrectionError(_("Hãy chọn một lượt thăm của bạn tại hộ này có ghi vị trí."))
    replaces = household.latitude is not None and household.longitude is not None
    correction = _record(
        session,
        household=household,
        by_user=by_user,
        kind=CorrectionKind.LOCATION,
        status=CorrectionStatus.PENDING if replaces else CorrectionStatus.APPLIED,
        details={
            "latitude": visit.latitude,
            "longitude": visit.longitude,
            "accuracy_m": visit.accuracy_m,
            "old_latitude": household.latitude,
            "old_longitude": household.longitude,
            "consent": True,
        },
        visit_id=visit.id,
    )
    if not replaces:
        household.latitude, household.longitude = visit.latitude, visit.longitude
        session.add(household)
        session.flush()
    return correction


def _id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None
