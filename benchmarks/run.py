"""Run the benchmarks: `python -m benchmarks.run --scale small|full` (what `make bench` calls)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from outreach.db import vacuum

from .canvasser import app_with_floor, time_visit_posts, time_worklist_and_floor
from .dashboard import commune_leader, time_dashboard
from .datasets import PERSONS, Dataset, postgres_dataset, sqlite_dataset
from .imports import import_section
from .lighthouse import lighthouse_rows
from .load import load_section
from .national import national_section
from .report import Row, format_table, percentile, write_json
from .summaries import time_summary
from .web import (
    PROVINCE_LEADER,
    SampleUsers,
    make_app,
    prime,
    sample_users,
    sample_users_for,
    time_first_of_day,
    time_home,
    time_login_home,
)

# Budgets in ms, by row name; None = measured and reported, no budget.
BUDGETS: dict[str, float | None] = {
    "home page (canvasser) p95": 50.0,
    "home page (province leader) p95": 1000.0,
    # One Argon2id verification per login (~50-100 ms by design) dominates this row.
    "login + home p95": None,
    # Recomputes the commune's worklist priorities in Python (once per commune and day).
    "home page (canvasser, first of the day) p95": None,
    # Issue 4: the worklist and the visit POST, and the worklist within 3x a bare render of it.
    "worklist p95": 50.0,
    "visit POST p95": 50.0,
    # Issue 6: the leader dashboard, province-wide and for one commune.
    "dashboard (province) p95": 1000.0,
    "dashboard (commune) p95": 200.0,
    # Issue 7: the media summary's figures and its PDF, together under 3 s.
    "summary figures + PDF p95": 3000.0,
}
RATIO_BUDGET = 3.0
ITERATIONS = {"small": 30, "full": 50}
SUMMARY_ITERATIONS = 5
FIRST_OF_DAY_ROUNDS = 4  # x 6 canvassers = 24 samples, so p95 is not simply the maximum
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_ENV = "OUTREACH_BENCH_POSTGRES"

_started = time.perf_counter()


def say(message: str) -> None:
    """Progress on stderr, with seconds since start, so stdout keeps only the results."""
    print(f"[{time.perf_counter() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def _tagged(backend: str) -> Callable[[str], None]:
    """A progress callback that prefixes the backend."""
    return lambda message: say(f"{backend}: {message}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--scale", choices=sorted(PERSONS), default="full")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the cached SQLite database even if valid"
    )
    parser.add_argument(
        "--only",
        type=_parts,
        default=set(PARTS),
        help="the parts to run, comma-separated: " + ", ".join(PARTS) + " (default: all)",
    )
    return parser.parse_args(argv)


PARTS = ("web", "imports", "lighthouse", "national", "load")


def _parts(text: str) -> set[str]:
    """`all`, or some of PARTS separated by commas (`web,load` shares one PostgreSQL build)."""
    wanted = set(PARTS) if text == "all" else {p.strip() for p in text.split(",") if p.strip()}
    unknown = wanted - set(PARTS)
    if not wanted or unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s): {', '.join(sorted(unknown)) or text}")
    return wanted


def build_rows(dataset: Dataset) -> list[Row]:
    """Demo build rate and total build time (from the marker when the build was cached)."""
    build, backend = dataset.build, dataset.backend
    recorded = build.built_at if build.cached else None
    return [
        Row("demo build rate", backend, build.persons_per_second, "persons/s", None, recorded),
        Row("demo build time", backend, build.seconds, "s", None, recorded),
    ]


def latency_rows(name: str, backend: str, samples: list[float]) -> list[Row]:
    """p50 and p95 rows of one timed operation, with budgets from BUDGETS."""
    return [
        Row(
            f"{name} {stat}", backend, percentile(samples, pct), "ms", BUDGETS.get(f"{name} {stat}")
        )
        for stat, pct in (("p50", 50), ("p95", 95))
    ]


Timed = tuple[str, str, Callable[[], list[float]]]


def _plan(app: Flask, users: SampleUsers, iterations: int) -> list[Timed]:
    """(row name, what is done, how to time it), in the order they run."""
    rounds = FIRST_OF_DAY_ROUNDS
    return [
        (
            "login + home",
            f"{iterations} logins cycling through {', '.join(users.logins)}",
            lambda: time_login_home(app, users.logins, iterations),
        ),
        (
            "home page (province leader)",
            f"GET / as {PROVINCE_LEADER}",
            lambda: time_home(app, PROVINCE_LEADER, iterations),
        ),
        (
            "home page (canvasser)",
            f"GET / as {users.canvasser}",
            lambda: time_home(app, users.canvasser, iterations),
        ),
        (
            "home page (canvasser, first of the day)",
            f"{rounds} rounds over the canvassers' communes",
            lambda: time_first_of_day(app, users.canvassers, rounds),
        ),
        (
            "dashboard (province)",
            f"GET /dashboard as {PROVINCE_LEADER}",
            lambda: time_dashboard(app, PROVINCE_LEADER, iterations),
        ),
        (
            "dashboard (commune)",
            f"GET /dashboard as {commune_leader(users)}",
            lambda: time_dashboard(app, commune_leader(users), iterations),
        ),
    ]


def canvasser_rows(dataset: Dataset, canvasser: str, iterations: int) -> list[Row]:
    """Worklist vs its bare-render floor, the ratio of their p95s, and the visit POST."""
    log = _tagged(dataset.backend)
    app = app_with_floor(dataset.url)
    try:
        log(f"worklist as {canvasser} right after the lazy refreshes, before any vacuum")
        unvacuumed, _ = time_worklist_and_floor(app, canvasser, iterations)
        # Production refreshes nightly with `outreach refresh-priorities`, which then vacuums.
        log("VACUUM (ANALYZE) household, as `outreach refresh-priorities` does (PostgreSQL)")
        vacuum(app.extensions["engine"], "household")
        log(f"worklist and its floor as {canvasser}")
        worklist, floor = time_worklist_and_floor(app, canvasser, iterations)
        log(f"visit POST as {canvasser} ({iterations} visits stored)")
        posts = time_visit_posts(app, canvasser, iterations)
    finally:
        app.extensions["engine"].dispose()
    ratio = percentile(worklist, 95) / percentile(floor, 95)
    return (
        latency_rows("worklist (after lazy refreshes, unvacuumed)", dataset.backend, unvacuumed)
        + latency_rows("worklist", dataset.backend, worklist)
        + latency_rows("worklist floor (bare render)", dataset.backend, floor)
        + [Row("worklist / floor (p95)", dataset.backend, ratio, "×", RATIO_BUDGET)]
        + latency_rows("visit POST", dataset.backend, posts)
    )


def web_rows(dataset: Dataset, iterations: int) -> list[Row]:
    """Login + home for a mix of roles, two home pages alone, then first-of-day canvasser pages."""
    log = _tagged(dataset.backend)
    app = make_app(dataset.url)
    try:
        users = sample_users(app)
        log(f"priming the worklists of {', '.join(users.canvassers)} (untimed)")
        prime(app, users.canvassers)
        rows: list[Row] = []
        for name, what, timed in _plan(app, users, iterations):
            log(f"{name}: {what}")
            rows += latency_rows(name, dataset.backend, timed())
    finally:
        app.extensions["engine"].dispose()
    return rows


def summary_rows(dataset: Dataset) -> list[Row]:
    """The summary's figures, its PDF, and the two together (p50/p95 of a few runs)."""
    log = _tagged(dataset.backend)
    app = make_app(dataset.url)
    try:
        log(f"summary figures and PDF ({SUMMARY_ITERATIONS} runs)")
        figures, pdf, size = time_summary(app, SUMMARY_ITERATIONS)
    finally:
        app.extensions["engine"].dispose()
    both = [a + b for a, b in zip(figures, pdf, strict=True)]
    return (
        latency_rows("summary figures", dataset.backend, figures)
        + latency_rows("summary PDF", dataset.backend, pdf)
        + latency_rows("summary figures + PDF", dataset.backend, both)
        + [Row("summary PDF size", dataset.backend, size / 1024, "KiB")]
    )


