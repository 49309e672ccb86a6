"""Rankings: order, ties, marks, countdown, the date cut, and numbers against a raw recount."""

import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from outreach.campaigns.targets import set_target
from outreach.core.clock import VIETNAM
from outreach.core.periods import period_from_key
from outreach.core.scope import scope_for
from outreach.imports.reading import read_table
from outreach.models import (
    Campaign,
    GeoUnit,
    Household,
    Person,
    Target,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import UnitKind
from outreach.rankings.service import (
    CRITICISM,
    PRAISE,
    RankRow,
    _mark,
    countdown_text,
    days_left,
    rank_units,
    rankings_workbook,
)
from outreach.summaries.service import compute_figures
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from tests.conftest import DEMO_TODAY
from tests.dashboard.test_service import _may_enrol

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture
def campaign(session):
    return session.exec(select(Campaign)).one()


def _scope(session, username):
    user = session.exec(select(User).where(User.username == username)).one()
    return scope_for(session, user)


def recount(session, campaign, last: date, by=lambda o: o.commune_id):
    """New participants and renewals from raw visit_outcome rows, in Python, per `by(outcome)`."""
    names = {"enrolled_new": "new", "renewed": "renewals"}
    out: dict = defaultdict(Counter)
    for o in session.exec(select(VisitOutcome)):
        day = o.visited_at.astimezone(VIETNAM).date()
        if o.outcome in names and campaign.starts_on <= day <= last:
            out[by(o)][names[o.outcome]] += 1
    return out


def test_achieved_equals_a_raw_recount_and_the_summary_figures(session, campaign):
    as_of = date(2026, 11, 15)  # the last day of a period: the summary's cut-off
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=as_of
    )
    counted = recount(session, campaign, as_of)
    figures = compute_figures(
        session, campaign=campaign, period=period_from_key("2026-11-15"), cutoff=NOW
    )
    by_id = {c["id"]: c for c in figures["communes"]}
    assert len(rows) == len(by_id) and sum(r.achieved_new for r in rows) > 0
    for row in rows:
        assert row.achieved_new == counted[row.unit_id]["new"], row.name
        assert row.achieved_renewals == counted[row.unit_id]["renewals"], row.name
        summary = by_id[row.unit_id]
        assert (row.achieved_new, row.achieved_renewals) == (
            summary["total"]["new"],
            summary["total"]["renewals"],
        )
        assert (row.target_new, row.target_renewals) == (
            summary["target_new"],
            summary["target_renewals"],
        )
        assert row.ratio == pytest.approx(summary["ratio"])


def test_order_ranks_and_marks(session, campaign):
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=DEMO_TODAY
    )
    ratios = [r.ratio for r in rows if r.ratio is not None]
    assert ratios == sorted(ratios, reverse=True) and len(set(ratios)) > 6
    assert rows[0].rank == 1 and rows[0].mark == PRAISE
    ranked = [r for r in rows if r.ratio is not None]
    # Competition ranking, recomputed independently: 1 + how many did strictly better.
    assert [r.rank for r in ranked] == [1 + sum(o.ratio > r.ratio for o in ranked) for r in ranked]
    assert {r.name for r in rows if r.mark == PRAISE} == {r.name for r in ranked if r.rank <= 3}
    worst = ranked[-1]
    assert worst.mark == CRITICISM and worst.mark_label == "Phê bình"
    assert rows[0].mark_label == "Biểu dương"
    assert sum(r.mark == CRITICISM for r in rows) >= 3
    middle = ranked[len(ranked) // 2]
    assert middle.mark is None


def test_units_without_a_target_are_listed_last_unranked(session, campaign):
    scope = _scope(session, "lanhdao.tinh")
    first = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY)[0]
    target = session.exec(
        select(Target).where(Target.campaign_id == campaign.id, Target.unit_id == first.unit_id)
    ).one()
    target.new_participants = target.renewals = 0
    session.add(target)
    session.commit()
    rows = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY)
    assert rows[-1].unit_id == first.unit_id
    assert rows[-1].ratio is None and rows[-1].rank is None and rows[-1].mark is None
    assert rows[0].unit_id != first.unit_id and rows[0].rank == 1


