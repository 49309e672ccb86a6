"""Corrections at the door on the demo database (SQLite, and PostgreSQL when the suite runs there)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func
from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.corrections import decisions
from outreach.corrections.listing import corrections_of_household, pending_count
from outreach.corrections.services import (
    HOUSEHOLD,
    CorrectionError,
    NewPerson,
    record_objection,
    report_departure,
    report_new_person,
    report_phone,
    save_location,
)
from outreach.corrections.sheet import corrections_workbook
from outreach.dashboard.service import count_overdue, list_overdue
from outreach.leaders.review import review_flags
from outreach.models import (
    AuditLog,
    Correction,
    Household,
    LatestOutcome,
    Person,
    User,
)
from outreach.models.codes import CorrectionStatus, OffList, Role
from outreach.worklist.service import member_priorities, refresh_commune, worklist_for
from tests.conftest import DEMO_TODAY
from tests.leaders.test_review import _visit

TODAY = DEMO_TODAY
CANVASSER, LEADER = "canbo.07210.1", "lanhdao.07210"
WALK_IN = NewPerson(full_name="nguyễn thị hoa", born="15/03/1990", sex="Nữ", phone="0912 345 678")


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


@pytest.fixture
def canvasser(session):
    return _user(session, CANVASSER)


@pytest.fixture
def leader(session):
    return _user(session, LEADER)


def _scope(session, user):
    return scope_for(session, user)


@pytest.fixture
def household(session, canvasser):
    """One of the canvasser's households, with at least two members."""
    counts = (
        select(Person.household_id)
        .join(Household, Household.id == Person.household_id)
        .where(Household.assigned_canvasser_id == canvasser.id)
        .group_by(Person.household_id)
        .having(func.count() >= 2)
        .order_by(Person.household_id)
    )
    return session.get(Household, session.exec(counts).first())


def _members(session, household) -> list[Person]:
    return list(
        session.exec(select(Person).where(Person.household_id == household.id).order_by(Person.id))
    )


def _corrections(session) -> int:
    return session.exec(select(func.count()).select_from(Correction)).one()


def _decide(session, leader, correction, decision, note=""):
    result = decisions.decide(
        session,
        scope=_scope(session, leader),
        correction_id=correction.id,
        decision=decision,
        note=note,
        by_user=leader,
        today=TODAY,
    )
    session.commit()
    return result


# ---- adding a person --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (NewPerson(full_name="", born="1990"), "Thiếu họ tên"),
        (NewPerson(full_name="Trần 123", born="1990"), "Họ tên có ký tự không hợp lệ"),
        (NewPerson(full_name="Trần Văn Nam"), "Thiếu ngày sinh"),
        (NewPerson(full_name="Trần Văn Nam", born="31/02/1990"), "1990"),
        (NewPerson(full_name="Trần Văn Nam", born="01/01/2030"), "sau hôm nay"),
        (NewPerson(full_name="Trần Văn Nam", born="1990", bhxh_number="12345"), "10 chữ số"),
        (NewPerson(full_name="Trần Văn Nam", born="1990", citizen_id="99912345678"), "CCCD"),
        (NewPerson(full_name="Trần Văn Nam", born="1990", phone="12"), "Số điện thoại"),
        (NewPerson(full_name="Trần Văn Nam", born="1990", sex="X"), "Giới tính"),
    ],
)
def test_a_person_is_checked_like_an_imported_row(session, canvasser, household, typed, message):
    before = _corrections(session)
    with pytest.raises(CorrectionError, match=message):
        report_new_person(
            session,
            scope=_scope(session, canvasser),
            household_id=household.id,
            typed=typed,
            by_user=canvasser,
            today=TODAY,
        )
    session.rollback()
    assert _corrections(session) == before


