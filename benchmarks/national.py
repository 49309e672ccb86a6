"""National benchmark (issue 23): three provinces (3,000,000 persons at full scale) on one
PostgreSQL database, against the one-province database of the `web` part.

- the canvasser's worklist and the commune dashboard, for the same Bắc Ninh accounts on both
  databases, and the ratio of their p95s (budget 1.5×);
- the national dashboard (budget 2 s), national rankings and the national bulletin PDF;
- the nightly refresh of one province's worklists (budget 10 s);
- the web pages (worklist, household page, visit POST, commune dashboard) sampled round after
  round while a real `outreach worker` process checks and imports the participants list of the
  import benchmark (1,000,000 rows at full scale) into Bắc Ninh, the province its communes are
  in; and the import's own rows/s.

The database is built and cached by `national_data.country_dataset`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from flask import Flask
from sqlmodel import Session, select

from outreach.db import vacuum
from outreach.imports import batches as import_batches
from outreach.models import GeoUnit, Household, ImportBatch, User
from outreach.models.codes import BatchStatus, UnitKind
from tests.workers import WorkerProcess

from .canvasser import app_with_floor, time_worklist_and_floor, visit_poster
from .dashboard import commune_leader, time_dashboard
from .datasets import CACHE_DIR, Dataset, Progress, postgres_dataset
from .imports import list_file
from .national_data import BACKEND, NATIONAL_LEADER, NATIONAL_MEDIA, country_dataset
from .refresh import time_province_refresh
from .report import Row, percentile
from .web import (
    SampleUsers,
    _csrf_token,
    _post_login,
    _time_get,
    make_app,
    prime,
    sample_users_for,
    time_page,
)

RATIO_BUDGET = 1.5  # three provinces within 1.5x one province
BUDGETS: dict[str, float | None] = {
    "national: dashboard (national) p95": 2000.0,
    # While the worker imports, the same budgets as on an idle server (run.BUDGETS).
    "worklist p95": 50.0,
    "visit POST p95": 50.0,
    "dashboard (commune) p95": 200.0,
}
ITERATIONS = {"small": 30, "full": 50}
PDF_ITERATIONS = 5
REFRESHED_PROVINCE = "01"  # Hà Nội: the largest of the three (126 communes)
IMPORT_PROVINCE = "24"  # the generated list is Bắc Ninh's (benchmarks/imports_file.py)
IMPORT_TIMEOUT = 3600.0  # seconds, a million rows on a loaded machine


def _province_id(session: Session, code: str) -> int:
    return session.exec(
        select(GeoUnit.id).where(GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == code)
    ).one()


def latency_rows(name: str, samples: list[float], backend: str = BACKEND) -> list[Row]:
    """p50 and p95 rows of one timed operation; budgets from BUDGETS by the row's name."""
    return [
        Row(
            f"{name} p{pct}", backend, percentile(samples, pct), "ms", BUDGETS.get(f"{name} p{pct}")
        )
        for pct in (50, 95)
    ]


def worklist_samples(url: str, canvasser: str, iterations: int) -> list[float]:
    """The worklist (ms) once the commune's priorities are today's and `household` vacuumed,
    as `run.canvasser_rows` times it."""
    app = app_with_floor(url)
    try:
        prime(app, [canvasser])
        vacuum(app.extensions["engine"], "household")
        worklist, _floor = time_worklist_and_floor(app, canvasser, iterations)
        return worklist
    finally:
        app.extensions["engine"].dispose()


def commune_dashboard_samples(url: str, leader: str, iterations: int) -> list[float]:
    """The commune leader's dashboard (ms)."""
    app = make_app(url)
    try:
        return time_dashboard(app, leader, iterations)
    finally:
        app.extensions["engine"].dispose()


def _earlier(rows: list[Row], name: str) -> float | None:
    found = [r.value for r in rows if r.name == name and r.backend == BACKEND]
    return found[0] if found else None


def one_vs_three_rows(
    one: Dataset,
    three: Dataset,
    users: SampleUsers,
    *,
    earlier: list[Row],
    iterations: int,
    progress: Progress,
) -> list[Row]:
    """Worklist and commune dashboard p95 on one and three provinces, and their ratios."""
    canvasser, leader = users.canvasser, commune_leader(users)
    rows: list[Row] = []
    for name, who, timed in (
        ("worklist", canvasser, worklist_samples),
        ("dashboard (commune)", leader, commune_dashboard_samples),
    ):
        alone = _earlier(earlier, f"{name} p95")
        if alone is None:
            progress(f"{name} as {who}, one province")
            alone = percentile(timed(one.url, who, iterations), 95)
        else:
            progress(f"{name}, one province: p95 from the web part of this run")
        progress(f"{name} as {who}, three provinces")
        country = percentile(timed(three.url, who, iterations), 95)
        rows += [
            Row(f"national: {name} p95, one province", BACKEND, alone, "ms"),
            Row(f"national: {name} p95, three provinces", BACKEND, country, "ms"),
            Row(f"national: {name} p95, three / one", BACKEND, country / alone, "×", RATIO_BUDGET),
        ]
    return rows