def _rows(*ratios):
    return [RankRow(i, str(i), f"Xã {i}", 1, 1, 0, 0, r) for i, r in enumerate(ratios)]


def test_ties_share_a_rank_and_marks_follow_the_ranks():
    rows = _rows(0.9, 0.8, 0.8, 0.5, 0.4, 0.3, 0.3, 0.1, None)
    _mark(rows)
    assert [r.rank for r in rows] == [1, 2, 2, 4, 5, 6, 6, 8, None]
    assert [r.mark for r in rows] == [PRAISE] * 3 + [None, None] + [CRITICISM] * 3 + [None]


def test_few_units_split_half_and_a_tie_across_both_ends_marks_nobody():
    rows = _rows(0.9, 0.5, 0.2, 0.1)
    _mark(rows)
    assert [r.mark for r in rows] == [PRAISE, PRAISE, CRITICISM, CRITICISM]
    tied = _rows(0.5, 0.5, 0.5, 0.5)
    _mark(tied)
    assert [r.rank for r in tied] == [1, 1, 1, 1] and all(r.mark is None for r in tied)


def test_countdown_to_the_campaign_end(session, campaign):
    assert campaign.ends_on == date(2026, 12, 31)
    assert days_left(campaign, DEMO_TODAY) == 39
    assert days_left(campaign, date(2026, 12, 31)) == 0
    assert days_left(campaign, date(2027, 1, 5)) == -5
    assert countdown_text(campaign, DEMO_TODAY) == "Còn 39 ngày đến hạn 31/12/2026"
    assert countdown_text(campaign, date(2027, 1, 5)) == "Đã quá hạn 31/12/2026 5 ngày"
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=DEMO_TODAY
    )
    assert {r.days_left for r in rows} == {39}


def _enrol(session, username="canbo.07210.1"):
    canvasser = session.exec(select(User).where(User.username == username)).one()
    # Someone the rule lets enrol today: never new in the campaign, not paid up (docs/figures.md).
    person, household = next(
        (p, h)
        for p, h in session.exec(
            select(Person, Household)
            .join(Household, Household.id == Person.household_id)
            .where(Household.commune_id == canvasser.scope_unit_id)
            .order_by(Household.id, Person.id)
        )
        if _may_enrol(session, p, DEMO_TODAY)
    )
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()),
            household.id,
            "home",
            (OutcomeInput(person.id, "enrolled_new", months_paid=1, amount=330_000),),
        ),
        today=DEMO_TODAY,
        now=NOW,
    )
    session.commit()
    return canvasser.scope_unit_id, household


def test_the_chosen_date_cuts_later_visits_out(session, campaign):
    scope = _scope(session, "lanhdao.tinh")

    def achieved(as_of):
        rows = rank_units(session, scope=scope, campaign=campaign, as_of=as_of)
        return {r.unit_id: r.achieved_new for r in rows}

    before_yesterday, before_today = achieved(date(2026, 11, 21)), achieved(DEMO_TODAY)
    commune_id, _ = _enrol(session)  # recorded at 10:00 on 22/11 in Vietnam
    assert achieved(date(2026, 11, 21)) == before_yesterday
    after = achieved(DEMO_TODAY)
    assert after[commune_id] == before_today[commune_id] + 1
    assert {k: v for k, v in after.items() if k != commune_id} == {
        k: v for k, v in before_today.items() if k != commune_id
    }


def test_a_date_before_the_campaign_counts_nothing(session, campaign):
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=date(2026, 6, 30)
    )
    assert all(r.achieved_new == r.achieved_renewals == 0 for r in rows)
    assert all(r.rank == 1 for r in rows if r.ratio is not None)


