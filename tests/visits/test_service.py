"""Recording visits: validation in Vietnamese, idempotency by UUID, nothing wrong stored."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.core.periods import half_month_start
from outreach.core.scope import scope_for
from outreach.models import Household, Payment, Person, User, Visit, VisitOutcome
from outreach.tallies.figures import canvasser_tally
from outreach.visits.service import (
    OutcomeInput,
    VisitError,
    VisitInput,
    record_visit,
)
from outreach.visits.sync import ItemStatus, sync_visits
from outreach.worklist.priority import Reason
from outreach.worklist.service import decode_reasons
from tests.conftest import DEMO_TODAY

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội


@pytest.fixture
def canvasser(session):
    return session.exec(select(User).where(User.username == "canbo.07210.1")).one()


@pytest.fixture
def household(session, canvasser):
    # A household of the canvasser's commune with at least two members.
    for h in session.exec(select(Household).where(Household.commune_id == canvasser.scope_unit_id)):
        members = session.exec(select(Person).where(Person.household_id == h.id)).all()
        if len(members) >= 2:
            return h, members
    raise AssertionError("no two-member household")


def _visits(session):
    return session.exec(select(func.count()).select_from(Visit)).one()


def _record(session, canvasser, data):
    return record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=data,
        today=DEMO_TODAY,
        now=NOW,
    )


def test_two_members_a_promise_and_a_refusal(session, canvasser, household):
    h, (a, b, *_) = household
    before = _visits(session)
    data = VisitInput(
        str(uuid.uuid4()),
        h.id,
        "home",
        (
            OutcomeInput(
                a.id, "promised", follow_up_on=DEMO_TODAY + timedelta(days=1), amount=990_000
            ),
            OutcomeInput(b.id, "refused", refusal_reason="no_money"),
        ),
        latitude=21.28,
        longitude=106.2,
        accuracy_m=12.5,
    )
    result = _record(session, canvasser, data)
    assert not result.replayed and _visits(session) == before + 1
    stored = session.exec(
        select(VisitOutcome).where(VisitOutcome.visit_id == result.visit.id)
    ).all()
    assert {(o.person_id, o.outcome) for o in stored} == {(a.id, "promised"), (b.id, "refused")}
    session.refresh(h)
    assert h.last_visit_at == NOW and h.priority_on == DEMO_TODAY
    tomorrow = decode_reasons(h.priority_reasons, today=DEMO_TODAY)
    assert Reason.FOLLOW_UP_DUE not in {r.reason for r in tomorrow}  # the promise is for tomorrow


def test_replaying_the_same_uuid_stores_nothing_new(session, canvasser, household):
    h, (a, *_) = household
    data = VisitInput(str(uuid.uuid4()), h.id, "phone", (OutcomeInput(a.id, "not_home"),))
    first = _record(session, canvasser, data)
    count = _visits(session)
    again = _record(session, canvasser, data)
    assert again.replayed and again.visit.id == first.visit.id and _visits(session) == count


def test_a_replay_in_another_spelling_of_the_uuid_is_the_same_visit(session, canvasser, household):
    h, (a, *_) = household
    key = uuid.uuid4()
    first = _record(
        session, canvasser, VisitInput(str(key), h.id, "phone", (OutcomeInput(a.id, "not_home"),))
    )
    count = _visits(session)
    again = _record(
        session,
        canvasser,
        VisitInput(str(key).upper(), h.id, "phone", (OutcomeInput(a.id, "not_home"),)),
    )
    assert again.replayed and again.visit.id == first.visit.id and _visits(session) == count


def test_a_promise_saved_offline_is_checked_against_the_day_it_was_made(
    session, canvasser, household
):
    """Synced three days late: "tomorrow" then is in the past now, and still a valid promise."""
    h, (a, *_) = household
    made = NOW - timedelta(days=3)
    promise = OutcomeInput(a.id, "promised", follow_up_on=DEMO_TODAY - timedelta(days=2))
    late = VisitInput(str(uuid.uuid4()), h.id, "home", (promise,), visited_at=made)
    assert not _record(session, canvasser, late).replayed
    now_made = VisitInput(str(uuid.uuid4()), h.id, "home", (promise,))  # made today: in the past
    with pytest.raises(VisitError, match="từ hôm nay"):
        _record(session, canvasser, now_made)


def test_same_uuid_with_other_content_is_refused(session, canvasser, household):
    h, (a, *_) = household
    key = str(uuid.uuid4())
    _record(session, canvasser, VisitInput(key, h.id, "phone", (OutcomeInput(a.id, "not_home"),)))
    with pytest.raises(VisitError, match="đã được dùng"):
        _record(session, canvasser, VisitInput(key, h.id, "phone", (OutcomeInput(a.id, "moved"),)))


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (
            OutcomeInput(0, "promised", follow_up_on=DEMO_TODAY - timedelta(days=1)),
            "từ hôm nay trở đi",
        ),
        (OutcomeInput(0, "considering"), "Hãy chọn ngày hẹn"),
        (OutcomeInput(0, "refused"), "lý do từ chối"),
        (OutcomeInput(0, "enrolled_new", months_paid=0, amount=1), "Số tháng đóng"),
        (OutcomeInput(0, "renewed", months_paid=3), "số tiền"),
        (OutcomeInput(0, "bogus"), "Kết quả không hợp lệ"),
    ],
)
def test_bad_outcomes_are_refused_and_store_nothing(
    session, canvasser, household, outcome, message
):
    h, (a, *_) = household
    before = _visits(session)
    bad = OutcomeInput(**{**outcome.__dict__, "person_id": a.id})
    with pytest.raises(VisitError, match=message):
        _record(session, canvasser, VisitInput(str(uuid.uuid4()), h.id, "home", (bad,)))
    session.rollback()
    assert _visits(session) == before


def test_person_from_another_household_is_refused(session, canvasser, household):
    h, _ = household
    stranger = session.exec(select(Person).where(Person.household_id != h.id)).first()
    with pytest.raises(VisitError, match="không thuộc hộ"):
        _record(
            session,
            canvasser,
            VisitInput(str(uuid.uuid4()), h.id, "home", (OutcomeInput(stranger.id, "not_home"),)),
        )


def test_household_out_of_scope_is_refused(session, canvasser):
    other = session.exec(
        select(Household).where(Household.commune_id != canvasser.scope_unit_id)
    ).first()
    member = session.exec(select(Person).where(Person.household_id == other.id)).first()
    with pytest.raises(VisitError, match="không thuộc phạm vi"):
        _record(
            session,
            canvasser,
            VisitInput(str(uuid.uuid4()), other.id, "home", (OutcomeInput(member.id, "not_home"),)),
        )


def _recount(session, canvasser_id: int, since) -> tuple[int, int, int]:
    """Visits, new participants and renewals since a local day, counted in Python."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=VIETNAM)
    visits = [
        v
        for v in session.exec(select(Visit).where(Visit.canvasser_id == canvasser_id))
        if v.visited_at >= start
    ]
    ids = {v.id for v in visits}
    outcomes = [o.outcome for o in session.exec(select(VisitOutcome)) if o.visit_id in ids]
    return len(visits), outcomes.count("enrolled_new"), outcomes.count("renewed")


