"""Every figure of the leader dashboard equals a recount from the raw visit, outcome and household rows."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.core.scope import narrow_scope, scope_for
from outreach.dashboard.service import (
    Row,
    count_overdue,
    dashboard_for,
    forecast_for,
)
from outreach.models import (
    Campaign,
    GeoUnit,
    Household,
    Payment,
    Person,
    Target,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import Outcome, RefusalReason, UnitKind
from outreach.tallies.figures import commune_targets
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from tests.conftest import DEMO_TODAY

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
COUNTED = {"enrolled_new": "new", "renewed": "renewals", "promised": "promises"}
MET = {o.value for o in Outcome} - {"not_home"}  # persons met: every outcome but not at home


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _campaign(session) -> Campaign:
    return session.exec(select(Campaign)).first()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value: datetime) -> date:
    return _aware(value).astimezone(VIETNAM).date()


def _may_enrol(session, person: Person, visit_day: date) -> bool:
    """Whether record_visit takes "enrolled_new" for the person on that day: never recorded so in
    the campaign, and not paid through a month covering the day."""
    if person.paid_through is not None and person.paid_through >= visit_day:
        return False
    return (
        session.exec(
            select(VisitOutcome.id).where(
                VisitOutcome.person_id == person.id, VisitOutcome.outcome == "enrolled_new"
            )
        ).first()
        is None
    )


def _outcome(session, rng: random.Random, person: Person, visit_day: date) -> OutcomeInput:
    person_id = person.id
    code = rng.choice([o.value for o in Outcome])
    if code == Outcome.ENROLLED_NEW and not _may_enrol(session, person, visit_day):
        code = Outcome.RENEWED.value  # what a canvasser records for a participant
    if code in (Outcome.PROMISED, Outcome.CONSIDERING):
        # Some promises fall due before today: they become overdue follow-ups.
        return OutcomeInput(person_id, code, follow_up_on=visit_day + timedelta(days=2))
    if code == Outcome.REFUSED:
        return OutcomeInput(person_id, code, refusal_reason=rng.choice(list(RefusalReason)))
    if code in (Outcome.ENROLLED_NEW, Outcome.RENEWED):
        return OutcomeInput(person_id, code, months_paid=3, amount=990_000)
    return OutcomeInput(person_id, code)


@pytest.fixture
def visited(session):
    """Forty extra visits with outcomes in two communes, some made days ago, through the service."""
    rng = random.Random(11)
    for username in ("canbo.07210.1", "canbo.07210.2", "canbo.09370.1"):
        canvasser = _user(session, username)
        scope = scope_for(session, canvasser)
        households = session.exec(
            select(Household).where(Household.commune_id == canvasser.scope_unit_id).limit(14)
        ).all()
        for h in households:
            members = session.exec(select(Person).where(Person.household_id == h.id)).all()
            at = NOW - timedelta(days=rng.choice([0, 1, 6, 9]), hours=rng.randint(0, 20))
            met = rng.sample(members, k=rng.randint(1, len(members)))
            record_visit(
                session,
                canvasser=canvasser,
                scope=scope,
                data=VisitInput(
                    str(uuid.uuid4()),
                    h.id,
                    "home",
                    tuple(_outcome(session, rng, p, _day(at)) for p in met),
                    visited_at=at,
                ),
                today=DEMO_TODAY,
                now=NOW,
            )
            session.commit()
    return True


def _recount(session, *, commune_ids: set[int] | None, campaign: Campaign, today: date) -> dict:
    """The dashboard's figures recomputed in Python from every raw row of the province."""
    first, last = campaign.starts_on, min(today, campaign.ends_on)
    households = {h.id: h for h in session.exec(select(Household)).all()}
    own_villages = {
        u.id
        for u in session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.VILLAGE)).all()
        if commune_ids is None or u.parent_id in commune_ids
    }

    def inside(commune_id: int) -> bool:
        return commune_ids is None or commune_id in commune_ids

    visits = [
        v
        for v in session.exec(select(Visit)).all()
        if inside(v.commune_id) and first <= _day(v.visited_at) <= last
    ]
    by_visit = {v.id: v for v in visits}
    outcomes = [
        o
        for o in session.exec(select(VisitOutcome)).all()
        if inside(o.commune_id) and first <= _day(o.visited_at) <= last
    ]
    groups = {
        "commune": lambda v: v.commune_id,
        # The village the visit was made in; one now in another commune (or none): "other" row.
        "village": lambda v: v.village_id if v.village_id in own_villages else None,
        "canvasser": lambda v: v.canvasser_id,
    }
    out: dict = {"total": Counter(), "refusals": Counter()}
    reached: dict = defaultdict(set)
    for name, key in groups.items():
        out[name] = defaultdict(Counter)
        for v in visits:
            out[name][key(v)]["visits"] += 1
            reached[(name, key(v))].add(v.household_id)
        for o in outcomes:
            if o.outcome in COUNTED:
                # Outcomes of a visit outside the window cannot be in it (same timestamp).
                out[name][key(by_visit[o.visit_id])][COUNTED[o.outcome]] += 1
            if o.outcome in MET:
                out[name][key(by_visit[o.visit_id])]["met"] += 1
    for (name, k), hh in reached.items():
        out[name][k]["households"] = len(hh)
    out["total"]["visits"] = len(visits)
    out["total"]["households"] = len({v.household_id for v in visits})
    for o in outcomes:
        if o.outcome in COUNTED:
            out["total"][COUNTED[o.outcome]] += 1
        if o.outcome in MET:
            out["total"]["met"] += 1
        if o.refusal_reason:
            out["refusals"][o.refusal_reason] += 1
    out["never_visited"] = sum(
        1 for h in households.values() if inside(h.commune_id) and h.last_visit_at is None
    )
    # Each person's latest outcome: by visit time, then by outcome id (the later record).
    latest: dict[int, VisitOutcome] = {}
    for o in session.exec(select(VisitOutcome)).all():  # every outcome ever, not just the window
        known = latest.get(o.person_id)
        if known is None or (_aware(o.visited_at), o.id) > (_aware(known.visited_at), known.id):
            latest[o.person_id] = o
    # A follow-up is kept, so not overdue, once the person paid on or after its day.
    paid: dict[int, list[date]] = defaultdict(list)
    for pay in session.exec(select(Payment)).all():
        paid[pay.person_id].append(pay.paid_on)
    out["overdue"] = sum(
        1
        for o in latest.values()
        if inside(o.commune_id)
        and o.outcome in ("promised", "considering")
        and o.follow_up_on is not None
        and o.follow_up_on < today
        and not any(day >= _day(o.visited_at) for day in paid[o.person_id])
    )
    return out


