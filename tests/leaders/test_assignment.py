"""Assignment: leaders hand villages and households to canvassers, only within their scope."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import select

from outreach.core.periods import period_containing
from outreach.core.scope import scope_for
from outreach.leaders.assignment import (
    AssignmentError,
    assign_households,
    assign_village,
    move_work,
    workload,
)
from outreach.models import AuditLog, GeoUnit, Household, Person, User, Visit
from outreach.models.codes import UnitKind
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from outreach.worklist.service import worklist_for
from tests.conftest import DEMO_TODAY


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _assignments(session):
    return dict(session.exec(select(Household.id, Household.assigned_canvasser_id)).all())


def _audits(session):
    return session.exec(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "assign")
    ).one()


def _list_ids(session, canvasser):
    worklist = worklist_for(
        session,
        scope=scope_for(session, canvasser),
        canvasser_id=canvasser.id,
        today=DEMO_TODAY,
        limit=500,
    )
    return {row.household.id for row in worklist.rows}, worklist.total


@pytest.fixture
def leader(session):
    return _user(session, "lanhdao.07210")


@pytest.fixture
def village_with_households(session, leader):
    """A village of 07210 that has households in the demo."""
    village_id = session.exec(
        select(Household.village_id)
        .where(Household.commune_id == leader.scope_unit_id, Household.village_id.is_not(None))
        .group_by(Household.village_id)
        .order_by(func.count().desc())
    ).first()
    return session.get(GeoUnit, village_id)


def test_assigning_a_village_changes_both_canvassers_lists_at_once(
    session, leader, village_with_households
):
    one, two = _user(session, "canbo.07210.1"), _user(session, "canbo.07210.2")
    # Both lists are looked at first, so the commune's scores are stamped fresh for today: the
    # assignment must show without waiting for another refresh.
    before_one, _ = _list_ids(session, one)
    before_two, total_two = _list_ids(session, two)
    assert before_two == set() and total_two == 0
    in_village = set(
        session.exec(
            select(Household.id).where(Household.village_id == village_with_households.id)
        ).all()
    )
    on_list = set(
        session.exec(
            select(Household.id).where(
                Household.village_id == village_with_households.id, Household.priority_score > 0
            )
        ).all()
    )
    assert on_list and on_list <= before_one

    n = assign_village(
        session,
        scope=scope_for(session, leader),
        village_id=village_with_households.id,
        canvasser_id=two.id,
        by_user=leader,
    )
    session.commit()

    assert n == len(in_village)
    after_two, total_two = _list_ids(session, two)
    after_one, _ = _list_ids(session, one)
    assert after_two == on_list and total_two == len(on_list)
    assert not (after_one & in_village) and after_one == before_one - in_village
    entry = session.exec(select(AuditLog).where(AuditLog.action == "assign")).one()
    assert entry.user_id == leader.id and entry.object_id == str(village_with_households.id)
    assert f'"households": {n}' in entry.detail


def test_a_commune_leader_cannot_assign_another_communes_village(session, leader):
    two = _user(session, "canbo.07210.2")
    other_village = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.VILLAGE, GeoUnit.parent_id != leader.scope_unit_id
        )
    ).first()
    before, audits = _assignments(session), _audits(session)
    with pytest.raises(AssignmentError, match="không thuộc phạm vi của bạn"):
        assign_village(
            session,
            scope=scope_for(session, leader),
            village_id=other_village.id,
            canvasser_id=two.id,
            by_user=leader,
        )
    session.rollback()
    assert _assignments(session) == before and _audits(session) == audits


def test_a_commune_leader_cannot_assign_to_another_communes_canvasser(
    session, leader, village_with_households
):
    outsider = _user(session, "canbo.09370.1")
    before, audits = _assignments(session), _audits(session)
    with pytest.raises(AssignmentError, match="Cán bộ này không thuộc phạm vi của bạn"):
        assign_village(
            session,
            scope=scope_for(session, leader),
            village_id=village_with_households.id,
            canvasser_id=outsider.id,
            by_user=leader,
        )
    session.rollback()
    assert _assignments(session) == before and _audits(session) == audits


def test_a_province_leader_cannot_give_a_commune_to_another_communes_canvasser(
    session, village_with_households
):
    province_leader = _user(session, "lanhdao.tinh")
    outsider = _user(session, "canbo.09370.1")
    before = _assignments(session)
    with pytest.raises(AssignmentError, match="không phụ trách"):
        assign_village(
            session,
            scope=scope_for(session, province_leader),
            village_id=village_with_households.id,
            canvasser_id=outsider.id,
            by_user=province_leader,
        )
    session.rollback()
    assert _assignments(session) == before


def test_an_inactive_canvasser_gets_no_new_work(session, leader, village_with_households):
    two = _user(session, "canbo.07210.2")
    two.is_active = False
    session.add(two)
    session.commit()
    before = _assignments(session)
    with pytest.raises(AssignmentError, match="đang bị khóa"):
        assign_village(
            session,
            scope=scope_for(session, leader),
            village_id=village_with_households.id,
            canvasser_id=two.id,
            by_user=leader,
        )
    session.rollback()
    assert _assignments(session) == before


def test_selected_households_move_and_the_rest_stay(session, leader, village_with_households):
    two = _user(session, "canbo.07210.2")
    in_village = sorted(
        session.exec(
            select(Household.id).where(Household.village_id == village_with_households.id)
        ).all()
    )
    assert len(in_village) >= 2
    picked = in_village[:1]
    before = _assignments(session)
    n = assign_households(
        session,
        scope=scope_for(session, leader),
        household_ids=picked,
        canvasser_id=two.id,
        by_user=leader,
    )
    session.commit()
    after = _assignments(session)
    assert n == 1
    assert {hid for hid in after if after[hid] != before[hid]} == set(picked)
    assert after[picked[0]] == two.id


def test_one_household_out_of_scope_refuses_the_whole_selection(
    session, leader, village_with_households
):
    two = _user(session, "canbo.07210.2")
    mine = session.exec(
        select(Household.id).where(Household.village_id == village_with_households.id)
    ).first()
    theirs = session.exec(
        select(Household.id).where(Household.commune_id != leader.scope_unit_id)
    ).first()
    before = _assignments(session)
    with pytest.raises(AssignmentError, match="chưa giao hộ nào"):
        assign_households(
            session,
            scope=scope_for(session, leader),
            household_ids=[mine, theirs],
            canvasser_id=two.id,
            by_user=leader,
        )
    session.rollback()
    assert _assignments(session) == before
    with pytest.raises(AssignmentError, match="ít nhất một hộ"):
        assign_households(
            session,
            scope=scope_for(session, leader),
            household_ids=[],
            canvasser_id=two.id,
            by_user=leader,
        )


def test_moving_an_inactive_canvassers_work(session, leader):
    one, two = _user(session, "canbo.07210.1"), _user(session, "canbo.07210.2")
    one.is_active = False
    session.add(one)
    session.commit()
    theirs = set(
        session.exec(select(Household.id).where(Household.assigned_canvasser_id == one.id)).all()
    )
    assert theirs
    n = move_work(
        session,
        scope=scope_for(session, leader),
        from_canvasser_id=one.id,
        to_canvasser_id=two.id,
        by_user=leader,
    )
    session.commit()
    assert n == len(theirs)
    assert not session.exec(
        select(Household.id).where(Household.assigned_canvasser_id == one.id)
    ).all()
    assert (
        set(
            session.exec(
                select(Household.id).where(Household.assigned_canvasser_id == two.id)
            ).all()
        )
        == theirs
    )
    with pytest.raises(AssignmentError, match="đang bị khóa"):
        move_work(
            session,
            scope=scope_for(session, leader),
            from_canvasser_id=two.id,
            to_canvasser_id=one.id,
            by_user=leader,
        )
    with pytest.raises(AssignmentError, match="hai cán bộ khác nhau"):
        move_work(
            session,
            scope=scope_for(session, leader),
            from_canvasser_id=two.id,
            to_canvasser_id=two.id,
            by_user=leader,
        )


@pytest.mark.parametrize("username", ["lanhdao.cum", "lanhdao.07210"])
def test_workload_matches_a_recount_from_the_raw_rows(session, username):
    leader = _user(session, username)
    scope = scope_for(session, leader)
    loads = workload(session, scope=scope, today=DEMO_TODAY)
    session.expire_all()
    period_start = period_containing(DEMO_TODAY).starts_at

    # The recount: every household and visit row, filtered in Python. Households in charge and
    # on the list are the owner's; visits and households visited this half-month the visitor's.
    expected = defaultdict(lambda: [0, 0, 0, 0])
    for h in session.exec(select(Household)).all():
        if h.assigned_canvasser_id and scope.covers_commune(h.commune_id):
            row = expected[h.assigned_canvasser_id]
            row[0] += 1
            row[1] += h.priority_score > 0
    visited: dict[int, set[int]] = defaultdict(set)
    for v in session.exec(select(Visit)).all():
        at = v.visited_at if v.visited_at.tzinfo else v.visited_at.replace(tzinfo=UTC)
        if scope.covers_commune(v.commune_id) and at >= period_start:
            expected[v.canvasser_id][2] += 1
            visited[v.canvasser_id].add(v.household_id)
    for canvasser, households in visited.items():
        expected[canvasser][3] = len(households)
    last_visit: dict[int, datetime] = {}
    for v in session.exec(select(Visit)).all():
        at = v.visited_at if v.visited_at.tzinfo else v.visited_at.replace(tzinfo=UTC)
        if v.canvasser_id not in last_visit or at > last_visit[v.canvasser_id]:
            last_visit[v.canvasser_id] = at
    canvassers = [
        u
        for u in session.exec(select(User).where(User.role == "canvasser")).all()
        if scope.covers_commune(u.scope_unit_id)
    ]

    assert {load.user.id for load in loads} == {u.id for u in canvassers}
    assert sum(load.assigned for load in loads) > 0
    # A commune or group scope is scored for today before counting, so some are on the list.
    assert sum(load.on_list for load in loads) > 0
    for load in loads:
        assert [
            load.assigned,
            load.on_list,
            load.visits_this_period,
            load.households_visited_this_period,
        ] == expected[load.user.id]
        assert load.last_visit_at == last_visit.get(load.user.id)


def test_reassigning_a_village_moves_households_in_charge_but_no_visit(
    session, leader, village_with_households
):
    scope = scope_for(session, leader)
    one, two = _user(session, "canbo.07210.1"), _user(session, "canbo.07210.2")

    def loads():
        session.expire_all()
        return {
            load.user.id: (
                load.assigned,
                load.visits_this_period,
                load.households_visited_this_period,
            )
            for load in workload(session, scope=scope, today=DEMO_TODAY)
        }

    mine = session.exec(
        select(Household).where(
            Household.village_id == village_with_households.id,
            Household.assigned_canvasser_id == one.id,
        )
    ).all()
    assert mine
    # canbo.07210.1 visits one of their households of the village this half-month.
    member = session.exec(select(Person).where(Person.household_id == mine[0].id)).first()
    record_visit(
        session,
        canvasser=one,
        scope=scope_for(session, one),
        data=VisitInput(
            str(uuid.uuid4()), mine[0].id, "home", (OutcomeInput(member.id, "not_home"),)
        ),
        today=DEMO_TODAY,
        now=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
    )
    session.commit()
    before = loads()
    in_village = len(mine)
    assert before[one.id][1] > 0 and before[one.id][2] > 0
    assign_village(
        session,
        scope=scope,
        village_id=village_with_households.id,
        canvasser_id=two.id,
        by_user=leader,
    )
    session.commit()
    after = loads()
    # Households in charge follow the new owner; what each one did stays theirs.
    assert after[one.id][0] == before[one.id][0] - in_village
    assert after[two.id][0] == before[two.id][0] + in_village
    assert {uid: load[1:] for uid, load in after.items()} == {
        uid: load[1:] for uid, load in before.items()
    }
