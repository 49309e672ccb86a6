from datetime import timedelta

import pytest
from sqlmodel import select
from werkzeug.security import generate_password_hash

from outreach.accounts.logins import LoginError, authenticate
from outreach.accounts.passwords import verify_password
from outreach.accounts.service import AccountError, create_user
from outreach.models import AuditLog, GeoUnit, User
from outreach.models.base import utcnow
from outreach.operations.demo import DEMO_PASSWORD


def _commune(session):
    return session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()


def test_create_user_hashes_the_password(session):
    user = create_user(
        session,
        username="Canbo.Moi",
        full_name="Cán Bộ Mới",
        password="mat-khau-dai",
        role="canvasser",
        scope_unit_id=_commune(session).id,
    )
    session.commit()
    assert user.username == "canbo.moi"
    # Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), written into the hash itself.
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "mat-khau-dai" not in user.password_hash


def test_an_older_scrypt_hash_still_logs_in_and_is_upgraded_at_that_login(session):
    """Accounts made before Argon2id keep working; their hash is redone when the password is
    known, and a wrong password changes nothing."""
    user = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    user.password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    session.add(user)
    session.commit()
    legacy = user.password_hash

    assert authenticate(session, username="canbo.07210.1", password="sai-mat-khau").user is None
    session.refresh(user)
    assert user.password_hash == legacy

    assert authenticate(session, username="canbo.07210.1", password=DEMO_PASSWORD).user
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, DEMO_PASSWORD)
    assert not verify_password(user.password_hash, "sai-mat-khau")
    assert authenticate(session, username="canbo.07210.1", password=DEMO_PASSWORD).user


@pytest.mark.parametrize("stored", ["", "x", "$argon2id$v=19$hong", "scrypt:1:2:3$bad$hash"])
def test_a_damaged_stored_hash_refuses_the_login_without_an_error(stored):
    assert verify_password(stored, DEMO_PASSWORD) is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"password": "ngan"}, "ít nhất 10 ký tự"),
        ({"role": "boss"}, "Vai trò không hợp lệ"),
        ({"username": "admin"}, "đã có người dùng"),
        ({"username": "có dấu cách"}, "Tên đăng nhập chỉ gồm"),
    ],
)
def test_create_user_rejects_bad_input_in_vietnamese(session, kwargs, message):
    args = {
        "username": "nguoi.moi",
        "full_name": "Người Mới",
        "password": "mat-khau-dai",
        "role": "leader",
        "scope_unit_id": _commune(session).id,
    } | kwargs
    with pytest.raises(AccountError, match=message):
        create_user(session, **args)


def test_village_is_not_a_valid_scope(session):
    village = session.exec(select(GeoUnit).where(GeoUnit.kind == "village")).first()
    with pytest.raises(AccountError, match="Phạm vi"):
        create_user(
            session,
            username="x.y",
            full_name="X",
            password="mat-khau-dai",
            role="leader",
            scope_unit_id=village.id,
        )


def test_authenticate_counts_failures_and_locks_the_name_from_that_address(session):
    for _ in range(5):
        result = authenticate(session, username="admin", password="sai", ip="10.0.0.1")
        session.commit()
        assert result.error == LoginError.BAD_CREDENTIALS
    failures = session.exec(select(AuditLog).where(AuditLog.action == "login_failed")).all()
    assert len(failures) == 5 and all(f.username == "admin" for f in failures)
    assert session.exec(select(User).where(User.username == "admin")).one().failed_logins == 5
    # Even the right password is refused from that address while the name is locked there.
    locked = authenticate(session, username="admin", password=DEMO_PASSWORD, ip="10.0.0.1")
    assert locked.error == LoginError.LOCKED
    # After the lock window the right password works again.
    later = utcnow() + timedelta(minutes=16)
    assert (
        authenticate(
            session, username="admin", password=DEMO_PASSWORD, ip="10.0.0.1", now=later
        ).user
        is not None
    )


def test_unknown_names_are_counted_too(session):
    result = authenticate(session, username="khong.co", password="x")
    session.commit()
    assert result.error == LoginError.BAD_CREDENTIALS
    assert (
        session.exec(select(AuditLog).where(AuditLog.username == "khong.co")).one().action
        == "login_failed"
    )


def test_inactive_user_cannot_log_in(session):
    user = session.exec(select(User).where(User.username == "baochi")).one()
    user.is_active = False
    session.add(user)
    session.commit()
    assert (
        authenticate(session, username="baochi", password=DEMO_PASSWORD).error
        == LoginError.INACTIVE
    )


def test_successful_login_is_audited(session):
    result = authenticate(session, username="lanhdao.tinh", password=DEMO_PASSWORD, ip="1.2.3.4")
    session.commit()
    assert result.user is not None and result.user.last_login_at is not None
    entry = session.exec(select(AuditLog).where(AuditLog.action == "login")).one()
    assert entry.user_id == result.user.id and entry.ip == "1.2.3.4"
