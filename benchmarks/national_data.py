"""The national benchmark's database: three demo provinces on one PostgreSQL database, cached.

The demo's Bắc Ninh (24) is built first with the one-province database's seed and size, so its
rows, accounts and ids are the same as in `bench_<scale>`: the worklist and commune dashboard are
then timed for the same accounts on both. Hà Nội (01) and Hải Phòng (31) follow with seeds of
their own (`build_demo(..., beside_others=True)`: their province-wide accounts are `admin.01`…),
then two national accounts (leader and media, scope `VN`) and a VACUUM (ANALYZE).

A build of 3,000,000 persons takes a quarter of an hour, so it is dumped once (`pg_dump -Fc`)
into `.cache/national/<scale>/` next to a marker of what decided its content (`build_key` + the
provinces + this file); each run restores the dump (`pg_restore -j 2`) into a fresh database.
The first run restores its own dump too, so the restore time is measured next to the build time.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import Session

from outreach.accounts.passwords import hash_password
from outreach.accounts.service import create_user
from outreach.db import make_engine
from outreach.geography.service import national_unit
from outreach.models.codes import Role
from outreach.operations.demo import DEMO_PASSWORD

from .datasets import (
    CACHE_DIR,
    PERSONS,
    SEED,
    BuildInfo,
    Dataset,
    Progress,
    _build,
    _read_marker,
    _sha256,
    build_key,
    fresh_database,
    vacuum_analyze,
)
from .report import Row

PROVINCES = ("24", "01", "31")  # Bắc Ninh (the demo's, first), Hà Nội, Hải Phòng
NATIONAL_LEADER = "lanhdao.quocgia"
NATIONAL_MEDIA = "baochi.quocgia"
BACKEND = "postgresql"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"  # as scripts/pg.sh finds the server


def pg_tool(name: str) -> str:
    """The newest PostgreSQL's `pg_dump` or `pg_restore` (scripts/pg.sh installs the server)."""
    found = sorted(
        Path("/").glob(PG_BIN_GLOB.lstrip("/") + f"/{name}"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.parent.name.split(".")],
    )
    if not found:
        raise FileNotFoundError(f"{name} not found under {PG_BIN_GLOB} (run scripts/pg.sh once)")
    return str(found[-1])


def _libpq(url: str) -> str:
    """The URL as libpq tools take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def national_key(scale: str, persons: int) -> dict:
    """What decides the three-province database's content."""
    return {
        **build_key(scale),
        "persons": persons,
        "provinces": list(PROVINCES),
        "national_data_sha256": _sha256([Path(__file__)]),
    }


def add_national_accounts(url: str) -> None:
    """A national leader (dashboard, rankings) and national media (the national bulletin PDF)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            nation = national_unit(session)
            for username, role in ((NATIONAL_LEADER, Role.LEADER), (NATIONAL_MEDIA, Role.MEDIA)):
                create_user(
                    session,
                    username=username,
                    full_name="Nguyễn Văn Quốc",
                    password_hash=hash_password(DEMO_PASSWORD),
                    role=role,
                    scope_unit_id=nation.id,
                    organization="Ban chỉ đạo quốc gia",
                )
            session.commit()
    finally:
        engine.dispose()


def build_country(url: str, scale: str, persons: int, progress: Progress) -> BuildInfo:
    """The three provinces, one after the other, and the national accounts; summed BuildInfo."""
    builds = []
    for index, code in enumerate(PROVINCES):
        progress(f"province {code}: {persons:,} persons")
        builds.append(
            _build(
                url,
                scale,
                lambda message, code=code: progress(f"{code}: {message}"),
                persons=persons,
                province_code=code,
                seed=SEED + index,
                beside_others=index > 0,
            )
        )
    add_national_accounts(url)
    return BuildInfo(
        persons=sum(b.persons for b in builds),
        households=sum(b.households for b in builds),
        visits=sum(b.visits for b in builds),
        outcomes=sum(b.outcomes for b in builds),
        seconds=sum(b.seconds for b in builds),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _timed_run(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def _restore(admin_url: str, name: str, dump: Path, progress: Progress) -> tuple[str, float]:
    """A fresh database `name` restored from `dump` and vacuumed; its URL and the seconds."""
    url = fresh_database(admin_url, name)
    progress(f"pg_restore -j 2 {dump.name} into {name}")
    started = time.perf_counter()
    _timed_run([pg_tool("pg_restore"), "-j", "2", "--no-owner", "-d", _libpq(url), str(dump)])
    # pg_restore brings no planner statistics and no visibility map.
    vacuum_analyze(url, progress)
    return url, time.perf_counter() - started


def country_dataset(
    admin_url: str,
    scale: str,
    progress: Progress,
    *,
    persons: int | None = None,
    cache_dir: Path = CACHE_DIR,
) -> tuple[Dataset, list[Row]]:
    """The three-province database `bench_national_<scale>` (restored from the cached dump, or
    built, dumped and restored), and rows for its build, dump and restore times."""
    persons = persons or PERSONS[scale]
    name = f"bench_national_{scale}"
    folder = cache_dir / "national" / scale
    dump, marker = folder / "country.dump", folder / "marker.json"
    key = national_key(scale, persons)
    recorded = _read_marker(marker)
    if not (dump.exists() and recorded and recorded.get("key") == key):
        folder.mkdir(parents=True, exist_ok=True)
        marker.unlink(missing_ok=True)
        url = fresh_database(admin_url, name)
        progress(f"building {name}: {len(PROVINCES)} provinces (not cached, or built differently)")
        build = build_country(url, scale, persons, progress)
        vacuum_analyze(url, progress)
        progress(f"pg_dump -Fc into {dump}")
        dump_seconds = _timed_run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), _libpq(url)])
        recorded = {"key": key, "build": asdict(build), "dump_seconds": dump_seconds}
        marker.write_text(json.dumps(recorded, indent=2) + "\n")
    else:
        progress(f"reusing {dump} (built {recorded['build']['built_at']})")
    build = replace(BuildInfo(**recorded["build"]), cached=True)
    url, restore_seconds = _restore(admin_url, name, dump, progress)
    at = build.built_at
    rows = [
        Row("national: build, 3 provinces (build_demo)", BACKEND, build.seconds, "s", None, at),
        Row("national: pg_dump -Fc", BACKEND, recorded["dump_seconds"], "s", None, at),
        Row("national: pg_restore -j 2 + VACUUM ANALYZE", BACKEND, restore_seconds, "s"),
        Row("national: dump size", BACKEND, dump.stat().st_size / 1024**2, "MB"),
    ]
    return Dataset(BACKEND, url, build), rows