def test_a_number_already_on_the_lists_or_waiting_is_refused(session, canvasser, household):
    listed = session.exec(select(Person).where(Person.bhxh_number.is_not(None))).first()
    scope = _scope(session, canvasser)
    with pytest.raises(CorrectionError, match="đã có trong danh sách"):
        report_new_person(
            session,
            scope=scope,
            household_id=household.id,
            typed=NewPerson(full_name="Lê Văn Tư", born="1980", bhxh_number=listed.bhxh_number),
            by_user=canvasser,
            today=TODAY,
        )
    typed = NewPerson(full_name="Lê Văn Tư", born="1980", citizen_id="001090000123")
    report_new_person(
        session, scope=scope, household_id=household.id, typed=typed, by_user=canvasser, today=TODAY
    )
    session.commit()
    with pytest.raises(CorrectionError, match="Số CCCD 001090000123 đã có"):
        report_new_person(
            session,
            scope=scope,
            household_id=household.id,
            typed=typed,
            by_user=canvasser,
            today=TODAY,
        )


def test_a_walk_in_waits_then_joins_the_household_when_approved(
    session, canvasser, leader, household
):
    before = _members(session, household)
    correction = report_new_person(
        session,
        scope=_scope(session, canvasser),
        household_id=household.id,
        typed=WALK_IN,
        by_user=canvasser,
        today=TODAY,
    )
    session.commit()
    assert correction.status == CorrectionStatus.PENDING
    assert _members(session, household) == before  # nothing changes before a leader decides
    assert pending_count(session, scope=_scope(session, leader)) == 1
    assert pending_count(session, scope=_scope(session, canvasser)) == 1

    _decide(session, leader, correction, decisions.APPROVE)
    added = [p for p in _members(session, household) if p not in before]
    assert len(added) == 1
    person = added[0]
    assert (person.full_name, person.name_key) == ("Nguyễn Thị Hoa", "nguyen thi hoa")
    assert (person.date_of_birth, person.sex, person.phone) == (
        date(1990, 3, 15),
        "female",
        "+84912345678",
    )
    assert person.is_potential and person.commune_id == household.commune_id
    assert correction.person_id == person.id and correction.decided_by_id == leader.id
    assert pending_count(session, scope=_scope(session, leader)) == 0
    actions = session.exec(
        select(AuditLog.action).where(
            AuditLog.object_type == "correction", AuditLog.object_id == str(correction.id)
        )
    ).all()
    assert sorted(actions) == ["correction.approve", "correction.report"]
    with pytest.raises(CorrectionError, match="đã được quyết định"):
        _decide(session, leader, correction, decisions.APPROVE)


# ---- phone ------------------------------------------------------------------------------------


def test_a_phone_is_corrected_only_once_approved_and_a_rejection_needs_a_reason(
    session, canvasser, leader, household
):
    person = _members(session, household)[0]
    scope = _scope(session, canvasser)
    with pytest.raises(CorrectionError, match="Số điện thoại không hợp lệ"):
        report_phone(
            session,
            scope=scope,
            household_id=household.id,
            whose=str(person.id),
            phone="12345",
            by_user=canvasser,
        )
    first = report_phone(
        session,
        scope=scope,
        household_id=household.id,
        whose=str(person.id),
        phone="0987 654 321",
        by_user=canvasser,
    )
    second = report_phone(
        session,
        scope=scope,
        household_id=household.id,
        whose=HOUSEHOLD,
        phone="+84 977 000 111",
        by_user=canvasser,
    )
    session.commit()
    old = person.phone
    assert json.loads(first.details) == {"old": old, "new": "+84987654321"}
    session.refresh(person)
    assert person.phone == old

    _decide(session, leader, first, decisions.APPROVE)
    session.refresh(person)
    assert person.phone == "+84987654321"
    with pytest.raises(CorrectionError, match="Hãy ghi lý do"):
        _decide(session, leader, second, decisions.REJECT)
    session.rollback()
    _decide(session, leader, second, decisions.REJECT, note="Số này của hàng xóm")
    session.refresh(household)
    assert household.phone != "+84977000111"
    assert second.status == CorrectionStatus.REJECTED


