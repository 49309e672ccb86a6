"""Admin pages: admins only, CSRF on every change, bad input answered in Vietnamese, nothing changed."""

import re

import pytest
from sqlmodel import func, select

from outreach.geography.villages import villages_of
from outreach.models import AuditLog, Campaign, GeoUnit, Household, Target, User
from outreach.operations.demo import DEMO_PASSWORD
from tests.conftest import csrf_token, login

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/campaigns", "/admin/villages"]


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _commune(session, code="07210"):
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == "commune", GeoUnit.code == code)
    ).one()


def _villages(session, commune):
    return session.exec(
        select(GeoUnit)
        .where(GeoUnit.parent_id == commune.id, GeoUnit.kind == "village")
        .order_by(GeoUnit.id)
    ).all()


@pytest.mark.parametrize("username", ["lanhdao.tinh", "lanhdao.07210", "canbo.07210.1", "baochi"])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_other_roles_get_403(login_as, username, path):
    response = login_as(username).get(path)
    assert response.status_code == 403
    assert "Người dùng" not in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_sees_the_pages(login_as, path):
    assert login_as("admin").get(path).status_code == 200


def test_leader_cannot_post_either(login_as, session):
    client = login_as("lanhdao.tinh")
    target = _user(session, "canbo.07210.1")
    token = csrf_token(client, "/")
    response = client.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": token})
    assert response.status_code == 403
    session.expire_all()
    assert _user(session, "canbo.07210.1").must_change_password is False


def test_user_list_filters_by_role_and_name(login_as, session):
    client = login_as("admin")
    html = client.get("/admin/users?role=media").get_data(as_text=True)
    media = session.exec(select(func.count()).select_from(User).where(User.role == "media")).one()
    assert f"{media} người dùng" in html and "baochi" in html and "canbo.07210.1" not in html
    html = client.get("/admin/users?q=canbo.07210").get_data(as_text=True)
    assert "canbo.07210.1" in html and "canbo.07210.2" in html and "baochi" not in html
    fragment = client.get("/admin/users?q=baochi", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert 'id="user-list"' in text and "<html" not in text and "baochi" in text


def _temporary(html: str) -> str:
    match = re.search(r'id="temporary-password">([^<]+)<', html)
    assert match, html
    return match.group(1)


def test_create_user_shows_a_temporary_password_once_and_forces_a_change(app, login_as, session):
    client = login_as("admin")
    commune = _commune(session)
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "username": "canbo.moi",
            "full_name": "Nguyễn Thị Mới",
            "organization": "Bưu điện phường Bắc Giang",
            "role": "canvasser",
            "scope_unit_id": commune.id,
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    temporary = _temporary(response.get_data(as_text=True))
    created = _user(session, "canbo.moi")
    assert created.must_change_password and created.scope_unit_id == commune.id
    assert temporary not in client.get(f"/admin/users/{created.id}").get_data(as_text=True)

    other = app.test_client()
    assert login(other, "canbo.moi", temporary).status_code == 302
    assert other.get("/").headers["Location"].endswith("/account/password")
    assert other.get("/worklist").status_code == 302
    htmx = other.get("/worklist", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].endswith("/account/password")
    page = other.get("/account/password").get_data(as_text=True)
    assert "mật khẩu tạm" in page
    token = csrf_token(other, "/account/password")
    bad = other.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary,
            "new_password": "ngan",
            "confirm_password": "ngan",
        },
    )
    assert bad.status_code == 400 and "ít nhất 10 ký tự" in bad.get_data(as_text=True)
    good = other.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": temporary,
            "new_password": "Mat-khau-rieng-1",
            "confirm_password": "Mat-khau-rieng-1",
        },
    )
    assert good.status_code == 302
    assert other.get("/").headers["Location"].endswith("/worklist")
    assert other.get("/worklist").status_code == 200


