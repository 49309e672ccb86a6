"""A group leader records a review meeting with a commitment on a phone; on its date the
commitment is back on the home page, and marking it done takes it off."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page, expect
from sqlmodel import Session, delete

from outreach.models import Commitment, ReviewMeeting, ReviewMeetingUnit
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def _forget_meetings(live_app) -> None:
    with Session(live_app.extensions["engine"]) as session:
        for model in (Commitment, ReviewMeetingUnit, ReviewMeeting):
            session.execute(delete(model))
        session.commit()


def test_the_leader_records_a_meeting_and_is_reminded_of_the_commitment(
    page: Page, live_app, monkeypatch, check_a11y, no_horizontal_scroll, console_errors
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    try:
        log_in(page, "lanhdao.cum")
        page.locator("#weekly-digest").get_by_role(
            "link", name="Mốc tiến độ và họp kiểm điểm"
        ).tap()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mốc tiến độ và họp kiểm điểm")
        no_horizontal_scroll()
        check_a11y("milestones and meetings")
        first = page.locator("#unit_id option").first
        commune = first.inner_text()
        page.locator("#unit_id").select_option(first.get_attribute("value"))
        page.get_by_label("Ngày họp").fill("2026-11-20")
        page.get_by_label("Nhận xét, nguyên nhân").fill("Chưa bám danh sách quá hạn.")
        page.get_by_label("Kết luận", exact=True).select_option("criticism")
        page.locator("#commitment_1").fill("Rà soát danh sách quá hạn")
        page.locator("#owner_1").fill("Chủ tịch UBND xã")
        page.locator("#due_1").fill("2026-11-25")
        page.get_by_role("button", name="Ghi cuộc họp").tap()
        expect(page.locator(".flash")).to_contain_text("Đã ghi cuộc họp kiểm điểm.")
        meetings = page.locator("#meetings")
        expect(meetings).to_contain_text(commune)
        expect(meetings).to_contain_text("Phê bình, nhắc nhở")
        expect(meetings).to_contain_text("Rà soát danh sách quá hạn")

        monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", date(2026, 11, 25))
        page.goto("/")
        reminders = page.locator("#reminders")
        expect(reminders).to_contain_text("Rà soát danh sách quá hạn")
        expect(reminders).to_contain_text(commune)
        no_horizontal_scroll()
        check_a11y("home with a reminder")
        reminders.get_by_role("button", name="Đã hoàn thành").tap()
        expect(page.locator(".flash")).to_contain_text("Đã đánh dấu cam kết hoàn thành.")
        expect(page.locator("#reminders")).to_have_count(0)
        assert console_errors == []
    finally:
        _forget_meetings(live_app)  # the shared live server's other journeys see none
