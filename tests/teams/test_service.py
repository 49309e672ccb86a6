"""Advisory teams: set up within a commune, one worklist for the team, a scoreboard that recounts."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from outreach.core.periods import period_containing
from outreach.core.scope import narrow_scope, scope_for
from outreach.models import (
    AuditLog,
    GeoUnit,
    Household,
    Payment,
    Person,
    Team,
    TeamMember,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import Outcome
from outreach.tallies import figures
from outreach.teams import service as teams
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from outreach.worklist.service import worklist_for
from tests.conftest import DEMO_TODAY

COMMUNE = "07210"
FIRST, SECOND = "canbo.07210.1", "canbo.07210.2"


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _commune(session, code: str = COMMUNE) -> GeoUnit:
    return session.exec(select(GeoUnit).where(GeoUnit.code == code)).one()


def _leader_scope(session, code: str = COMMUNE):
    return scope_for(session, _user(session, f"lanhdao.{code}"))


def _team(session, name="Tổ 1", members=(FIRST, SECOND), **targets) -> Team:
    team = teams.save_team(
        session,
        scope=_leader_scope(session),
        by_user=_user(session, "admin"),
        commune_id=_commune(session).id,
        name=name,
        member_ids=[_user(session, u).id for u in members],
        **targets,
    )
    session.commit()
    return team


def _counts(session):
    return (
        session.exec(select(func.count()).select_from(Team)).one(),
        session.exec(select(func.count()).select_from(TeamMember)).one(),
    )


def test_a_teams_households_are_on_every_members_worklist(session):
    first, second = _user(session, FIRST), _user(session, SECOND)
    scope = scope_for(session, first)
    listed = worklist_for(session, scope=scope, canvasser_id=first.id, today=DEMO_TODAY, limit=500)
    # The small demo gives the second canvasser no household on the list: hand one over.
    handed = session.get(Household, listed.rows[0].household.id)
    handed.assigned_canvasser_id = second.id
    session.add(handed)
    session.commit()
    alone = worklist_for(session, scope=scope, canvasser_id=first.id, today=DEMO_TODAY, limit=500)
    _team(session)
    assert teams.teammates(session, canvasser_id=first.id) == [second.id]
    together = worklist_for(
        session,
        scope=scope,
        canvasser_id=first.id,
        today=DEMO_TODAY,
        limit=500,
        teammate_ids=teams.teammates(session, canvasser_id=first.id),
    )
    owners = set(
        session.exec(
            select(Household.assigned_canvasser_id).where(
                Household.id.in_([row.household.id for row in together.rows])
            )
        ).all()
    )
    assert owners == {first.id, second.id}
    assert together.total > alone.total
    audit = session.exec(select(AuditLog).where(AuditLog.action == "team_created")).one()
    assert audit.username == "admin" and audit.object_type == "team"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"members": (FIRST,)}, "ít nhất hai"),
        ({"members": (FIRST, "canbo.07432.1")}, "chưa thuộc tổ nào khác"),
        ({"name": "   "}, "đặt tên"),
        ({"target_new": -1}, "Chỉ tiêu"),
    ],
)
def test_a_team_that_cannot_be_is_refused_and_nothing_is_written(session, change, message):
    before = _counts(session)
    kwargs = {"name": change.get("name", "Tổ 2"), "members": change.get("members", (FIRST, SECOND))}
    targets = {k: v for k, v in change.items() if k.startswith("target")}
    with pytest.raises(teams.TeamError, match=message):
        _team(session, **kwargs, **targets)
    session.rollback()
    assert _counts(session) == before


def _canvasser(session, username: str) -> str:
    session.add(
        User(
            username=username,
            full_name="Cán Bộ Mới",
            password_hash="-",
            role="canvasser",
            scope_unit_id=_commune(session).id,
        )
    )
    session.commit()
    return username


def test_a_canvasser_is_in_one_team_and_names_are_unique_in_a_commune(session):
    third, fourth = _canvasser(session, "canbo.moi.3"), _canvasser(session, "canbo.moi.4")
    _team(session, members=(FIRST, SECOND))
    with pytest.raises(teams.TeamError, match="chưa thuộc tổ nào khác"):
        _team(session, name="Tổ khác", members=(FIRST, third))
    session.rollback()
    with pytest.raises(teams.TeamError, match="đã có tổ tên"):
        _team(session, name="Tổ 1", members=(third, fourth))
    session.rollback()
    assert _counts(session) == (1, 2)


def test_another_communes_leader_cannot_touch_the_team(session):
    team = _team(session)
    other = _leader_scope(session, "07432")
    assert teams.team_in_scope(session, scope=other, team_id=team.id) is None
    with pytest.raises(teams.TeamError):
        teams.dissolve_team(
            session, scope=other, by_user=_user(session, "lanhdao.07432"), team_id=team.id
        )
    assert teams.teams_in(session, scope=other) == []


def _visit(session, canvasser: User, household: Household, outcome: str, day_offset=0):
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    at = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day, 3, tzinfo=UTC)
    follow = DEMO_TODAY + timedelta(days=3) if outcome == Outcome.PROMISED else None
    paying = (Outcome.ENROLLED_NEW, Outcome.RENEWED)
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            client_uuid=str(uuid.uuid4()),
            household_id=household.id,
            channel="home",
            outcomes=(
                OutcomeInput(
                    person.id,
                    outcome,
                    follow_up_on=follow,
                    months_paid=3 if outcome in paying else None,
                    amount=990_000 if outcome in paying else None,
                ),
            ),
            visited_at=at - timedelta(days=day_offset),
        ),
        today=DEMO_TODAY,
        now=at,
    )
    session.commit()
    return person


def _recount(session, member_ids: set[int], first, last, commune_id) -> Counter:
    """The team's figures counted again from the raw visit rows (docs/figures.md)."""
    visits = [
        v
        for v in session.exec(
            select(Visit).where(Visit.commune_id == commune_id, Visit.canvasser_id.in_(member_ids))
        )
        if first <= figures._vietnam_day(v.visited_at) <= last and v.counted_on is None
    ]
    ids = {v.id for v in visits}
    outcomes = Counter(o.outcome for o in session.exec(select(VisitOutcome)) if o.visit_id in ids)
    return Counter(
        visits=len(visits),
        households=len({v.household_id for v in visits}),
        new=outcomes[Outcome.ENROLLED_NEW],
        renewals=outcomes[Outcome.RENEWED],
        promises=outcomes[Outcome.PROMISED],
    )


