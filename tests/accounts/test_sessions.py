"""Sessions end when they should (issue 19, #8).

A logout, a password change, an admin's reset and a deactivation raise the user's session version:
every session and remember-me token stamped with an older one is logged out at its next request,
a thief's copy included, and a reactivation brings none back. "Strong" session protection fires
for logged-in (permanent) sessions; the remember-me token is random, and checked for its version
and age by the server. A session ends SESSION_MAX_LIFETIME after the login, however busy.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from itsdangerous import TimestampSigner
from sqlmodel import select

from outreach.models import AuditLog, User
from outreach.operations.demo import DEMO_PASSWORD
from outreach.web import extensions
from tests.conftest import csrf_token

REMEMBER = "remember_token"
NEW_PASSWORD = "Mat-khau-moi-2026"
CANVASSER = "canbo.07210.1"


def _login(client, username: str = CANVASSER, *, remember: bool = False, **kwargs):
    data = {"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _logged_in(client, **kwargs) -> bool:
    """Whether the client's cookies still open a page behind the login."""
    response = client.get("/account/password", **kwargs)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _browser_with(app, **cookies):
    """Another browser holding the given cookies: a thief's copy, or a phone put back."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _logout(client) -> None:
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 302


def _change_password(client, current: str = DEMO_PASSWORD, new: str = NEW_PASSWORD):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new,
            "csrf_token": csrf_token(client, "/account/password"),
        },
    )


def _user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


def test_a_copied_session_cookie_ends_with_the_logout(app, client):
    _login(client)
    thief = _browser_with(app, session=_cookie(client, "session"))
    assert _logged_in(thief)  # the copy works while the session lives…

    _logout(client)

    assert not _logged_in(client)
    assert not _logged_in(thief)  # …and not a request after the logout


def test_a_logout_ends_the_users_sessions_on_every_device(app, client):
    _login(client)
    other_phone = app.test_client()
    _login(other_phone)
    _logout(client)
    assert not _logged_in(other_phone)


def test_a_password_change_ends_every_other_session_but_not_its_own(app, client, session):
    _login(client)
    desk = app.test_client()
    _login(desk)
    thief = _browser_with(app, session=_cookie(client, "session"))
    before = _user(session, CANVASSER).session_version

    response = _change_password(client)

    assert response.status_code == 302
    assert _logged_in(client)  # the session that changed it goes on
    assert not _logged_in(desk)
    assert not _logged_in(thief)  # a copy of that very session does not
    assert _user(session, CANVASSER).session_version == before + 1


def test_the_remember_me_token_is_random_not_the_id_and_its_hmac(app, client, session):
    user = _user(session, CANVASSER)
    _login(client, remember=True)
    second = app.test_client()
    _login(second, remember=True)
    first_token, second_token = _cookie(client, REMEMBER), _cookie(second, REMEMBER)
    assert first_token != second_token
    assert not first_token.startswith(f"{user.id}|") and "|" not in first_token
    # Each token logs in alone (the session cookie gone: the browser was closed)…
    assert _logged_in(_browser_with(app, **{REMEMBER: first_token}))
    # …but Flask-Login's old deterministic token, which anyone with the key could rebuild, does not.
    with app.test_request_context():
        legacy = encode_cookie(str(user.id))
    assert not _logged_in(_browser_with(app, **{REMEMBER: legacy}))
    tampered = first_token[:-2] + ("yy" if first_token.endswith("xx") else "xx")  # 1 in 4096
    assert not _logged_in(_browser_with(app, **{REMEMBER: tampered}))


def test_the_remember_me_token_ends_with_the_logout(app, client):
    _login(client, remember=True)
    token = _cookie(client, REMEMBER)
    assert _logged_in(_browser_with(app, **{REMEMBER: token}))

    _logout(client)

    assert client.get_cookie(REMEMBER) is None  # the browser is told to drop it…
    put_back = _browser_with(app, **{REMEMBER: token})
    assert not _logged_in(put_back)  # …and a copy kept of it no longer works
    assert put_back.get_cookie(REMEMBER) is None  # it is deleted there too


def test_a_password_change_ends_old_remember_tokens_and_renews_its_own(app, client):
    _login(client, remember=True)
    old_token = _cookie(client, REMEMBER)

    assert _change_password(client).status_code == 302

    new_token = _cookie(client, REMEMBER)
    assert new_token != old_token
    assert not _logged_in(_browser_with(app, **{REMEMBER: old_token}))
    assert _logged_in(_browser_with(app, **{REMEMBER: new_token}))


def test_strong_session_protection_fires_for_a_logged_in_session(app, client):
    _login(client, remember=True)
    assert extensions.login_manager.session_protection == "strong"
    thief = _browser_with(
        app, session=_cookie(client, "session"), **{REMEMBER: _cookie(client, REMEMBER)}
    )
    # Another browser: the session is logged out, and its remember-me token dropped with it.
    assert not _logged_in(thief, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    assert thief.get_cookie(REMEMBER) is None
    # The same browser on another network (a phone moving from the post office's Wi-Fi to 4G)
    # stays logged in: the fingerprint is the browser, not the address.
    assert _logged_in(client, environ_base={"REMOTE_ADDR": "203.0.113.77"})


def _log_in_as_admin(app):
    admin = app.test_client()
    _login(admin, "admin")
    return admin


def _admin_post(admin, path: str, **data):
    data["csrf_token"] = csrf_token(admin, "/admin/users")
    return admin.post(path, data=data)


def test_an_admins_reset_ends_the_users_sessions(app, client, session):
    _login(client, remember=True)
    token = _cookie(client, REMEMBER)
    target = _user(session, CANVASSER)
    admin = _log_in_as_admin(app)

    assert _admin_post(admin, f"/admin/users/{target.id}/reset-password").status_code == 200

    assert not _logged_in(client)
    assert not _logged_in(_browser_with(app, **{REMEMBER: token}))


def test_reactivating_a_user_does_not_bring_their_old_sessions_back(app, client, session):
    _login(client, remember=True)
    token = _cookie(client, REMEMBER)
    target = _user(session, CANVASSER)
    admin = _log_in_as_admin(app)

    _admin_post(admin, f"/admin/users/{target.id}/deactivate")
    assert not _logged_in(client)
    reactivated = _admin_post(
        admin,
        f"/admin/users/{target.id}",
        full_name=target.full_name,
        organization=target.organization,
        role=target.role,
        scope_unit_id=str(target.scope_unit_id),
        is_active="1",
    )
    assert reactivated.status_code == 303 and _user(session, CANVASSER).is_active

    assert not _logged_in(client)
    assert not _logged_in(_browser_with(app, **{REMEMBER: token}))
    _login(client)  # the person logs in again: a new session
    assert _logged_in(client)


def test_unticking_active_on_the_users_form_ends_their_sessions_too(app, client, session):
    _login(client)
    target = _user(session, CANVASSER)
    admin = _log_in_as_admin(app)
    for active in ("", "1"):  # off, then on again
        _admin_post(
            admin,
            f"/admin/users/{target.id}",
            full_name=target.full_name,
            organization=target.organization,
            role=target.role,
            scope_unit_id=str(target.scope_unit_id),
            is_active=active,
        )
    assert _user(session, CANVASSER).is_active
    assert not _logged_in(client)


def test_a_session_from_before_session_versions_is_logged_out(app, client, session):
    user = _user(session, CANVASSER)
    with client.session_transaction() as stored:  # what a cookie signed before the upgrade held
        stored["_user_id"] = str(user.id)
        stored["_fresh"] = True
    assert not _logged_in(client)


@pytest.fixture
def clock(monkeypatch):
    """Move both clocks a session is checked against: the signed cookies' and the lifetime's."""
    offset = {"seconds": 0}
    real = time.time
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(real()) + offset["seconds"]
    )
    monkeypatch.setattr(extensions, "_clock", lambda: real() + offset["seconds"])

    def advance(delta: timedelta) -> None:
        offset["seconds"] += int(delta.total_seconds())

    return advance


def test_a_session_ends_twelve_hours_after_the_login_however_busy(app, client, clock):
    assert app.config["SESSION_MAX_LIFETIME"] == timedelta(hours=12)
    _login(client)
    for _ in range(6):  # a request every 1 h 55: never idle for two hours, 11 h 30 in all
        clock(timedelta(hours=1, minutes=55))
        assert _logged_in(client)
    clock(timedelta(minutes=31))  # 12 h 01 after the password was typed
    assert not _logged_in(client)
    _login(client)  # typing the password again starts a new one
    assert _logged_in(client)


def test_remember_me_starts_a_new_session_until_the_token_is_fourteen_days_old(app, client, clock):
    _login(client, remember=True)
    token = _cookie(client, REMEMBER)
    clock(timedelta(hours=12, minutes=1))
    assert _logged_in(client)  # the session is over; the ticked box starts another one
    clock(timedelta(days=14))
    # The browser would have dropped the token by now; a copy replayed is refused by the server.
    assert not _logged_in(_browser_with(app, **{REMEMBER: token}))


def test_the_absolute_lifetime_comes_from_the_environment(monkeypatch):
    from outreach import config

    monkeypatch.delenv("OUTREACH_SESSION_MAX_HOURS", raising=False)
    assert config.from_environment()["SESSION_MAX_LIFETIME"] == timedelta(hours=12)
    monkeypatch.setenv("OUTREACH_SESSION_MAX_HOURS", "8")
    assert config.from_environment()["SESSION_MAX_LIFETIME"] == timedelta(hours=8)


def test_logging_out_is_audited_once(client, session):
    _login(client)
    _logout(client)
    entries = session.exec(select(AuditLog).where(AuditLog.action == "logout")).all()
    assert [e.username for e in entries] == [CANVASSER] and entries[0].ip == "127.0.0.1"