def measure(dataset: Dataset, iterations: int) -> list[Row]:
    """All rows of one backend."""
    b = dataset.build
    note = " (cached build)" if b.cached else ""
    _tagged(dataset.backend)(
        f"{b.persons:,} persons, {b.households:,} households, {b.visits:,} visits, "
        f"{b.outcomes:,} outcomes; built in {b.seconds:.1f}s{note}"
    )
    canvasser = sample_users_for(dataset).canvasser
    return (
        build_rows(dataset)
        + web_rows(dataset, iterations)
        + canvasser_rows(dataset, canvasser, iterations)
        + summary_rows(dataset)
    )


def main(argv: list[str] | None = None) -> int:
    """Build the datasets, time them, print the table and write results/latest.json."""
    args = parse_args(argv)
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    iterations = ITERATIONS[args.scale]
    say(f"scale {args.scale}: {PERSONS[args.scale]:,} persons, {iterations} iterations")
    load_before = os.getloadavg()[0]
    pg_admin = os.environ.get(PG_ENV, "")
    if not pg_admin:
        say(f"{PG_ENV} is not set: SQLite only")
    rows: list[Row] = []
    sqlite: Dataset | None = None
    postgres: Dataset | None = None
    if "web" in args.only:
        sqlite = sqlite_dataset(args.scale, _tagged("sqlite"), rebuild=args.rebuild)
        rows += measure(sqlite, iterations)
        if pg_admin:
            postgres = postgres_dataset(pg_admin, args.scale, _tagged("postgresql"))
            rows += measure(postgres, iterations)
    if "lighthouse" in args.only:
        sqlite = sqlite or sqlite_dataset(args.scale, _tagged("sqlite"), rebuild=args.rebuild)
        rows += lighthouse_rows(sqlite.url, say)
    if "imports" in args.only:
        rows += import_section(args.scale, pg_admin, say)
    if "national" in args.only:
        # Three provinces; the one-province figures are the web rows' when they ran just now.
        rows += national_section(args.scale, pg_admin, say, one_province=postgres, earlier=rows)
    if "load" in args.only:
        # The PostgreSQL database of the web rows when there is one (a full build takes minutes).
        rows += load_section(args.scale, pg_admin, say, dataset=postgres)
    write_json(rows, RESULTS, scale=args.scale, measured_at=measured_at)
    print(f"\nBenchmarks, scale {args.scale} ({PERSONS[args.scale]:,} persons), {measured_at}\n")
    print(format_table(rows))
    if not pg_admin:
        print(f"\nPostgreSQL skipped: {PG_ENV} is not set (SQLite only). `make bench` sets it.")
    load = f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(f"\nLoad average (1 min) on {os.cpu_count()} CPUs: {load}.")
    print(f"Wrote {RESULTS} in {time.perf_counter() - _started:.0f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
