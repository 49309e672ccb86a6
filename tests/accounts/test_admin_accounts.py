"""Admin account management: role/scope rules, temporary passwords, audited changes."""

import pytest
from sqlmodel import func, select

from outreach.accounts import logins, passwords
from outreach.accounts import service as accounts
from outreach.accounts.passwords import verify_password
from outreach.accounts.service import AccountError
from outreach.models import AuditLog, GeoUnit, User
from outreach.operations.demo import DEMO_PASSWORD


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _unit(session, kind, code=None):
    stmt = select(GeoUnit).where(GeoUnit.kind == kind)
    if code:
        stmt = stmt.where(GeoUnit.code == code)
    return session.exec(stmt.order_by(GeoUnit.id)).first()


def _audit_count(session, action=None):
    stmt = select(func.count()).select_from(AuditLog)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return session.exec(stmt).one()


def test_register_user_gives_a_temporary_password_that_must_be_changed(session):
    admin = _user(session, "admin")
    commune = _unit(session, "commune", "07210")
    user, temporary = accounts.register_user(
        session,
        username="Canbo.Moi",
        full_name=" Lê Văn Mới ",
        role="canvasser",
        scope_unit_id=commune.id,
        organization="Bưu điện",
        by_user=admin,
    )
    session.commit()
    session.expire_all()
    stored = _user(session, "canbo.moi")
    assert stored.must_change_password and stored.full_name == "Lê Văn Mới"
    assert len(temporary) == passwords.TEMP_PASSWORD_LENGTH
    assert verify_password(stored.password_hash, temporary)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user_created")).one()
    assert entry.user_id == admin.id and entry.object_id == str(user.id)
    assert temporary not in entry.detail


@pytest.mark.parametrize(
    ("role", "kind", "message"),
    [
        ("canvasser", "province", "Cán bộ vận động phải có phạm vi là một xã"),
        ("canvasser", "group", "Cán bộ vận động phải có phạm vi là một xã"),
        ("media", "commune", "báo chí có phạm vi là cả tỉnh"),
        ("admin", "group", "Quản trị viên có phạm vi là cả tỉnh"),
        ("leader", "village", "Lãnh đạo có phạm vi"),
        ("chief", "commune", "Vai trò không hợp lệ"),
    ],
)
def test_register_user_refuses_a_scope_that_does_not_suit_the_role(session, role, kind, message):
    admin = _user(session, "admin")
    unit = _unit(session, kind)
    assert unit is not None, kind
    users, audits = (
        session.exec(select(func.count()).select_from(User)).one(),
        _audit_count(session),
    )
    with pytest.raises(AccountError, match=message):
        accounts.register_user(
            session,
            username="nguoi.moi",
            full_name="Người Mới",
            role=role,
            scope_unit_id=unit.id,
            by_user=admin,
        )
    session.rollback()
    assert session.exec(select(func.count()).select_from(User)).one() == users
    assert _audit_count(session) == audits


def test_a_unit_of_another_province_is_refused(session):
    other = GeoUnit(kind="province", code="99", name="Tỉnh Khác")
    session.add(other)
    session.flush()
    commune = GeoUnit(
        kind="commune", code="99999", name="Xã Khác", parent_id=other.id, province_id=other.id
    )
    session.add(commune)
    session.commit()
    admin = _user(session, "admin")
    with pytest.raises(AccountError, match="không có trong danh mục của tỉnh"):
        accounts.register_user(
            session,
            username="x.khac",
            full_name="X",
            role="canvasser",
            scope_unit_id=commune.id,
            by_user=admin,
        )
    target = _user(session, "canbo.07210.1")
    with pytest.raises(AccountError, match="không có trong danh mục của tỉnh"):
        accounts.update_user(
            session,
            user_id=target.id,
            role="canvasser",
            scope_unit_id=commune.id,
            full_name="X",
            organization="",
            is_active=True,
            by_user=admin,
        )


def test_update_user_changes_and_audits_only_what_changed(session):
    admin = _user(session, "admin")
    target = _user(session, "canbo.07210.1")
    group = _unit(session, "group")
    accounts.update_user(
        session,
        user_id=target.id,
        role="leader",
        scope_unit_id=group.id,
        full_name=target.full_name,
        organization=target.organization,
        is_active=True,
        by_user=admin,
    )
    session.commit()
    session.expire_all()
    changed = _user(session, "canbo.07210.1")
    assert (changed.role, changed.scope_unit_id) == ("leader", group.id)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "user_updated")).one()
    assert '"role": ["canvasser", "leader"]' in entry.detail and "full_name" not in entry.detail


