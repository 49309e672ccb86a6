"""Timed requests through Flask's test client: the real login form and each role's home page."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from outreach import create_app
from outreach.models import User
from outreach.models.codes import Role
from outreach.operations.demo import DEMO_PASSWORD
from outreach.worklist.service import mark_stale

from .datasets import TODAY, Dataset

WARMUP = 3
PROVINCE_LEADER = "lanhdao.tinh"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class BenchError(RuntimeError):
    """A request did not answer as a working app would (wrong status, no CSRF token)."""


@dataclass(frozen=True)
class SampleUsers:
    """The accounts the login benchmark cycles through, and the canvassers among them."""

    logins: list[str]
    canvassers: list[str]

    @property
    def canvasser(self) -> str:
        """The canvasser whose home page is timed on its own."""
        return self.canvassers[0]


def make_app(url: str) -> Flask:
    """The real app on a benchmark database, CSRF on, "today" fixed, without touching instance/."""
    os.environ.setdefault("OUTREACH_SECRET_KEY", "benchmark-only-secret")
    return create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "benchmark-only-secret", "OUTREACH_TODAY": TODAY}
    )


def _spread(items: list[str], count: int) -> list[str]:
    """`count` items spread evenly over a sorted list (all of them if there are fewer)."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def sample_users(app: Flask, canvassers: int = 6, commune_leaders: int = 3) -> SampleUsers:
    """Canvassers and commune leaders spread over the province, plus the province-wide accounts."""
    with Session(app.extensions["engine"]) as session:
        names = session.exec(select(User.username).order_by(User.username)).all()
        roles = dict(session.exec(select(User.username, User.role)).all())
    workers = [n for n in names if n.startswith("canbo.") and roles[n] == Role.CANVASSER]
    leaders = [n for n in names if n.startswith("lanhdao.") and n[8:].isdigit()]
    picked_workers = _spread(workers, canvassers)
    picked_leaders = _spread(leaders, commune_leaders)
    province = [n for n in (PROVINCE_LEADER, "admin", "baochi") if n in roles]
    if not picked_workers or PROVINCE_LEADER not in roles:
        raise BenchError("the demo users are missing (canbo.* and lanhdao.tinh)")
    logins = _interleave(picked_workers, picked_leaders + province)
    return SampleUsers(logins=logins, canvassers=picked_workers)


def sample_users_for(dataset: Dataset) -> SampleUsers:
    """The sampled accounts of a dataset (a short-lived app just to read them)."""
    app = make_app(dataset.url)
    try:
        return sample_users(app)
    finally:
        app.extensions["engine"].dispose()


def _interleave(first: list[str], second: list[str]) -> list[str]:
    """Alternate two lists so any run of iterations mixes roles."""
    out: list[str] = []
    for i in range(max(len(first), len(second))):
        out.extend(x[i] for x in (first, second) if i < len(x))
    return out


def _expect(response, status: int, what: str) -> None:
    """Fail loudly when a request answers with an unexpected status."""
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code}, expected {status}")


def _csrf_token(client: FlaskClient) -> str:
    """GET /login and read the form's CSRF token."""
    response = client.get("/login")
    _expect(response, 200, "GET /login")
    match = CSRF_RE.search(response.get_data(as_text=True))
    if match is None:
        raise BenchError("no CSRF token on /login")
    return match.group(1)


def _post_login(client: FlaskClient, username: str, csrf_token: str) -> None:
    """POST the login form; a successful login answers with a redirect."""
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_token}
    _expect(client.post("/login", data=form), 302, f"POST /login as {username}")


def _login_and_home(client: FlaskClient, username: str) -> float:
    """Log in through the form and load the home page; milliseconds for POST + GET (not the form)."""
    token = _csrf_token(client)
    started = time.perf_counter()
    _post_login(client, username, token)
    return (time.perf_counter() - started) * 1000 + _time_get(client, "/")


def time_login_home(app: Flask, usernames: list[str], iterations: int) -> list[float]:
    """Login + home page timings (ms), a fresh client per login, cycling through the users."""
    for i in range(WARMUP):
        _login_and_home(app.test_client(), usernames[i % len(usernames)])
    return [
        _login_and_home(app.test_client(), usernames[i % len(usernames)]) for i in range(iterations)
    ]


def _time_get(client: FlaskClient, path: str) -> float:
    """One GET in milliseconds, redirects followed (a canvasser's / leads to /worklist)."""
    started = time.perf_counter()
    response = client.get(path, follow_redirects=True)
    elapsed = (time.perf_counter() - started) * 1000
    _expect(response, 200, f"GET {path}")
    return elapsed


def time_page(app: Flask, username: str, path: str, iterations: int) -> list[float]:
    """GET `path` timings (ms) for a user logged in through the form, after warm-ups."""
    client = app.test_client()
    _login_and_home(client, username)
    for _ in range(WARMUP):
        _time_get(client, path)
    return [_time_get(client, path) for _ in range(iterations)]


def time_home(app: Flask, username: str, iterations: int) -> list[float]:
    """Home page timings (ms) for a user who is already logged in."""
    return time_page(app, username, "/", iterations)


def _mark_stale(app: Flask, username: str) -> None:
    """Make the canvasser's commune look as on a new day: its priority scores are from before."""
    with Session(app.extensions["engine"]) as session:
        commune_id = session.exec(select(User.scope_unit_id).where(User.username == username)).one()
        mark_stale(session, commune_ids=[commune_id])
        session.commit()


def time_first_of_day(app: Flask, canvassers: list[str], rounds: int = 4) -> list[float]:
    """A canvasser's home page (ms) when it is the first request of the day in their commune."""
    samples = []
    for _ in range(rounds):
        for username in canvassers:
            _mark_stale(app, username)
            client = app.test_client()
            _post_login(client, username, _csrf_token(client))
            samples.append(_time_get(client, "/"))
    return samples


def prime(app: Flask, canvassers: list[str]) -> None:
    """Load each canvasser's home once, so their communes' priorities are today's (untimed)."""
    for username in canvassers:
        _login_and_home(app.test_client(), username)