def test_a_commune_leader_ranks_the_villages_of_their_commune(session, campaign):
    scope = _scope(session, "lanhdao.07210")
    (commune_id,) = scope.commune_ids
    villages = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == commune_id, GeoUnit.kind == UnitKind.VILLAGE)
    ).all()
    assert len(villages) >= 3
    for n, village in enumerate(villages[:3]):
        set_target(
            session,
            campaign=campaign,
            unit=village,
            new_participants=2 + n,
            renewals=1,
            scope=scope,
        )
    session.commit()
    rows = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY, level="commune")
    assert {r.unit_id for r in rows} == {v.id for v in villages}
    village_of = dict(session.exec(select(Visit.id, Household.village_id).join(Household)).all())
    counted = recount(session, campaign, DEMO_TODAY, by=lambda o: village_of[o.visit_id])
    assert sum(r.achieved_new + r.achieved_renewals for r in rows) > 0
    for row in rows:
        assert row.achieved_new == counted[row.unit_id]["new"]
        assert row.achieved_renewals == counted[row.unit_id]["renewals"]
    assert [r.ratio is not None for r in rows].count(True) == 3
    # The villages add up to the commune's tally (every demo household has a village).
    province = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=DEMO_TODAY
    )
    commune = next(r for r in province if r.unit_id == commune_id)
    assert sum(r.achieved_new for r in rows) == commune.achieved_new


def test_a_group_leader_ranks_only_the_communes_of_the_group(session, campaign):
    scope = _scope(session, "lanhdao.cum")
    rows = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY)
    assert {r.unit_id for r in rows} == set(scope.commune_ids)
    outside = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id.not_in(sorted(scope.commune_ids))
        )
    ).first()
    with pytest.raises(LookupError):
        rank_units(
            session,
            scope=scope,
            campaign=campaign,
            as_of=DEMO_TODAY,
            level="village",
            commune_id=outside.id,
        )
    inside = sorted(scope.commune_ids)[0]
    villages = rank_units(
        session,
        scope=scope,
        campaign=campaign,
        as_of=DEMO_TODAY,
        level="village",
        commune_id=inside,
    )
    assert villages and all(session.get(GeoUnit, r.unit_id).parent_id == inside for r in villages)


def _data_rows(table):
    header = next(i for i, row in enumerate(table.rows) if row and row[0] == "Hạng")
    return table.rows[:header], table.rows[header], table.rows[header + 1 :]


def test_the_workbook_reads_back_with_the_rows_and_safe_cells(session, campaign):
    rows = rank_units(
        session, scope=_scope(session, "lanhdao.tinh"), campaign=campaign, as_of=DEMO_TODAY
    )
    rows[1].name = '=HYPERLINK("http://x","bấm")'  # a hostile unit name
    body = rankings_workbook(
        rows, campaign=campaign, as_of=DEMO_TODAY, scope_name="Tỉnh Bắc Ninh", level="commune"
    )
    table = read_table(body, "xep-hang.xlsx")
    top, header, data = _data_rows(table)
    texts = " ".join(str(c) for row in top for c in row if c)
    assert "22/11/2026" in texts and "Còn 39 ngày đến hạn 31/12/2026" in texts
    assert header[:3] == ["Hạng", "Mã đơn vị", "Đơn vị"]
    assert len(data) == len(rows)
    for row, line in zip(rows, data, strict=True):
        assert line[2] == (row.name if not row.name.startswith("=") else "'" + row.name)
        assert line[0] == row.rank
        assert line[3:7] == [
            row.target_new,
            row.target_renewals,
            row.achieved_new,
            row.achieved_renewals,
        ]
        assert line[7] == pytest.approx(row.ratio)
        assert (line[8] or "") == row.mark_label
    assert data[1][2].startswith("'=")
    assert data[0][8] == "Biểu dương" and data[-1][8] == "Phê bình"


def test_nothing_after_the_campaign_end_counts(session, campaign):
    scope = _scope(session, "lanhdao.tinh")
    full = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY)
    campaign.ends_on = date(2026, 11, 15)  # a campaign that closed a week ago
    session.add(campaign)
    session.commit()
    late = rank_units(session, scope=scope, campaign=campaign, as_of=DEMO_TODAY)
    at_end = rank_units(session, scope=scope, campaign=campaign, as_of=date(2026, 11, 15))

    def achieved(rows):
        return {r.unit_id: (r.achieved_new, r.achieved_renewals) for r in rows}

    assert achieved(late) == achieved(at_end) != achieved(full)
    assert {r.days_left for r in late} == {-7}
    assert countdown_text(campaign, DEMO_TODAY) == "Đã quá hạn 15/11/2026 7 ngày"
