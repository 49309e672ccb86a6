"""At the door on a phone: a canvasser adds a walk-in and fixes a phone, the commune leader approves,
and the household page shows the new member and the new number.

The live server's database is shared by the browser tests: this journey works in a commune no other
journey uses, so the member and the corrections it adds change nothing another test reads.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func
from sqlmodel import select

from outreach.models import Correction, GeoUnit, Household, Person, User
from outreach.models.codes import UnitKind
from tests.browser.test_assignment import _log_out
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

TAKEN = ("07210", "09370")  # the communes other journeys work in
WALK_IN = "Hoàng Thị Mai"
NEW_PHONE = "0912 345 678"
SERVER = 15_000  # ms: a loaded CI machine is slow to answer a POST


def _setup(s):
    communes = s.exec(
        select(GeoUnit.code).where(GeoUnit.kind == UnitKind.COMMUNE).order_by(GeoUnit.code)
    ).all()
    code = next(c for c in communes if c not in TAKEN)
    canvasser = s.exec(select(User).where(User.username == f"canbo.{code}.1")).one()
    household = s.exec(
        select(Household)
        .where(Household.assigned_canvasser_id == canvasser.id, Household.phone != "+84912345678")
        .order_by(Household.id)
    ).first()
    return code, canvasser, household


def _corrections(read_db) -> int:
    return read_db(lambda s: s.exec(select(func.count()).select_from(Correction)).one())


def test_a_walk_in_and_a_phone_are_approved_and_shown(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    code, canvasser, household = read_db(_setup)
    assert household is not None, "a household whose phone is another number"
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    try:
        log_in(page, canvasser.username)
        page.goto(f"/households/{household.id}")
        with page.expect_navigation():
            page.get_by_role("link", name="Thêm người, sửa số, chuyển đi…").tap()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Sửa thông tin hộ")
        no_horizontal_scroll()

        # A walk-in, first with an impossible birth date: a Vietnamese error, nothing written.
        before = _corrections(read_db)
        page.get_by_text("Thêm người gặp tại nhà").tap()
        page.get_by_label("Họ và tên").fill(WALK_IN)
        page.get_by_label("Ngày sinh (ngày/tháng/năm, hoặc năm sinh)").fill("31/02/1990")
        with page.expect_navigation(timeout=SERVER):
            page.get_by_role("button", name="Ghi người mới").tap()
        expect(page.get_by_role("alert")).to_contain_text("31/02/1990")
        assert _corrections(read_db) == before
        expect(page.get_by_label("Họ và tên")).to_have_value(WALK_IN)  # nothing typed is lost
        check_a11y("corrections form with an error")
        page.get_by_label("Ngày sinh (ngày/tháng/năm, hoặc năm sinh)").fill("12/05/1994")
        page.get_by_label("Giới tính").select_option(label="Nữ")
        with page.expect_navigation(timeout=SERVER):
            page.get_by_role("button", name="Ghi người mới").tap()
        expect(page.get_by_role("status")).to_have_text(
            "Đã ghi: thêm người, chờ lãnh đạo duyệt.", timeout=SERVER
        )

        # The household's phone.
        page.get_by_text("Sửa số điện thoại", exact=True).tap()
        page.get_by_label("Số của ai").select_option("household")
        page.get_by_label("Số điện thoại mới").fill(NEW_PHONE)
        with page.expect_navigation(timeout=SERVER):
            page.get_by_role("button", name="Ghi số mới").tap()
        expect(page.get_by_role("status")).to_have_text(
            "Đã ghi: sửa số điện thoại, chờ lãnh đạo duyệt.", timeout=SERVER
        )
        listed = page.locator("#corrections")
        expect(listed).to_contain_text(WALK_IN)
        expect(listed).to_contain_text(NEW_PHONE)
        expect(listed.get_by_text("Chờ duyệt")).to_have_count(2)
        no_horizontal_scroll()
        assert _corrections(read_db) == before + 2

        # The commune leader sees the count, approves both.
        _log_out(page)
        log_in(page, f"lanhdao.{code}")
        link = page.locator("#pending-corrections a")
        expect(link).to_have_text("2 sửa đổi tại hộ chờ duyệt")
        with page.expect_navigation():
            link.tap()
        expect(page.get_by_role("heading", name="2 sửa đổi chờ duyệt")).to_be_visible()
        check_a11y("leader corrections")
        no_horizontal_scroll()
        for _ in range(2):
            with page.expect_navigation(timeout=SERVER):
                page.locator("#pending li").first.get_by_role(
                    "button", name=re.compile("^Duyệt")
                ).tap()
            expect(page.get_by_role("status")).to_have_text(
                "Đã duyệt: thông tin mới có hiệu lực.", timeout=SERVER
            )
        expect(page.get_by_role("heading", name="0 sửa đổi chờ duyệt")).to_be_visible()

        # The household page shows the new member and the new number, to the leader and canvasser.
        page.goto(f"/households/{household.id}")
        expect(page.locator("#members")).to_contain_text(WALK_IN)
        expect(page.get_by_role("link", name=f"Gọi {NEW_PHONE}")).to_be_visible()
        _log_out(page)
        log_in(page, canvasser.username)
        page.goto(f"/households/{household.id}")
        expect(page.locator("#members")).to_contain_text(WALK_IN)
        expect(page.get_by_role("link", name=f"Gọi {NEW_PHONE}")).to_be_visible()
        expect(page.locator("#household-corrections").get_by_text("Đã duyệt")).to_have_count(2)
        no_horizontal_scroll()
        added = read_db(
            lambda s: s.exec(
                select(Person).where(
                    Person.household_id == household.id, Person.full_name == WALK_IN
                )
            ).one()
        )
        assert added.sex == "female" and added.is_potential
        # The refused form's answer is a 400 (the browser logs it); nothing else may fail.
        assert [e for e in console_errors if "status of 400" not in e] == []
    finally:
        live_app.config.pop("OUTREACH_TODAY", None)
