"""Nobody can lock someone else out, and the password form is no oracle (issue 19, #9 and #10).

Failed logins count per name *and* client address, with a lock that doubles with each further
failure: a stranger's wrong passwords lock the stranger's address, never the person at their own
phone. Admins lift a lock on the user's page, a reset lifts it too, and a storm of failures from
many addresses is audited and shown there. The current password on the change form is counted,
audited and locked like a login.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import func, select

from outreach.accounts import logins
from outreach.accounts import service as accounts
from outreach.accounts.logins import LoginError, authenticate
from outreach.accounts.passwords import verify_password
from outreach.models import AuditLog, User
from outreach.models.base import utcnow
from outreach.operations.demo import DEMO_PASSWORD
from tests.conftest import csrf_token

CANVASSER = "canbo.07210.1"
STRANGER = "203.0.113.9"
OWNER = "198.51.100.20"


def _client(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _try(client, username: str, password: str):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


def _user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def _count(session, action: str, **where) -> int:
    stmt = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditLog, column) == value)
    return session.exec(stmt).one()


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(app):
    stranger = _client(app, STRANGER)
    # Any case or spacing of the name is the same name, the admin's included.
    for name in ("admin", "ADMIN", " Admin ", "aDmIn\t", "admin"):
        assert _try(stranger, name, "sai-mat-khau").status_code == 401
    refused = _try(stranger, "admin", DEMO_PASSWORD)  # even the right password, from there
    assert refused.status_code == 429 and "Đăng nhập sai quá nhiều lần" in refused.get_data(
        as_text=True
    )
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60 + 1
    # The admin, at their own desk, is not held back by it.
    assert _try(_client(app, OWNER), "admin", DEMO_PASSWORD).status_code == 302


def test_each_further_failure_doubles_the_lock(session):
    start = utcnow()

    def attempt(minutes: float, password: str = "sai"):
        result = authenticate(
            session,
            username=CANVASSER,
            password=password,
            ip=STRANGER,
            now=start + timedelta(minutes=minutes),
        )
        session.commit()
        return result

    for n in range(5):
        assert attempt(n / 10).error == LoginError.BAD_CREDENTIALS
    assert attempt(1, DEMO_PASSWORD).error == LoginError.LOCKED  # 15 minutes from the 5th
    assert attempt(15.5).error == LoginError.BAD_CREDENTIALS  # the 6th failure: 30 minutes
    locked = attempt(45, DEMO_PASSWORD)
    assert locked.error == LoginError.LOCKED
    assert locked.locked_until == start + timedelta(minutes=15.5 + 30)
    assert attempt(46).error == LoginError.BAD_CREDENTIALS  # the 7th: one hour
    assert attempt(46 + 59, DEMO_PASSWORD).error == LoginError.LOCKED
    assert attempt(46 + 61, DEMO_PASSWORD).user is not None
    # Attempts while locked are audited, not counted as failures.
    assert _count(session, "login_failed") == 7 and _count(session, "login_locked") == 3


def test_the_lock_never_outgrows_a_day(session):
    assert logins.lock_delay(4, max_failures=5, lock_minutes=15) is None
    assert logins.lock_delay(5, max_failures=5, lock_minutes=15) == timedelta(minutes=15)
    assert logins.lock_delay(7, max_failures=5, lock_minutes=15) == timedelta(hours=1)
    assert logins.lock_delay(10_000, max_failures=5, lock_minutes=15) == timedelta(hours=24)


def test_a_success_from_an_address_starts_its_count_again(session):
    for password in ["sai"] * 4 + [DEMO_PASSWORD] + ["sai"] * 4:
        authenticate(session, username=CANVASSER, password=password, ip=OWNER)
        session.commit()
    assert authenticate(session, username=CANVASSER, password=DEMO_PASSWORD, ip=OWNER).user


def test_an_admin_lifts_the_lock_from_the_users_page(app, session):
    target = _user(session, CANVASSER)
    phone = _client(app, OWNER)
    for _ in range(5):
        _try(phone, CANVASSER, "sai-mat-khau")
    assert _try(phone, CANVASSER, DEMO_PASSWORD).status_code == 429
    admin = _client(app, "192.0.2.1")
    assert _try(admin, "admin", DEMO_PASSWORD).status_code == 302

    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert 'id="locked-addresses"' in page and OWNER in page
    assert "5 lần đăng nhập sai, từ 1 địa chỉ" in page and 'id="unlock"' in page
    response = admin.post(
        f"/admin/users/{target.id}",
        data={"action": "unlock", "csrf_token": csrf_token(admin, f"/admin/users/{target.id}")},
    )
    assert response.status_code == 303
    assert "Đã gỡ tạm khóa đăng nhập" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )

    assert _count(session, "user_unlocked", object_id=str(target.id)) == 1
    assert _try(phone, CANVASSER, DEMO_PASSWORD).status_code == 302
    # Nothing else about the user changed.
    unlocked = _user(session, CANVASSER)
    assert (unlocked.full_name, unlocked.role, unlocked.is_active) == (
        target.full_name,
        target.role,
        True,
    )


def test_a_password_reset_lifts_the_lock(session):
    admin = _user(session, "admin")
    for _ in range(5):
        authenticate(session, username=CANVASSER, password="sai", ip=OWNER)
        session.commit()
    assert (
        authenticate(session, username=CANVASSER, password=DEMO_PASSWORD, ip=OWNER).error
        == LoginError.LOCKED
    )
    session.commit()
    temporary = accounts.reset_password(
        session, user_id=_user(session, CANVASSER).id, by_user=admin
    )
    session.commit()
    result = authenticate(session, username=CANVASSER, password=temporary, ip=OWNER)
    assert result.user is not None and result.user.must_change_password


def test_a_lock_storm_is_audited_once_and_shown_to_the_admins(app, session):
    # Twenty failures from five addresses within one lock window: someone is guessing.
    for n in range(20):
        authenticate(session, username="admin", password="sai", ip=f"203.0.113.{n % 5}")
        session.commit()
    for n in range(5):  # more of the same storm: still one entry
        authenticate(session, username="admin", password="sai", ip=f"203.0.113.{50 + n}")
        session.commit()
    storms = session.exec(select(AuditLog).where(AuditLog.action == "login_lock_storm")).all()
    assert len(storms) == 1
    admin = _user(session, "admin")
    assert storms[0].user_id == admin.id and storms[0].object_id == str(admin.id)
    assert json.loads(storms[0].detail) == {"failures": 20, "addresses": 5, "minutes": 15}
    # The owner still logs in from their own address.
    assert authenticate(session, username="admin", password=DEMO_PASSWORD, ip=OWNER).user
    session.commit()

    client = _client(app, OWNER)
    assert _try(client, "admin", DEMO_PASSWORD).status_code == 302
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert 'id="lock-storm"' in page and "đang bị dò mật khẩu từ nhiều địa chỉ" in page
    assert "25 lần đăng nhập sai, từ 10 địa chỉ" in page


def test_the_users_page_says_so_when_nothing_failed(login_as, session):
    target = _user(session, CANVASSER)
    page = login_as("admin").get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "Không có lần đăng nhập sai nào trong 24 giờ qua." in page and 'id="unlock"' not in page


# ---- the password form (#10) ---------------------------------------------------------------------


def _change(client, current: str, new: str = "Mat-khau-moi-2026"):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new,
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )


def test_the_password_form_locks_after_five_wrong_current_passwords(login_as, session):
    client = login_as(CANVASSER)
    for n in range(4):
        response = _change(client, f"doan-sai-{n}")
        assert response.status_code == 400
        assert "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    fifth = _change(client, "doan-sai-4")
    assert fifth.status_code == 429 and "Retry-After" in fifth.headers
    # Now not even the right one is checked: the form is no oracle.
    refused = _change(client, DEMO_PASSWORD)
    assert refused.status_code == 429
    assert "Nhập sai mật khẩu hiện tại quá nhiều lần" in refused.get_data(as_text=True)
    user = _user(session, CANVASSER)
    assert verify_password(user.password_hash, DEMO_PASSWORD)  # unchanged
    # Each failure is audited like a failed login: who, from where.
    assert _count(session, "password_failed", user_id=user.id, ip="127.0.0.1") == 5
    assert _count(session, "password_locked", user_id=user.id) == 1
    assert _count(session, "password_changed") == 0


def test_an_admins_unlock_reopens_the_password_form(app, login_as, session):
    client = login_as(CANVASSER)
    for n in range(5):
        _change(client, f"doan-sai-{n}")
    user = _user(session, CANVASSER)
    page_admin = app.test_client()
    assert _try(page_admin, "admin", DEMO_PASSWORD).status_code == 302
    page = page_admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert 'id="password-failures"' in page and "Trang đổi mật khẩu đang bị khóa" in page
    page_admin.post(
        f"/admin/users/{user.id}",
        data={"action": "unlock", "csrf_token": csrf_token(page_admin, f"/admin/users/{user.id}")},
    )
    assert _change(client, DEMO_PASSWORD).status_code == 302


def test_a_wrong_current_password_with_mismatched_new_ones_is_not_checked(login_as, session):
    client = login_as(CANVASSER)
    response = client.post(
        "/account/password",
        data={
            "current_password": "doan-sai",
            "new_password": "Mat-khau-moi-2026",
            "confirm_password": "Mat-khau-khac-2026",
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )
    assert response.status_code == 400
    assert _count(session, "password_failed") == 0
