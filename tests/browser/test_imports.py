"""An admin on a phone imports a messy list: sees which rows are wrong, fixes them, imports."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.models import GeoUnit, Person
from tests.browser.test_login_journeys import log_in
from tests.browser.test_thumb_layout import SMALL_TARGETS
from tests.imports.corpus import district_due
from tests.imports.test_writer import ROWS, _csv
from tests.workers import worker_threads

FIXED = ROWS[:3] + [
    ROWS[3].replace("Xã Không Có", "Phường Bắc Giang"),
    ROWS[4].replace("31/02/1991", "28/02/1991"),
]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(
    page: Page,
    data: bytes,
    name: str = "danh-sach-thang-11.csv",
    mime: str = "text/csv",
    office: str = "BHXH cơ sở thành phố Bắc Giang",
) -> None:
    page.get_by_role("link", name="Nhập danh sách").first.tap()
    page.get_by_label("Loại danh sách").select_option("participants")
    page.get_by_label("Đơn vị gửi danh sách").fill(office)
    page.get_by_label("Tệp danh sách").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
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
    assert page.evaluate(SMALL_TARGETS) == []  # every tap target 44×44 at least
    check_a11y("import preview with errors")

    _upload(page, _csv(FIXED))  # the admin fixed the two rows and uploads again
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=20_000)
    expect(page.locator("#batch-errors")).to_have_count(0)
    # The villages the list names that do not exist yet are listed; the admin confirms them.
    expect(page.locator("#batch-new-villages")).to_contain_text("Thôn Mới Lập — Phường Bắc Giang")
    page.locator("#confirm-villages input").check()
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


def test_admin_imports_a_district_list_as_it_comes_and_reads_what_is_skipped(
    page: Page, live_app, request, read_db, check_a11y, no_horizontal_scroll
):
    """BHXH huyện's due list: title block, group rows per commune, totals, signatures, a commune
    named without its district. No column to map; the preview says what is skipped and why,
    what is refused, and that the district came from the title."""
    worker = worker_threads(live_app)  # checks and imports run in a worker, never in the server
    worker.__enter__()
    request.addfinalizer(lambda: worker.__exit__(None, None, None))
    layout = district_due()
    log_in(page, "admin")
    _upload(page, layout.data, layout.filename, XLSX, office="BHXH huyện Yên Thế")
    status = page.locator("#batch-status")
    expect(status).to_contain_text("Đã kiểm tra, chờ nhập", timeout=30_000)
    skipped = page.locator("#batch-skipped")
    expect(skipped).to_contain_text("Dòng nhóm: Xã Đồng Tiến")
    expect(skipped).to_contain_text("Dòng cộng, tổng cộng")
    expect(skipped).to_contain_text("Phần ký tên cuối danh sách")
    expect(page.locator("#batch-errors")).to_contain_text("Không tìm thấy xã, phường “Xã Không Có”")
    expect(page.locator("#batch-title-district")).to_contain_text("HUYỆN YÊN THẾ")
    no_horizontal_scroll()
    check_a11y("import preview with skipped rows")
    page.get_by_role("button", name="Bỏ qua 1 dòng lỗi và nhập phần còn lại").tap()
    expect(status).to_contain_text("Đã nhập xong", timeout=30_000)

    def communes(session):
        people = session.exec(select(Person).where(Person.bhxh_number.like("24991000%"))).all()
        return {p.full_name: session.get(GeoUnit, p.commune_id).name for p in people}

    assert read_db(communes) == {
        "Hà Văn Khải": "Xã Xuân Lương",
        "Vi Thị Lan": "Xã Xuân Lương",
        "Đinh Thị Quế": "Xã Đồng Kỳ",
        "Đinh Văn Sáu": "Xã Đồng Kỳ",
    }


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