def test_the_scoreboard_recounts_and_a_household_both_visited_counts_once(session):
    first, second = _user(session, FIRST), _user(session, SECOND)
    team = _team(session, target_new=4, target_renewals=1)
    shared = session.exec(
        select(Household).where(Household.assigned_canvasser_id == first.id).order_by(Household.id)
    ).first()
    _visit(session, first, shared, Outcome.NOT_HOME)
    person = _visit(session, second, shared, Outcome.PROMISED)
    _visit(session, second, shared, Outcome.ENROLLED_NEW)
    session.add(
        Payment(
            person_id=person.id,
            province_id=shared.province_id,
            commune_id=shared.commune_id,
            paid_on=DEMO_TODAY,
            amount=300_000,
            months=1,
            receipt_number=f"T-{uuid.uuid4().hex[:8]}",
        )
    )
    session.commit()
    period = period_containing(DEMO_TODAY)
    scope, _unit = narrow_scope(
        session, scope=scope_for(session, _user(session, "lanhdao.tinh")), unit_id=team.commune_id
    )
    board = teams.team_scoreboard(session, scope=scope, first=period.starts_on, last=DEMO_TODAY)
    (score,) = board
    expected = _recount(
        session, {first.id, second.id}, period.starts_on, DEMO_TODAY, team.commune_id
    )
    got = Counter(
        visits=score.visits,
        households=score.households,
        new=score.new,
        renewals=score.renewals,
        promises=score.promises,
    )
    assert +got == +expected and expected["visits"] >= 3
    # Summing the members' own counts would count the shared household twice.
    alone = figures.canvasser_counts(session, scope=scope, first=period.starts_on, last=DEMO_TODAY)
    assert score.households < alone[first.id]["households"] + alone[second.id]["households"]
    assert score.promises_kept >= 1
    assert score.progress == (score.new + score.renewals) / 5
