"""Password rules: at least 10 characters, not only digits, not the user name, not a common one;
applied when a user is created, when an admin resets a password and when a user changes theirs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from outreach.accounts import logins, passwords
from outreach.accounts import service as accounts
from outreach.accounts.passwords import password_problem, verify_password
from outreach.accounts.service import AccountError, create_user
from outreach.models import AuditLog, GeoUnit, User
from outreach.operations.demo import DEMO_PASSWORD


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "ít nhất 10 ký tự"),
        ("Ngan-1", "ít nhất 10 ký tự"),
        ("123456789", "ít nhất 10 ký tự"),
        ("0912345678", "chỉ gồm chữ số"),
        ("19800312123456", "chỉ gồm chữ số"),
        ("canbo.07210.1", "trùng với tên đăng nhập"),
        ("CANBO.07210.1", "trùng với tên đăng nhập"),
        ("matkhau123", "quá phổ biến"),
        ("MatKhau@123", "quá phổ biến"),
        ("password123", "quá phổ biến"),
        ("x" * 201, "tối đa 200 ký tự"),
    ],
)
def test_refused_passwords_get_a_vietnamese_reason(password, message):
    problem = password_problem(password, username="canbo.07210.1")
    assert problem is not None and message in problem


@pytest.mark.parametrize("password", ["Mat-khau-moi-1", "trâu ăn cỏ non", "ga-gay-o-le-2026"])
def test_good_passwords_pass(password):
    assert password_problem(password, username="canbo.07210.1") is None


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_the_rules_hold_for_any_text(password):
    problem = password_problem(password, username="canbo.07210.1")
    ok = (
        10 <= len(password) <= 200
        and not password.isdigit()
        and password.strip().lower() != "canbo.07210.1"
        and password.strip().lower() not in passwords.COMMON_PASSWORDS
    )
    assert (problem is None) is ok


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_digits_only_are_always_refused(number):
    assert password_problem(str(number).zfill(10)) is not None


def test_generated_temporary_passwords_follow_the_rules():
    for _ in range(200):
        assert password_problem(passwords.generate_temporary_password(), username="x") is None


def _user(session, username) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _count(session, action) -> int:
    return len(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_change_password_applies_the_rules_and_changes_nothing_when_refused(session):
    user = _user(session, "canbo.07210.1")
    old_hash = user.password_hash
    for new, message in [
        ("ngan", "ít nhất 10"),
        ("0912345678", "chỉ gồm chữ số"),
        ("canbo.07210.1", "trùng với tên đăng nhập"),
        ("matkhau123", "quá phổ biến"),
    ]:
        with pytest.raises(AccountError, match=message):
            accounts.change_password(session, user=user, current=DEMO_PASSWORD, new=new)
        session.rollback()
    session.expire_all()
    assert _user(session, "canbo.07210.1").password_hash == old_hash
    assert _count(session, "password_changed") == 0
    accounts.change_password(
        session, user=_user(session, "canbo.07210.1"), current=DEMO_PASSWORD, new="Mat-khau-moi-1"
    )
    session.commit()
    assert verify_password(_user(session, "canbo.07210.1").password_hash, "Mat-khau-moi-1")


def test_create_user_applies_the_rules(session):
    commune = session.exec(select(GeoUnit).where(GeoUnit.kind == "commune")).first()
    for password in ("12345678", "nguoi.moi.1", "0123456789"):
        with pytest.raises(AccountError):
            create_user(
                session,
                username="nguoi.moi.1",
                full_name="Người Mới",
                password=password,
                role="canvasser",
                scope_unit_id=commune.id,
            )
        session.rollback()
    assert session.exec(select(User).where(User.username == "nguoi.moi.1")).first() is None


def test_register_and_reset_give_passwords_that_follow_the_rules(session):
    admin = _user(session, "admin")
    commune = session.exec(select(GeoUnit).where(GeoUnit.kind == "commune")).first()
    user, temporary = accounts.register_user(
        session,
        username="nguoi.moi.2",
        full_name="Người Mới",
        role="canvasser",
        scope_unit_id=commune.id,
        by_user=admin,
    )
    session.commit()
    assert password_problem(temporary, username=user.username) is None
    again = accounts.reset_password(session, user_id=user.id, by_user=admin)
    session.commit()
    assert password_problem(again, username=user.username) is None


def test_the_demo_password_is_kept_for_the_demo_accounts(session):
    # Demo accounts are stored with a ready hash; the rules apply to passwords people choose.
    assert logins.authenticate(session, username="admin", password=DEMO_PASSWORD).user
