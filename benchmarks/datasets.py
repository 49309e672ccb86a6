"""Benchmark databases: the demo province built once per scale on SQLite (cached) and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from outreach.db import make_engine
from outreach.migrate import MIGRATIONS_DIR, alembic_config, upgrade
from outreach.operations import demo
from outreach.operations.demo import build_demo

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
TODAY = date(2026, 11, 22)
SEED = 1
VISITS_PER_PERSON = 2.0
PERSONS = {"small": 20_000, "full": 1_000_000}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildInfo:
    """What the demo build produced and how long `build_demo` took."""

    persons: int
    households: int
    visits: int
    outcomes: int
    seconds: float
    built_at: str
    cached: bool = False

    @property
    def persons_per_second(self) -> float:
        """Build rate in persons per second."""
        return self.persons / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Dataset:
    """A benchmark database ready to serve: backend name, URL and how it was built."""

    backend: str
    url: str
    build: BuildInfo


def schema_revision() -> str:
    """The Alembic head revision the databases are migrated to."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head() or ""


def _sha256(paths: list[Path]) -> str:
    """A short digest of files' contents, to notice a migration or generator edited in place."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_key(scale: str) -> dict:
    """Everything that decides a dataset's content; a cached build is reused only if it matches."""
    return {
        "scale": scale,
        "persons": PERSONS[scale],
        "visits_per_person": VISITS_PER_PERSON,
        "seed": SEED,
        "today": TODAY.isoformat(),
        "schema_revision": schema_revision(),
        "migrations_sha256": _sha256(list((MIGRATIONS_DIR / "versions").glob("*.py"))),
        "demo_sha256": _sha256([Path(demo.__file__)]),
    }


def _build(url: str, scale: str, progress: Progress, **demo_options) -> BuildInfo:
    """Migrate the database and time `build_demo` into it (`demo_options`: another province,
    seed or size, `beside_others`)."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            started = time.perf_counter()
            options = {"persons": PERSONS[scale], "seed": SEED, **demo_options}
            report = build_demo(
                session,
                today=TODAY,
                visits_per_person=VISITS_PER_PERSON,
                progress=progress,
                **options,
            )
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return BuildInfo(
        persons=report.persons,
        households=report.households,
        visits=report.visits,
        outcomes=report.outcomes,
        seconds=seconds,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _read_marker(path: Path) -> dict | None:
    """The marker JSON of a cached build, or None if missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _checkpoint(url: str) -> None:
    """Fold the WAL into the main SQLite file so the cached file stands alone."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def sqlite_dataset(scale: str, progress: Progress, *, rebuild: bool = False) -> Dataset:
    """The cached SQLite database of a scale, built first if missing or built differently."""
    folder = CACHE_DIR / scale
    path, marker = folder / "outreach.sqlite3", folder / "marker.json"
    url = f"sqlite:///{path}"
    key = build_key(scale)
    recorded = _read_marker(marker)
    if not rebuild and path.exists() and recorded and recorded.get("key") == key:
        progress(f"reusing {path} (built {recorded['build']['built_at']})")
        build = replace(BuildInfo(**recorded["build"]), cached=True)
        return Dataset("sqlite", url, build)
    if recorded:
        changed = sorted(k for k in key if recorded.get("key", {}).get(k) != key[k])
        why = f"{', '.join(changed)} changed" if changed else "--rebuild or file missing"
        progress(f"cached build is not reusable ({why}); rebuilding")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (marker, path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    progress(f"building {path}")
    build = _build(url, scale, progress)
    _checkpoint(url)
    marker.write_text(json.dumps({"key": key, "build": asdict(build)}, indent=2) + "\n")
    return Dataset("sqlite", url, build)


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database `name` on the PostgreSQL server; its URL."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def postgres_dataset(
    admin_url: str, scale: str, progress: Progress, *, persons: int | None = None
) -> Dataset:
    """A fresh database `bench_<scale>` on the PostgreSQL server, always rebuilt (`persons`
    overrides the scale's, for the benchmarks' own tests)."""
    name = f"bench_{scale}"
    url = fresh_database(admin_url, name)
    progress(f"building PostgreSQL database {name}")
    build = _build(url, scale, progress, persons=persons or PERSONS[scale])
    vacuum_analyze(url, progress)
    return Dataset("postgresql", url, build)


def vacuum_analyze(url: str, progress: Progress) -> None:
    """VACUUM (ANALYZE) after the bulk load, so autovacuum does not run during the timings.

    It also sets the visibility map, which index-only counts need; a long-running server gets
    there through autovacuum. Not part of the build time.
    """
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()
    progress(f"VACUUM (ANALYZE) took {time.perf_counter() - started:.1f}s (not in the build time)")
