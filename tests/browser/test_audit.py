"""The admin on a phone filters the access log for one user's logins and sees them; anyone else
is refused with the Vietnamese 403 page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.models import AuditLog
from tests.browser.test_login_journeys import forget_session, log_in
from tests.workers import worker_threads

WHO = "canbo.09370.1"


def test_admin_filters_the_log_for_a_users_logins(
    page: Page, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    log_in(page, WHO, "sai-mat-khau-nay")  # a failed try, then a good one
    log_in(page, WHO)
    forget_session(page)
    console_errors.clear()  # the failed try's 401 is expected
    logins = read_db(
        lambda s: s.exec(
            select(AuditLog).where(AuditLog.username == WHO, AuditLog.action == "login")
        ).all()
    )
    assert logins

    log_in(page, "admin")
    page.goto("/admin/users")
    page.get_by_role("link", name="Nhật ký truy cập").tap()
    expect(page.get_by_role("heading", name="Nhật ký truy cập", exact=True)).to_be_visible()
    no_horizontal_scroll()
    check_a11y("audit log")

    page.get_by_label("Tên đăng nhập").fill(WHO)
    with page.expect_response(lambda r: "/admin/audit?" in r.url and r.status == 200):
        page.get_by_label("Thao tác").select_option("login")  # htmx swaps the list on change
    entries = page.locator("#audit-entries li")
    expect(entries).to_have_count(len(logins))
    expect(entries.first).to_contain_text("Đăng nhập")
    expect(entries.first).to_contain_text(WHO)
    assert "user=canbo.09370.1" in page.url and "action=login" in page.url  # the URL keeps it
    no_horizontal_scroll()
    assert console_errors == []

    # A bad date gets the Vietnamese message in place of the list.
    page.get_by_label("Từ ngày (dd/mm/yyyy)").fill("31/02/2026")
    with page.expect_response(lambda r: "/admin/audit?" in r.url and r.status == 400):
        page.get_by_role("button", name="Lọc").tap()
    expect(page.locator("#audit-error")).to_contain_text("dd/mm/yyyy")
    assert all("status of 400" in error for error in console_errors)  # only the refused filter


def test_a_leader_gets_the_403_page(page: Page):
    log_in(page, "lanhdao.tinh")
    response = page.goto("/admin/audit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không có quyền xem trang này")


def test_admin_exports_the_filtered_log_through_a_worker(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors, request
):
    log_in(page, WHO)
    forget_session(page)
    log_in(page, "admin")
    page.goto(f"/admin/audit?user={WHO}&action=login")
    page.get_by_role("button", name="Xuất nhật ký ra tệp .csv").tap()
    status = page.locator("#export-status")
    expect(status).to_contain_text("Đang chờ máy xử lý nền nhận việc…")  # no worker runs yet
    no_horizontal_scroll()
    check_a11y("export waiting for a worker")
    worker = worker_threads(live_app)  # the worker writes the file; the page follows it
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    download_link = page.get_by_role("link", name="Tải tệp (.csv)")
    expect(download_link).to_be_visible(timeout=60_000)
    check_a11y("export ready")
    with page.expect_download(timeout=30_000) as download_info:
        download_link.click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert WHO in text and "Đăng nhập" in text
    assert console_errors == []
