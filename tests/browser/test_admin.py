"""The admin on a phone creates a canvasser, resets their password, and renames a village; the new
canvasser logs in with the temporary password and is made to choose their own first."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.accounts.passwords import verify_password
from outreach.models import AuditLog, GeoUnit, User
from tests.browser.test_login_journeys import forget_session, log_in, path_of

NEW_USERNAME = "canbo.07210.moi"
NEW_PASSWORD = "Mat-khau-cua-toi-2026"


def test_admin_creates_a_canvasser_who_must_change_the_temporary_password(
    page: Page, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    commune = read_db(
        lambda s: s.exec(
            select(GeoUnit).where(GeoUnit.kind == "commune", GeoUnit.code == "07210")
        ).one()
    )
    log_in(page, "admin")
    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="Người dùng", exact=True)).to_be_visible()
    no_horizontal_scroll()
    check_a11y("admin users")

    page.get_by_role("link", name="Thêm người dùng").tap()
    page.get_by_label("Tên đăng nhập").fill(NEW_USERNAME)
    page.get_by_label("Họ và tên").fill("Trần Thị Thu")
    page.get_by_label("Đơn vị công tác").fill("Bưu điện phường Bắc Giang")
    page.get_by_label("Vai trò").select_option("canvasser")
    page.get_by_label("Phạm vi").select_option(str(commune.id))
    no_horizontal_scroll()
    page.get_by_role("button", name="Tạo người dùng").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Đã tạo người dùng {NEW_USERNAME}")
    first_temporary = page.locator("#temporary-password").inner_text()

    page.get_by_role("link", name="Xem người dùng").tap()
    page.get_by_role("button", name="Đặt lại mật khẩu").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Đã đặt lại mật khẩu của {NEW_USERNAME}"
    )
    temporary = page.locator("#temporary-password").inner_text()
    assert temporary != first_temporary and len(temporary) >= 8
    no_horizontal_scroll()

    created = read_db(lambda s: s.exec(select(User).where(User.username == NEW_USERNAME)).one())
    assert created.role == "canvasser" and created.scope_unit_id == commune.id
    assert created.must_change_password and verify_password(created.password_hash, temporary)

    assert console_errors == []
    forget_session(page)
    log_in(page, NEW_USERNAME, first_temporary)  # the reset replaced the first password
    expect(page.get_by_text("Tên đăng nhập hoặc mật khẩu không đúng.")).to_be_visible()
    console_errors.clear()  # the refused login answers 401, as it should
    log_in(page, NEW_USERNAME, temporary)
    assert path_of(page) == "/account/password"
    expect(page.locator("#forced-change")).to_contain_text("mật khẩu tạm")
    page.goto("/worklist")  # every other page leads back here until the password is changed
    assert path_of(page) == "/account/password"
    no_horizontal_scroll()
    check_a11y("forced password change")

    page.get_by_label("Mật khẩu hiện tại").fill(temporary)
    page.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Lưu mật khẩu mới").tap()
    page.wait_for_url(re.compile(r"/worklist"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Trần Thị Thu")
    expect(page.locator("#worklist")).to_contain_text("0 hộ cần thăm")
    expect(page.locator("#worklist")).to_contain_text("Không có hộ nào khớp.")
    changed = read_db(lambda s: s.exec(select(User).where(User.username == NEW_USERNAME)).one())
    assert not changed.must_change_password
    assert verify_password(changed.password_hash, NEW_PASSWORD)
    actions = read_db(
        lambda s: s.exec(
            select(AuditLog.action).where(
                AuditLog.object_id == str(changed.id), AuditLog.object_type == "user"
            )
        ).all()
    )
    assert {"user_created", "password_reset", "password_changed"} <= set(actions)
    assert console_errors == []


def test_admin_renames_a_village(page: Page, read_db, no_horizontal_scroll, console_errors):
    # A rural commune the other journeys do not look at, and its last village.
    def pick(session):
        commune = session.exec(
            select(GeoUnit)
            .where(GeoUnit.kind == "commune", GeoUnit.type_name == "Xã")
            .order_by(GeoUnit.id.desc())
        ).first()
        village = session.exec(
            select(GeoUnit).where(GeoUnit.parent_id == commune.id).order_by(GeoUnit.id.desc())
        ).first()
        return commune, village

    commune, village = read_db(pick)
    new_name = "Thôn Đoàn Kết Mới"
    log_in(page, "admin")
    page.goto("/admin/villages")
    page.get_by_label("Xã, phường, đặc khu").select_option(str(commune.id))
    page.get_by_role("button", name="Xem").tap()
    page.get_by_role("link", name=re.compile(re.escape(village.name))).tap()
    page.get_by_label("Tên mới").fill(new_name)
    page.get_by_role("button", name="Đổi tên").tap()
    expect(page.get_by_role("status")).to_contain_text(f"Đã đổi tên thành {new_name}")
    expect(page.locator("#village-list")).to_contain_text(new_name)
    no_horizontal_scroll()
    renamed = read_db(lambda s: s.get(GeoUnit, village.id))
    assert renamed.name == new_name and renamed.name_key == "doanketmoi"
    assert console_errors == []