def test_tally_counts_today_and_the_period(session, canvasser, household):
    h, (a, b, *_) = household
    before = canvasser_tally(session, canvasser_id=canvasser.id, today=DEMO_TODAY).today
    _record(
        session,
        canvasser,
        VisitInput(
            str(uuid.uuid4()),
            h.id,
            "home",
            (
                OutcomeInput(
                    a.id, "enrolled_new", months_paid=3, amount=792_000, receipt_number="BL1"
                ),
                OutcomeInput(b.id, "renewed", months_paid=1, amount=264_000),
            ),
        ),
    )
    tallies = canvasser_tally(session, canvasser_id=canvasser.id, today=DEMO_TODAY)
    after, period = tallies.today, tallies.period
    assert (after.visits, after.enrolled_new, after.renewed) == (
        before.visits + 1,
        before.enrolled_new + 1,
        before.renewed + 1,
    )
    assert half_month_start(DEMO_TODAY).day == 16
    assert (after.visits, after.enrolled_new, after.renewed) == _recount(
        session, canvasser.id, DEMO_TODAY
    )
    assert (period.visits, period.enrolled_new, period.renewed) == _recount(
        session, canvasser.id, half_month_start(DEMO_TODAY)
    )


# --- a new participant counts once -----------------------------------------------------------


def _paid(o_person, months=1, receipt=None, outcome="enrolled_new"):
    return OutcomeInput(
        o_person.id, outcome, months_paid=months, amount=330_000 * months, receipt_number=receipt
    )


def _eligible(session, household):
    """Household members record_visit takes as new participants today (the demo's rule too)."""
    _, members = household
    enrolled = set(
        session.exec(
            select(VisitOutcome.person_id).where(VisitOutcome.outcome == "enrolled_new")
        ).all()
    )
    return [
        p
        for p in members
        if p.id not in enrolled and (p.paid_through is None or p.paid_through < DEMO_TODAY)
    ]