# ---- do not contact ---------------------------------------------------------------------------


def _household_on_the_list(session, canvasser) -> Household:
    refresh_commune(session, commune_id=canvasser.scope_unit_id, today=TODAY)
    session.commit()
    return session.exec(
        select(Household)
        .where(Household.assigned_canvasser_id == canvasser.id, Household.priority_score > 0)
        .order_by(Household.id)
    ).first()


def _on_worklist(session, canvasser, household_id) -> bool:
    refresh_commune(session, commune_id=canvasser.scope_unit_id, today=TODAY)
    session.commit()
    rows = worklist_for(
        session,
        scope=_scope(session, canvasser),
        canvasser_id=canvasser.id,
        today=TODAY,
        limit=10_000,
    ).rows
    return household_id in {row.household.id for row in rows}


def test_an_objection_keeps_the_person_off_every_list_until_a_leader_lifts_it(
    session, canvasser, leader
):
    household = _household_on_the_list(session, canvasser)
    members = _members(session, household)
    assert _on_worklist(session, canvasser, household.id)
    scope = _scope(session, canvasser)
    with pytest.raises(CorrectionError, match="lý do người dân nêu"):
        record_objection(
            session,
            scope=scope,
            household_id=household.id,
            person_id=members[0].id,
            reason="  ",
            by_user=canvasser,
            today=TODAY,
        )
    objections = [
        record_objection(
            session,
            scope=scope,
            household_id=household.id,
            person_id=person.id,
            reason="Không muốn được gọi nữa",
            by_user=canvasser,
            today=TODAY,
        )
        for person in members
    ]
    session.commit()
    assert {c.status for c in objections} == {CorrectionStatus.APPLIED}  # at once, no approval
    session.refresh(household)
    assert {p.off_list for p in _members(session, household)} == {OffList.OBJECTION}
    assert household.priority_score == 0
    assert not _on_worklist(session, canvasser, household.id)  # the nightly refresh agrees
    # The household page says nobody there is to be visited.
    shown = member_priorities(session, members=_members(session, household), today=TODAY)
    assert all(p.off_list and not p.reasons for p in shown.values())
    with pytest.raises(CorrectionError, match="đã được quyết định"):
        _decide(session, leader, objections[0], decisions.APPROVE)
    session.rollback()

    for correction in objections:
        _decide(session, leader, correction, decisions.LIFT, note="Đồng ý được liên hệ lại")
    assert {p.off_list for p in _members(session, household)} == {""}
    assert {c.status for c in objections} == {CorrectionStatus.LIFTED}
    assert _on_worklist(session, canvasser, household.id)


def test_an_objection_takes_an_overdue_follow_up_off_the_leaders_list(
    session, canvasser, leader, household
):
    # A promise made ten days ago for five days ago, not kept: an overdue follow-up.
    person = _members(session, household)[0]
    latest = session.get(LatestOutcome, person.id) or LatestOutcome(
        person_id=person.id, outcome_id=0
    )
    latest.province_id, latest.commune_id = person.province_id, person.commune_id
    latest.visited_at = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
    latest.outcome, latest.follow_up_on = "promised", TODAY - timedelta(days=5)
    session.add(latest)
    session.commit()
    leader_scope = _scope(session, leader)
    before = count_overdue(session, scope=leader_scope, today=TODAY)
    shown = list_overdue(session, scope=leader_scope, today=TODAY, offset=0, limit=before)
    assert person.id in {p.id for _o, p in shown}
    record_objection(
        session,
        scope=_scope(session, canvasser),
        household_id=person.household_id,
        person_id=person.id,
        reason="Đã nói không",
        by_user=canvasser,
        today=TODAY,
    )
    session.commit()
    assert count_overdue(session, scope=leader_scope, today=TODAY) == before - 1
    shown = list_overdue(session, scope=leader_scope, today=TODAY, offset=0, limit=before)
    assert person.id not in {p.id for _o, p in shown}
    # The outcome itself is kept (an event): only the lists leave the person out.
    assert session.get(LatestOutcome, person.id) is not None