def test_create_user_with_a_wrong_scope_changes_nothing(login_as, session):
    client = login_as("admin")
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == "province")).one()
    before = session.exec(select(func.count()).select_from(User)).one()
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "username": "canbo.sai",
            "full_name": "Sai Phạm Vi",
            "role": "canvasser",
            "scope_unit_id": province.id,
        },
    )
    assert response.status_code == 400
    assert "phải có phạm vi là một xã" in response.get_data(as_text=True)
    assert session.exec(select(func.count()).select_from(User)).one() == before
    garbage = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client, "/admin/users/new"),
            "username": "canbo.sai",
            "full_name": "X",
            "role": "canvasser",
            "scope_unit_id": "abc",
        },
    )
    assert garbage.status_code == 400 and "Hãy chọn phạm vi" in garbage.get_data(as_text=True)


def test_posts_without_csrf_are_refused(login_as, session):
    client = login_as("admin")
    target = _user(session, "canbo.07210.1")
    village = _villages(session, _commune(session))[0]
    for path, data in [
        (f"/admin/users/{target.id}/reset-password", {}),
        (f"/admin/users/{target.id}/deactivate", {}),
        (f"/admin/villages/{village.id}/rename", {"name": "Thôn Không Token"}),
        ("/admin/campaigns/new", {"name": "X", "starts_on": "2026-12-01", "ends_on": "2026-12-31"}),
    ]:
        assert client.post(path, data=data).status_code == 400, path
    session.expire_all()
    target = _user(session, "canbo.07210.1")
    assert target.is_active and not target.must_change_password
    assert session.get(GeoUnit, village.id).name != "Thôn Không Token"
    assert session.exec(select(Campaign).where(Campaign.name == "X")).first() is None


def test_reset_and_deactivate(app, login_as, session):
    client = login_as("admin")
    target = _user(session, "canbo.07210.2")
    token = csrf_token(client, f"/admin/users/{target.id}")
    response = client.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": token})
    temporary = _temporary(response.get_data(as_text=True))
    other = app.test_client()
    assert login(other, "canbo.07210.2", DEMO_PASSWORD).status_code == 401
    assert login(other, "canbo.07210.2", temporary).status_code == 302
    client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": token})
    session.expire_all()
    assert _user(session, "canbo.07210.2").is_active is False
    # The deactivated user's open session ends with the next request.
    assert other.get("/account/password").status_code == 302
    actions = session.exec(
        select(AuditLog.action).where(
            AuditLog.object_type == "user", AuditLog.object_id == str(target.id)
        )
    ).all()
    assert {"password_reset", "user_deactivated"} <= set(actions)


def test_admin_cannot_deactivate_themself(login_as, session):
    client = login_as("admin")
    me = _user(session, "admin")
    token = csrf_token(client, f"/admin/users/{me.id}")
    response = client.post(f"/admin/users/{me.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 303
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "không thể tự khóa" in follow
    session.expire_all()
    assert _user(session, "admin").is_active


def test_edit_user_role_and_scope(login_as, session):
    client = login_as("admin")
    target = _user(session, "canbo.07210.1")
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == "province")).one()
    token = csrf_token(client, f"/admin/users/{target.id}")
    form = {
        "csrf_token": token,
        "full_name": "Tên Mới",
        "organization": "UBND",
        "role": "leader",
        "scope_unit_id": province.id,
        "is_active": "1",
    }
    assert client.post(f"/admin/users/{target.id}", data=form).status_code == 303
    session.expire_all()
    changed = _user(session, "canbo.07210.1")
    assert (changed.role, changed.scope_unit_id, changed.full_name) == (
        "leader",
        province.id,
        "Tên Mới",
    )
    bad = client.post(f"/admin/users/{target.id}", data={**form, "role": "canvasser"})
    assert bad.status_code == 400
    session.expire_all()
    assert _user(session, "canbo.07210.1").role == "leader"


def test_campaign_create_edit_and_bad_dates(login_as, session):
    client = login_as("admin")
    token = csrf_token(client, "/admin/campaigns/new")
    bad = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "name": "Đợt 2027",
            "starts_on": "31/03/2027",
            "ends_on": "01/01/2027",
        },
    )
    assert bad.status_code == 400 and "Ngày bắt đầu phải trước" in bad.get_data(as_text=True)
    assert session.exec(select(Campaign).where(Campaign.name == "Đợt 2027")).first() is None
    weird = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "name": "Đợt 2027",
            "starts_on": "2027-01-01",
            "ends_on": "2027-03-31",
            "weight_lapsed": "nhiều",
        },
    )
    assert weird.status_code == 400 and "số nguyên" in weird.get_data(as_text=True)
    ok = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "name": "Đợt 2027",
            "starts_on": "01/01/2027",
            "ends_on": "2027-03-31",
            "is_active": "1",
            "weight_lapsed": "900",
            "weight_potential": "100",
        },
    )
    assert ok.status_code == 303
    campaign = session.exec(select(Campaign).where(Campaign.name == "Đợt 2027")).one()
    assert campaign.priority_weights == '{"lapsed": 900}'
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert "01/01/2027" in listing and "31/03/2027" in listing
    edit = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'value="900"' in edit


