"""Shared fixtures: a migrated demo database per test, on SQLite or PostgreSQL.

The backend comes from OUTREACH_TEST_POSTGRES (an admin URL of a throwaway PostgreSQL server, set
by `make test` for the second run); without it the suite runs on SQLite files. A template database
is migrated and filled with a small demo province once per run; each test gets its own copy
(a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL), so tests never see each other.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from outreach import create_app
from outreach.db import make_engine
from outreach.migrate import upgrade
from outreach.operations.demo import DEMO_PASSWORD, build_demo

PG_ADMIN_URL = os.environ.get("OUTREACH_TEST_POSTGRES", "")
DEMO_TODAY = date(2026, 11, 22)
DEMO_PERSONS = 1200
DEMO_SEED = 7
_counter = itertools.count()


def backend() -> str:
    """ "postgresql" when the suite runs against PostgreSQL, else "sqlite"."""
    return "postgresql" if PG_ADMIN_URL else "sqlite"


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    engine = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


class Databases:
    """Makes empty or demo-filled databases for tests, and drops them afterwards."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory.mktemp("db")
        self.created: list[str] = []
        self.template_url: str | None = None

    def empty(self) -> str:
        n = f"t{os.getpid()}_{next(_counter)}"
        if PG_ADMIN_URL:
            _pg_admin(f"CREATE DATABASE {n}")
            self.created.append(n)
            return _pg_url(n)
        return f"sqlite:///{self.tmp / (n + '.sqlite3')}"

    def copy_of_template(self) -> str:
        assert self.template_url is not None
        n = f"t{os.getpid()}_{next(_counter)}"
        if PG_ADMIN_URL:
            template = self.template_url.rsplit("/", 1)[1]
            _pg_admin(f"CREATE DATABASE {n} TEMPLATE {template}")
            self.created.append(n)
            return _pg_url(n)
        source = self.template_url.removeprefix("sqlite:///")
        target = self.tmp / (n + ".sqlite3")
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"

    def drop_all(self) -> None:
        for name in self.created:
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory)
    url = dbs.empty()
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        build_demo(session, persons=DEMO_PERSONS, seed=DEMO_SEED, today=DEMO_TODAY)
    engine.dispose()
    if url.startswith("sqlite"):
        # Fold the WAL into the main file so a plain copy carries everything.
        raw = create_engine(url)
        with raw.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.dispose()
    dbs.template_url = url
    yield dbs
    dbs.drop_all()


@pytest.fixture
def db_url(databases) -> str:
    """A private copy of the demo database for one test."""
    return databases.copy_of_template()


@contextmanager
def app_on(db_url: str, **config) -> Iterator:
    """The suite's app on `db_url`, with `config` on top; its engine disposed afterwards."""
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            # The suite logs in hundreds of times from one address; tests of the throttle enable it.
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
    try:
        yield app
    finally:
        app.extensions["engine"].dispose()


@pytest.fixture
def app(db_url, tmp_path):
    with app_on(db_url) as app:
        yield app


@pytest.fixture
def session(app):
    with Session(app.extensions["engine"], expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf-token" content="([^"]+)"'
)


def csrf_token(client, path: str = "/login") -> str:
    """Read the CSRF token a page hands out (the hidden field or the <meta> for htmx)."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client, username: str, password: str = DEMO_PASSWORD):
    """Log in through the real form, CSRF token included."""
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


@pytest.fixture
def login_as(client):
    def _login(username: str):
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _login


def pytest_report_header(config):
    """Say which database this run uses (make test runs the suite on both)."""
    return f"outreach database: {backend()}"


@pytest.fixture
def worker(app):
    """huey's consumer running the app's queued jobs (checks, imports) in threads of this process."""
    from tests.workers import worker_threads

    with worker_threads(app):
        yield