def test_a_person_is_a_new_participant_once_in_the_campaign(session, canvasser, household):
    h, _ = household
    a, b, *_ = _eligible(session, household)
    first = VisitInput(str(uuid.uuid4()), h.id, "home", (_paid(a, receipt="BL-NEW-1"),))
    _record(session, canvasser, first)
    session.commit()
    before = _visits(session)
    # Recorded again, on another visit, with the same receipt or without one: refused, per
    # person, naming the day of the earlier one; nothing is stored.
    for receipt in ("BL-NEW-1", None):
        again = VisitInput(
            str(uuid.uuid4()),
            h.id,
            "phone",
            (_paid(a, receipt=receipt), OutcomeInput(b.id, "not_home")),
        )
        with pytest.raises(VisitError) as refused:
            _record(session, canvasser, again)
        session.rollback()
        assert set(refused.value.errors) == {f"person_{a.id}"}
        assert "đã được ghi “Tham gia mới” ngày 22/11/2026" in str(refused.value)
        assert "Đóng tiếp" in str(refused.value)
    assert _visits(session) == before
    # A payment by them later is a renewal, with a receipt of its own.
    _record(
        session,
        canvasser,
        VisitInput(
            str(uuid.uuid4()), h.id, "home", (_paid(a, receipt="BL-NEW-2", outcome="renewed"),)
        ),
    )
    # A visit synced late, made before the first one, is refused too (one per campaign).
    earlier = VisitInput(
        str(uuid.uuid4()), h.id, "home", (_paid(a),), visited_at=NOW - timedelta(days=3)
    )
    with pytest.raises(VisitError, match="22/11/2026"):
        _record(session, canvasser, earlier)


def test_a_receipt_number_counts_once_in_the_province(session, canvasser, household):
    h, _ = household
    a, b, *_ = _eligible(session, household)
    _record(
        session,
        canvasser,
        VisitInput(
            str(uuid.uuid4()), h.id, "home", (_paid(a, receipt="BL-R-1", outcome="renewed"),)
        ),
    )
    session.commit()
    # The same receipt (spaces aside) for someone else: refused, naming the day it was used.
    with pytest.raises(VisitError) as refused:
        _record(
            session,
            canvasser,
            VisitInput(str(uuid.uuid4()), h.id, "home", (_paid(b, receipt=" BL-R-1 "),)),
        )
    session.rollback()
    assert refused.value.errors == {
        f"person_{b.id}": "Số biên lai BL-R-1 đã được ghi ngày 22/11/2026: mỗi biên lai chỉ "
        "tính một lần."
    }
    # Two persons of one visit with one receipt: the second is refused.
    with pytest.raises(VisitError) as refused:
        _record(
            session,
            canvasser,
            VisitInput(
                str(uuid.uuid4()),
                h.id,
                "home",
                (
                    _paid(a, receipt="BL-R-2", outcome="renewed"),
                    _paid(b, receipt="BL-R-2"),
                ),
            ),
        )
    session.rollback()
    assert set(refused.value.errors) == {f"person_{b.id}"}


def test_a_participant_paid_through_the_day_is_not_new(session, canvasser, household):
    h, _ = household
    a, b, *_ = _eligible(session, household)
    a.is_participant, a.paid_through = True, date(2026, 12, 31)
    session.add(a)
    session.commit()
    with pytest.raises(VisitError) as refused:
        _record(session, canvasser, VisitInput(str(uuid.uuid4()), h.id, "home", (_paid(a),)))
    session.rollback()
    assert set(refused.value.errors) == {f"person_{a.id}"}
    assert "đến hết tháng 12/2026" in str(refused.value) and "Đã có BHXH" in str(refused.value)
    # Paid through the month before: a lapsed participant who joins again is new.
    a.paid_through = date(2026, 10, 31)
    session.add(a)
    session.commit()
    _record(session, canvasser, VisitInput(str(uuid.uuid4()), h.id, "home", (_paid(a),)))
    # A payments list imported before the phone synced may already show this very enrollment
    # (its payment on the visit's day moved the paid-through month): that is no refusal.
    b.is_participant, b.paid_through = True, date(2027, 2, 28)
    session.add(b)
    session.add(
        Payment(
            person_id=b.id,
            province_id=b.province_id,
            commune_id=b.commune_id,
            paid_on=DEMO_TODAY,
            amount=990_000,
            months=3,
            is_new_enrollment=True,
        )
    )
    session.commit()
    _record(session, canvasser, VisitInput(str(uuid.uuid4()), h.id, "home", (_paid(b, 3),)))


def test_a_synced_item_gets_the_refusal_under_the_person(session, canvasser, household):
    h, _ = household
    a, *_ = _eligible(session, household)

    def item():
        return {
            "client_uuid": str(uuid.uuid4()),
            "household_id": h.id,
            "channel": "home",
            "visited_at": NOW.isoformat(),
            "outcomes": [
                {
                    "person_id": a.id,
                    "outcome": "enrolled_new",
                    "months_paid": 1,
                    "amount": 330_000,
                    "receipt_number": "BL-S-1",
                }
            ],
        }

    results = sync_visits(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        items=[item(), item()],
        today=DEMO_TODAY,
        now=NOW,
        secret="test-secret",
    )
    assert [r.status for r in results] == [ItemStatus.STORED, ItemStatus.REJECTED]
    assert set(results[1].errors) == {f"person_{a.id}"}
    assert "Tham gia mới" in results[1].errors[f"person_{a.id}"]
