"""A real gunicorn on a copy of the demo database, killed with SIGKILL and started again.

The server runs in its own process group (master, workers, and any child a worker starts, such
as the import's parser), so one `killpg(SIGKILL)` takes all of them down at once, as a power cut
or the OOM killer would. The client is plain urllib with a cookie jar: the real login form, the
real CSRF tokens.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlmodel import Session

from outreach.imports import files as import_files
from outreach.operations.demo import DEMO_PASSWORD
from tests.redis_server import REDIS, redis_url  # noqa: F401 (a fixture)
from tests.workers import group_pids

REPO = Path(__file__).resolve().parents[2]
GUNICORN = REPO / ".venv" / "bin" / "gunicorn"
TODAY = "2026-11-22"
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf-token" content="([^"]+)"'
)


def forget_the_checks_rows(engine, batch_id: int) -> None:
    """Drop the rows a batch's check parsed, so that its import parses the file in a child
    again: the slow part of an import, where the tests that kill a worker strike (replaying the
    check's rows, a 30,000-row import may end before it is seen writing)."""
    with Session(engine) as session:
        import_files.remove(session, batch_id=batch_id, purpose=import_files.PARSED)
        session.commit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """gunicorn serving wsgi:app on one database and instance folder, on a free port, with an
    `outreach worker` beside it (or none: `with_worker=False`, the worker runs elsewhere)."""

    def __init__(
        self, database_url: str, instance: Path, *, env: dict | None = None, with_worker=True
    ):
        self.database_url = database_url
        self.instance = instance
        self.env = env or {}
        self.with_worker = with_worker
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.log = instance / "gunicorn.log"
        self.kills = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start gunicorn (two workers, four threads each, as `make run`) and an `outreach worker`
        in its process group (checks and imports run there), and wait until both serve."""
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "OUTREACH_INSTANCE_DIR": str(self.instance),
            "OUTREACH_SECRET_KEY": "crash-test-secret",
            "OUTREACH_TODAY": TODAY,
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.env,
        }
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--timeout",
                    "120",
                    # The app is imported once and forked (its engine has no connection yet):
                    # half the start-up time of two workers importing it side by side.
                    "--preload",
                    "wsgi:app",
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, for killpg
            )
            self.worker = None
            if self.with_worker:
                self.worker = subprocess.Popen(
                    [str(REPO / ".venv" / "bin" / "outreach"), "worker", "--workers", "1"],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,  # its own group too: killed with the server's
                )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            worker_up = not self.with_worker or "Huey consumer started" in self.log.read_text()
            if len(self.worker_pids()) == 2 and worker_up:
                try:
                    with urllib.request.urlopen(self.base + "/login", timeout=5) as response:
                        if response.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start: {self.log.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """The master's children (the workers)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def group_pids(self) -> list[int]:
        """Every live process of the server's process groups (gunicorn's master, workers and their
        children; the job worker and its children)."""
        assert self.process is not None
        groups = {self.process.pid} | ({self.worker.pid} if self.worker else set())
        return group_pids(groups)

    def workers_cpu(self) -> float:
        """CPU seconds used by the workers so far."""
        return sum(_cpu_seconds(pid) for pid in self.worker_pids())

    def job_worker_cpu(self) -> float:
        """CPU seconds used so far by the job worker (`outreach worker` and its children)."""
        return sum(_cpu_seconds(pid) for pid in group_pids({self.worker.pid})) if self.worker else 0

    def kill(self) -> None:
        """SIGKILL the whole process group and wait until every process of it is gone."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        if self.worker:
            os.killpg(self.worker.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group_pids():
            assert time.monotonic() < deadline, f"still alive: {self.group_pids()}"
            time.sleep(0.05)
        if self.worker:
            self.worker.wait(timeout=10)
        self.kills += 1
        self.process = None

    def stop(self) -> None:
        """Kill the server if it still runs (end of test)."""
        if self.process is not None:
            self.kill()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer to look at, not to follow


class Response:
    """Status, headers and body of one HTTP exchange."""

    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Client:
    """A browser-like client: cookies kept, CSRF token read from the pages."""

    def __init__(self, server: Server):
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict | None = None,
        timeout: float = 60,
    ) -> Response:
        req = urllib.request.Request(
            self.server.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def csrf(self, path: str) -> str:
        match = CSRF_RE.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post_form(self, path: str, fields: dict, *, token_from: str = "", token: str = ""):
        """POST a form with the CSRF token given, or read from the page `token_from`."""
        data = {**fields, "csrf_token": token or self.csrf(token_from)}
        body = urllib.parse.urlencode(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body=body, headers=headers)

    def post_file(self, path: str, fields: dict, filename: str, data: bytes, *, token_from: str):
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {**fields, "csrf_token": self.csrf(token_from)}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, body=b"".join(parts), headers=headers)

    def post_json(self, path: str, payload, *, csrf: str, timeout: float = 60) -> Response:
        headers = {"Content-Type": "application/json", "X-CSRFToken": csrf}
        body = json.dumps(payload).encode()
        return self.request("POST", path, body=body, headers=headers, timeout=timeout)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Client:
        response = self.post_form(
            "/login", {"username": username, "password": password}, token_from="/login"
        )
        assert response.status == 302, response.text[:500]
        return self


@pytest.fixture
def server(databases, tmp_path):
    """A gunicorn (not started yet) on a private copy of the demo database."""
    instance = tmp_path / "instance"
    instance.mkdir()
    srv = Server(databases.copy_of_template(), instance)
    yield srv
    srv.stop()


@contextmanager
def two_servers_and_a_worker(url: str, folder: Path, env: dict) -> Iterator[tuple[list, object]]:
    """Two gunicorns (folders of their own, nothing shared on disk) and an `outreach worker` of
    two processes on one database and queue, stopped at the end."""
    from tests.workers import WorkerProcess

    servers = []
    for name in ("a", "b"):
        (folder / name).mkdir()
        servers.append(Server(url, folder / name, env=env, with_worker=False))
    worker = WorkerProcess(url, folder / "worker", **{"OUTREACH_TODAY": TODAY, **env})
    try:
        for server in servers:
            server.start()
        worker.start(workers=2)
        yield servers, worker
    finally:
        worker.stop()
        for server in servers:
            server.stop()
