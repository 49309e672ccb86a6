"""On the 30th the admin drafts, checks and publishes the summary; a journalist downloads the PDF."""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import Page, expect

from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY
from tests.workers import worker_threads


def _log_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").tap()


def test_admin_publishes_and_media_downloads_the_pdf(
    page: Page,
    live_app,
    monkeypatch,
    check_a11y,
    no_horizontal_scroll,
    console_errors,
    tmp_path,
    request,
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    log_in(page, "admin")
    board = page.locator("#summary-board")
    expect(board).to_contain_text("Bản tin ngày 30/11/2026")
    board.get_by_role("link", name="Bản tin ngày 30/11/2026").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bản tin ngày 30/11/2026")

    page.get_by_role("button", name="Lập bản nháp").tap()
    expect(page.locator(".flash")).to_contain_text("Đã cập nhật bản nháp")
    document = page.locator("article.summary-doc")
    expect(document).to_contain_text("Tính đến ngày")
    expect(document).to_contain_text("toàn tỉnh Bắc Ninh")
    no_horizontal_scroll()
    check_a11y("summary draft")
    lead = document.locator(".doc-lead p").last.inner_text()

    # The 22nd: the period runs to the 30th, so publishing needs an explicit confirmation.
    expect(page.locator("#period-open")).to_contain_text("Kỳ này chưa kết thúc")
    publish = page.get_by_role("button", name=re.compile(r"^Công bố phiên bản \d+$"))
    publish.tap()
    expect(page.locator("#published-versions")).to_have_count(0)  # the box is required
    page.get_by_label("Tôi xác nhận công bố khi kỳ chưa kết thúc").check()
    publish.tap()
    # A worker renders and publishes; none runs yet, and the page says it waits for one.
    job = page.locator("#bulletin-job")
    expect(job).to_contain_text("Đang công bố…")
    expect(job).to_contain_text("Đang chờ máy xử lý nền nhận việc…")
    no_horizontal_scroll()
    check_a11y("summary being published")
    worker = worker_threads(live_app)
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    # The page follows the job (htmx) until the published version shows.
    expect(page.locator("#job-outcome")).to_contain_text(
        re.compile(r"Đã công bố phiên bản \d+\."), timeout=60_000
    )
    expect(page.locator("#published-versions")).to_contain_text("Phiên bản", timeout=10_000)
    _log_out(page)

    log_in(page, "baochi")
    archive = page.locator("#summaries")
    expect(archive).to_contain_text("Bản tin ngày 30/11/2026")
    check_a11y("media archive")
    with page.expect_download() as download_info:
        archive.get_by_role("link", name="Tải PDF").first.click()
    download = download_info.value
    assert re.fullmatch(r"ban-tin-bhxh-tu-nguyen-2026-11-30-v\d+\.pdf", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "BẢN TIN KẾT QUẢ VẬN ĐỘNG" in text
    first_words = " ".join(lead.split()[:6])
    assert first_words in " ".join(text.split())
    assert console_errors == []
