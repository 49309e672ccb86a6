"""Lighthouse mobile scores of the canvasser's worklist, a household page and its visit form,
served by gunicorn.

The app runs as in production (`gunicorn wsgi:app`, gzip from outreach/web/compression.py) on the
benchmark's SQLite database. A plain urllib client logs in through the real form; Lighthouse 12
(node_modules, Debian Chromium) then loads each page cold with that session cookie, in its default
mobile emulation (Moto G Power screen, simulated slow 4G and a 4x slower CPU).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from outreach.operations.demo import DEMO_PASSWORD

from .datasets import CACHE_DIR, TODAY
from .report import Row
from .web import CSRF_RE, BenchError

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CHROMIUM = "/usr/bin/chromium"
REPORTS = CACHE_DIR / "lighthouse"  # the full JSON reports, kept for reading the audits
CANVASSER = "canbo.07210.1"
# Lighthouse's category ids and the names the rows use.
CATEGORIES = {
    "performance": "performance",
    "accessibility": "accessibility",
    "best-practices": "best practices",
}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
# Flask-Login's strong session protection ties the session to the browser's User-Agent, so the
# login and Lighthouse's emulated phone must send the same one: Lighthouse 12.8's own mobile UA,
# passed explicitly so that a Lighthouse update cannot silently log the run out.
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36"
)
HOUSEHOLD_RE = re.compile(r'href="/households/(\d+)"')
STARTUP_SECONDS = 60
LIGHTHOUSE_SECONDS = 300

Progress = Callable[[str], None]


def _free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(url: str, port: int, workdir: Path) -> subprocess.Popen:
    """gunicorn with two workers on the database `url`, logging into `workdir`."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "OUTREACH_SECRET_KEY": "benchmark-only-secret",
        "OUTREACH_TODAY": TODAY.isoformat(),
        # Keeps the run from writing a secret key or imports folder into the real instance/.
        "OUTREACH_INSTANCE_DIR": str(workdir / "instance"),
    }
    log = (workdir / "gunicorn.log").open("wb")
    try:
        return subprocess.Popen(
            [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()  # the child holds its own copy of the file descriptor


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (SIGTERM to the master), and kill it if it lingers."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _opener() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    """An HTTP client that keeps cookies and sends the emulated phone's User-Agent."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    return opener, jar


def _wait_ready(base: str, server: subprocess.Popen, workdir: Path) -> None:
    """Poll /login until gunicorn answers; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    log = (workdir / "gunicorn.log").read_text(errors="replace")[-2000:]
    raise BenchError(f"gunicorn did not start on {base}:\n{log}")


def _log_in(base: str) -> tuple[str, str]:
    """Log in as the demo canvasser; return the Cookie header and the worklist's HTML."""
    opener, jar = _opener()
    with opener.open(f"{base}/login", timeout=30) as response:
        match = CSRF_RE.search(response.read().decode("utf-8"))
    if match is None:
        raise BenchError("no CSRF token on /login")
    form = {"username": CANVASSER, "password": DEMO_PASSWORD, "csrf_token": match.group(1)}
    data = urllib.parse.urlencode(form).encode()
    # The redirect home leads a canvasser to /worklist, which also computes today's priorities.
    with opener.open(f"{base}/login", data=data, timeout=120) as response:
        landed, html = response.url, response.read().decode("utf-8")
    if urllib.parse.urlsplit(landed).path != "/worklist":
        raise BenchError(f"login as {CANVASSER} landed on {landed}, not /worklist")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, html


def _lighthouse(page_url: str, cookie: str, report: Path) -> dict:
    """Run Lighthouse on one page (mobile, cold cache) and return its JSON result (the LHR)."""
    command = [
        str(LIGHTHOUSE),
        page_url,
        "--form-factor=mobile",
        f"--emulatedUserAgent={USER_AGENT}",
        "--only-categories=" + ",".join(CATEGORIES),
        "--output=json",
        f"--output-path={report}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--extra-headers=" + json.dumps({"Cookie": cookie}),
        "--quiet",
    ]
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=LIGHTHOUSE_SECONDS, check=False
    )
    if done.returncode != 0 or not report.exists():
        raise BenchError(f"lighthouse failed on {page_url}:\n{done.stderr[-2000:]}")
    result = json.loads(report.read_text())
    if error := result.get("runtimeError"):
        raise BenchError(f"lighthouse on {page_url}: {error.get('code')}: {error.get('message')}")
    final = result.get("finalDisplayedUrl") or result.get("finalUrl", "")
    if urllib.parse.urlsplit(final).path != urllib.parse.urlsplit(page_url).path:
        raise BenchError(f"lighthouse measured {final}, not {page_url} (session not accepted?)")
    return result


def _weak_audits(result: dict, category: str) -> list[str]:
    """The category's scored audits below 0.9, worst first, as "id (score)"."""
    audits = result["audits"]
    weak = []
    for ref in result["categories"][category]["auditRefs"]:
        audit = audits.get(ref["id"], {})
        score = audit.get("score")
        if ref.get("weight", 0) > 0 and score is not None and score < 0.9:
            weak.append((score, ref["id"], audit.get("displayValue", "")))
    return [
        f"{audit} ({score:.2f}{', ' + shown if shown else ''})"
        for score, audit, shown in sorted(weak)
    ]


def _rows(label: str, result: dict, progress: Progress) -> list[Row]:
    """One row per category (score 0-100), and the audits that cost points in the progress log."""
    rows = []
    for category, name in CATEGORIES.items():
        score = result["categories"][category]["score"]
        if score is None:
            raise BenchError(f"lighthouse gave no {category} score for the {label} page")
        rows.append(Row(f"lighthouse {label}: {name}", "sqlite", score * 100, "score"))
        if weak := _weak_audits(result, category):
            progress(f"lighthouse {label} {category}: below 0.9: {'; '.join(weak)}")
    return rows


def lighthouse_rows(url: str, progress: Progress) -> list[Row]:
    """Lighthouse mobile scores (performance, accessibility, best practices) of three pages."""
    for tool in (LIGHTHOUSE, GUNICORN, Path(CHROMIUM)):
        if not tool.exists():
            raise BenchError(
                f"{tool} is missing (make node-deps / make system-deps / make install)"
            )
    REPORTS.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="outreach-lighthouse-") as tmp:
        workdir = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        progress(f"lighthouse: gunicorn on {base}")
        server = _start_gunicorn(url, port, workdir)
        try:
            _wait_ready(base, server, workdir)
            cookie, worklist_html = _log_in(base)
            match = HOUSEHOLD_RE.search(worklist_html)
            if match is None:
                raise BenchError(f"no household on the worklist of {CANVASSER}")
            household = f"/households/{match.group(1)}"
            pages = {
                "worklist": "/worklist",
                "household": household,
                "visit form": f"{household}/visits/new",
            }
            for label, path in pages.items():
                progress(f"lighthouse: {path} as {CANVASSER} (mobile, cold cache)")
                result = _lighthouse(
                    base + path, cookie, REPORTS / f"{label.replace(' ', '-')}.json"
                )
                rows += _rows(label, result, progress)
        finally:
            _stop(server)
    return rows
