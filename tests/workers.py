"""Workers for tests: huey's real consumer on the app's real queue, in this process's threads or
as a real `outreach worker` process (the one `make run` and a deployment start)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def worker_threads(app, *, workers: int = 2) -> Iterator[None]:
    """huey's consumer taking the app's queued jobs in threads of this process, until the block
    ends (running jobs are let finish). Not huey's immediate mode: jobs go through the queue."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    consumer = app.extensions["jobs"].huey.create_consumer(
        workers=workers, worker_type="thread", periodic=False, max_delay=0.2
    )
    consumer.start()
    try:
        yield
    finally:
        consumer.stop(graceful=True)
        for sig, handler in handlers.items():  # the consumer set its own in this process
            signal.signal(sig, handler)


class WorkerProcess:
    """`outreach worker` in a process group of its own (so one killpg takes its children too).

    It keeps this process's instance folder: on PostgreSQL without Redis, the queue file is there
    (one server's web and worker share it). `instance` holds the worker's log."""

    def __init__(self, database_url: str, instance: Path, **env: str):
        self.database_url = database_url
        self.instance = instance
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log = instance / "worker.log"

    def start(self, *, workers: int = 1, kind: str = "process") -> WorkerProcess:
        """Start the worker and wait until its consumer runs."""
        self.instance.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "OUTREACH_SECRET_KEY": "worker-test-secret",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(REPO),
            **self.env,
        }
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "outreach.cli",
                    "worker",
                    "--workers",
                    str(workers),
                    "--kind",
                    kind,
                    "--no-schedule",
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while "Huey consumer started" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and every process it started, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _group_alive(self.process.pid):
            assert time.monotonic() < deadline, "the worker's processes outlived SIGKILL"
            time.sleep(0.05)
        self.process = None

    def stop(self) -> None:
        """Stop the worker if it still runs (end of test)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self.process = None


def group_pids(groups: set[int]) -> list[int]:
    """The live processes of these process groups (a zombie waiting to be reaped is not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _group_alive(group: int) -> bool:
    return bool(group_pids({group}))


def run_immediately(app, job_name: str) -> None:
    """Run one job's body now, in this process (huey's immediate mode): for unit tests of a task
    body only; everything else goes through the queue to a worker."""
    jobs = app.extensions["jobs"]
    jobs.huey.immediate = True
    try:
        getattr(jobs, job_name)()
    finally:
        jobs.huey.immediate = False


def jobs_settled(app, *, timeout: float = 60) -> list:
    """Wait until no background job (publish, send, export) is queued or running; returns them
    all, oldest first, as they ended."""
    from sqlmodel import Session, select

    from outreach.core.background import ACTIVE
    from outreach.models import BackgroundJob

    deadline = time.monotonic() + timeout
    while True:
        with Session(app.extensions["job_engine"], expire_on_commit=False) as session:
            jobs = session.exec(select(BackgroundJob).order_by(BackgroundJob.id)).all()
        if not any(job.status in ACTIVE for job in jobs):
            return jobs
        assert time.monotonic() < deadline, f"jobs still running: {jobs}"
        time.sleep(0.1)