def national_page_rows(url: str, iterations: int, progress: Progress) -> list[Row]:
    """The national dashboard, national rankings and the national bulletin PDF."""
    app = make_app(url)
    try:
        progress(f"national dashboard, rankings as {NATIONAL_LEADER}; PDF as {NATIONAL_MEDIA}")
        return (
            latency_rows(
                "national: dashboard (national)", time_dashboard(app, NATIONAL_LEADER, iterations)
            )
            + latency_rows(
                "national: rankings (national)",
                time_page(app, NATIONAL_LEADER, "/rankings", iterations),
            )
            + latency_rows(
                "national: bulletin PDF (national)",
                time_page(app, NATIONAL_MEDIA, "/summaries/national.pdf", PDF_ITERATIONS),
            )
        )
    finally:
        app.extensions["engine"].dispose()


class PageRounds:
    """One canvasser's worklist, a household page and a visit POST, and their commune leader's
    dashboard, timed in turn: one round is one of each."""

    NAMES = ("worklist", "household page", "visit POST", "dashboard (commune)")

    def __init__(self, app: Flask, canvasser: str, leader: str):
        self.canvasser = self._client(app, canvasser)
        self.leader = self._client(app, leader)
        with Session(app.extensions["engine"]) as session:
            me = session.exec(select(User.id).where(User.username == canvasser)).one()
            self.household = session.exec(
                select(Household.id).where(Household.assigned_canvasser_id == me).limit(1)
            ).one()
        self.post = visit_poster(app, canvasser, busy_ok=True)
        self.samples: dict[str, list[float]] = {name: [] for name in self.NAMES}
        self.busy = 0  # visit POSTs answered "busy" (503), not timed

    @staticmethod
    def _client(app: Flask, username: str):
        client = app.test_client()
        _post_login(client, username, _csrf_token(client))
        return client

    def round(self) -> None:
        """One of each, recorded."""
        timed = (
            _time_get(self.canvasser, "/worklist"),
            _time_get(self.canvasser, f"/households/{self.household}"),
            self.post(),
            _time_get(self.leader, "/dashboard"),
        )
        for name, ms in zip(self.NAMES, timed, strict=True):
            if ms is None:
                self.busy += 1
            else:
                self.samples[name].append(ms)

    def rows(self, label: str) -> list[Row]:
        """p50 and p95 of each page, named `<label>: <page>`; budgets as on an idle server."""
        out = []
        for name in self.NAMES:
            if not self.samples[name]:  # every visit POST answered busy: the count says so
                continue
            for pct in (50, 95):
                budget = BUDGETS.get(f"{name} p{pct}")
                value = percentile(self.samples[name], pct)
                out.append(Row(f"{label}: {name} p{pct}", BACKEND, value, "ms", budget))
        out.append(Row(f"{label}: visit POSTs answered busy (503)", BACKEND, self.busy, "visits"))
        return out


def _batch(app: Flask, batch_id: int) -> ImportBatch:
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        return session.get(ImportBatch, batch_id)


def _run_job(
    app: Flask, batch_id: int, *, write: bool, rounds: PageRounds
) -> tuple[ImportBatch, float]:
    """Queue the check or the import as the admin page does and sample pages until it ends
    as it should (previewed, done); the batch and the job's seconds from queuing to its end."""
    started = time.perf_counter()
    jobs = app.extensions["jobs"]
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        batch = session.get(ImportBatch, batch_id)
        if write:
            batch.create_villages = True  # the admin confirms the villages the preview lists
        import_batches.begin_job(session, board=jobs.board, batch=batch, write=write)
    (jobs.run_import if write else jobs.check_import)(batch_id)
    deadline = time.monotonic() + IMPORT_TIMEOUT
    running = BatchStatus.IMPORTING if write else BatchStatus.CHECKING
    while (batch := _batch(app, batch_id)).status == running:
        if time.monotonic() > deadline:
            raise RuntimeError(f"import batch {batch_id} still {running} after {IMPORT_TIMEOUT}s")
        rounds.round()
    expected = BatchStatus.DONE if write else BatchStatus.PREVIEWED
    if batch.status != expected:
        raise RuntimeError(
            f"batch {batch_id} ended {batch.status}, not {expected}: {batch.message}"
        )
    return batch, time.perf_counter() - started


