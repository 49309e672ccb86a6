"""The job queue (huey) and the board where running jobs say how far they are and that they live.

On the embedded SQLite default the queue is a second SQLite file beside the database (no server
to run); with `OUTREACH_QUEUE_URL=redis://…` it is Redis, which every app server and worker of a
multi-server deployment shares. Jobs run only in `outreach worker` processes, never in a web
worker (docs/decisions.md, "A job queue for background work").

The board is the queue's key/value store, not the database: on SQLite an import's transaction
holds the database's only write lock for its whole file, so a progress row could not be written
meanwhile. A running job writes its progress there every second or so from a thread of its own
(`JobBoard.alive`), whatever the job itself is doing; a job whose writes stopped long ago, or whose
process on this machine is gone, died with its worker.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.constants import EmptyData

QUEUE_NAME = "outreach"
BEAT_EVERY_SECONDS = 1.0
HOST = socket.gethostname()


class QueueConfigError(Exception):
    """The queue's settings cannot work (a URL of an unknown kind)."""


def make_queue(database_url: str, queue_url: str = "", *, fallback_dir: Path) -> Huey:
    """The queue for this deployment: Redis if `queue_url` names one, else a SQLite file beside
    the SQLite database (or in `fallback_dir` for a one-server PostgreSQL deployment)."""
    # Named after the database: two deployments (or test databases) on one Redis never mix jobs.
    name = f"{QUEUE_NAME}-{database_url.rsplit('/', 1)[-1]}"
    if queue_url:
        if not queue_url.startswith(("redis://", "rediss://", "unix://")):
            raise QueueConfigError(f"OUTREACH_QUEUE_URL must be redis://…, not {queue_url!r}")
        return RedisHuey(name, url=queue_url, utc=True)
    if database_url.startswith("sqlite"):
        database = database_url.split("///", 1)[1] if "///" in database_url else ""
        if not database or database == ":memory:":
            return MemoryHuey(name, utc=True)
        filename = database + "-queue"
    else:
        filename = str(fallback_dir / "queue.sqlite3")
    Path(filename).parent.mkdir(parents=True, exist_ok=True)
    # Waits as long as a busy web server makes it: the queue file is small and its writes short.
    return SqliteHuey(name, filename=filename, timeout=30, utc=True)


class JobBoard:
    """Running jobs' progress and heartbeat, in the queue's key/value store."""

    def __init__(self, huey: Huey):
        self.storage = huey.storage

    def post(self, key: str, data: dict) -> None:
        """Write a job's latest state with the time, process and machine it comes from."""
        entry = {**data, "at": time.time(), "pid": os.getpid(), "host": HOST}
        self.storage.put_data(f"board:{key}", json.dumps(entry).encode())

    def read(self, key: str) -> dict | None:
        """A job's last posted state (with "at", "pid", "host"), or None if it posted nothing."""
        raw = self.storage.peek_data(f"board:{key}")
        if raw is EmptyData or raw is None:
            return None
        try:
            return json.loads(bytes(raw))
        except ValueError:
            return None

    def clear(self, key: str) -> None:
        """Forget a job's state (it has ended and set its final status)."""
        self.storage.pop_data(f"board:{key}")

    @contextmanager
    def alive(self, key: str, state: Callable[[], dict]) -> Iterator[None]:
        """Post `state()` now and every second while the block runs, from a thread of its own:
        the job shows it lives even while one long statement (a commit) keeps it busy."""
        self.post(key, state())
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(BEAT_EVERY_SECONDS):
                try:
                    self.post(key, state())
                except Exception:  # noqa: BLE001 - a missed beat must not kill the job
                    continue

        thread = threading.Thread(target=beat, name=f"beat-{key}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def queued_first_args(huey: Huey, names: set[str]) -> set:
    """The first argument (a batch's or a job's id) of every task of these names waiting on the
    queue: what a sweep compares against to find jobs the queue lost."""
    return {task.args[0] for task in huey.pending() if task.name in names and task.args}


def is_dead(entry: dict, *, stale_after: float, now: float | None = None) -> bool:
    """Whether the job that posted `entry` is gone: silent for `stale_after` seconds, or its
    process on this machine no longer exists (seen at once, not after the wait)."""
    if (now or time.time()) - entry.get("at", 0) > stale_after:
        return True
    pid = entry.get("pid")
    if entry.get("host") != HOST or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed worker process not yet reaped by its consumer still answers kill(0)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