FIELDS = ("visits", "households", "promises", "new", "renewals", "met")


def _assert_rows(rows: list[Row], expected: dict) -> None:
    got = {r.id: {f: getattr(r, f) for f in FIELDS} for r in rows}
    want = {k: {f: c.get(f, 0) for f in FIELDS} for k, c in expected.items()}
    # Rows with nothing counted may be listed (every village, every canvasser) or not.
    for k, counts in got.items():
        assert counts == want.get(k, dict.fromkeys(FIELDS, 0)), k
    assert set(want) <= set(got)


def _assert_totals(board, expected: dict, session) -> None:
    assert {f: getattr(board.totals, f) for f in FIELDS} == {
        f: expected["total"].get(f, 0) for f in FIELDS
    }
    assert dict(board.refusals) == {
        r.value: expected["refusals"].get(r.value, 0) for r in RefusalReason
    }
    assert board.never_visited == expected["never_visited"]
    assert board.overdue == expected["overdue"]
    assert count_overdue(session, scope=board.scope, today=DEMO_TODAY) == expected["overdue"]


def test_province_dashboard_matches_a_recount(session, visited):
    leader = _user(session, "lanhdao.tinh")
    campaign = _campaign(session)
    board = dashboard_for(
        session, scope=scope_for(session, leader), campaign=campaign, today=DEMO_TODAY
    )
    expected = _recount(session, commune_ids=None, campaign=campaign, today=DEMO_TODAY)
    assert expected["total"]["visits"] > 100 and expected["overdue"] > 0
    _assert_totals(board, expected, session)
    assert board.group_by == "commune" and board.groupings == ("commune",)
    _assert_rows(board.rows, expected["commune"])
    assert sum(p.new for p in board.trend) == board.totals.new
    assert sum(p.visits for p in board.trend) == board.totals.visits


