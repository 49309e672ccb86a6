"""Recording visits: validation in Vietnamese, idempotency by UUID, nothing wrong stored."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.core.periods import half_month_start
from outreach.core.scope import scope_for
from outreach.models import Household, Person, User, Visit, VisitOutcome
from outreach.visits.service import (
    OutcomeInput,
    VisitError,
    VisitInput,
    canvasser_tallies,
    record_visit,
)
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
    tomorrow = decode_reasons(h.priority_reasons)
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
    before = canvasser_tallies(session, canvasser_id=canvasser.id, today=DEMO_TODAY).today
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
    tallies = canvasser_tallies(session, canvasser_id=canvasser.id, today=DEMO_TODAY)
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
