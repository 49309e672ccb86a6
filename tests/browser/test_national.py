"""A national leader on a phone: the country's dashboard, then a province's, then the ranking."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.accounts.passwords import hash_password
from outreach.models import GeoUnit, User
from outreach.models.codes import Role, UnitKind
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

PASSWORD = "Quoc-gia-2026!"


def test_national_leader_follows_the_provinces_on_the_phone(
    page: Page, live_app, read_db, monkeypatch, check_a11y, no_horizontal_scroll, console_errors
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)

    def national_leader(session):
        nation = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.NATION)).one()
        province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
        if session.exec(select(User).where(User.username == "lanhdao.quocgia")).first() is None:
            session.add(
                User(
                    username="lanhdao.quocgia",
                    full_name="Nguyễn Văn Quốc",
                    password_hash=hash_password(PASSWORD),
                    role=Role.LEADER,
                    scope_unit_id=nation.id,
                    organization="Ban chỉ đạo Trung ương",
                )
            )
            session.commit()
        return province

    province = read_db(national_leader)
    log_in(page, "lanhdao.quocgia", PASSWORD)
    page.goto("/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiến độ: Việt Nam")
    row = page.locator(f'tr[data-row="province-{province.id}"]')
    expect(row).to_contain_text(province.name)
    no_horizontal_scroll()
    check_a11y("national dashboard")

    with page.expect_navigation(timeout=30_000):
        row.get_by_role("link", name=province.name).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tiến độ: {province.name}")
    no_horizontal_scroll()

    page.goto("/rankings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xếp hạng các tỉnh, thành phố")
    expect(page.locator("#ranking-table tbody tr").first).to_contain_text(province.name)
    no_horizontal_scroll()
    check_a11y("national rankings")
    assert console_errors == []