def test_bad_update_changes_nothing(session):
    admin = _user(session, "admin")
    target = _user(session, "canbo.07210.1")
    before = (target.role, target.scope_unit_id, target.full_name)
    audits = _audit_count(session)
    for kwargs, message in [
        ({"full_name": "  "}, "Hãy nhập họ và tên"),
        ({"full_name": "x" * 201}, "tối đa 200"),
        ({"role": "media"}, "báo chí có phạm vi là cả tỉnh"),
    ]:
        args = {
            "role": "canvasser",
            "scope_unit_id": target.scope_unit_id,
            "full_name": "Tên Khác",
            "organization": "",
            "is_active": False,
            **kwargs,
        }
        with pytest.raises(AccountError, match=message):
            accounts.update_user(session, user_id=target.id, by_user=admin, **args)
        session.rollback()
    session.expire_all()
    target = _user(session, "canbo.07210.1")
    assert (target.role, target.scope_unit_id, target.full_name) == before and target.is_active
    assert _audit_count(session) == audits


def test_admin_cannot_demote_or_lock_themself(session):
    admin = _user(session, "admin")
    province = _unit(session, "province")
    with pytest.raises(AccountError, match="không thể tự"):
        accounts.update_user(
            session,
            user_id=admin.id,
            role="leader",
            scope_unit_id=province.id,
            full_name=admin.full_name,
            organization="",
            is_active=True,
            by_user=admin,
        )
    with pytest.raises(AccountError, match="không thể tự khóa"):
        accounts.deactivate_user(session, user_id=admin.id, by_user=admin)
    session.rollback()
    session.expire_all()
    assert _user(session, "admin").role == "admin" and _user(session, "admin").is_active


def test_deactivate_blocks_login(session):
    admin = _user(session, "admin")
    target = _user(session, "canbo.07210.2")
    accounts.deactivate_user(session, user_id=target.id, by_user=admin)
    session.commit()
    assert _audit_count(session, "user_deactivated") == 1
    result = logins.authenticate(session, username="canbo.07210.2", password=DEMO_PASSWORD)
    session.commit()
    assert result.user is None and result.error == logins.LoginError.INACTIVE


def test_reset_password_replaces_the_old_one(session):
    admin = _user(session, "admin")
    target = _user(session, "canbo.07210.2")
    temporary = accounts.reset_password(session, user_id=target.id, by_user=admin)
    session.commit()
    assert (
        logins.authenticate(session, username="canbo.07210.2", password=DEMO_PASSWORD).user is None
    )
    result = logins.authenticate(session, username="canbo.07210.2", password=temporary)
    session.commit()
    assert result.user is not None and result.user.must_change_password
    assert _audit_count(session, "password_reset") == 1
    assert passwords.generate_temporary_password() != passwords.generate_temporary_password()


def test_change_password_rules(session):
    user = _user(session, "canbo.07210.1")
    old_hash = user.password_hash
    for current, new, message in [
        ("sai-mat-khau", "Mat-khau-moi-1", "hiện tại không đúng"),
        (DEMO_PASSWORD, "ngan", "ít nhất 10"),
        (DEMO_PASSWORD, DEMO_PASSWORD, "ít nhất 10"),  # the demo's own is too short now
    ]:
        with pytest.raises(AccountError, match=message):
            accounts.change_password(session, user=user, current=current, new=new)
        session.rollback()
    session.expire_all()
    assert _user(session, "canbo.07210.1").password_hash == old_hash
    assert _audit_count(session, "password_changed") == 0
    user = _user(session, "canbo.07210.1")
    user.must_change_password = True
    session.commit()
    accounts.change_password(session, user=user, current=DEMO_PASSWORD, new="Mat-khau-moi-1")
    session.commit()
    session.expire_all()
    user = _user(session, "canbo.07210.1")
    assert not user.must_change_password and verify_password(user.password_hash, "Mat-khau-moi-1")
    assert _audit_count(session, "password_changed") == 1
    with pytest.raises(AccountError, match="phải khác"):
        accounts.change_password(session, user=user, current="Mat-khau-moi-1", new="Mat-khau-moi-1")


def test_list_users_filters_and_counts(session):
    province = _unit(session, "province")
    rows, total = accounts.list_users(session, province_id=province.id, role="canvasser", limit=5)
    expected = session.exec(
        select(func.count()).select_from(User).where(User.role == "canvasser")
    ).one()
    assert total == expected and len(rows) == min(5, expected)
    assert all(u.role == "canvasser" for u, _ in rows)
    rows, total = accounts.list_users(session, province_id=province.id, query="LANHDAO.07210")
    assert [u.username for u, _ in rows] == ["lanhdao.07210"] and total == 1