@pytest.mark.parametrize("group_by", ["village", "canvasser", "commune"])
def test_commune_dashboard_matches_a_recount(session, visited, group_by):
    leader = _user(session, "lanhdao.07210")
    scope = scope_for(session, leader)
    campaign = _campaign(session)
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by=group_by
    )
    expected = _recount(
        session, commune_ids=set(scope.commune_ids), campaign=campaign, today=DEMO_TODAY
    )
    assert expected["total"]["new"] > 0
    _assert_totals(board, expected, session)
    assert board.group_by == group_by
    _assert_rows(board.rows, expected[group_by])
    if group_by == "canvasser":
        names = {r.name for r in board.rows}
        assert {_user(session, "canbo.07210.1").full_name} <= names


def test_group_dashboard_matches_a_recount_and_offers_communes_only(session, visited):
    leader = _user(session, "lanhdao.cum")
    scope = scope_for(session, leader)
    campaign = _campaign(session)
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="canvasser"
    )
    expected = _recount(
        session, commune_ids=set(scope.commune_ids), campaign=campaign, today=DEMO_TODAY
    )
    _assert_totals(board, expected, session)
    assert board.group_by == "commune"  # villages and canvassers: one commune at a time
    assert {r.id for r in board.rows} == set(scope.commune_ids)


def test_sorting_orders_rows_and_keeps_empty_values_last(session):
    leader = _user(session, "lanhdao.tinh")
    campaign = _campaign(session)
    scope = scope_for(session, leader)
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, sort="visits", descending=True
    )
    visits = [r.visits for r in board.rows]
    assert visits == sorted(visits, reverse=True) and visits[0] > visits[-1]
    board = dashboard_for(session, scope=scope, campaign=campaign, today=DEMO_TODAY, sort="ratio")
    ratios = [r.ratio for r in board.rows if r.ratio is not None]
    assert ratios == sorted(ratios)
    board = dashboard_for(session, scope=scope, campaign=campaign, today=DEMO_TODAY, sort="bogus")
    assert board.sort == "name"


def test_forecast_is_linear_in_days():
    row = Row("total", 1, "x", new=30, renewals=10, target_new=100, target_renewals=100)
    forecast = forecast_for(
        row, first=date(2026, 11, 1), ends_on=date(2026, 11, 30), days_elapsed=10, days_total=30
    )
    assert (forecast.new, forecast.renewals) == (90, 30)
    assert forecast.ratio == pytest.approx(120 / 200)
    assert forecast.ratio_new == pytest.approx(0.9)
    assert forecast.on == date(2026, 11, 30)
    assert (
        forecast_for(
            row, first=date(2026, 11, 1), ends_on=date(2026, 11, 30), days_elapsed=0, days_total=30
        )
        is None
    )


def test_forecast_and_behind_flag_on_the_dashboard(session):
    leader = _user(session, "lanhdao.07210")
    campaign = _campaign(session)
    scope = scope_for(session, leader)
    # A village with a target of its own and no result yet is behind.
    village = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == scope.unit_id).order_by(GeoUnit.id.desc())
    ).first()
    session.add(Target(campaign_id=campaign.id, unit_id=village.id, new_participants=9, renewals=1))
    session.commit()
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    days = (DEMO_TODAY - campaign.starts_on).days + 1
    assert board.days_elapsed == days
    assert board.days_total == (campaign.ends_on - campaign.starts_on).days + 1
    expected = board.totals.done / days * board.days_total / board.totals.target
    assert board.forecast.ratio == pytest.approx(expected)
    for r in board.rows:
        assert r.behind == (r.target > 0 and r.done < r.target * days / board.days_total)
    by_id = {r.id: r for r in board.rows}
    assert by_id[village.id].done == 0 and by_id[village.id].behind
    assert not all(r.behind for r in board.rows)


