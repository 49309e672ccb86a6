"""Background jobs run by a real `outreach worker` process from the queue, and what is left when
that worker is killed with SIGKILL in the middle of an import (outreach/jobs.py)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from outreach.core.queue import is_dead
from outreach.imports import batches as import_batches
from outreach.jobs import (
    BULLETIN_DRAFT,
    WEEKLY_DIGEST,
    draft_due_bulletins_now,
    refresh_every_commune,
)
from outreach.models import GeoUnit, Household, ImportBatch, Person, PriorityRefresh, Summary
from outreach.models.codes import UnitKind
from tests.conftest import csrf_token
from tests.crash.conftest import forget_the_checks_rows
from tests.crash.test_kill9 import participants_csv
from tests.imports.test_views import _batch_id, _settled, _upload
from tests.imports.test_writer import ROWS, _csv
from tests.workers import WorkerProcess, run_immediately


@pytest.fixture
def shared(app, db_url, tmp_path):
    """The app and a worker (not started yet) on one database."""
    worker = WorkerProcess(db_url, tmp_path / "worker")
    yield worker
    worker.stop()


def _persons(app) -> int:
    with Session(app.extensions["engine"]) as s:
        return s.exec(select(func.count()).select_from(Person)).one()


def _wait(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_worker_process_checks_and_imports_what_the_web_queued(app, login_as, shared):
    """The web only queues: with no worker the batch waits (and is not taken for a dead one);
    a worker started later checks it, then imports it when the admin asks."""
    client = login_as("admin")
    before = _persons(app)
    batch_id = _batch_id(_upload(client, _csv(ROWS)))
    time.sleep(1.5)
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Đang chờ máy xử lý nền nhận việc" in page
    with Session(app.extensions["engine"]) as s:
        assert s.get(ImportBatch, batch_id).status == "checking"  # waiting, not failed

    shared.start()
    batch = _settled(app, batch_id, timeout=60)
    assert batch.status == "previewed" and (batch.inserted, batch.rejected) == (3, 2)
    answer = client.post(
        f"/imports/{batch_id}/import",
        data={
            "csrf_token": csrf_token(client, f"/imports/{batch_id}"),
            "skip_rejected": "1",
            "create_villages": "1",  # the new village the preview lists, confirmed
        },
    )
    assert answer.status_code == 302
    batch = _settled(app, batch_id, timeout=60)
    assert batch.status == "done", batch.message
    assert _persons(app) == before + 3
    # Cleared at the end: just after "done" is committed (inside the job's heartbeat), not with it.
    board = app.extensions["jobs"].board
    _wait(lambda: board.read(f"import-{batch_id}") is None, timeout=10, what="the entry cleared")


def test_a_worker_killed_mid_import_fails_the_batch_cleanly_and_it_imports_again(
    app, login_as, shared
):
    """SIGKILL of the worker (and its parsing child) while the import writes: the batch's page
    says it was interrupted at once, nothing of the file is in the database, and the same batch
    is checked and imported again by a new worker."""
    rows = 60_000  # a few seconds of writing: time to see it and kill it mid-way
    data, _numbers = participants_csv(rows, seed=3)
    board = app.extensions["jobs"].board
    client = login_as("admin")
    before = _persons(app)
    shared.start()
    batch_id = _batch_id(_upload(client, data, name="ds-60000.csv"))
    batch = _settled(app, batch_id, timeout=300)
    assert batch.status == "previewed" and batch.rows_read == rows, batch.message
    forget_the_checks_rows(app.extensions["engine"], batch_id)
    client.post(
        f"/imports/{batch_id}/import",
        data={"csrf_token": csrf_token(client, f"/imports/{batch_id}"), "create_villages": "1"},
    )
    entry = _wait(
        lambda: (
            (e := board.read(f"import-{batch_id}"))
            and e["stage"] == "importing"
            and e["rows"] > 0
            and e
        ),
        timeout=120,
        what="the import to be writing",
    )
    assert entry["pid"] != shared.process.pid  # a worker process of the consumer, not its master
    shared.kill()
    assert is_dead(board.read(f"import-{batch_id}"), stale_after=30)

    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "gián đoạn" in page
    with Session(app.extensions["engine"]) as s:
        assert s.get(ImportBatch, batch_id).status == "failed"
    assert _persons(app) == before  # one transaction: nothing of it was written

    shared.start()
    client.post(
        f"/imports/{batch_id}/retry",
        data={"csrf_token": csrf_token(client, f"/imports/{batch_id}")},
    )
    assert _settled(app, batch_id, timeout=300).status == "previewed"
    client.post(
        f"/imports/{batch_id}/import",
        data={"csrf_token": csrf_token(client, f"/imports/{batch_id}"), "create_villages": "1"},
    )
    batch = _settled(app, batch_id, timeout=300)
    assert batch.status == "done", batch.message
    assert _persons(app) == before + rows


def test_the_nightly_refresh_task_stamps_every_household(app):
    """The scheduled job's body (huey's immediate mode: this tests the task, not the queue)."""
    run_immediately(app, "refresh_priorities")
    with Session(app.extensions["engine"]) as s:
        days = set(s.exec(select(Household.priority_on).distinct()).all())
    assert len(days) == 1 and days.pop() >= date(2026, 1, 1)


def _priorities(engine) -> dict[int, tuple[int, str, str]]:
    with Session(engine) as s:
        rows = s.exec(
            select(
                Household.id,
                Household.priority_score,
                Household.priority_reasons,
                Household.priority_top,
            )
        ).all()
    return {hid: (score, reasons, top) for hid, score, reasons, top in rows}


def _forget_priorities(engine) -> None:
    """Every household as before any refresh, and no commune fresh."""
    with Session(engine) as s:
        s.exec(update(Household).values(priority_score=0, priority_reasons="", priority_top=""))
        s.exec(delete(PriorityRefresh))
        s.commit()


def test_the_refresh_in_processes_writes_what_one_process_does_night_after_night(app):
    """Two processes (children on PostgreSQL; SQLite keeps one writer) score every household as
    one process does, and the next night, writing only what changed, ends where scoring every
    household from nothing ends."""
    engine = app.extensions["engine"]
    night, next_night = date(2026, 11, 23), date(2026, 11, 24)
    households = len(_priorities(engine))
    assert refresh_every_commune(engine, today=night, processes=1) == households
    serial = _priorities(engine)
    _forget_priorities(engine)
    assert refresh_every_commune(engine, today=night, processes=2) == households
    assert _priorities(engine) == serial
    with Session(engine) as s:
        communes = s.exec(select(GeoUnit.id).where(GeoUnit.kind == UnitKind.COMMUNE)).all()
        stamps = s.exec(select(PriorityRefresh.commune_id, PriorityRefresh.refreshed_on)).all()
    assert dict(stamps) == {commune: night for commune in communes}

    refresh_every_commune(engine, today=next_night, processes=2)
    incremental = _priorities(engine)
    _forget_priorities(engine)
    refresh_every_commune(engine, today=next_night, processes=1)
    assert incremental == _priorities(engine) != serial


def test_the_refresh_of_one_province_leaves_the_others(app):
    """`province_id` limits the refresh to that province's communes."""
    engine = app.extensions["engine"]
    with Session(engine) as s:
        province = s.exec(select(Household.province_id)).first()
        nation = s.exec(select(GeoUnit.id).where(GeoUnit.kind == UnitKind.NATION)).first()
    assert refresh_every_commune(engine, today=date(2026, 11, 23), province_id=nation or -1) == 0
    assert refresh_every_commune(engine, today=date(2026, 11, 23), province_id=province) == len(
        _priorities(engine)
    )


