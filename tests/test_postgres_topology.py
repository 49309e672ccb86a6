"""PostgreSQL beyond one machine, for real: a streaming replica (pg_basebackup -R) serving the
dashboards and rankings, and pgbouncer in transaction mode in front of the whole app.

Both are started by scripts/pg.sh from the suite's throwaway cluster (OUTREACH_TEST_POSTGRES).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from outreach import create_app
from outreach.models import AuditLog, GeoUnit, Household, User
from outreach.models.codes import UnitKind
from tests.conftest import PG_ADMIN_URL, csrf_token, login
from tests.visits.test_api import _household, _visit

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not PG_ADMIN_URL, reason="needs OUTREACH_TEST_POSTGRES (a throwaway PostgreSQL cluster)"
    ),
]

PG_SH = Path(__file__).resolve().parents[1] / "scripts" / "pg.sh"
COMMUNE = "07210"  # the commune of canbo.07210.1 and lanhdao.07210 in the demo
RENAMED = "Phường Thử Bản Sao"


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1].split("/", 1)[0]


def _same_database(server_url: str, db_url: str) -> str:
    """The URL of db_url's database on another server (the standby, pgbouncer)."""
    return server_url.rsplit("/", 1)[0] + "/" + db_url.rsplit("/", 1)[1]


@contextmanager
def _started(kind: str):
    """A standby or a pgbouncer of the suite's cluster, stopped and removed afterwards."""
    folder = tempfile.mkdtemp(prefix=f"/tmp/outreach-{kind}.")
    try:
        url = subprocess.run(
            ["bash", str(PG_SH), kind, folder, _port(PG_ADMIN_URL)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout.strip()
        yield url
    finally:
        subprocess.run(["bash", str(PG_SH), "stop", folder], timeout=120)


def _scalar(url: str, sql: str):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            value = conn.execute(text(sql)).scalar()
            conn.commit()
            return value
    finally:
        engine.dispose()


def _wait_for_replay(standby_url: str, timeout: float = 60) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    target = _scalar(PG_ADMIN_URL, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        behind = _scalar(
            standby_url, f"SELECT pg_wal_lsn_diff('{target}', pg_last_wal_replay_lsn())"
        )
        if behind is not None and behind <= 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"the standby did not replay up to {target} in {timeout} s")


def _pause_replay(standby_url: str, timeout: float = 30) -> None:
    """Stop the standby's replay, and wait until it has really stopped (the request is async)."""
    _scalar(standby_url, "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + timeout
    while _scalar(standby_url, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby did not pause its replay"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def standby():
    with _started("standby") as url:
        assert _scalar(url, "SELECT pg_is_in_recovery()") is True
        yield url


@pytest.fixture(scope="module")
def pgbouncer():
    with _started("pgbouncer") as url:
        yield url


def _app(**config):
    return create_app({"TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False, **config})


def _client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_dashboards_and_rankings_read_the_replica_and_writes_go_to_the_primary(db_url, standby):
    replica = _same_database(standby, db_url)
    _wait_for_replay(standby)
    app = _app(DATABASE_URL=db_url, DATABASE_REPLICA_URL=replica)
    try:
        leader = _client_of(app, "lanhdao.tinh")
        with Session(app.extensions["engine"]) as session:
            commune = session.exec(
                select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code == COMMUNE)
            ).one()
            old_name = commune.name
        assert old_name in leader.get("/dashboard").get_data(as_text=True)

        # The standby stops replaying; the primary renames the commune.
        _pause_replay(standby)
        with app.extensions["engine"].begin() as conn:
            conn.execute(
                text("UPDATE geo_unit SET name = :name WHERE id = :id"),
                {"name": RENAMED, "id": commune.id},
            )
        dashboard = leader.get("/dashboard").get_data(as_text=True)
        rankings = leader.get("/rankings").get_data(as_text=True)
        # Read from the replica: still the old name, a few seconds behind.
        assert old_name in dashboard and RENAMED not in dashboard
        assert old_name in rankings and RENAMED not in rankings
        # A page that must show what was just written reads the primary.
        listing = leader.get(f"/dashboard/list?kind=never_visited&unit={commune.id}")
        assert RENAMED in listing.get_data(as_text=True)
        # An export read from the replica is audited on the primary (the standby refuses writes).
        sheet = leader.get("/rankings.xlsx")
        assert sheet.status_code == 200
        with Session(app.extensions["engine"]) as session:
            assert session.exec(
                select(AuditLog).where(AuditLog.action == "export_rankings")
            ).first()

        _scalar(standby, "SELECT pg_wal_replay_resume()")
        _wait_for_replay(standby)
        # Replayed: the replica's pages catch up within the few seconds of lag they tolerate
        # (one clean-clone run once still read the old name right after the replay position).
        deadline = time.monotonic() + 30
        dashboard = leader.get("/dashboard").get_data(as_text=True)
        while RENAMED not in dashboard and time.monotonic() < deadline:
            time.sleep(0.5)
            dashboard = leader.get("/dashboard").get_data(as_text=True)
        assert RENAMED in dashboard and old_name not in dashboard
    finally:
        _scalar(standby, "SELECT pg_wal_replay_resume()")
        app.extensions["read_engine"].dispose()
        app.extensions["engine"].dispose()


def _flows(app) -> None:
    """A slice of the suite's flows, several times over.

    psycopg prepares a statement on the server on its 5th run in one checkout of a connection
    (a rollback forgets them). A sync batch commits each visit on its own, so its 6th visit asks
    for a statement prepared in an earlier transaction, on another server connection.
    """
    canvasser = _client_of(app, "canbo.07210.1")
    token = csrf_token(canvasser, "/worklist")
    with Session(app.extensions["engine"]) as session:
        me = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
        household, members = _household(session, Household.commune_id == me.scope_unit_id)
    leader = _client_of(app, "lanhdao.tinh")
    for _ in range(3):
        assert canvasser.get("/worklist").status_code == 200
        synced = canvasser.post(
            "/api/visits/sync",
            json={"visits": [_visit(household, members) for _ in range(10)]},
            headers={"X-CSRFToken": token},
        )
        assert synced.status_code == 200, synced.get_data(as_text=True)
        assert [r["status"] for r in synced.get_json()["results"]] == ["stored"] * 10
        assert leader.get("/dashboard").status_code == 200
        assert _client_of(app, "lanhdao.07210").get("/dashboard").status_code == 200


def _several_server_connections(url: str, n: int = 4) -> None:
    """Make pgbouncer open n server connections (n transactions at once): with round robin,
    the app's next transactions then land on a different one each time, as under load."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    held = [engine.connect() for _ in range(n)]
    for conn in held:
        conn.execute(text("SELECT 1"))  # each holds its own server connection until it ends
    for conn in held:
        conn.commit()  # a client leaving mid-transaction makes pgbouncer close its server
        conn.close()
    engine.dispose()


def test_the_app_works_behind_pgbouncer_in_transaction_mode(db_url, pgbouncer):
    url = _same_database(pgbouncer, db_url)
    _several_server_connections(url)
    app = _app(DATABASE_URL=url, DATABASE_PGBOUNCER=True)
    try:
        with app.extensions["engine"].connect() as conn:
            assert conn.connection.dbapi_connection.prepare_threshold is None
        _flows(app)
    finally:
        app.extensions["engine"].dispose()
