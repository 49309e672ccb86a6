"""Load: 200 canvassers at once against gunicorn + PostgreSQL over loopback (issue 8).

The benchmark database gets 200 extra canvasser accounts (`load.<commune>.<n>`, made through
`accounts.service.create_user`), spread over every commune, each given one village of its commune
through `leaders.assignment.assign_village`, so they work on different rows. The nightly priority
refresh is run first (as `outreach refresh-priorities` does), so no request pays for a commune's
first-of-the-day recomputation. Then gunicorn serves the app (`--workers 2 --threads 4`, as
`make run`) and Locust, in a process of its own (`benchmarks/load_locust.py`), runs the canvassers
for a fixed time and stops hard.

Alone, for development: `python -m benchmarks.load --scale small --users 20 --seconds 15`
(OUTREACH_BENCH_POSTGRES must name a PostgreSQL server, as `make bench` sets it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from outreach.accounts.passwords import hash_password
from outreach.accounts.service import create_user
from outreach.core.scope import scope_for
from outreach.db import make_engine, vacuum
from outreach.leaders.assignment import assign_village
from outreach.migrate import upgrade
from outreach.models import GeoUnit, Household, Person, User, Visit
from outreach.models.codes import Role, UnitKind
from outreach.operations.demo import DEMO_PASSWORD
from outreach.worklist.service import refresh_commune

from .datasets import TODAY, Dataset, postgres_dataset
from .report import Row, percentile

ROOT = Path(__file__).resolve().parent.parent
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Shape:
    """How many canvassers, for how long, how fast they arrive and how long they think."""

    users: int = 200
    seconds: float = 120.0
    ramp_seconds: float = 20.0
    # Seconds between two actions of one canvasser, uniform: a person on a phone reads the list,
    # scrolls, walks up to the house. 2-6 s (4 s on average) is still far busier than the field,
    # where a visit takes minutes: 200 canvassers here make about 45 requests/s, more than ten
    # times what 200 real ones would, yet each simulated phone keeps a human pace.
    think: tuple[float, float] = (2.0, 6.0)
    workers: int = 2
    threads: int = 4


P99_BUDGET = 300.0  # ms, for every request type and overall
HOUSEHOLDS_PER_ACCOUNT = 60  # of the village each account is given; enough to vary the visits
ACCOUNT_PREFIX = "load"
ORDER = [
    "GET /login",
    "POST /login",
    "GET /worklist",
    "GET /worklist (htmx rows)",
    "GET household",
    "GET visit form",
    "POST visit",
    "POST /api/visits/sync",
]


class LoadError(RuntimeError):
    """The run could not be made or its visits do not add up."""


def create_accounts(url: str, *, users: int, progress: Progress) -> list[str]:
    """Make (or find) the load accounts, each a canvasser of one commune with one village of it."""
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            admin = session.exec(select(User).where(User.username == "admin")).one()
            scope = scope_for(session, admin)
            communes = session.exec(
                select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE).order_by(GeoUnit.code)
            ).all()
            villages: dict[int, list[int]] = {}
            for village_id, commune_id in session.exec(
                select(GeoUnit.id, GeoUnit.parent_id)
                .where(GeoUnit.kind == UnitKind.VILLAGE)
                .order_by(GeoUnit.code)
            ):
                villages.setdefault(commune_id, []).append(village_id)
            # One hash for all, as the demo does: hashing 200 passwords would take a while.
            shared_hash = hash_password(DEMO_PASSWORD)
            names = []
            for i in range(users):
                commune = communes[i % len(communes)]
                n = i // len(communes) + 1
                username = f"{ACCOUNT_PREFIX}.{commune.code}.{n}"
                names.append(username)
                if session.exec(select(User.id).where(User.username == username)).first():
                    continue  # a database reused from an earlier run
                user = create_user(
                    session,
                    username=username,
                    full_name=f"Cán bộ thử tải {i + 1}",
                    password_hash=shared_hash,
                    role=Role.CANVASSER,
                    scope_unit_id=commune.id,
                    organization="Benchmark",
                )
                session.commit()
                own = villages[commune.id]
                assign_village(
                    session,
                    scope=scope,
                    village_id=own[(n - 1) % len(own)],
                    canvasser_id=user.id,
                    by_user=admin,
                )
                session.commit()
            progress(f"{users} load accounts over {min(users, len(communes))} communes")
    finally:
        engine.dispose()
    return names


def refresh_priorities(url: str, progress: Progress) -> None:
    """What `outreach refresh-priorities` does each night: every commune scored for today."""
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            communes = session.exec(
                select(GeoUnit.id).where(GeoUnit.kind == UnitKind.COMMUNE)
            ).all()
            for commune_id in communes:
                refresh_commune(session, commune_id=commune_id, today=TODAY)
                session.commit()
        vacuum(engine, "household")
    finally:
        engine.dispose()
    progress(f"priorities refreshed in {time.perf_counter() - started:.1f}s (untimed)")


def account_plan(url: str, usernames: list[str]) -> list[dict]:
    """Each account with some of its households and their members (the first is the one met)."""
    engine = make_engine(url)
    plan = []
    try:
        with Session(engine) as session:
            for username in usernames:
                user_id = session.exec(select(User.id).where(User.username == username)).one()
                rows = session.exec(
                    select(Household.id, Person.id)
                    .join(Person, Person.household_id == Household.id)
                    .where(Household.assigned_canvasser_id == user_id)
                    .order_by(Household.id, Person.id)
                ).all()
                households: dict[int, list[int]] = {}
                for household_id, person_id in rows:
                    households.setdefault(household_id, []).append(person_id)
                if len(households) < 2:
                    raise LoadError(f"{username} has {len(households)} households; 2 are needed")
                picked = list(households.items())[:HOUSEHOLDS_PER_ACCOUNT]
                plan.append({"username": username, "households": picked})
    finally:
        engine.dispose()
    return plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, shape: Shape, workdir: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn on a free loopback port, as `make run` starts it; returns once /login answers."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "OUTREACH_SECRET_KEY": "benchmark-only-secret",
        "OUTREACH_TODAY": TODAY.isoformat(),
        "OUTREACH_INSTANCE_DIR": str(workdir / "instance"),
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        f"--bind=127.0.0.1:{port}",
        f"--workers={shape.workers}",
        f"--threads={shape.threads}",
        "wsgi:app",
    ]
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    host = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LoadError(f"gunicorn exited: see {workdir / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(f"{host}/login", timeout=5) as response:
                answered = response.status == 200
        except OSError:
            answered = False
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        if answered and len(children) == shape.workers:
            # A few more, so the worker that did not answer first has loaded the app too
            # (its import would otherwise count in the CPU per request).
            for _ in range(10):
                urllib.request.urlopen(f"{host}/login", timeout=30).close()
            return server, host
        time.sleep(0.5)
    stop_server(server)
    raise LoadError("gunicorn did not answer /login within 60 s")


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by gunicorn's worker processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that has just gone
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM (graceful), then SIGKILL if it is still there after 15 s."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_locust(plan: dict, workdir: Path, shape: Shape, progress: Progress) -> dict:
    """Run the load generator in its own process; killed if it outlives its hard stop by 60 s."""
    plan_path, out_path = workdir / "plan.json", workdir / "results.json"
    plan_path.write_text(json.dumps(plan))
    command = [sys.executable, "-m", "benchmarks.load_locust", str(plan_path), str(out_path)]
    progress(
        f"{shape.users} canvassers for {shape.seconds:.0f}s (all up within "
        f"{shape.ramp_seconds:.0f}s), think {shape.think[0]:g}-{shape.think[1]:g}s"
    )
    try:
        subprocess.run(
            command, cwd=ROOT, check=True, timeout=shape.seconds + plan["warm_up_seconds"] + 60
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError("the load generator did not stop on time") from exc
    return json.loads(out_path.read_text())


def count_visits(url: str, usernames: list[str]) -> tuple[int, int]:
    """Visits by the load accounts, and how many of them are to a household not assigned to them."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = session.exec(select(User.id).where(User.username.in_(usernames))).all()
            total = session.exec(
                select(func.count()).select_from(Visit).where(Visit.canvasser_id.in_(ids))
            ).one()
            foreign = session.exec(
                select(func.count())
                .select_from(Visit)
                .join(Household, Household.id == Visit.household_id)
                .where(
                    Visit.canvasser_id.in_(ids),
                    (Household.assigned_canvasser_id != Visit.canvasser_id) | Visit.out_of_scope,
                )
            ).one()
    finally:
        engine.dispose()
    return total, foreign


