"""Every number of the dashboard's table opens a list exactly that long (issue 6)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from outreach.core.scope import scope_for, village_in_scope
from outreach.dashboard.cells import (
    METRICS,
    OTHER_VILLAGE,
    Cell,
    count_cell,
    list_cell,
)
from outreach.dashboard.service import campaign_window, dashboard_for
from outreach.models import Campaign, User
from tests.conftest import DEMO_TODAY
from tests.dashboard.test_service import visited  # noqa: F401  (fixture)


def _scope(session, username: str):
    return scope_for(session, session.exec(select(User).where(User.username == username)).one())


def _campaign(session) -> Campaign:
    return session.exec(select(Campaign).order_by(Campaign.id)).first()


def _cell_of(row, scope, campaign_id: int, window, metric: str) -> Cell:
    first, last = window
    if row.kind == "village":
        village = row.id if row.id is not None else OTHER_VILLAGE
        return Cell(scope, campaign_id, first, last, metric, village=village)
    if row.kind == "canvasser":
        return Cell(scope, campaign_id, first, last, metric, canvasser_id=row.id)
    return Cell(scope, campaign_id, first, last, metric)


@pytest.mark.parametrize("group_by", ["village", "canvasser"])
def test_each_cell_of_a_commune_dashboard_lists_exactly_its_number(session, visited, group_by):  # noqa: F811
    scope = _scope(session, "lanhdao.07210")
    campaign = _campaign(session)
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by=group_by
    )
    window = campaign_window(campaign, DEMO_TODAY)
    checked = 0
    for row in board.rows:
        for metric in METRICS:
            cell = _cell_of(row, scope, campaign.id, window, metric)
            number = getattr(row, metric)
            assert count_cell(session, cell=cell) == number, (row.name, metric)
            entries = list_cell(session, cell=cell, offset=0, limit=1000)
            assert len(entries) == number, (row.name, metric)
            checked += number > 0
    assert checked >= 5  # the fixture's visits fill several cells
    for metric in METRICS:  # the totals too (the stats and bars above the table)
        cell = Cell(scope, campaign.id, *window, metric)
        assert count_cell(session, cell=cell) == getattr(board.totals, metric)


def test_commune_rows_of_the_province_match_their_lists(session, visited):  # noqa: F811
    """Commune figures come from the tallies; their lists from raw visits: they agree."""
    from outreach.core.scope import narrow_scope

    province = _scope(session, "lanhdao.tinh")
    campaign = _campaign(session)
    board = dashboard_for(session, scope=province, campaign=campaign, today=DEMO_TODAY)
    window = campaign_window(campaign, DEMO_TODAY)
    busy = [r for r in board.rows if r.visits]
    assert len(busy) >= 2
    for row in busy:
        commune_scope, _ = narrow_scope(session, scope=province, unit_id=row.id)
        for metric in METRICS:
            assert count_cell(
                session, cell=Cell(commune_scope, campaign.id, *window, metric)
            ) == getattr(row, metric), (row.name, metric)


def test_lists_page_newest_first_and_carry_what_was_met(session, visited):  # noqa: F811
    scope = _scope(session, "lanhdao.07210")
    campaign = _campaign(session)
    window = campaign_window(campaign, DEMO_TODAY)
    visits = list_cell(
        session, cell=Cell(scope, campaign.id, *window, "visits"), offset=0, limit=1000
    )
    assert [e.visited_at for e in visits] == sorted((e.visited_at for e in visits), reverse=True)
    page = list_cell(session, cell=Cell(scope, campaign.id, *window, "visits"), offset=2, limit=3)
    assert page == visits[2:5]
    promises = list_cell(
        session, cell=Cell(scope, campaign.id, *window, "promises"), offset=0, limit=1000
    )
    assert promises and all(e.person and e.outcome == "promised" for e in promises)


def test_a_village_outside_the_scope_is_not_offered(session):
    from outreach.models import GeoUnit
    from outreach.models.codes import UnitKind

    scope = _scope(session, "lanhdao.07210")
    own = session.exec(select(GeoUnit).where(GeoUnit.parent_id == scope.unit_id)).first()
    other = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.VILLAGE, GeoUnit.parent_id != scope.unit_id)
    ).first()
    assert village_in_scope(session, scope=scope, village_id=own.id) == own
    assert village_in_scope(session, scope=scope, village_id=other.id) is None
    assert village_in_scope(session, scope=scope, village_id=scope.unit_id) is None  # a commune
    assert village_in_scope(session, scope=scope, village_id=10**9) is None


def test_the_other_village_row_after_a_village_moved_away(session, visited):  # noqa: F811
    """A village moved to another commune leaves its visits on the "other" row, list and all."""
    from outreach.geography.villages import move_village, rename_village
    from outreach.models import GeoUnit
    from outreach.models.codes import UnitKind

    scope = _scope(session, "lanhdao.07210")
    campaign = _campaign(session)
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    busiest = max((r for r in board.rows if r.id is not None), key=lambda r: r.visits)
    assert busiest.visits
    elsewhere = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id != scope.unit_id)
    ).first()
    rename_village(  # the other commune has a village of the same name
        session, village_id=busiest.id, name="Thôn Chuyển Đi", province_id=scope.province_id
    )
    session.commit()
    move_village(
        session, village_id=busiest.id, to_commune_id=elsewhere.id, province_id=scope.province_id
    )
    session.commit()
    board = dashboard_for(
        session, scope=scope, campaign=campaign, today=DEMO_TODAY, group_by="village"
    )
    other = next(r for r in board.rows if r.id is None)
    assert other.visits >= busiest.visits
    window = campaign_window(campaign, DEMO_TODAY)
    for metric in METRICS:
        cell = Cell(scope, campaign.id, *window, metric, village=OTHER_VILLAGE)
        assert count_cell(session, cell=cell) == getattr(other, metric), metric
