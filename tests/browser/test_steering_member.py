"""A steering-committee member follows three communes in different old districts, on a phone.

The admin picks the units on the member's user page; the member then sees exactly those communes
on the dashboard, and a household of another commune is not found. The live database is shared:
the member is a new account of this test, and their units are removed at the end.
"""

import re

from playwright.sync_api import Page, expect
from sqlmodel import delete, select

from outreach.accounts.passwords import hash_password
from outreach.core.scope import communes_under
from outreach.models import FollowedUnit, GeoUnit, Household, User
from outreach.models.codes import Role, UnitKind
from outreach.operations.demo import DEMO_PASSWORD
from tests.browser.test_assignment import _log_out
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

MEMBER = "thanhvien.bcd"


def _member_and_units(s):
    member = s.exec(select(User).where(User.username == MEMBER)).first()
    if member is None:
        province = s.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).first()
        member = User(
            username=MEMBER,
            full_name="Nguyễn Văn Theo Dõi",
            password_hash=hash_password(DEMO_PASSWORD),
            role=Role.LEADER,
            scope_unit_id=province.id,
        )
        s.add(member)
        s.commit()
    groups = s.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.GROUP).order_by(GeoUnit.id))
    communes = []
    for group in list(groups)[:3]:  # one commune in each of three old districts
        communes.append(
            s.exec(
                select(GeoUnit)
                .where(GeoUnit.parent_id == group.id, GeoUnit.kind == UnitKind.COMMUNE)
                .order_by(GeoUnit.id)
            ).first()
        )
    followed = frozenset().union(*(communes_under(s, c) for c in communes))
    outside = s.exec(
        select(Household.id).where(Household.commune_id.not_in(sorted(followed)))
    ).first()
    return member, communes, outside


def _forget_units(s):
    member = s.exec(select(User).where(User.username == MEMBER)).first()
    if member is not None:
        s.exec(delete(FollowedUnit).where(FollowedUnit.user_id == member.id))
        member.is_active = False
        s.add(member)
        s.commit()


def test_a_steering_member_follows_three_communes(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    member, communes, outside = read_db(_member_and_units)
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    try:
        log_in(page, "admin")
        page.goto(f"/admin/users/{member.id}")
        expect(
            page.get_by_role("heading", name="Đơn vị theo dõi (thành viên Ban chỉ đạo)")
        ).to_be_visible()
        page.get_by_label("Cụm, xã, phường").select_option([str(c.id) for c in communes])
        with page.expect_navigation():
            page.get_by_role("button", name="Lưu đơn vị theo dõi").tap()
        for commune in communes:
            expect(page.locator("#followed-now")).to_contain_text(commune.name)
        check_a11y("followed units")
        no_horizontal_scroll()
        _log_out(page)

        log_in(page, MEMBER)
        page.goto("/dashboard")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Tiến độ: Các đơn vị theo dõi", timeout=30_000
        )
        table = page.locator("table").first
        for commune in communes:
            expect(table).to_contain_text(commune.name)
        no_horizontal_scroll()
        check_a11y("member dashboard")
        assert not console_errors
        response = page.goto(f"/households/{outside}")  # the browser logs the 404 it answers
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name=re.compile("Không tìm thấy"))).to_be_visible()
    finally:
        live_app.config.pop("OUTREACH_TODAY", None)
        read_db(_forget_units)