def _rows_of(name: str, samples: list[float], failures: int, elapsed: float) -> list[Row]:
    label = f"load: {name}"
    rows = [Row(f"{label} requests/s", "postgresql", len(samples) / elapsed, "req/s")]
    for pct in (50, 95, 99):
        budget = P99_BUDGET if pct == 99 else None
        rows.append(Row(f"{label} p{pct}", "postgresql", percentile(samples, pct), "ms", budget))
    rows.append(Row(f"{label} errors", "postgresql", failures, "errors", 0))
    return rows


def result_rows(result: dict) -> list[Row]:
    """req/s, p50/p95/p99 and errors for each request type, then for all requests together."""
    elapsed = max(result["elapsed"], 1.0)
    samples, failures = result["samples"], result["failures"]
    names = [n for n in ORDER if n in samples] + sorted(set(samples) - set(ORDER))
    rows: list[Row] = []
    for name in names:
        rows += _rows_of(name, samples[name], failures.get(name, 0), elapsed)
    everything = [t for name in names for t in samples[name]]
    rows += _rows_of("all requests", everything, sum(failures.values()), elapsed)
    if result["steady"]:
        steady_elapsed = max(result["steady_elapsed"], 1.0)
        rows += _rows_of(
            "all requests, all users up",
            result["steady"],
            result["steady_failures"],
            steady_elapsed,
        )
    return rows


