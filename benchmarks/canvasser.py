"""The canvasser's day at province scale: the worklist against a bare-render floor, and visit POSTs.

The floor is the same `worklist/show.html` rendered by a bare route from rows computed once, so
the worklist/floor ratio shows what the queries add on top of rendering. Visit POSTs go through
the real form (CSRF token, client UUID) and each stores a real visit: the benchmark database
gains `iterations + warm-up` visits per run.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable
from datetime import date

from flask import Flask, render_template
from flask_login import current_user
from sqlmodel import Session, select

from outreach.core.scope import scope_for
from outreach.models import Household, Person, User
from outreach.tallies.figures import canvasser_tally
from outreach.worklist.service import worklist_for

from .datasets import TODAY
from .web import WARMUP, BenchError, _csrf_token, _expect, _post_login, _time_get, make_app

FLOOR_PATH = "/_bench/worklist-floor"
META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def app_with_floor(url: str) -> Flask:
    """The real app plus the bare route that renders the worklist template from precomputed rows."""
    app = make_app(url)
    cache: dict = {}

    def floor():
        if "context" not in cache:  # computed once, by the untimed warm-up request
            day = TODAY if isinstance(TODAY, date) else date.fromisoformat(TODAY)
            with Session(app.extensions["engine"]) as session:
                me = session.get(User, current_user.id)
                scope = scope_for(session, me)
                cache["context"] = {
                    "worklist": worklist_for(
                        session, scope=scope, canvasser_id=me.id, today=day, limit=30
                    ),
                    "canvasser": me,
                    "filters": {"village_id": None, "reason": None, "query": ""},
                    "offset": 0,
                    "page_size": 30,
                    "tally": canvasser_tally(session, canvasser_id=me.id, today=day),
                }
        return render_template("worklist/show.html", **cache["context"])

    app.add_url_rule(FLOOR_PATH, "bench_worklist_floor", floor)
    return app


def _logged_in(app: Flask, username: str):
    client = app.test_client()
    _post_login(client, username, _csrf_token(client))
    return client


def time_worklist_and_floor(
    app: Flask, username: str, iterations: int
) -> tuple[list[float], list[float]]:
    """GET /worklist and the floor route alternately (ms), after warm-ups, for one canvasser."""
    client = _logged_in(app, username)
    for _ in range(WARMUP):
        _time_get(client, "/worklist")
        _time_get(client, FLOOR_PATH)
    worklist, floor = [], []
    for _ in range(iterations):
        worklist.append(_time_get(client, "/worklist"))
        floor.append(_time_get(client, FLOOR_PATH))
    return worklist, floor


def _visit_targets(app: Flask, username: str) -> list[tuple[int, int]]:
    """(household, first member) pairs from the canvasser's households."""
    with Session(app.extensions["engine"]) as session:
        me = session.exec(select(User).where(User.username == username)).one()
        rows = session.exec(
            select(Household.id, Person.id)
            .join(Person, Person.household_id == Household.id)
            .where(Household.assigned_canvasser_id == me.id)
            .order_by(Household.id, Person.id)
        ).all()
    seen: dict[int, int] = {}
    for household_id, person_id in rows:
        seen.setdefault(household_id, person_id)
    if not seen:
        raise BenchError(f"{username} has no households")
    return list(seen.items())


def visit_poster(app: Flask, username: str, *, busy_ok: bool = False) -> Callable[[], float | None]:
    """A function that POSTs one one-outcome visit through the real form and returns its ms,
    a new client UUID and the next of the canvasser's households each time; with `busy_ok`, None
    for a visit answered "busy, not saved" (503: the household is held by an import's
    transaction past the web's lock wait; the phone keeps such a visit and sends it again)."""
    client = _logged_in(app, username)
    page = client.get("/worklist").get_data(as_text=True)
    match = META_CSRF.search(page)
    if match is None:
        raise BenchError("no CSRF token on /worklist")
    token, targets = match.group(1), _visit_targets(app, username)
    turn = itertools.count()

    def post() -> float | None:
        household_id, person_id = targets[next(turn) % len(targets)]
        form = {
            "csrf_token": token,
            "client_uuid": str(uuid.uuid4()),
            "channel": "phone",
            f"outcome_{person_id}": "not_home",
        }
        started = time.perf_counter()
        response = client.post(f"/households/{household_id}/visits", data=form)
        elapsed = (time.perf_counter() - started) * 1000
        if busy_ok and response.status_code == 503:
            return None
        _expect(response, 302, f"POST visit to household {household_id}")
        # A browser follows the redirect, whose page shows (and so drops) the "saved" message;
        # this client does not, so drop it here (untimed), or the cookie grows past 4 KB.
        with client.session_transaction() as state:
            state.pop("_flashes", None)
        return elapsed

    return post


def time_visit_posts(app: Flask, username: str, iterations: int) -> list[float]:
    """POST a one-outcome visit through the real form (ms), a new client UUID each time."""
    post = visit_poster(app, username)
    for _ in range(WARMUP):
        post()
    return [post() for _ in range(iterations)]
