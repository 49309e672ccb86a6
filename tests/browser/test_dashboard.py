"""A commune leader on a phone sees which villages and canvassers are behind, and the lists behind."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.models import Campaign, GeoUnit, Target, User
from outreach.models.codes import Role
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def _n(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def test_commune_leader_finds_who_is_behind_on_the_phone(
    page: Page, live_app, read_db, monkeypatch, check_a11y, no_horizontal_scroll, console_errors
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    leader = read_db(lambda s: s.exec(select(User).where(User.username == "lanhdao.07210")).one())

    def give_a_village_a_target(session):
        # A village with a target of its own and nothing done yet: it must show as behind.
        campaign = session.exec(select(Campaign)).first()
        village = session.exec(
            select(GeoUnit)
            .where(GeoUnit.parent_id == leader.scope_unit_id)
            .order_by(GeoUnit.id.desc())
        ).first()
        target = Target(campaign_id=campaign.id, unit_id=village.id, new_participants=6, renewals=2)
        session.add(target)
        session.commit()
        return village, target.id

    village, target_id = read_db(give_a_village_a_target)
    canvassers = read_db(
        lambda s: s.exec(
            select(User).where(
                User.role == Role.CANVASSER, User.scope_unit_id == leader.scope_unit_id
            )
        ).all()
    )
    try:
        log_in(page, "lanhdao.07210")
        page.goto("/dashboard")
        expect(page.get_by_role("heading", level=1)).to_have_text("Tiến độ: Phường Bắc Giang")
        expect(page.locator("#forecast")).to_contain_text("dự kiến đạt")
        table = page.locator("#dash-table")
        expect(table.get_by_role("heading")).to_have_text("Theo thôn, tổ dân phố")
        row = table.locator(f'tr[data-row="village-{village.id}"]')
        expect(row).to_contain_text(village.name)
        expect(row.locator(".chip-behind")).to_have_text("Chậm")
        expect(page.locator("#trend-table tbody tr").first).to_be_visible()
        no_horizontal_scroll()
        check_a11y("dashboard, villages")

        page.get_by_role("navigation", name="Xem theo").get_by_role("link", name="Cán bộ").tap()
        expect(table.get_by_role("heading")).to_have_text("Theo cán bộ vận động")
        for canvasser in canvassers:
            expect(table.get_by_role("link", name=canvasser.full_name)).to_be_visible()

        # Sort by visits, most first: htmx swaps the table, the header says how it is sorted.
        table.get_by_role("link", name="Lượt thăm").tap()
        header = page.locator("#dash-table th", has=page.locator('a[data-sort="visits"]'))
        expect(header).to_have_attribute("aria-sort", "descending")
        expect(page).to_have_url(re.compile(r"sort=visits&dir=desc"))
        cells = page.locator("#dash-table tbody tr td:nth-of-type(5)").all_inner_texts()
        visits = [_n(c) for c in cells]
        assert visits == sorted(visits, reverse=True) and len(visits) == len(canvassers)
        no_horizontal_scroll()
        check_a11y("dashboard, canvassers sorted")

        # A number leads to the list behind it.
        shown = _n(page.locator("#stat-never .stat-value").inner_text())
        page.locator("#stat-never").tap()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hộ chưa từng được thăm")
        expect(page.locator("main")).to_contain_text(f"{shown} mục")
        items = page.locator("#dash-list a")
        assert items.count() == min(shown, 50)
        page.go_back()
        # So does a number in the table: the busiest canvasser's visits, one by one.
        busiest = page.locator('#dash-table tbody tr a[data-metric="visits"]').first
        count = _n(busiest.inner_text())
        assert count > 0
        busiest.tap()
        expect(page.get_by_role("heading", level=1)).to_have_text("Lượt thăm")
        expect(page.locator("#cell-total")).to_have_text(f"{count} mục")
        assert page.locator("#cell-list a").count() == min(count, 50)
        no_horizontal_scroll()
        check_a11y("the visits behind a number")
        page.go_back()
        first = canvassers[0]
        page.get_by_role("link", name=first.full_name).tap()
        expect(page).to_have_url(re.compile(rf"/worklist\?canvasser={first.id}$"))
        assert console_errors == []
    finally:

        def remove(session):
            session.delete(session.get(Target, target_id))
            session.commit()

        read_db(remove)