def test_a_running_job_beats_while_one_statement_keeps_it_busy(app):
    """The heartbeat comes from a thread of its own: a job stuck in one long statement (a commit
    of a million rows) still shows it lives; once the block ends it stops."""
    board = app.extensions["jobs"].board
    with board.alive("probe", lambda: {"stage": "importing", "rows": 1}):
        first = board.read("probe")["at"]
        time.sleep(2.5)  # "busy": the job itself posts nothing meanwhile
        assert board.read("probe")["at"] > first
        assert not is_dead(board.read("probe"), stale_after=30)
    last = board.read("probe")["at"]
    time.sleep(1.5)
    assert board.read("probe")["at"] == last
    assert is_dead(board.read("probe"), stale_after=1)
    board.clear("probe")
    assert import_batches.read_progress(board, ImportBatch(id=0)).started is False


def test_the_bulletin_and_digest_jobs_run_on_their_days(app):
    """The worker's schedule: the bulletin check every hour at :05, the digest on Monday at 07:00
    in Vietnam (00:00 UTC); and the drafting body drafts the 15th's bulletin once its hour came."""
    assert BULLETIN_DRAFT(datetime(2026, 11, 15, 10, 5, tzinfo=UTC))
    assert not BULLETIN_DRAFT(datetime(2026, 11, 15, 10, 6, tzinfo=UTC))
    assert WEEKLY_DIGEST(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # a Monday
    assert not WEEKLY_DIGEST(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    periodic = {task.name for task in app.extensions["jobs"].huey._registry.periodic_tasks}
    assert {"summaries.draft_due", "digest.weekly"} <= periodic
    engine = app.extensions["job_engine"]
    with Session(engine) as s:
        before = len(s.exec(select(Summary)).all())
    before_hour = datetime(2026, 11, 15, 9, 5, tzinfo=UTC)  # 16:05 in Vietnam: not yet
    assert draft_due_bulletins_now(engine, hour=17, now=before_hour) == 0
    assert draft_due_bulletins_now(engine, hour=17, now=datetime(2026, 11, 15, 10, 5, tzinfo=UTC))
    with Session(engine) as s:
        assert len(s.exec(select(Summary)).all()) == before + 1
    # The next hour's run finds the draft made: nothing twice.
    assert (
        draft_due_bulletins_now(engine, hour=17, now=datetime(2026, 11, 15, 11, 5, tzinfo=UTC)) == 0
    )