def run_load(url: str, shape: Shape, progress: Progress) -> list[Row]:
    """Accounts, nightly refresh, server, load; rows of the results after checking the visits."""
    usernames = create_accounts(url, users=shape.users, progress=progress)
    refresh_priorities(url, progress)
    before, _ = count_visits(url, usernames)
    plan = {
        "users": shape.users,
        "seconds": shape.seconds,
        "spawn_rate": shape.users / shape.ramp_seconds,
        "think": list(shape.think),
        "warm_up_users": 4,
        "warm_up_seconds": 10,
        "password": DEMO_PASSWORD,
        "today": TODAY.isoformat(),
        "accounts": account_plan(url, usernames),
    }
    with tempfile.TemporaryDirectory(prefix="outreach-load.") as tmp:
        workdir = Path(tmp)
        server, plan["host"] = start_server(url, shape, workdir)
        progress(f"gunicorn --workers {shape.workers} --threads {shape.threads} at {plan['host']}")
        result = None
        try:
            cpu_before = server_cpu_seconds(server)
            result = run_locust(plan, workdir, shape, progress)
            cpu = server_cpu_seconds(server) - cpu_before
        finally:
            stop_server(server)
            if result is None or result["messages"]:
                # The server's side of the failures, before the folder goes.
                for line in (workdir / "gunicorn.log").read_text().splitlines()[-20:]:
                    progress(f"gunicorn: {line}")
    after, foreign = count_visits(url, usernames)
    for message in result["messages"]:
        progress(f"failure: {message}")
    progress(f"{result['cut_at_stop']} requests in flight at the hard stop (not counted)")
    if result["warm_up_failures"]:
        raise LoadError(f"{result['warm_up_failures']} requests failed in the warm-up")
    # A stop (after the warm-up, at the hard stop) can cut a request short after the server
    # stored its visit: the database may hold more than was acknowledged, never more than sent.
    gained, acknowledged, sent = after - before, result["visits_stored"], result["visits_sent"]
    if not acknowledged <= gained <= sent or foreign:
        raise LoadError(
            f"{acknowledged} visits acknowledged, {sent} sent, but the database gained {gained}; "
            f"{foreign} are to households outside their canvasser's list"
        )
    progress(
        f"{gained} visits stored ({acknowledged} acknowledged, {sent} sent), each to one of its "
        "canvasser's own households"
    )
    requests = sum(len(times) for times in result["samples"].values())
    requests += result["warm_up_requests"]
    return result_rows(result) + [
        Row("load: visits stored", "postgresql", gained, "visits"),
        # What the load cost the app server whatever else ran on the machine (not the database).
        Row("load: gunicorn CPU per request", "postgresql", cpu * 1000 / requests, "ms"),
    ]


def load_section(
    scale: str, pg_admin: str, progress: Progress, *, dataset: Dataset | None = None
) -> list[Row]:
    """The load rows on PostgreSQL (the database of the web rows when there is one); [] without."""
    if not pg_admin:
        progress("load: skipped, it needs PostgreSQL (OUTREACH_BENCH_POSTGRES)")
        return []
    log = lambda message: progress(f"load: {message}")  # noqa: E731
    dataset = dataset or postgres_dataset(pg_admin, scale, log)
    return run_load(dataset.url, Shape(), log)


def main(argv: list[str] | None = None) -> int:
    """Development runs: a smaller shape on the PostgreSQL server of OUTREACH_BENCH_POSTGRES."""
    from .report import format_table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--scale", choices=("small", "full"), default="small")
    parser.add_argument("--users", type=int, default=Shape.users)
    parser.add_argument("--seconds", type=float, default=Shape.seconds)
    parser.add_argument(
        "--reuse", action="store_true", help="use the database bench_<scale> as it is, if built"
    )
    args = parser.parse_args(argv)
    pg_admin = os.environ.get("OUTREACH_BENCH_POSTGRES", "")
    if not pg_admin:
        print("OUTREACH_BENCH_POSTGRES is not set", file=sys.stderr)
        return 2

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.reuse:
        admin = make_url(pg_admin).set(drivername="postgresql+psycopg")
        url = admin.set(database=f"bench_{args.scale}").render_as_string(hide_password=False)
        upgrade(url)  # the schema may have moved on since it was built
    else:
        url = postgres_dataset(pg_admin, args.scale, say).url
    ramp = min(Shape.ramp_seconds, args.seconds / 3)
    shape = Shape(users=args.users, seconds=args.seconds, ramp_seconds=ramp)
    print(format_table(run_load(url, shape, say)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
