"""An admin gives a user an e-mail address and the bulletin subscription on the user's page."""

from __future__ import annotations

from sqlmodel import select

from outreach.models import AuditLog, User
from tests.conftest import csrf_token


def _form(user: User, **changes) -> dict:
    return {
        "full_name": user.full_name,
        "organization": user.organization,
        "role": user.role,
        "scope_unit_id": str(user.scope_unit_id),
        "is_active": "1",
        **changes,
    }


def test_the_admin_sets_an_address_and_the_subscription(login_as, session):
    media = session.exec(select(User).where(User.username == "baochi")).one()
    admin = login_as("admin")
    path = f"/admin/users/{media.id}"
    page = admin.get(path).get_data(as_text=True)
    assert 'id="email"' in page and 'id="gets_bulletins"' in page

    bad = admin.post(
        path, data={**_form(media, email="phong vien@bao"), "csrf_token": csrf_token(admin, path)}
    )
    assert bad.status_code == 400
    assert "Địa chỉ thư điện tử “phong vien@bao” không hợp lệ" in bad.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, media.id).email is None

    saved = admin.post(
        path,
        data={
            **_form(media, email="PhongVien@BaoBacNinh.vn", gets_bulletins="1"),
            "csrf_token": csrf_token(admin, path),
        },
    )
    assert saved.status_code == 303
    session.expire_all()
    user = session.get(User, media.id)
    assert (user.email, user.gets_bulletins) == ("phongvien@baobacninh.vn", True)
    entry = session.exec(
        select(AuditLog).where(AuditLog.action == "user_updated").order_by(AuditLog.id.desc())
    ).first()
    assert "phongvien@baobacninh.vn" in entry.detail
    assert 'value="phongvien@baobacninh.vn"' in admin.get(path).get_data(as_text=True)

    # Without an address there is nowhere to send: the subscription is not kept.
    admin.post(
        path,
        data={**_form(user, email="", gets_bulletins="1"), "csrf_token": csrf_token(admin, path)},
    )
    session.expire_all()
    user = session.get(User, media.id)
    assert (user.email, user.gets_bulletins) == (None, False)


def test_a_new_user_gets_an_address(login_as, session):
    admin = login_as("admin")
    province = session.exec(select(User).where(User.username == "admin")).one().scope_unit_id
    response = admin.post(
        "/admin/users/new",
        data={
            "username": "phongvien.moi",
            "full_name": "Đỗ Thu Trang",
            "role": "media",
            "scope_unit_id": str(province),
            "email": "trang@baobacninh.vn",
            "gets_bulletins": "1",
            "csrf_token": csrf_token(admin, "/admin/users/new"),
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    user = session.exec(select(User).where(User.username == "phongvien.moi")).one()
    assert (user.email, user.gets_bulletins) == ("trang@baobacninh.vn", True)
