"""Configuration that refuses to start wrong, and the client's address behind a reverse proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from outreach import create_app
from outreach.config import ConfigurationError, check
from outreach.models import AuditLog
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
PROXY, CLIENT = "10.0.0.2", "203.0.113.9"


def _check_config(tmp_path, **env) -> subprocess.CompletedProcess:
    """Load wsgi:app the way a server does (gunicorn --check-config) with only these settings."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    keep.pop("DATABASE_URL", None)
    return subprocess.run(
        [str(GUNICORN), "--check-config", "wsgi:app"],
        cwd=ROOT,
        env={**keep, "OUTREACH_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_server_without_a_secret_key_refuses_to_start(tmp_path):
    refused = _check_config(tmp_path)
    assert refused.returncode != 0
    assert "OUTREACH_SECRET_KEY" in refused.stdout + refused.stderr
    assert not (tmp_path / "secret_key").exists()  # no key of its own made behind our back

    assert _check_config(tmp_path, OUTREACH_SECRET_KEY="a" * 64).returncode == 0


def test_a_command_without_a_secret_key_says_what_to_set_without_a_traceback(tmp_path):
    keep = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    keep.pop("DATABASE_URL", None)
    refused = subprocess.run(
        [sys.executable, "-m", "outreach.cli", "geography", "load", "--province", "01"],
        cwd=ROOT,
        env={**keep, "OUTREACH_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "Thiếu OUTREACH_SECRET_KEY" in refused.stderr
    assert "Traceback" not in refused.stderr and "No such command" not in refused.stderr


def test_the_demo_keeps_its_own_key_in_the_instance_folder(tmp_path):
    started = _check_config(tmp_path, OUTREACH_DEMO="1")
    assert started.returncode == 0, started.stdout + started.stderr
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) == 64
    assert _check_config(tmp_path, OUTREACH_DEMO="1").returncode == 0
    assert (tmp_path / "secret_key").read_text().strip() == key  # the same key after a restart


def test_several_servers_with_per_process_throttle_counts_are_refused(db_url):
    base = {"DATABASE_URL": db_url, "SECRET_KEY": "s", "APP_SERVERS": 2}
    with pytest.raises(ConfigurationError, match="OUTREACH_RATELIMIT_STORAGE"):
        create_app({**base, "RATELIMIT_STORAGE_URI": "memory://"})
    # A shared storage is accepted (the rule alone: its driver, redis-py, is the deployment's).
    check({**base, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://10.0.0.5:6379"})
    # One server may count in its own memory.
    app = create_app({**base, "APP_SERVERS": 1, "RATELIMIT_STORAGE_URI": "memory://"})
    app.extensions["engine"].dispose()


def test_the_settings_come_from_the_environment(monkeypatch):
    from outreach import config

    monkeypatch.setenv("OUTREACH_APP_SERVERS", "3")
    monkeypatch.setenv("OUTREACH_PROXY_FIX", "1")
    settings = config.from_environment()
    assert settings["APP_SERVERS"] == 3 and settings["PROXY_FIX"] == 1


def _login_ip(db_url, proxies: int) -> str:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "t",
            "RATELIMIT_ENABLED": False,
            "PROXY_FIX": proxies,
        }
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = CLIENT
    assert login(client, "admin").status_code == 302
    with app.app_context():
        from outreach.db import get_session

        entry = (
            get_session()
            .exec(select(AuditLog).where(AuditLog.action == "login").order_by(AuditLog.id.desc()))
            .first()
        )
        ip = entry.ip
    app.extensions["engine"].dispose()
    return ip


def test_behind_a_proxy_the_audit_log_sees_the_client(db_url):
    assert _login_ip(db_url, proxies=1) == CLIENT


def test_without_the_setting_a_forwarded_address_is_not_believed(db_url):
    # Any client can send X-Forwarded-For; without a proxy in front it is not trusted.
    assert _login_ip(db_url, proxies=0) == PROXY


def test_behind_a_proxy_the_throttle_counts_each_client(db_url):
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "t",
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE": "3/minute",
            "LOGIN_MAX_FAILURES": 100,
            "PROXY_FIX": 1,
        }
    )

    def attempt(client_ip: str) -> int:
        # Every request arrives from the proxy's address; only X-Forwarded-For differs.
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = PROXY
        client.environ_base["HTTP_X_FORWARDED_FOR"] = client_ip
        return login(client, "khong.co.ai", "sai-mat-khau").status_code

    try:
        assert [attempt(CLIENT) for _ in range(4)] == [401, 401, 401, 429]
        # Another phone behind the same proxy is not held back by the first one's failures.
        assert attempt("198.51.100.77") == 401
    finally:
        app.extensions["engine"].dispose()
