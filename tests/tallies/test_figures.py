"""One read model: the dashboard, the rankings and the bulletin give the same figure for the same
thing at the same cut-off, also after a household and a village moved (docs/figures.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.core.periods import period_containing
from outreach.core.scope import narrow_scope, province_scope, scope_for
from outreach.dashboard.service import dashboard_for
from outreach.geography.villages import move_village, rename_village
from outreach.models import Campaign, GeoUnit, Household, User, Visit, VisitOutcome
from outreach.models.codes import Outcome, UnitKind
from outreach.rankings.service import rank_units
from outreach.summaries.service import compute_figures
from outreach.tallies import figures
from tests.conftest import DEMO_TODAY
from tests.dashboard.test_service import visited  # noqa: F401  (fixture)


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _villages_of(session, commune_id: int) -> list[GeoUnit]:
    stmt = select(GeoUnit).where(GeoUnit.parent_id == commune_id, GeoUnit.kind == UnitKind.VILLAGE)
    return list(session.exec(stmt).all())


def _every_page(session, campaign: Campaign, commune: GeoUnit) -> dict:
    """The commune's and its villages' (new, renewals) as each page shows them today."""
    leader = _user(session, "lanhdao.tinh")
    province = scope_for(session, leader)
    commune_scope, _ = narrow_scope(session, scope=province, unit_id=commune.id)
    board = dashboard_for(session, scope=commune_scope, campaign=campaign, today=DEMO_TODAY)
    villages = dashboard_for(
        session, scope=commune_scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    ranked_communes = rank_units(session, scope=province, campaign=campaign, as_of=DEMO_TODAY)
    ranked_villages = rank_units(
        session,
        scope=province,
        campaign=campaign,
        as_of=DEMO_TODAY,
        level="village",
        commune_id=commune.id,
    )
    period = period_containing(DEMO_TODAY)
    cutoff = datetime.combine(DEMO_TODAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    bulletin = compute_figures(session, campaign=campaign, period=period, cutoff=cutoff)
    (row,) = [c for c in bulletin["communes"] if c["id"] == commune.id]
    (ranked,) = [r for r in ranked_communes if r.unit_id == commune.id]
    return {
        "dashboard": (board.totals.new, board.totals.renewals),
        "rankings": (ranked.achieved_new, ranked.achieved_renewals),
        "bulletin": (row["total"]["new"], row["total"]["renewals"]),
        "dashboard villages": {
            r.id: (r.new, r.renewals) for r in villages.rows if r.id is not None
        },
        "ranking villages": {
            r.unit_id: (r.achieved_new, r.achieved_renewals) for r in ranked_villages
        },
        "province": (
            sum(c["total"]["new"] for c in bulletin["communes"]),
            bulletin["totals"]["total"]["new"],
        ),
    }


def _agree(seen: dict) -> None:
    assert seen["dashboard"] == seen["rankings"] == seen["bulletin"]
    assert seen["dashboard villages"] == seen["ranking villages"]
    assert seen["province"][0] == seen["province"][1]


@pytest.mark.usefixtures("visited")
def test_dashboard_rankings_and_bulletin_agree_after_moves(session):
    campaign = session.exec(select(Campaign)).first()
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    before = _every_page(session, campaign, commune)
    _agree(before)
    assert sum(before["dashboard"]) > 0  # the fixture's visits count

    # A household moves to another village of its commune, then a village to another commune.
    villages = _villages_of(session, commune.id)
    # One with a new participant or a renewal, so a rule that followed the household would show.
    visited_household = session.exec(
        select(Household)
        .join(Visit, Visit.household_id == Household.id)
        .join(VisitOutcome, VisitOutcome.visit_id == Visit.id)
        .where(
            Household.commune_id == commune.id,
            VisitOutcome.outcome.in_([Outcome.ENROLLED_NEW.value, Outcome.RENEWED.value]),
        )
    ).first()
    target = next(v for v in villages if v.id != visited_household.village_id)
    visited_household.village_id = target.id
    session.add(visited_household)
    session.commit()
    other = session.exec(select(GeoUnit).where(GeoUnit.code == "09370")).one()
    rename_village(
        session, village_id=target.id, name="Thôn Mới Chuyển", province_id=commune.province_id
    )
    move_village(
        session, village_id=target.id, to_commune_id=other.id, province_id=commune.province_id
    )
    session.commit()

    after = _every_page(session, campaign, commune)
    _agree(after)
    # Work stays where it was done: the commune's totals do not move with the households.
    assert after["dashboard"] == before["dashboard"]
    assert target.id not in after["ranking villages"]


@pytest.mark.usefixtures("visited")
def test_the_read_model_sums_communes_to_the_province(session):
    campaign = session.exec(select(Campaign)).first()
    province = province_scope(campaign.province_id)
    first, last = campaign.starts_on, DEMO_TODAY
    by_commune = figures.commune_counts(session, scope=province, first=first, last=last)
    months = figures.half_months(session, scope=province, first=first, last=last)
    for name in ("visits", "new", "renewals", "promises", "households"):
        assert sum(c[name] for c in by_commune.values()) == sum(m[name] for _, m in months)
    reached = figures.campaign_households(session, scope=province, campaign=campaign, last=last)
    # Distinct households over the campaign never exceed the sum of each half-month's.
    for commune_id, n in reached.items():
        assert n <= by_commune[commune_id]["households"]


def test_ranks_and_marks_name_every_unit_of_a_tie():
    ratios = {"a": 0.9, "b": 0.8, "c": 0.5, "d": 0.2, "e": 0.2, "f": 0.2, "g": 0.1, "x": None}
    marks = figures.ranks_and_marks(ratios)
    assert {k: rank for k, (rank, _) in marks.items()} == {
        "a": 1,
        "b": 2,
        "c": 3,
        "d": 4,
        "e": 4,
        "f": 4,
        "g": 7,
    }
    praised = {k for k, (_, mark) in marks.items() if mark == figures.PRAISE}
    criticised = {k for k, (_, mark) in marks.items() if mark == figures.CRITICISM}
    assert praised == {"a", "b", "c"}
    assert criticised == {"d", "e", "f", "g"}  # the whole tie, not one of it
    # A tie reaching across both ends marks nobody in it.
    even = figures.ranks_and_marks({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5})
    assert {mark for _, mark in even.values()} == {None}


@pytest.mark.usefixtures("visited")
def test_the_bulletin_names_exactly_the_units_the_rankings_mark(session):
    campaign = session.exec(select(Campaign)).first()
    leader = _user(session, "lanhdao.tinh")
    ranked = rank_units(
        session, scope=scope_for(session, leader), campaign=campaign, as_of=DEMO_TODAY
    )
    period = period_containing(DEMO_TODAY)
    cutoff = datetime.combine(DEMO_TODAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    bulletin = compute_figures(session, campaign=campaign, period=period, cutoff=cutoff)
    marked = {
        mark: {r.name for r in ranked if r.mark == mark}
        for mark in (figures.PRAISE, figures.CRITICISM)
    }
    assert marked[figures.PRAISE] and marked[figures.CRITICISM]
    assert {e["name"] for e in bulletin["ranking"]["top"]} == marked[figures.PRAISE]
    assert {e["name"] for e in bulletin["ranking"]["bottom"]} == marked[figures.CRITICISM]


@pytest.mark.usefixtures("visited")
def test_persons_met_is_every_outcome_but_not_home_in_every_view(session):
    """The "met" figure (conversion's denominator) from the tallies per commune and half-month,
    and from the raw rows per village and canvasser, equals a recount; new + renewals within it."""
    campaign = session.exec(select(Campaign)).first()
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    scope, _ = narrow_scope(
        session, scope=scope_for(session, _user(session, "lanhdao.tinh")), unit_id=commune.id
    )
    first, last = campaign.starts_on, DEMO_TODAY
    visits = {v.id: v for v in session.exec(select(Visit)).all()}
    met = [
        o
        for o in session.exec(
            select(VisitOutcome).where(
                VisitOutcome.commune_id == commune.id,
                VisitOutcome.outcome != Outcome.NOT_HOME.value,
                *figures.visited_between(VisitOutcome, first, last),
            )
        ).all()
    ]
    assert met and {o.value for o in Outcome} - {"not_home"} == figures.MET_OUTCOMES
    by_commune = figures.commune_counts(session, scope=scope, first=first, last=last)
    assert by_commune[commune.id]["met"] == len(met)
    assert by_commune[commune.id]["new"] + by_commune[commune.id]["renewals"] <= len(met)
    halves = figures.half_months(session, scope=scope, first=first, last=last)
    assert sum(counts["met"] for _, counts in halves) == len(met)
    by_village = figures.village_counts(session, scope=scope, first=first, last=last)
    assert sum(c["met"] for c in by_village.values()) == len(met)
    for village, counts in by_village.items():
        assert counts["met"] == sum(1 for o in met if o.village_id == village)
    by_canvasser = figures.canvasser_counts(session, scope=scope, first=first, last=last)
    for canvasser, counts in by_canvasser.items():
        assert counts["met"] == sum(1 for o in met if visits[o.visit_id].canvasser_id == canvasser)
        assert counts["new"] + counts["renewals"] <= counts["met"]


@pytest.mark.usefixtures("visited")
def test_visits_by_canvasser_count_the_visitor(session):
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    scope, _ = narrow_scope(
        session, scope=scope_for(session, _user(session, "lanhdao.tinh")), unit_id=commune.id
    )
    period = period_containing(DEMO_TODAY)
    ids = [_user(session, u).id for u in ("canbo.07210.1", "canbo.07210.2")]
    counted = figures.canvasser_visits(
        session, scope=scope, canvasser_ids=ids, first=period.starts_on, last=DEMO_TODAY
    )
    raw = [
        v
        for v in session.exec(
            select(Visit).where(
                Visit.commune_id == commune.id,
                *figures.visited_between(Visit, period.starts_on, DEMO_TODAY),
            )
        ).all()
        if v.canvasser_id in ids
    ]
    assert raw
    assert counted == {
        uid: (
            sum(1 for v in raw if v.canvasser_id == uid),
            len({v.household_id for v in raw if v.canvasser_id == uid}),
        )
        for uid in ids
        if any(v.canvasser_id == uid for v in raw)
    }