def test_targets_page_sets_commune_targets_and_province_sum(login_as, session):
    client = login_as("admin")
    campaign = session.exec(select(Campaign)).first()
    commune = _commune(session)
    path = f"/admin/campaigns/{campaign.id}/targets"
    token = csrf_token(client, path)
    bad = client.post(
        path, data={"csrf_token": token, f"new_{commune.id}": "-3", f"renew_{commune.id}": "1"}
    )
    assert bad.status_code == 400 and "số nguyên không âm" in bad.get_data(as_text=True)
    ok = client.post(
        path, data={"csrf_token": token, f"new_{commune.id}": "1.234", f"renew_{commune.id}": "56"}
    )
    assert ok.status_code == 303
    session.expire_all()
    rows = session.exec(select(Target).where(Target.campaign_id == campaign.id)).all()
    by_unit = {t.unit_id: t for t in rows}
    assert (by_unit[commune.id].new_participants, by_unit[commune.id].renewals) == (1234, 56)
    communes = set(session.exec(select(GeoUnit.id).where(GeoUnit.kind == "commune")).all())
    province_row = by_unit[campaign.province_id]
    assert province_row.new_participants == sum(
        t.new_participants for t in rows if t.unit_id in communes
    )


def test_village_rename_merge_move_pages(login_as, session):
    client = login_as("admin")
    commune = _commune(session)
    # The busiest villages first, so the merge and the move carry households.
    rows = sorted(villages_of(session, commune_id=commune.id), key=lambda r: -r.households)
    second, third, first = (r.village for r in rows[:3])
    second_id = second.id
    page = client.get(f"/admin/villages?commune={commune.id}").get_data(as_text=True)
    assert first.name in page and "Gộp thôn" in page
    token = csrf_token(client, f"/admin/villages/{first.id}")
    response = client.post(
        f"/admin/villages/{first.id}/rename", data={"csrf_token": token, "name": second.name}
    )
    assert response.status_code == 400 and "gộp hai thôn" in response.get_data(as_text=True)
    assert (
        client.post(
            f"/admin/villages/{first.id}/rename",
            data={"csrf_token": token, "name": "Thôn Hòa Bình"},
        ).status_code
        == 303
    )
    moving = session.exec(
        select(func.count()).select_from(Household).where(Household.village_id == second.id)
    ).one()
    response = client.post(
        "/admin/villages/merge",
        data={
            "csrf_token": token,
            "commune": commune.id,
            "into_id": first.id,
            "from_ids": [second.id],
        },
    )
    assert response.status_code == 303
    # A rural commune: its "Thôn …" names cannot clash with the ward's "Tổ dân phố số N".
    other = session.exec(
        select(GeoUnit).where(GeoUnit.kind == "commune", GeoUnit.type_name == "Xã")
    ).first()
    response = client.post(
        f"/admin/villages/{third.id}/move", data={"csrf_token": token, "to_commune_id": other.id}
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(GeoUnit, first.id).name == "Thôn Hòa Bình"
    assert session.exec(select(GeoUnit.id).where(GeoUnit.id == second_id)).first() is None
    assert session.get(GeoUnit, third.id).parent_id == other.id
    assert moving > 0
    assert (
        session.exec(
            select(func.count()).select_from(Household).where(Household.village_id == first.id)
        ).one()
        >= moving
    )
    bad = client.post(
        f"/admin/villages/{third.id}/move", data={"csrf_token": token, "to_commune_id": "x"}
    )
    assert bad.status_code == 400 and "Hãy chọn xã" in bad.get_data(as_text=True)
