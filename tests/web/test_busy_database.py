"""While an import holds SQLite's only write lock, the canvasser's day goes on and nothing is lost.

Issue 19 #5: an import writes its whole file in one transaction. Here a real SQLite write lock is
held the way the importer holds it (a write transaction, marked with `spool.long_write`), and the
canvasser logs in, opens the worklist, a household and the visit form, syncs a visit, gets a
password wrong and logs out. Then the lock goes, and everything that was kept comes back in.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core import spool
from outreach.core.clock import today_local
from outreach.models import AuditLog, Household, Person, User, Visit
from tests.conftest import DEMO_PASSWORD, backend, csrf_token

pytestmark = pytest.mark.skipif(
    backend() != "sqlite", reason="PostgreSQL locks rows, not the database: no spool there"
)

CANVASSER = "canbo.07210.1"


@contextmanager
def import_holding_the_lock(app):
    """Hold SQLite's write lock as the importer does: an open write transaction, marked."""
    engine = app.extensions["job_engine"]
    with spool.long_write(engine), engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, action, username, object_type, "
            "object_id, ip, detail) VALUES ('2026-01-01', 'x', '', '', '', '', '')"
        )
        try:
            yield
        finally:
            conn.exec_driver_sql("ROLLBACK")


def _user(app, username=CANVASSER) -> User:
    with Session(app.extensions["engine"]) as s:
        return s.exec(select(User).where(User.username == username)).one()


def _a_household(app, commune_id: int) -> tuple[int, int]:
    with Session(app.extensions["engine"]) as s:
        for household in s.exec(
            select(Household).where(Household.commune_id == commune_id).order_by(Household.id)
        ):
            person = s.exec(select(Person).where(Person.household_id == household.id)).first()
            if person is not None:
                return household.id, person.id
    raise AssertionError("no household with members")


def _visit(household_id: int, person_id: int) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household_id,
        "channel": "home",
        "visited_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "outcomes": [
            {
                "person_id": person_id,
                "outcome": "promised",
                "follow_up_on": (today_local() + timedelta(days=3)).isoformat(),
            }
        ],
    }


def _audit(app, **where) -> list[AuditLog]:
    with Session(app.extensions["engine"]) as s:
        stmt = select(AuditLog).where(*[getattr(AuditLog, k) == v for k, v in where.items()])
        return list(s.exec(stmt.order_by(AuditLog.at)))


def _visits(app) -> int:
    with Session(app.extensions["engine"]) as s:
        return s.exec(select(func.count()).select_from(Visit)).one()


def _log_in(client, password=DEMO_PASSWORD):
    return client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client, "/login"),
            "username": CANVASSER,
            "password": password,
        },
    )


def test_the_canvassers_day_goes_on_while_an_import_holds_the_database(app):
    me = _user(app)
    household_id, person_id = _a_household(app, me.scope_unit_id)
    visits_before = _visits(app)
    client = app.test_client()
    with import_holding_the_lock(app):
        assert _log_in(client).status_code == 302  # logged in, not kept waiting
        assert client.get("/worklist").status_code == 200
        assert client.get(f"/households/{household_id}").status_code == 200
        token = csrf_token(client, "/worklist")
        answer = client.post(
            "/api/visits/sync",
            json={"visits": [_visit(household_id, person_id)]},
            headers={"X-CSRFToken": token},
        )
        # The visit is not stored now: the phone keeps it in its outbox and sends it again.
        assert answer.status_code == 503, answer.get_json()
        assert answer.get_json()["code"] == "busy"
        assert "giữ trên máy" in answer.get_json()["error"]
        assert int(answer.headers["Retry-After"]) > 0
        # A change that cannot wait is refused whole, in Vietnamese, with the usual headers.
        page = client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current": DEMO_PASSWORD,
                "new": "Mot-mat-khau-moi-2026",
                "confirm": "Mot-mat-khau-moi-2026",
            },
        )
        assert page.status_code == 503
        assert "chưa được lưu" in page.get_data(as_text=True)
        assert page.headers["Content-Security-Policy"] and page.headers["Retry-After"]
        assert client.post("/logout", data={"csrf_token": token}).status_code == 302
        # Nothing reached the database yet; all of it waits in the spool.
        assert _visits(app) == visits_before
        assert not _audit(app, username=CANVASSER, action="view_household")
        assert spool.has_kept(app.extensions["engine"])

    # The import is over: the next write that gets through brings the kept ones in.
    assert _log_in(client).status_code == 302
    assert not spool.has_kept(app.extensions["engine"])
    actions = [e.action for e in _audit(app, username=CANVASSER)]
    assert actions[-4:] == ["login", "view_household", "logout", "login"], actions
    viewed = _audit(app, username=CANVASSER, action="view_household")[-1]
    assert viewed.object_id == str(household_id) and viewed.user_id == me.id
    after = _user(app)
    assert after.session_version == me.session_version + 1  # the logout ended other sessions
    assert after.last_login_at is not None and after.password_hash == me.password_hash
    # The phone sends its visit again: stored once.
    token = csrf_token(client, "/worklist")
    again = client.post(
        "/api/visits/sync",
        json={"visits": [_visit(household_id, person_id)]},
        headers={"X-CSRFToken": token},
    )
    assert again.status_code == 200 and again.get_json()["results"][0]["status"] == "stored"
    assert _visits(app) == visits_before + 1


def test_wrong_passwords_kept_aside_still_lock_the_name(app):
    app.config["LOGIN_MAX_FAILURES"] = 3
    client = app.test_client()
    with import_holding_the_lock(app):
        for _ in range(3):
            assert _log_in(client, password="sai-mat-khau").status_code == 401
        # The failures are in the spool, not the log, and still count: the right one is refused.
        locked = _log_in(client)
        assert locked.status_code == 429
        assert "Đăng nhập sai quá nhiều lần" in locked.get_data(as_text=True)
    assert _log_in(client).status_code == 429  # moved into the log: still locked
    failures = _audit(app, username=CANVASSER, action="login_failed")
    assert len(failures) == 3


def test_without_the_spool_the_same_day_would_lose_its_audit_entries(app):
    """The test above can fail: the household page's entry is only in the spool during the lock."""
    me = _user(app)
    household_id, _person = _a_household(app, me.scope_unit_id)
    client = app.test_client()
    assert _log_in(client).status_code == 302
    with import_holding_the_lock(app):
        assert client.get(f"/households/{household_id}").status_code == 200
        assert not _audit(app, username=CANVASSER, action="view_household")
        path = spool.spool_path(app.extensions["engine"])
        assert path is not None and path.exists()
        assert [row["action"] for row in spool.kept_audit_rows(app.extensions["engine"])] == [
            "view_household"
        ]
