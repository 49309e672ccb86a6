"""Visit review: flags on constructed visits, and confirming or returning a visit."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.core.scope import scope_for
from outreach.leaders.review import (
    ReviewError,
    burst_ids,
    confirm_visit,
    haversine_m,
    return_visit,
    returned_visits_for,
    review_flags,
)
from outreach.models import AuditLog, Household, Person, User, Visit, VisitOutcome

T0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội, "today" in the demo
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(days=1)
LAT, LON = 21.27, 106.19


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


@pytest.fixture
def canvasser(session):
    # The demo has no visits in the window (it ends the day before), so every one is constructed.
    user = _user(session, "canbo.07210.2")
    assert not session.exec(
        select(Visit).where(Visit.visited_at >= SINCE, Visit.visited_at < UNTIL)
    ).first()
    return user


@pytest.fixture
def leader(session):
    return _user(session, "lanhdao.07210")


@pytest.fixture
def households(session, canvasser):
    rows = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id)
    ).all()
    for h in rows:
        h.latitude, h.longitude = LAT, LON
        session.add(h)
    session.commit()
    return rows


def _visit(session, canvasser, household, at, *, lat=None, lon=None, outcome="not_home"):
    visit = Visit(
        client_uuid=str(uuid.uuid4()),
        household_id=household.id,
        canvasser_id=canvasser.id,
        province_id=household.province_id,
        commune_id=household.commune_id,
        visited_at=at,
        channel="home",
        latitude=lat,
        longitude=lon,
    )
    session.add(visit)
    session.flush()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    session.add(
        VisitOutcome(
            visit_id=visit.id,
            person_id=person.id,
            province_id=household.province_id,
            commune_id=household.commune_id,
            visited_at=at,
            outcome=outcome,
        )
    )
    session.commit()
    return visit


def _flags(session, leader):
    return {
        f.visit.id: f
        for f in review_flags(session, scope=scope_for(session, leader), since=SINCE, until=UNTIL)
    }


def test_haversine_one_degree_of_latitude():
    assert haversine_m(21.0, 106.0, 22.0, 106.0) == pytest.approx(111_195, abs=5)
    assert haversine_m(LAT, LON, LAT, LON) == 0


def test_far_only_when_both_have_gps_and_more_than_500_m(session, canvasser, leader, households):
    h = households[0]
    # An hour apart each, so no burst; outcomes varied so no "same outcome".
    far = _visit(session, canvasser, h, T0, lat=LAT + 0.01, lon=LON)  # ≈ 1,112 m north
    just_far = _visit(session, canvasser, h, T0 + timedelta(hours=1), lat=LAT + 0.0046, lon=LON)
    near = _visit(session, canvasser, h, T0 + timedelta(hours=2), lat=LAT + 0.0044, lon=LON)
    east = _visit(session, canvasser, h, T0 + timedelta(hours=3), lat=LAT, lon=LON + 0.006)
    no_gps = _visit(session, canvasser, h, T0 + timedelta(hours=4))
    flags = _flags(session, leader)
    assert flags[far.id].reasons == ("far",)
    assert flags[far.id].distance_m == pytest.approx(1_112, abs=2)
    assert flags[just_far.id].distance_m == pytest.approx(511.5, abs=1)
    # 0.006° of longitude at 21.27° N is 622 m: east-west distances shrink with latitude.
    assert flags[east.id].distance_m == pytest.approx(622, abs=2)
    assert near.id not in flags and no_gps.id not in flags
    # Without the household's coordinates there is nothing to compare with.
    h.latitude = h.longitude = None
    session.add(h)
    session.commit()
    assert far.id not in _flags(session, leader)


def test_bursts_are_runs_of_three_each_under_three_minutes():
    t = T0
    visits = [
        (1, 7, t),
        (2, 7, t + timedelta(minutes=2)),
        (3, 7, t + timedelta(minutes=4, seconds=59)),  # run of three: flagged
        (4, 7, t + timedelta(minutes=30)),
        (5, 7, t + timedelta(minutes=32)),  # only two: not flagged
        (6, 7, t + timedelta(minutes=60)),
        (7, 7, t + timedelta(minutes=63)),  # exactly 3 minutes is not "less than"
        (8, 7, t + timedelta(minutes=65)),
        (9, 8, t + timedelta(minutes=1)),  # another canvasser interleaved: their own order
        (10, 8, t + timedelta(minutes=10)),
    ]
    assert burst_ids(visits) == {1, 2, 3}
    # Order of the input does not matter; a fourth close visit joins the run.
    assert burst_ids(list(reversed(visits)) + [(11, 7, t + timedelta(minutes=6))]) == {1, 2, 3, 11}
    assert burst_ids([]) == set()


def test_burst_flags_on_stored_visits(session, canvasser, leader, households):
    h = households[0]
    run = [
        _visit(session, canvasser, h, T0 + timedelta(minutes=m), outcome=o)
        for m, o in ((0, "not_home"), (2, "refused"), (4, "considering"))
    ]
    alone = _visit(session, canvasser, h, T0 + timedelta(minutes=20))
    flags = _flags(session, leader)
    assert {v.id for v in run} <= set(flags) and all(flags[v.id].reasons == ("burst",) for v in run)
    assert alone.id not in flags


def test_same_outcome_needs_ten_visits_all_alike(session, canvasser, leader, households):
    h = households[0]
    visits = [_visit(session, canvasser, h, T0 + timedelta(hours=i)) for i in range(9)]
    assert not _flags(session, leader)
    visits.append(_visit(session, canvasser, h, T0 + timedelta(hours=9)))
    flags = _flags(session, leader)
    assert set(flags) == {v.id for v in visits}
    assert all(f.reasons == ("same_outcome",) and f.outcome == "not_home" for f in flags.values())
    newest = review_flags(
        session, scope=scope_for(session, leader), since=SINCE, until=UNTIL, limit=3
    )
    assert [f.visit.id for f in newest] == [v.id for v in visits[::-1][:3]]
    _visit(session, canvasser, h, T0 + timedelta(hours=10), outcome="promised")
    assert not _flags(session, leader)


def test_flags_stay_in_the_leaders_scope_and_window(session, canvasser, leader, households):
    far = _visit(session, canvasser, households[0], T0, lat=LAT + 0.01, lon=LON)
    assert far.id in _flags(session, leader)
    other = _user(session, "lanhdao.09370")
    assert far.id not in _flags(session, other)
    later = review_flags(
        session, scope=scope_for(session, leader), since=UNTIL, until=UNTIL + timedelta(days=1)
    )
    assert far.id not in {f.visit.id for f in later}


def test_return_needs_a_comment_and_the_canvasser_sees_it(session, canvasser, leader, households):
    visit = _visit(session, canvasser, households[0], T0, lat=LAT + 0.01, lon=LON)
    scope = scope_for(session, leader)
    for comment, message in (("  ", "Hãy ghi lý do"), ("x" * 1001, "dài quá 1000")):
        with pytest.raises(ReviewError, match=message):
            return_visit(session, scope=scope, visit_id=visit.id, comment=comment, by_user=leader)
        session.rollback()
        assert session.get(Visit, visit.id).review_status == "none"
    assert returned_visits_for(session, canvasser_id=canvasser.id, scope=scope) == []

    return_visit(
        session,
        scope=scope,
        visit_id=visit.id,
        comment="Vị trí xa nhà, kiểm tra lại",
        by_user=leader,
    )
    session.commit()
    session.expire_all()
    stored = session.get(Visit, visit.id)
    assert (stored.review_status, stored.review_comment, stored.reviewed_by_id) == (
        "returned",
        "Vị trí xa nhà, kiểm tra lại",
        leader.id,
    )
    returned = returned_visits_for(session, canvasser_id=canvasser.id, scope=scope)
    assert [r.visit.id for r in returned] == [visit.id]
    assert returned[0].reviewer_name == leader.full_name
    assert (
        returned_visits_for(session, canvasser_id=_user(session, "canbo.07210.1").id, scope=scope)
        == []
    )
    assert session.exec(
        select(AuditLog).where(AuditLog.action == "review", AuditLog.object_id == str(visit.id))
    ).first()

    confirm_visit(session, scope=scope, visit_id=visit.id, by_user=leader)
    session.commit()
    session.expire_all()
    assert session.get(Visit, visit.id).review_status == "confirmed"
    assert returned_visits_for(session, canvasser_id=canvasser.id, scope=scope) == []


def test_a_visit_out_of_scope_cannot_be_reviewed(session, canvasser, households):
    visit = _visit(session, canvasser, households[0], T0)
    other = _user(session, "lanhdao.09370")
    for action in (confirm_visit, return_visit):
        with pytest.raises(ReviewError, match="trong phạm vi của bạn"):
            action(
                session,
                scope=scope_for(session, other),
                visit_id=visit.id,
                comment="Sai",
                by_user=other,
            )
        session.rollback()
    assert session.get(Visit, visit.id).review_status == "none"


def test_a_late_visit_is_flagged_in_the_window_it_arrived_in_and_confirmed(
    session, canvasser, leader, households
):
    """Issue 19 #15: a visit counted on the day it arrived (`counted_on`), not its own, is
    flagged "late" by its arrival, were it dated in 2000; the leader confirms it."""
    arrived = T0.astimezone(VIETNAM).date()
    in_2000 = _visit(session, canvasser, households[0], datetime(2000, 1, 5, 2, 0, tzinfo=UTC))
    last_week = _visit(session, canvasser, households[1], T0 - timedelta(days=7))
    on_time = _visit(session, canvasser, households[2], T0 - timedelta(days=30))
    for visit, day in ((in_2000, arrived), (last_week, arrived - timedelta(days=3))):
        visit.counted_on = day
        session.add(visit)
    session.commit()
    flags = _flags(session, leader)
    assert flags[in_2000.id].reasons == ("late",)
    assert flags[in_2000.id].at == datetime(2000, 1, 5, 2, 0, tzinfo=UTC)
    assert last_week.id not in flags and on_time.id not in flags  # arrived before the window
    week = review_flags(
        session, scope=scope_for(session, leader), since=SINCE - timedelta(days=7), until=UNTIL
    )
    assert {f.visit.id for f in week if "late" in f.reasons} == {in_2000.id, last_week.id}
    assert in_2000.id not in _flags(session, _user(session, "lanhdao.09370"))

    confirm_visit(session, scope=scope_for(session, leader), visit_id=in_2000.id, by_user=leader)
    session.commit()
    session.expire_all()
    assert _flags(session, leader)[in_2000.id].visit.review_status == "confirmed"
