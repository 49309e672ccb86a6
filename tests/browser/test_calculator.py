"""At the door on a phone: from a household member to the contribution, recalculated in place."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.calculator import views as calculator_view
from outreach.models import GeoUnit, Household, Person
from outreach.operations.demo import DEMO_PASSWORD

CANVASSER = "canbo.07210.1"


@pytest.fixture(autouse=True)
def demo_today(monkeypatch):
    """The live server runs in this process: pin the calculator's "today" to the demo's day."""
    monkeypatch.setattr(calculator_view, "today_local", lambda: date(2026, 11, 22))


@pytest.fixture
def member(read_db, user_named) -> Person:
    """A member of one of the canvasser's households, in the "other" group, not on an island."""
    user = user_named(CANVASSER)

    def find(session):
        return session.exec(
            select(Person)
            .join(Household, Household.id == Person.household_id)
            .join(GeoUnit, GeoUnit.id == Person.commune_id)
            .where(
                Household.assigned_canvasser_id == user.id,
                Person.support_group == "other",
                GeoUnit.is_island.is_(False),
            )
            .order_by(Person.id)
        ).first()

    person = read_db(find)
    assert person is not None, "the demo canvasser should have a member in the 'other' group"
    return person


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập", exact=True).fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).tap()
    expect(page).not_to_have_url(re.compile(r"/login"))


def expect_amounts(page: Page, contribution: str, payable: str, yearly: str) -> None:
    expect(page.locator("#calc-contribution .stat-value")).to_have_text(contribution)
    expect(page.locator("#calc-payable .stat-value")).to_have_text(payable)
    expect(page.locator("#calc-period-12 td").last).to_have_text(yearly)


def test_canvasser_calculates_a_members_contribution_without_reloading(
    page: Page, member, check_a11y, no_horizontal_scroll, console_errors
):
    log_in(page, CANVASSER)
    page.goto(f"/households/{member.household_id}")

    page.get_by_role("link", name=f"Tính mức đóng cho {member.full_name}").tap()

    expect(page).to_have_url(re.compile(rf"/calculator\?person={member.id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tính mức đóng BHXH tự nguyện")
    expect(page.locator("main")).to_contain_text(f"Cho: {member.full_name}")
    expect(page.get_by_label("Nhóm được Nhà nước hỗ trợ")).to_have_value("other")
    expect(page.locator("main")).to_contain_text("Nghị định 159/2025/NĐ-CP")
    expect(page.locator("main")).to_contain_text("áp dụng từ 01/07/2025")
    # A marker on the window survives only if the page is never reloaded.
    page.evaluate("() => { window.calcMarker = 'same page'; }")

    page.get_by_role("button", name="2.000.000", exact=True).tap()
    expect_amounts(page, "440.000", "374.000", "4.488.000")
    expect(page.get_by_label("Thu nhập chọn làm căn cứ đóng (đồng/tháng)")).to_have_value(
        "2.000.000"
    )

    page.get_by_role("button", name="5.000.000", exact=True).tap()
    expect_amounts(page, "1.100.000", "1.034.000", "12.408.000")

    page.get_by_label("Nhóm được Nhà nước hỗ trợ").select_option("poor")
    expect_amounts(page, "1.100.000", "935.000", "11.220.000")

    assert page.evaluate("() => window.calcMarker") == "same page", "the page was reloaded"
    assert re.search(rf"/calculator\?person={member.id}$", page.url)
    tap_targets = page.locator("button.calc-pick").all()
    assert all(b.bounding_box()["height"] >= 44 for b in tap_targets), "a quick pick is too small"
    no_horizontal_scroll()
    assert console_errors == []
    check_a11y("calculator for a household member")


def test_a_typo_shows_the_vietnamese_error_in_place(page: Page, check_a11y):
    log_in(page, CANVASSER)
    page.goto("/calculator")
    page.evaluate("() => { window.calcMarker = 'same page'; }")
    income = page.get_by_label("Thu nhập chọn làm căn cứ đóng (đồng/tháng)")

    income.fill("60.000.000")
    income.press("Tab")

    expect(page.get_by_role("alert")).to_have_text(
        "Mức thu nhập phải từ 1.500.000 đến 50.600.000 đồng/tháng"
    )
    expect(page.locator("#calc-payable")).to_have_count(0)
    expect(page.get_by_label("Thu nhập chọn làm căn cứ đóng (đồng/tháng)")).to_be_in_viewport()

    # A quick pick puts things right, still without a reload.
    page.get_by_role("button", name="3.000.000", exact=True).tap()
    expect_amounts(page, "660.000", "594.000", "7.128.000")
    expect(page.locator("#calc-error")).to_be_empty()
    assert page.evaluate("() => window.calcMarker") == "same page"

    # The same error on a full page (no JavaScript), audited for accessibility.
    page.goto("/calculator?income=abc&group=other")
    expect(page.get_by_role("alert")).to_have_text("Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000")
    check_a11y("calculator with an input error")