def test_commune_target_defaults_to_the_sum_of_its_villages(session):
    campaign = _campaign(session)
    commune = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code == "07210")
    ).one()
    villages = session.exec(select(GeoUnit).where(GeoUnit.parent_id == commune.id)).all()
    assert len(villages) >= 2
    own = session.exec(
        select(Target).where(Target.campaign_id == campaign.id, Target.unit_id == commune.id)
    ).one()
    assert commune_targets(session, campaign=campaign, commune_ids=[commune.id]) == {
        commune.id: (own.new_participants, own.renewals)
    }
    session.delete(own)
    session.add(
        Target(campaign_id=campaign.id, unit_id=villages[0].id, new_participants=7, renewals=3)
    )
    session.add(
        Target(campaign_id=campaign.id, unit_id=villages[1].id, new_participants=5, renewals=2)
    )
    session.commit()
    assert commune_targets(session, campaign=campaign, commune_ids=[commune.id]) == {
        commune.id: (12, 5)
    }
    leader = _user(session, "lanhdao.07210")
    board = dashboard_for(
        session,
        scope=scope_for(session, leader),
        campaign=campaign,
        today=DEMO_TODAY,
        group_by="village",
    )
    assert (board.totals.target_new, board.totals.target_renewals) == (12, 5)
    by_id = {r.id: r for r in board.rows}
    assert (by_id[villages[0].id].target_new, by_id[villages[0].id].target_is_estimate) == (
        7,
        False,
    )
    # Villages without a target of their own get an estimate.
    others = [r for r in board.rows if r.id not in (villages[0].id, villages[1].id)]
    assert all(r.target_is_estimate for r in others)


def test_narrow_scope_stays_inside(session):
    commune_leader = scope_for(session, _user(session, "lanhdao.07210"))
    province = scope_for(session, _user(session, "lanhdao.tinh"))
    other = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code != "07210")
    ).first()
    assert narrow_scope(session, scope=commune_leader, unit_id=other.id) is None
    assert narrow_scope(session, scope=commune_leader, unit_id=province.unit_id) is None
    narrowed, unit = narrow_scope(session, scope=province, unit_id=other.id)
    assert narrowed.commune_ids == frozenset({other.id}) and unit.id == other.id


def _a_visited_household(session, scope) -> Household:
    """The scope's first household visited at least once."""
    return session.exec(
        select(Household)
        .where(Household.commune_id == scope.unit_id, Household.last_visit_at.is_not(None))
        .order_by(Household.id)
    ).first()


def test_visits_keep_the_village_they_were_made_in(session, visited):
    """Recorded visits carry their household's village; a household that moves later leaves its
    past visits (and outcomes) in that village's row, and its new visits count where it is now."""
    for visit in session.exec(select(Visit)).all():
        assert visit.village_id == session.get(Household, visit.household_id).village_id
    for outcome in session.exec(select(VisitOutcome)).all():
        assert outcome.village_id == session.get(Visit, outcome.visit_id).village_id
    leader = _user(session, "lanhdao.07210")
    scope = scope_for(session, leader)
    campaign = _campaign(session)
    household = _a_visited_household(session, scope)
    old_village = household.village_id

    def village_rows():
        board = dashboard_for(
            session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
        )
        assert sum(r.visits for r in board.rows) == board.totals.visits
        assert sum(r.new + r.renewals for r in board.rows) == board.totals.done
        return {r.id: r.visits for r in board.rows}, board

    before, _ = village_rows()
    new_village = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == scope.unit_id, GeoUnit.id != old_village)
    ).first()
    household.village_id = new_village.id
    session.add(household)
    session.commit()
    assert village_rows()[0] == before  # history stays where the work was done
    canvasser = _user(session, "canbo.07210.1")
    member = session.exec(select(Person).where(Person.household_id == household.id)).first()
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()),
            household.id,
            "home",
            (OutcomeInput(member.id, Outcome.NOT_HOME.value),),
            visited_at=NOW,
        ),
        today=DEMO_TODAY,
        now=NOW,
        allow_out_of_scope=True,
    )
    session.commit()
    after, board = village_rows()
    assert after[new_village.id] == before.get(new_village.id, 0) + 1
    assert after[old_village] == before[old_village]
    expected = _recount(
        session, commune_ids=set(scope.commune_ids), campaign=campaign, today=DEMO_TODAY
    )
    _assert_rows(board.rows, expected["village"])


def test_village_rows_after_a_household_moved_to_another_commune(session, visited):
    """Its past visits stay in the commune's figures, in their village; totals still add up."""
    leader = _user(session, "lanhdao.07210")
    scope = scope_for(session, leader)
    campaign = _campaign(session)
    visited_household = _a_visited_household(session, scope)
    old_village = visited_household.village_id
    before = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    other = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id != scope.unit_id)
    ).first()
    other_village = session.exec(select(GeoUnit).where(GeoUnit.parent_id == other.id)).first()
    visited_household.commune_id, visited_household.village_id = other.id, other_village.id
    session.add(visited_household)
    session.commit()
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    expected = _recount(
        session, commune_ids=set(scope.commune_ids), campaign=campaign, today=DEMO_TODAY
    )
    _assert_rows(board.rows, expected["village"])
    row = next(r for r in board.rows if r.id == old_village)
    assert row.visits == next(r for r in before.rows if r.id == old_village).visits > 0
    assert sum(r.visits for r in board.rows) == board.totals.visits
    assert sum(r.new + r.renewals for r in board.rows) == board.totals.done


