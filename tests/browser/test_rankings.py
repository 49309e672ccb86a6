"""Before the review meeting the province leader ranks the communes on the phone and downloads the sheet."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.imports.reading import read_table
from outreach.models import Target
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def test_province_leader_ranks_communes_and_downloads_the_sheet(
    page: Page, live_app, monkeypatch, check_a11y, no_horizontal_scroll, console_errors, tmp_path
):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    log_in(page, "lanhdao.tinh")
    page.goto("/rankings")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Xếp hạng theo tỷ lệ hoàn thành chỉ tiêu"
    )
    expect(page.locator("#countdown")).to_have_text("Còn 39 ngày đến hạn 31/12/2026")

    page.get_by_label("Tính đến hết ngày", exact=True).fill("2026-11-15")
    page.get_by_role("button", name="Xếp hạng", exact=True).tap()
    expect(page.locator("#countdown")).to_have_text("Còn 46 ngày đến hạn 31/12/2026")
    expect(page.locator("#ranking-result")).to_contain_text("15/11/2026")
    assert "date=2026-11-15" in page.url  # the chosen date stays in the address (shareable)

    rows = page.locator("#ranking-table tbody tr")
    first, last_ranked = rows.first, page.locator("#ranking-table tbody tr.mark-criticism").last
    expect(first.locator("td").first).to_have_text("1")
    expect(first).to_contain_text("Biểu dương")
    expect(last_ranked).to_contain_text("Phê bình")
    no_horizontal_scroll()
    check_a11y("rankings")

    shown = [
        (
            row.locator("td").first.inner_text().strip(),
            row.locator(".unit-name").inner_text().strip(),
            row.locator(".chip").inner_text().strip() if row.locator(".chip").count() else "",
        )
        for row in rows.all()
    ]
    assert len(shown) > 6

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải bảng xếp hạng (.xlsx)").click()
    download = download_info.value
    assert download.suggested_filename == "xep-hang-commune-2026-11-15.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    table = read_table(path.read_bytes(), path.name)
    header = next(i for i, row in enumerate(table.rows) if row and row[0] == "Hạng")
    sheet = [
        (str(row[0]) if row[0] not in (None, "") else "—", row[2], row[8] or "")
        for row in table.rows[header + 1 :]
    ]
    assert sheet == shown
    texts = " ".join(str(c) for row in table.rows[:header] for c in row if c)
    assert "15/11/2026" in texts and "Còn 46 ngày" in texts
    assert console_errors == []


def test_commune_leader_sets_a_village_target_on_the_phone(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    log_in(page, "lanhdao.07210")
    page.goto("/targets")
    expect(page.get_by_role("heading", level=1)).to_have_text("Chỉ tiêu chiến dịch")
    no_horizontal_scroll()
    check_a11y("targets")
    table = page.locator("#targets-table")
    village_row = table.locator("tbody tr").nth(1)
    village = village_row.locator("th").inner_text().strip()
    village_id = int(village_row.get_attribute("data-unit"))
    page.get_by_role("link", name=f"Sửa chỉ tiêu của {village}").tap()
    expect(page.get_by_role("heading", name=f"Chỉ tiêu của {village}")).to_be_visible()
    page.get_by_label("Chỉ tiêu tham gia mới").fill("-2")
    page.get_by_label("Chỉ tiêu đóng tiếp").fill("5")
    page.get_by_role("button", name="Lưu chỉ tiêu").tap()
    expect(page.locator("#target-error")).to_contain_text("số nguyên không âm")
    assert [e for e in console_errors if "400" not in e] == []  # the refused form answers 400
    console_errors.clear()
    page.get_by_label("Chỉ tiêu tham gia mới").fill("12")
    page.get_by_role("button", name="Lưu chỉ tiêu").tap()
    expect(page.locator(".flash")).to_contain_text(f"Đã lưu chỉ tiêu của {village}.")
    row = table.locator(f'tbody tr[data-unit="{village_id}"]')
    expect(row.locator("td").nth(0)).to_have_text("12")
    expect(row.locator("td").nth(1)).to_have_text("5")
    no_horizontal_scroll()

    def stored(session):
        return [
            (t.new_participants, t.renewals)
            for t in session.exec(select(Target).where(Target.unit_id == village_id))
        ]

    assert read_db(stored) == [(12, 5)]
    # Leave the shared database as it was: remove the village's target again.
    page.get_by_role("link", name=f"Sửa chỉ tiêu của {village}").tap()
    page.get_by_role("button", name="Xoá chỉ tiêu riêng").tap()
    expect(page.locator(".flash")).to_contain_text(f"Đã xoá chỉ tiêu riêng của {village}.")
    expect(row.locator("td").nth(2)).to_have_text("Chưa đặt")
    assert read_db(stored) == []
    assert console_errors == []