# ---- moves and deaths -------------------------------------------------------------------------


def test_a_death_and_a_move_take_effect_when_approved(session, canvasser, leader, household):
    first, second = _members(session, household)[:2]
    scope = _scope(session, canvasser)
    death = report_departure(
        session,
        scope=scope,
        household_id=household.id,
        who=str(first.id),
        deceased=True,
        by_user=canvasser,
    )
    with pytest.raises(CorrectionError, match="chọn cả hộ và ghi địa chỉ mới"):
        report_departure(
            session,
            scope=scope,
            household_id=household.id,
            who=HOUSEHOLD,
            deceased=False,
            still_in_commune=True,
            by_user=canvasser,
        )
    move = report_departure(
        session,
        scope=scope,
        household_id=household.id,
        who=HOUSEHOLD,
        deceased=False,
        new_address="Số 5 ngõ 12, tổ 3",
        still_in_commune=True,
        by_user=canvasser,
    )
    session.commit()
    old_address = household.address
    _decide(session, leader, death, decisions.APPROVE)
    _decide(session, leader, move, decisions.APPROVE)
    session.refresh(first)
    session.refresh(second)
    session.refresh(household)
    assert first.off_list == OffList.DECEASED and second.off_list == ""
    assert household.address == "Số 5 ngõ 12, tổ 3"
    assert json.loads(move.details)["replaced_address"] == old_address

    away = report_departure(
        session,
        scope=scope,
        household_id=household.id,
        who=HOUSEHOLD,
        deceased=False,
        new_address="Hà Nội",
        by_user=canvasser,
    )
    session.commit()
    _decide(session, leader, away, decisions.APPROVE)
    statuses = {p.id: p.off_list for p in _members(session, household)}
    assert statuses[first.id] == OffList.DECEASED  # a death stays a death
    assert all(status for status in statuses.values())
    session.refresh(household)
    assert household.priority_score == 0


# ---- the household's place and the "far" check ---------------------------------------------------


def test_a_saved_location_makes_a_far_visit_flagged(session, canvasser, leader, household):
    # No demo coordinates anywhere: the check has nothing to compare with until one is saved.
    for h in session.exec(select(Household).where(Household.latitude.is_not(None))):
        h.latitude = h.longitude = None
        session.add(h)
    session.commit()
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    at_home = _visit(session, canvasser, household, t0, lat=21.2701, lon=106.1901)
    far = _visit(session, canvasser, household, t0 + timedelta(hours=2), lat=21.2801, lon=106.1901)

    def flagged() -> set[int]:
        flags = review_flags(
            session,
            scope=_scope(session, leader),
            since=t0 - timedelta(hours=1),
            until=t0 + timedelta(days=1),
        )
        return {f.visit.id for f in flags if "far" in f.reasons}

    assert far.id not in flagged()
    scope = _scope(session, canvasser)
    with pytest.raises(CorrectionError, match="chủ hộ đồng ý"):
        save_location(
            session,
            scope=scope,
            household_id=household.id,
            visit_id=at_home.id,
            consent=False,
            by_user=canvasser,
        )
    other = _user(session, "canbo.07210.2")
    with pytest.raises(CorrectionError, match="lượt thăm của bạn"):
        save_location(
            session,
            scope=scope,
            household_id=household.id,
            visit_id=at_home.id,
            consent=True,
            by_user=other,
        )
    first = save_location(
        session,
        scope=scope,
        household_id=household.id,
        visit_id=at_home.id,
        consent=True,
        by_user=canvasser,
    )
    session.commit()
    assert first.status == CorrectionStatus.APPLIED
    assert far.id in flagged() and at_home.id not in flagged()

    # Moving a known place to where the far visit was: only with a leader's approval.
    moved = save_location(
        session,
        scope=scope,
        household_id=household.id,
        visit_id=far.id,
        consent=True,
        by_user=canvasser,
    )
    session.commit()
    assert moved.status == CorrectionStatus.PENDING
    assert far.id in flagged()
    _decide(session, leader, moved, decisions.APPROVE)
    assert far.id not in flagged() and at_home.id in flagged()