def test_village_rows_follow_a_merge(session, visited):
    """Merging villages carries their visits over: the survivor's row adds up the merged ones."""
    from outreach.geography.villages import merge_villages

    leader = _user(session, "lanhdao.07210")
    scope = scope_for(session, leader)
    campaign = _campaign(session)

    def rows():
        board = dashboard_for(
            session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
        )
        return {r.id: (r.visits, r.new + r.renewals + r.promises) for r in board.rows}

    canvasser = _user(session, "canbo.07210.1")
    # Two households of the commune in two of its villages.
    units = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == scope.unit_id).order_by(GeoUnit.id)
    ).all()[:2]
    homes = session.exec(
        select(Household).where(Household.commune_id == scope.unit_id).order_by(Household.id)
    ).all()[:2]
    for unit, household in zip(units, homes, strict=True):
        household.village_id = unit.id
        session.add(household)
    session.commit()
    villages = [(unit.id, household) for unit, household in zip(units, homes, strict=True)]
    for _, household in villages:  # a promise in each of two villages
        member = session.exec(select(Person).where(Person.household_id == household.id)).first()
        record_visit(
            session,
            canvasser=canvasser,
            scope=scope_for(session, canvasser),
            data=VisitInput(
                str(uuid.uuid4()),
                household.id,
                "home",
                (OutcomeInput(member.id, Outcome.PROMISED.value, follow_up_on=DEMO_TODAY),),
                visited_at=NOW,
            ),
            today=DEMO_TODAY,
            now=NOW,
            allow_out_of_scope=True,
        )
        session.commit()
    before = rows()
    (into, _), (merged, _) = villages
    assert before[into][0] and before[merged][1]
    merge_villages(
        session, into_id=into, from_ids=[merged], province_id=scope.province_id, by_user=leader
    )
    session.commit()
    after = rows()
    assert merged not in after
    assert after[into] == tuple(a + b for a, b in zip(before[into], before[merged], strict=True))


def test_conversion_is_a_share_of_the_persons_met_never_above_100(session):
    """A household whose members all join on one visit: new + renewals over persons met is
    100%, where "per household reached" said 200% or 300%."""
    campaign = _campaign(session)
    leader = _user(session, "lanhdao.07210")
    scope = scope_for(session, leader)
    canvasser = _user(session, "canbo.07210.1")
    household, members = next(
        (h, members)
        for h in session.exec(
            select(Household).where(Household.commune_id == scope.unit_id).order_by(Household.id)
        ).all()
        if len(
            members := [
                p
                for p in session.exec(select(Person).where(Person.household_id == h.id)).all()
                if _may_enrol(session, p, DEMO_TODAY)
            ]
        )
        >= 2
    )
    # The household alone in a new village, so the village's row is this one visit.
    village = GeoUnit(
        kind=UnitKind.VILLAGE,
        code="07210-99",
        name="Thôn Thử",
        type_name="Thôn",
        parent_id=scope.unit_id,
        province_id=scope.province_id,
    )
    session.add(village)
    session.flush()
    household.village_id = village.id
    session.add(household)
    session.commit()
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()),
            household.id,
            "home",
            tuple(
                OutcomeInput(p.id, "enrolled_new", months_paid=1, amount=330_000) for p in members
            ),
            visited_at=NOW,
        ),
        today=DEMO_TODAY,
        now=NOW,
    )
    session.commit()
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    row = next(r for r in board.rows if r.id == village.id)
    assert (row.households, row.new, row.met) == (1, len(members), len(members))
    assert row.conversion == 1.0  # per household reached it was len(members) × 100%
    for r in [*board.rows, board.totals]:
        assert r.conversion is None or 0 <= r.conversion <= 1
        assert r.conversion is None or r.conversion == r.done / r.met
    assert Row("total", 1, "x", new=2, renewals=1, met=4, households=1).conversion == 0.75
