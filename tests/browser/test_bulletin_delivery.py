"""The 15th: the bulletin drafted itself at the draft hour; the admin finds the notice on a phone,
publishes, and the journalist's inbox (a real SMTP server on loopback) receives the PDF."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.models import User
from outreach.summaries.schedule import draft_due_bulletins
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY
from tests.smtp_server import pdf_text, smtp_server  # noqa: F401
from tests.workers import worker_threads

ADDRESS = "phongvien@baobacninh.vn"


def _set_media_address(live_app, email: str | None) -> None:
    with Session(live_app.extensions["engine"]) as session:
        media = session.exec(select(User).where(User.username == "baochi")).one()
        media.email, media.gets_bulletins = email, bool(email)
        session.add(media)
        session.commit()


def test_the_drafted_bulletin_is_published_and_lands_in_the_media_inbox(
    page: Page,
    live_app,
    monkeypatch,
    smtp_server,  # noqa: F811
    check_a11y,
    no_horizontal_scroll,
    console_errors,
    request,
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    monkeypatch.setitem(live_app.config, "SMTP_URL", smtp_server.url)
    worker = worker_threads(live_app)  # the worker publishes and sends
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    _set_media_address(live_app, ADDRESS)
    try:
        with Session(live_app.extensions["engine"], expire_on_commit=False) as session:
            (done,) = draft_due_bulletins(
                session, now=datetime(2026, 11, 15, 17, 5, tzinfo=VIETNAM), hour=17
            )
            session.commit()
        assert done.drafted

        log_in(page, "admin")
        notices = page.locator("#notices")
        expect(notices).to_contain_text("Bản nháp bản tin ngày 15/11/2026 đã được lập tự động")
        no_horizontal_scroll()
        check_a11y("admin home with a notice")
        notices.get_by_role("link", name="Bản nháp bản tin ngày 15/11/2026").tap()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bản tin ngày 15/11/2026")
        expect(page.locator("article.summary-doc")).to_contain_text("toàn tỉnh Bắc Ninh")

        page.get_by_role("button", name=re.compile(r"^Công bố phiên bản \d+$")).tap()
        expect(page.locator("#job-outcome")).to_contain_text(
            re.compile(r"Đã công bố phiên bản \d+\."), timeout=60_000
        )
        expect(page.locator("#published-versions")).to_contain_text(
            "1 đã gửi, 0 chưa gửi được", timeout=30_000
        )
        expect(page.get_by_text("Đã gửi bản tin qua thư điện tử cho 1 người.")).to_be_visible()
        no_horizontal_scroll()
        check_a11y("published period with its deliveries")

        (mail,) = smtp_server.wait_for(1)
        assert mail.recipients == [ADDRESS]
        assert mail.subject == (
            "Bản tin kết quả vận động BHXH tự nguyện ngày 15/11/2026 – Tỉnh Bắc Ninh"
        )
        ((filename, data),) = mail.attachments()
        assert re.fullmatch(r"ban-tin-bhxh-tu-nguyen-2026-11-15-v\d+\.pdf", filename)
        assert "BẢN TIN KẾT QUẢ VẬN ĐỘNG" in pdf_text(data)

        # Seen: the admin takes the notice off the home page.
        page.goto("/")
        page.locator("#notices").get_by_role("button", name="Đã xem").first.tap()
        expect(page.locator("#notices")).to_have_count(0)
        assert console_errors == []
    finally:
        _set_media_address(live_app, None)  # the shared live server's other journeys send nothing