# ---- scope ------------------------------------------------------------------------------------


def test_nobody_corrects_or_decides_outside_their_scope(session, canvasser, leader, household):
    outsider = session.exec(
        select(User).where(
            User.role == Role.CANVASSER, User.scope_unit_id != canvasser.scope_unit_id
        )
    ).first()
    with pytest.raises(CorrectionError, match="phạm vi"):
        report_new_person(
            session,
            scope=_scope(session, outsider),
            household_id=household.id,
            typed=WALK_IN,
            by_user=outsider,
            today=TODAY,
        )
    correction = report_new_person(
        session,
        scope=_scope(session, canvasser),
        household_id=household.id,
        typed=WALK_IN,
        by_user=canvasser,
        today=TODAY,
    )
    session.commit()
    other_leader = (
        session.exec(
            select(User).where(
                User.role == Role.LEADER, User.scope_unit_id == outsider.scope_unit_id
            )
        ).first()
        or session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    )
    with pytest.raises(CorrectionError, match="phạm vi"):
        _decide(session, other_leader, correction, decisions.APPROVE)
    session.rollback()
    assert pending_count(session, scope=_scope(session, other_leader)) == 0
    assert (
        corrections_of_household(
            session, scope=_scope(session, outsider), household_id=household.id
        )
        == []
    )
    # A member of another household is not this household's.
    stranger = session.exec(select(Person).where(Person.household_id != household.id)).first()
    with pytest.raises(CorrectionError, match="chọn một người trong hộ"):
        report_phone(
            session,
            scope=_scope(session, canvasser),
            household_id=household.id,
            whose=str(stranger.id),
            phone="0912345678",
            by_user=canvasser,
        )


# ---- the sheet for BHXH -------------------------------------------------------------------------


def test_the_sheet_lists_pending_and_approved_with_formula_safe_cells(
    session, canvasser, leader, household
):
    scope = _scope(session, canvasser)
    walk_in = report_new_person(
        session,
        scope=scope,
        household_id=household.id,
        typed=WALK_IN,
        by_user=canvasser,
        today=TODAY,
    )
    move = report_departure(
        session,
        scope=scope,
        household_id=household.id,
        who=HOUSEHOLD,
        deceased=False,
        new_address='=HYPERLINK("http://x")',
        by_user=canvasser,
    )
    session.commit()
    _decide(session, leader, move, decisions.APPROVE, note="=1+1")
    data, rows = corrections_workbook(
        session,
        scope=_scope(session, leader),
        statuses=(CorrectionStatus.PENDING, CorrectionStatus.APPROVED),
        scope_name="Phường Bắc Giang",
        today=TODAY,
    )
    assert rows == 2
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    header = sheet[3]
    assert header[:3] == ["Số", "Loại", "Trạng thái"]
    by_id = {int(row[0]): row for row in sheet[4:]}
    assert by_id[walk_in.id][1:3] == ["Thêm người", "Chờ duyệt"]
    assert by_id[walk_in.id][6:8] == ["Nguyễn Thị Hoa", "15/03/1990"]
    assert by_id[move.id][2] == "Đã duyệt"
    assert by_id[move.id][11] == "'=1+1"  # a leader's note is never a formula
    assert by_id[move.id][5].startswith("'=HYPERLINK") or not by_id[move.id][5].startswith("=")
    # A canvasser's province-wide export would hold nothing of another commune.
    only_pending, n = corrections_workbook(
        session,
        scope=_scope(session, leader),
        statuses=(CorrectionStatus.PENDING,),
        scope_name="x",
        today=TODAY,
    )
    assert n == 1
