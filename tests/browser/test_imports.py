"""An admin on a phone imports a messy list: sees which rows are wrong, fixes them, imports."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.models import GeoUnit, Person
from tests.browser.test_login_journeys import log_in
from tests.imports.test_writer import ROWS, _csv
from tests.workers import worker_threads

FIXED = ROWS[:3] + [
    ROWS[3].replace("Xã Không Có", "Phường Bắc Giang"),
    ROWS[4].replace("31/02/1991", "28/02/1991"),
]


def _upload(page: Page, data: bytes) -> None:
    page.get_by_role("link", name="Nhập danh sách").first.tap()
    page.get_by_label("Loại danh sách").select_option("participants")
    page.get_by_label("Đơn vị gửi danh sách").fill("BHXH cơ sở thành phố Bắc Giang")
    page.get_by_label("Tệp danh sách").set_input_files(
        {"name": "danh-sach-thang-11.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name="Tải lên và kiểm tra").tap()


def test_admin_fixes_a_messy_list_and_imports_it(
    page: Page,
    live_app,
    monkeypatch,
    tmp_path,
    read_db,
    check_a11y,
    no_horizontal_scroll,
    console_errors,
    request,
):
    worker = worker_threads(live_app)  # checks and imports run in a worker, never in the server
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    log_in(page, "admin")
    _upload(page, _csv(ROWS))
    status = page.locator("#batch-status")
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=20_000)  # htmx polled it
    errors = page.locator("#batch-errors")
    expect(errors).to_contain_text("Không tìm thấy xã, phường “Xã Không Có”")
    expect(errors).to_contain_text("31/02/1991")
    expect(page.locator("#batch-counts")).to_contain_text("2")
    no_horizontal_scroll()
    check_a11y("import preview with errors")

    _upload(page, _csv(FIXED))  # the admin fixed the two rows and uploads again
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=20_000)
    expect(page.locator("#batch-errors")).to_have_count(0)
    page.get_by_role("button", name="Nhập vào hệ thống").tap()
    expect(status).to_contain_text("Đã nhập xong", timeout=20_000)
    expect(page.locator("#batch-message")).to_contain_text(
        "địa chỉ cũ đã chuyển sang xã, phường mới"
    )

    def check(session):
        people = session.exec(select(Person).where(Person.bhxh_number.like("24990000%"))).all()
        communes = {session.get(GeoUnit, p.commune_id).name for p in people}
        return len(people), communes

    count, communes = read_db(check)
    assert count == 5 and communes == {"Phường Bắc Giang"}

    _upload(page, _csv(FIXED))  # next month's list brings the same people: nobody is added twice
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=20_000)
    counts = page.locator("#batch-counts")
    expect(counts.locator("div", has_text="Người mới").locator("dd")).to_have_text("0")
    expect(counts.locator("div", has_text="Không đổi").locator("dd")).to_have_text("5")
    page.get_by_role("button", name="Nhập vào hệ thống").tap()
    expect(status).to_contain_text("Đã nhập xong", timeout=20_000)
    assert read_db(check)[0] == 5
    assert console_errors == []


def test_a_list_waits_for_a_worker_then_its_page_follows_the_check(
    page: Page, live_app, request, no_horizontal_scroll, console_errors
):
    """Checks run only in workers: with none running, the page says the list waits for one
    (not "failed"); once a worker starts, the same page (htmx polling) shows the check's result."""
    log_in(page, "admin")
    _upload(page, _csv(ROWS))
    status = page.locator("#batch-status")
    expect(page.locator("#batch-queued")).to_contain_text("Đang chờ máy xử lý nền nhận việc")
    page.wait_for_timeout(2500)  # a few polls: still waiting, never taken for a dead job
    expect(status).to_contain_text("Đang kiểm tra")
    worker = worker_threads(live_app)
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=20_000)
    no_horizontal_scroll()
    assert console_errors == []
