"""A group leader opens "Duy trì và chuyển đổi" from the home page's weekly digest on a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def test_the_leader_reads_retention_and_conversion(
    page: Page, live_app, monkeypatch, check_a11y, no_horizontal_scroll, console_errors
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    log_in(page, "lanhdao.cum")
    digest = page.locator("#weekly-digest")
    expect(digest).to_contain_text("Cần chú ý tuần này")
    expect(digest).to_contain_text("Hẹn quá hạn chưa thăm lại, chưa đóng")
    no_horizontal_scroll()
    check_a11y("leader home with the digest")
    digest.get_by_role("link", name="Duy trì và chuyển đổi").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Duy trì và chuyển đổi")
    expect(page.locator("#retention-rate")).to_contain_text("đóng kỳ sau đúng hạn")
    expect(page.locator("#conversion-by-category tbody tr")).to_have_count(6)
    expect(page.locator("#conversion-by-path tbody tr")).to_have_count(5)
    expect(page.locator("#canvasser-pace tbody tr").first).to_be_visible()
    no_horizontal_scroll()
    check_a11y("retention and conversion")
    assert console_errors == []
