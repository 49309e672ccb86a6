"""Import benchmark: a generated participants list imported end to end, on SQLite and PostgreSQL.

The list (1,000,000 rows at full scale) is generated once by `imports_file.make_participants_xlsx`
and cached. Each backend gets a fresh database holding the demo province's geography, accounts
and `BASE_PERSONS` people; then, in a fresh process so that its peak memory is its own, the list
is stored as an upload, checked (the preview the admin sees) and imported (one transaction) by
the functions the admin page runs in the background. Rates are data rows per second; the ratio
compares the import's time with python-calamine's bare read of the same file.

    python -m benchmarks.imports --scale small   # prints the rows; `benchmarks.run` adds them
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from outreach import create_app
from outreach.db import make_engine
from outreach.imports import batches as import_batches
from outreach.migrate import upgrade
from outreach.models import GeoUnit, ImportBatch
from outreach.models.codes import UnitKind
from outreach.operations.demo import build_demo

from .datasets import CACHE_DIR, TODAY
from .imports_file import REPO, _peak_mb, make_participants_xlsx
from .report import Row

LIST_ROWS = {"small": 100_000, "full": 1_000_000}
BASE_PERSONS = 200  # the demo's smallest province: the list's people are all new
BUDGET_ROWS_PER_SECOND = {  # on this 2-core machine
    "sqlite": 20_000.0,  # issue 3
    "postgresql": 30_000.0,  # issue 23: production's database
}
BUDGET_PEAK_MB = 1000.0

Progress = Callable[[str], None]


def list_file(scale: str, progress: Progress) -> Path:
    """The generated list for a scale, made once and kept while its generator is unchanged."""
    rows = LIST_ROWS[scale]
    source = (Path(__file__).parent / "imports_file.py").read_bytes()
    tag = hashlib.sha256(source).hexdigest()[:12]
    path = CACHE_DIR / "imports" / f"participants-{rows}-{tag}.xlsx"
    if path.exists():
        progress(f"reusing {path.name}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f"participants-{rows}-*.xlsx"):
        old.unlink()
    progress(f"generating a {rows:,}-row list (once; cached in {path.parent})")
    partial = path.with_suffix(".partial")
    make_participants_xlsx(partial, rows, seed=1)
    partial.rename(path)
    return path


def bare_read_seconds(path: Path) -> float:
    """python-calamine reading the whole sheet, in its own process: the reference time."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.imports_file", "--stage", "calamine", str(path), "-"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["calamine_seconds"]


def sqlite_import_database(progress: Progress) -> str:
    """A fresh SQLite file with the small demo province."""
    folder = CACHE_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "import.sqlite3"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    _base_province(url, progress)
    return url


def postgres_import_database(admin_url: str, progress: Progress) -> str:
    """A fresh database `bench_import` on the PostgreSQL server, with the small demo province."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
        conn.exec_driver_sql("CREATE DATABASE bench_import")
    engine.dispose()
    url = admin.set(database="bench_import").render_as_string(hide_password=False)
    _base_province(url, progress)
    return url


def _base_province(url: str, progress: Progress) -> None:
    progress(f"a fresh database with the demo province and {BASE_PERSONS} people")
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            build_demo(session, persons=BASE_PERSONS, seed=1, today=TODAY)
    finally:
        engine.dispose()


def time_import(url: str, path: Path) -> dict[str, float]:
    """Check and import `path` into `url` in a fresh process; its timings and peak memory."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.imports", "--stage", url, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"import benchmark failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _stage(url: str, path: Path) -> dict[str, float]:
    """In the fresh process: upload, check and import as the admin page does, timed."""
    # The upload is stored in the database and run by the job bodies, as a worker runs them.
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    engine = app.extensions["engine"]
    board = app.extensions["jobs"].board
    with Session(engine, expire_on_commit=False) as session:
        province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
        batch = import_batches.store_upload(
            session,
            data=path.read_bytes(),
            filename=path.name,
            kind="participants",
            office="BHXH tỉnh Bắc Ninh",
            user_id=None,
            username="bench",
            province_id=province.id,
        )
    started = time.perf_counter()
    checked = import_batches.check_batch(engine, board, batch.id)
    check_seconds = time.perf_counter() - started
    with Session(engine) as session:  # the admin confirms the villages the preview lists
        stored = session.get(ImportBatch, batch.id)
        stored.create_villages = True
        session.add(stored)
        session.commit()
    started = time.perf_counter()
    imported = import_batches.run_import(engine, board, batch.id)
    import_seconds = time.perf_counter() - started
    engine.dispose()
    report = imported.report
    if checked.report.rejected or report.rejected or not report.inserted:
        raise SystemExit(f"unexpected outcome: {report.errors[:3]}")
    return {
        "rows": report.read,
        "inserted": report.inserted,
        "check_seconds": check_seconds,
        "import_seconds": import_seconds,
        "peak_mb": _peak_mb(),
        # The largest child waited for: the parsing process of either step.
        "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def import_bench_rows(
    backend: str, url: str, path: Path, bare: float, progress: Progress
) -> list[Row]:
    """The benchmark rows of one backend."""
    progress(f"checking and importing {path.name}")
    m = time_import(url, path)
    rows, peak = m["rows"], m["peak_mb"] + m["child_peak_mb"]
    progress(
        f"{m['inserted']:,} people inserted; check {m['check_seconds']:.1f}s, "
        f"import {m['import_seconds']:.1f}s, peak {m['peak_mb']:.0f} + {m['child_peak_mb']:.0f} MB"
    )
    return [
        Row("import: check (the preview)", backend, rows / m["check_seconds"], "rows/s"),
        Row(
            "import: read, validate, upsert (one transaction)",
            backend,
            rows / m["import_seconds"],
            "rows/s",
            BUDGET_ROWS_PER_SECOND.get(backend),
        ),
        Row("import time / bare read time", backend, m["import_seconds"] / bare, "×"),
        Row("import peak memory (importer + parser)", backend, peak, "MB", BUDGET_PEAK_MB),
    ]


def bare_read_row(path: Path, rows: int, progress: Progress) -> tuple[Row, float]:
    """The reference read's row and its seconds."""
    progress("bare read by python-calamine (the reference)")
    seconds = bare_read_seconds(path)
    return Row("import: bare read (python-calamine)", "file", rows / seconds, "rows/s"), seconds


def import_section(scale: str, pg_admin: str, say: Progress) -> list[Row]:
    """The bare read, then the import on SQLite and (when a server is given) PostgreSQL."""
    path = list_file(scale, say)
    bare, seconds = bare_read_row(path, LIST_ROWS[scale], say)
    rows = [bare]
    sqlite = lambda message: say(f"sqlite: {message}")  # noqa: E731
    rows += import_bench_rows("sqlite", sqlite_import_database(sqlite), path, seconds, sqlite)
    if pg_admin:
        pg = lambda message: say(f"postgresql: {message}")  # noqa: E731
        url = postgres_import_database(pg_admin, pg)
        rows += import_bench_rows("postgresql", url, path, seconds, pg)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the import part alone (the stage mode is for `time_import`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(LIST_ROWS), default="small")
    parser.add_argument("--stage", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(_stage(args.stage[0], Path(args.stage[1]))))
        return

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    for row in import_section(args.scale, os.environ.get("OUTREACH_BENCH_POSTGRES", ""), say):
        print(f"{row.name:<52}{row.backend:<8}{row.value:>12,.1f} {row.unit:<7}{row.ok}")


if __name__ == "__main__":
    main()
