"""Flask-Limiter on POST /login: failed attempts per client address are throttled with a
Vietnamese answer and Retry-After; successful logins and other addresses are not held back."""

from __future__ import annotations

import pytest

from outreach import create_app
from outreach.operations.demo import DEMO_PASSWORD
from tests.conftest import csrf_token

MESSAGE = "Bạn đã thử đăng nhập quá nhiều lần"


@pytest.fixture
def limited_app(db_url):
    """The app with the throttle on (the shared `app` fixture turns it off), 3 tries a minute."""
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE": "3/minute;5/hour",
            # Higher than the throttle: the per-name lock must not be what answers here.
            "LOGIN_MAX_FAILURES": 100,
        }
    )
    yield app
    app.extensions["engine"].dispose()


def _client(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _try(client, username: str, password: str, **headers):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
        headers=headers,
    )


def test_failed_logins_from_one_address_are_throttled_in_vietnamese(limited_app):
    client = _client(limited_app, "198.51.100.10")
    for username in ("admin", "lanhdao.tinh", "khong.co.ai"):  # many names: the lock is per name
        assert _try(client, username, "sai-mat-khau").status_code == 401
    refused = _try(client, "admin", DEMO_PASSWORD)  # even the right password, from this address
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert MESSAGE in html and 'lang="vi"' in html and 'id="too-many"' in html
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert refused.headers["Content-Security-Policy"]  # the error page has the headers too
    # The login form itself is still shown (GET is not limited).
    assert client.get("/login").status_code == 200
    # htmx and scripts get a short answer.
    htmx = _try(client, "admin", "sai-mat-khau", **{"HX-Request": "true"})
    assert htmx.status_code == 429 and htmx.mimetype == "text/plain"
    assert htmx.get_data(as_text=True).startswith(MESSAGE) and "Retry-After" in htmx.headers
    api = _try(client, "admin", "sai-mat-khau", Accept="application/json")
    assert api.status_code == 429 and api.is_json
    assert api.get_json()["code"] == "too_many_requests" and MESSAGE in api.get_json()["error"]
    # Another address is not held back.
    assert _try(_client(limited_app, "198.51.100.12"), "admin", DEMO_PASSWORD).status_code == 302


def test_successful_logins_do_not_count(limited_app):
    # A post office where every canvasser logs in from one address at 7 a.m.
    for username in ["canbo.07210.1", "canbo.07210.2", "canbo.09370.1", "admin", "baochi"]:
        client = _client(limited_app, "198.51.100.13")
        assert _try(client, username, DEMO_PASSWORD).status_code == 302, username


def test_the_per_name_lock_still_works_with_the_throttle_on(db_url):
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE": "100/minute",
            "LOGIN_MAX_FAILURES": 2,
        }
    )
    try:
        client = _client(app, "198.51.100.15")
        for _ in range(2):
            assert _try(client, "admin", "sai-mat-khau").status_code == 401
        locked = _try(client, "admin", DEMO_PASSWORD)
        assert locked.status_code == 429 and "Đăng nhập sai quá nhiều lần" in locked.get_data(
            as_text=True
        )
    finally:
        app.extensions["engine"].dispose()


def test_the_throttle_is_off_when_disabled(app, client):
    # The shared test app turns it off (RATELIMIT_ENABLED=False): many failures, no 429.
    assert app.config["RATELIMIT_ENABLED"] is False
    for n in range(11):  # more than the default 10 a minute, a different name each time
        assert _try(client, f"khong.co.ai.{n}", "sai-mat-khau").status_code == 401


def test_the_defaults_come_from_the_environment(monkeypatch):
    from outreach import config

    monkeypatch.setenv("OUTREACH_LOGIN_RATE", "5/minute")
    monkeypatch.setenv("OUTREACH_RATELIMIT_STORAGE", "redis://localhost:6379")
    settings = config.from_environment()
    assert settings["LOGIN_RATE"] == "5/minute"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://localhost:6379"
    monkeypatch.delenv("OUTREACH_LOGIN_RATE")
    monkeypatch.delenv("OUTREACH_RATELIMIT_STORAGE")
    settings = config.from_environment()
    assert settings["LOGIN_RATE"] == "10/minute;50/hour"
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://" and settings["RATELIMIT_ENABLED"]
