"""On PostgreSQL a web request waits a bounded time for a lock, then answers "busy" (503).

A first load into an empty database holds `person` and `household` until it commits
(docs/imports.md): a page or a sync reaching them must not hang past gunicorn's timeout (a 502,
the phone's visit in limbo). The web engine's `lock_timeout` is OUTREACH_WEB_WAIT_MS.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.models import Visit
from tests.conftest import app_on, backend, login
from tests.web.test_busy_database import CANVASSER, _a_household, _user, _visit

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="PostgreSQL's table locks")
WAIT_MS = 400


@pytest.fixture
def app(db_url):
    with app_on(db_url, OUTREACH_WEB_WAIT_MS=WAIT_MS) as app:
        yield app


@contextmanager
def tables_held(app):
    """Hold person and household as a first load does (ACCESS EXCLUSIVE until its commit)."""
    with app.extensions["job_engine"].connect() as conn:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("LOCK TABLE person, household IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.exec_driver_sql("ROLLBACK")


def _visits(app) -> int:
    with Session(app.extensions["job_engine"]) as s:
        return s.exec(select(func.count()).select_from(Visit)).one()


def test_pages_and_the_sync_answer_busy_within_the_wait_then_work_again(app):
    me = _user(app)
    household_id, person_id = _a_household(app, me.scope_unit_id)
    client = app.test_client()
    assert login(client, CANVASSER).status_code == 302
    token = client.get("/worklist").get_data(as_text=True).split('name="csrf-token" content="')[1]
    token = token.split('"', 1)[0]
    before = _visits(app)
    visit = _visit(household_id, person_id)
    with tables_held(app):
        started = time.monotonic()
        page = client.get(f"/households/{household_id}")
        assert page.status_code == 503 and "chưa được lưu" in page.get_data(as_text=True)
        synced = client.post(
            "/api/visits/sync", json={"visits": [visit]}, headers={"X-CSRFToken": token}
        )
        assert synced.status_code == 503 and synced.json["code"] == "busy"
        assert synced.headers["Retry-After"]
        assert time.monotonic() - started < 10 * WAIT_MS / 1000  # bounded, not hanging
    assert client.get(f"/households/{household_id}").status_code == 200
    resent = client.post(
        "/api/visits/sync", json={"visits": [visit]}, headers={"X-CSRFToken": token}
    )
    assert resent.status_code == 200, resent.get_data(as_text=True)
    assert _visits(app) == before + 1  # kept on the phone, stored once when sent again
