"""The nightly refresh of one province at scale: what `outreach refresh-priorities` (and the
worker at 00:05) does for the province's communes (outreach/jobs.py::refresh_every_commune).

Two timings: the next night (the day moved on: the households whose day has come are scored
again, `Priority.until`, and the rising scores of the others raised in SQL) and the whole province
scored again the same day (as after an import marks every commune stale: reading and scoring
every household, writing none). Both include the VACUUM that follows. The database is left
as it was found: its priorities recomputed for the day they were at (untimed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.db import make_engine
from outreach.jobs import refresh_every_commune
from outreach.models import GeoUnit, Household, PriorityRefresh
from outreach.models.codes import UnitKind
from outreach.operations.demo import PROVINCE_CODE

from .datasets import TODAY
from .report import Row

REFRESH_BUDGET_S = 10.0  # issue 23: one province of 1,000,000 persons


def time_province_refresh(
    url: str,
    *,
    province_code: str = PROVINCE_CODE,
    processes: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[Row]:
    """Time the refresh of one province's communes the next night and the same day again;
    `processes` communes at once on PostgreSQL (default: one per core, as the worker does)."""
    engine = make_engine(url)
    backend = engine.dialect.name
    try:
        with Session(engine) as session:
            province_id = session.exec(
                select(GeoUnit.id).where(
                    GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == province_code
                )
            ).one()
            base = session.exec(
                select(func.max(PriorityRefresh.refreshed_on))
                .join(GeoUnit, GeoUnit.id == PriorityRefresh.commune_id)
                .where(GeoUnit.province_id == province_id)
            ).one()
        workers = processes or os.cpu_count() or 1

        def run(day: date) -> int:
            return refresh_every_commune(
                engine, today=day, processes=workers, province_id=province_id
            )

        if base is None:  # never refreshed (a fresh build): the day the demo was built
            base = TODAY
            progress(f"first refresh of province {province_code} for {base} (untimed)")
            run(base)
        night = base + timedelta(days=1)
        started = time.perf_counter()
        recomputed = run(night)
        next_night = time.perf_counter() - started
        rewritten = _written_on(engine, province_id, night)
        started = time.perf_counter()
        households = run(night)  # the stamp is the night's: every household again
        same_day = time.perf_counter() - started
        progress(
            f"province {province_code}: {households:,} households, next night {next_night:.1f}s "
            f"({recomputed:,} scored again, {rewritten:,} rewritten), whole province again "
            f"{same_day:.1f}s, {workers} processes"
        )
        run(base)  # leave the scores of the day they were at
    finally:
        engine.dispose()
    name = f"nightly refresh of one province ({households:,} households)"
    return [
        Row(f"{name}, next night", backend, next_night, "s", REFRESH_BUDGET_S),
        Row("  households scored again that night", backend, recomputed, "households"),
        Row("  households rewritten that night", backend, rewritten, "households"),
        Row(f"{name}, whole province scored again", backend, same_day, "s"),
    ]


def _written_on(engine, province_id: int, day: date) -> int:
    """Households whose priority was written on `day` (only changed ones are)."""
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(Household)
            .where(Household.province_id == province_id, Household.priority_on == day)
        ).one()
