"""A large import on the default SQLite, and the canvasser's day beside it (issue 19 #5).

The admin imports a list of tens of thousands of people through the real pages, and a real
`outreach worker` process runs the job (as in production: never a web worker); the whole time, a canvasser opens household pages and syncs visits. No page fails, every household view is
in the audit log when the import is over, and every visit is stored exactly once (a sync refused
as "busy" is sent again, as the phone's outbox does).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core import spool
from outreach.core.clock import today_local
from outreach.models import AuditLog, GeoUnit, Household, ImportBatch, Person, User, Visit
from outreach.models.codes import UnitKind
from tests.conftest import DEMO_PASSWORD, app_on, backend, csrf_token
from tests.imports.test_views import _batch_id, _upload
from tests.imports.test_writer import HEADER
from tests.workers import WorkerProcess

pytestmark = pytest.mark.skipif(
    backend() != "sqlite", reason="PostgreSQL locks rows, not the database: no spool there"
)

ROWS = 60_000  # a few seconds of writing here, on a quiet machine: long enough to overlap the day
CANVASSER = "canbo.07210.1"


SYLLABLES = ("An", "Bình", "Chi", "Dung", "Giang", "Hà", "Khánh", "Lan", "Minh", "Nga")


def _name(i: int) -> str:
    """A name per number, digit by digit (names hold letters only)."""
    return "Nguyễn " + " ".join(SYLLABLES[int(d)] for d in f"{i:05d}")


def _list_for(commune: GeoUnit, village: GeoUnit, rows: int) -> bytes:
    """A participants list of `rows` new people in one commune, one household each."""
    lines = [HEADER]
    for i in range(rows):
        female = i % 2 == 0
        year = 1960 + i % 40
        lines.append(
            f"{i + 1},{_name(i)},01/02/{year},{'Nữ' if female else 'Nam'},"
            f"27{i:08d},027{1 if female else 0}{year % 100:02d}{i:06d},,"
            f"Số {i + 1} ngõ {i % 97},{village.name},{commune.name},,10/2026,3 tháng,2.000.000"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def _settled(app, batch_id: int, statuses: set[str], timeout: float = 600) -> ImportBatch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(app.extensions["engine"]) as s:
            batch = s.get(ImportBatch, batch_id)
            if batch.status in statuses:
                return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} still {batch.status}")


def _visit(household_id: int, person_id: int) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household_id,
        "channel": "home",
        "visited_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "outcomes": [
            {
                "person_id": person_id,
                "outcome": "promised",
                "follow_up_on": (today_local() + timedelta(days=3)).isoformat(),
            }
        ],
    }


@pytest.fixture
def app(db_url):
    """The suite's app, except that a request which started before the import marked its write
    waits 300 ms for the lock, not 5 s: on a loaded machine a 5 s wait can outlast the whole
    write, and no round would meet it (seen in a full run beside the PostgreSQL suite)."""
    with app_on(db_url, OUTREACH_WEB_WAIT_MS=300) as app:
        yield app


@pytest.fixture
def worker_process(app, db_url, tmp_path):
    """A real `outreach worker` on the test's database."""
    worker = WorkerProcess(db_url, tmp_path / "worker").start()
    yield worker
    worker.stop()


def _marked_by(engine) -> int | None:
    """The process the long-write mark names, if there is one."""
    try:
        return int(spool._mark_path(engine).read_text())
    except (OSError, ValueError):
        return None


def test_a_large_import_leaves_the_canvassers_day_untouched(app, login_as, worker_process):
    with Session(app.extensions["engine"]) as s:
        me = s.exec(select(User).where(User.username == CANVASSER)).one()
        commune = s.get(GeoUnit, me.scope_unit_id)
        village = s.exec(
            select(GeoUnit).where(GeoUnit.parent_id == commune.id, GeoUnit.kind == UnitKind.VILLAGE)
        ).first()
        households = [
            (h.id, p.id)
            for h, p in s.exec(
                select(Household, Person)
                .join(Person, Person.household_id == Household.id)
                .where(Household.commune_id == commune.id)
                .order_by(Household.id)
            )
        ][:60]
        visits_before = s.exec(select(func.count()).select_from(Visit)).one()
    admin = login_as("admin")
    upload = _upload(admin, _list_for(commune, village, ROWS), office="BHXH thử")
    batch_id = _batch_id(upload)
    previewed = _settled(app, batch_id, {"previewed", "failed", "mapping"})
    assert previewed.status == "previewed" and previewed.rejected == 0, previewed.message
    canvasser = app.test_client()
    canvasser.post(
        "/login",
        data={
            "csrf_token": csrf_token(canvasser, "/login"),
            "username": CANVASSER,
            "password": DEMO_PASSWORD,
        },
    )
    token = csrf_token(canvasser, "/worklist")
    started = admin.post(
        f"/imports/{batch_id}/import", data={"csrf_token": csrf_token(admin, "/imports")}
    )
    assert started.status_code == 302

    engine = app.extensions["engine"]
    outbox, stored, views, during, kept, answers, markers = [], set(), 0, 0, 0, [], set()
    step = 0
    while True:
        with Session(engine) as s:
            running = s.get(ImportBatch, batch_id).status == "importing"
        household_id, person_id = households[step % len(households)]
        step += 1
        busy = spool.long_write_under_way(engine)
        page = canvasser.get(f"/households/{household_id}")
        answers.append(page.status_code)
        views += page.status_code == 200
        outbox.append(_visit(household_id, person_id))
        sync = canvasser.post(
            "/api/visits/sync", json={"visits": outbox}, headers={"X-CSRFToken": token}
        )
        answers.append(sync.status_code)
        if sync.status_code == 200:  # sent: the phone empties its outbox of what was stored
            for result in sync.get_json()["results"]:
                assert result["status"] in ("stored", "duplicate"), result
                stored.add(result["client_uuid"])
            outbox = []
        # The page and the sync ran while the import wrote: it was marked when they started or
        # was still marked when they ended (a loaded machine stretches one round past a write).
        during += busy or spool.long_write_under_way(engine)
        if pid := _marked_by(engine):
            markers.add(pid)
        kept += spool.has_kept(engine)
        if not running:
            break
    done = _settled(app, batch_id, {"done", "failed"})
    assert done.status == "done" and done.inserted == ROWS, done.message
    assert during > 0, "no request ran while the import held the lock: make the list longer"
    assert kept > 0  # the household pages' audit entries waited in the spool, not on the lock
    # The mark named the worker's process that wrote, not this one (the web side).
    assert markers and os.getpid() not in markers
    assert all(os.getpgid(pid) == worker_process.process.pid for pid in markers if _alive(pid))
    assert set(answers) <= {200, 503}, answers  # never a 500, never a hang
    if outbox:  # what the phone still holds goes once the import is over
        sync = canvasser.post(
            "/api/visits/sync", json={"visits": outbox}, headers={"X-CSRFToken": token}
        )
        assert sync.status_code == 200
        stored |= {r["client_uuid"] for r in sync.get_json()["results"]}
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Visit)).one() == visits_before + step
        viewed = s.exec(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.username == CANVASSER, AuditLog.action == "view_household")
        ).one()
    assert len(stored) == step
    assert viewed == views  # every page view audited, none lost while the import wrote
    assert not spool.has_kept(engine)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