def _upload(app: Flask, path: Path) -> int:
    """Store the list as an upload of Bắc Ninh's admin; the batch id."""
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
        batch = import_batches.store_upload(
            session,
            data=path.read_bytes(),
            filename=path.name,
            kind="participants",
            office="BHXH tỉnh Bắc Ninh",
            user_id=admin.id,
            username=admin.username,
            province_id=_province_id(session, IMPORT_PROVINCE),
        )
        return batch.id


def import_rows(
    url: str, path: Path, users: SampleUsers, iterations: int, progress: Progress
) -> list[Row]:
    """Pages on an idle server, then while a worker checks and imports `path`; the import's rate."""
    app = make_app(url)
    canvasser, leader = users.canvasser, commune_leader(users)
    # The worker inherits this process's instance folder, where the queue of a PostgreSQL
    # deployment without Redis lives; the folder given is for its log.
    worker = WorkerProcess(url, Path(tempfile.mkdtemp(prefix="outreach-national.")))
    app.extensions["jobs"].huey.flush()  # nothing left from an interrupted run
    try:
        idle = PageRounds(app, canvasser, leader)
        progress(f"{iterations} rounds of {', '.join(PageRounds.NAMES)} ({canvasser}, {leader})")
        for _ in range(iterations):
            idle.round()
        busy = PageRounds(app, canvasser, leader)
        progress("starting `outreach worker`")
        worker.start(workers=1)
        batch_id = _upload(app, path)
        progress(f"the worker checks {path.name} (batch {batch_id}); pages sampled meanwhile")
        _checked, check_seconds = _run_job(app, batch_id, write=False, rounds=busy)
        progress(f"checked in {check_seconds:.1f}s; the worker imports")
        done, import_seconds = _run_job(app, batch_id, write=True, rounds=busy)
        progress(
            f"{done.inserted:,} inserted, {done.updated:,} updated in {import_seconds:.1f}s; "
            f"{len(busy.samples['worklist'])} rounds of pages meanwhile"
        )
    finally:
        worker.stop()
        app.extensions["engine"].dispose()
    rows_read = done.rows_read
    return (
        idle.rows("national: idle")
        + busy.rows("national: during import")
        + [
            Row("national: import check in a worker", BACKEND, rows_read / check_seconds, "rows/s"),
            Row("national: import in a worker", BACKEND, rows_read / import_seconds, "rows/s"),
            Row(
                "national: page rounds during import",
                BACKEND,
                len(busy.samples["worklist"]),
                "rounds",
            ),
        ]
    )


def measure_country(
    one: Dataset,
    three: Dataset,
    *,
    earlier: list[Row],
    iterations: int,
    list_path: Path,
    progress: Progress,
) -> list[Row]:
    """Every measured row of the part, the import last (it changes the database)."""
    # The sampled Bắc Ninh accounts: the same on both databases (the same build of province 24).
    users = sample_users_for(one)
    rows = one_vs_three_rows(
        one, three, users, earlier=earlier, iterations=iterations, progress=progress
    )
    rows += national_page_rows(three.url, iterations, progress)
    progress(f"nightly refresh of province {REFRESHED_PROVINCE}")
    refreshed = time_province_refresh(
        three.url, province_code=REFRESHED_PROVINCE, progress=progress
    )
    rows += [replace(row, name=f"national: {row.name.strip()}") for row in refreshed]
    rows += import_rows(three.url, list_path, users, iterations, progress)
    return rows


def national_section(
    scale: str,
    pg_admin: str,
    say: Progress,
    *,
    one_province: Dataset | None = None,
    earlier: list[Row] | None = None,
    persons: int | None = None,
    iterations: int | None = None,
    list_path: Path | None = None,
    cache_dir: Path = CACHE_DIR,
) -> list[Row]:
    """The national rows; [] without PostgreSQL. The web part's database and rows are reused
    when given (`one_province`, `earlier`); the keywords after them are for the tests."""
    if not pg_admin:
        say("national: skipped, it needs PostgreSQL (OUTREACH_BENCH_POSTGRES)")
        return []
    log: Callable[[str], None] = lambda message: say(f"national: {message}")  # noqa: E731
    three, rows = country_dataset(pg_admin, scale, log, persons=persons, cache_dir=cache_dir)
    if one_province is None:
        one_province = postgres_dataset(pg_admin, scale, log, persons=persons)
        earlier = []
    return rows + measure_country(
        one_province,
        three,
        earlier=earlier or [],
        iterations=iterations or ITERATIONS[scale],
        list_path=list_path or list_file(scale, log),
        progress=log,
    )
