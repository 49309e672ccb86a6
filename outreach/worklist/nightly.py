"""The refresh of many communes at once (the nightly one): each commune in its own committed
transaction, several at a time in child processes on PostgreSQL.

The scoring is Python (`priority.py`, the one definition of a priority), so threads shared one
core under the GIL; processes use every core. They are plain child processes
(`python -m outreach.worklist.nightly`), not a `multiprocessing` pool: the worker runs its jobs
in daemonic processes, which may not start a pool. Each child opens its own engine from the
database URL, which it reads from its standard input (never from its command line, which
others on the machine can see). On SQLite one commune after another: it has a single writer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import date

from sqlalchemy import create_engine, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.models import Household
from outreach.worklist.service import refresh_commune


def refresh_communes(
    engine: Engine, *, commune_ids: Sequence[int], today: date, processes: int = 1
) -> int:
    """Recompute these communes' households for `today`, `processes` at once on PostgreSQL;
    returns how many households were recomputed."""
    if engine.dialect.name == "sqlite" or processes <= 1 or len(commune_ids) <= 1:
        return _refresh_here(engine, commune_ids, today)
    shares = _shares(engine, commune_ids, processes)
    job = {
        "url": engine.url.render_as_string(hide_password=False),
        "today": today.isoformat(),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "outreach.worklist.nightly"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in shares
    ]
    # Every child gets its share before any is waited for: they all run at once.
    for child, share in zip(children, shares, strict=True):
        child.stdin.write(json.dumps({**job, "communes": share}))
        child.stdin.close()
    outputs = [child.stdout.read() for child in children]
    for child in children:
        child.wait()
    failed = [child.returncode for child in children if child.returncode]
    if failed:
        # Each commune committed on its own: those done are today's, the rest stay stale and
        # are refreshed by their first page of the day.
        raise RuntimeError(f"nightly refresh: {len(failed)} of {len(children)} processes failed")
    return sum(int(out.strip() or 0) for out in outputs)


def _shares(engine: Engine, commune_ids: Sequence[int], processes: int) -> list[list[int]]:
    """The communes dealt out to the processes, biggest first, so each gets a like amount."""
    with Session(engine) as session:
        sizes = dict(
            session.exec(
                select(Household.commune_id, func.count())
                .where(Household.commune_id.in_(list(commune_ids)))
                .group_by(Household.commune_id)
            ).all()
        )
    order = sorted(commune_ids, key=lambda c: -sizes.get(c, 0))
    count = min(processes, len(order))
    return [order[i::count] for i in range(count)]


def _refresh_here(engine: Engine, commune_ids: Sequence[int], today: date) -> int:
    """Refresh communes one after another in this process, one committed transaction each."""
    total = 0
    for commune_id in commune_ids:
        with Session(engine) as session:
            total += refresh_commune(session, commune_id=commune_id, today=today)
            session.commit()  # short transactions: visits keep flowing
    return total


def _main() -> None:
    """A child process: refresh the communes its parent sent and print how many households."""
    job = json.load(sys.stdin)
    # PostgreSQL only (SQLite never gets here). No statement prepared on the server: the URL may
    # be pgbouncer's in transaction mode (db.transaction_pooled); a commune runs a handful.
    engine = create_engine(job["url"], connect_args={"prepare_threshold": None})
    try:
        total = _refresh_here(engine, job["communes"], date.fromisoformat(job["today"]))
    finally:
        engine.dispose()
    print(total)


if __name__ == "__main__":
    _main()
