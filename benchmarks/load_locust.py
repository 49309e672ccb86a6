"""The load generator: Locust as a library, one process, canvassers working through their day.

Run by `benchmarks/load.py` in its own process (`python -m benchmarks.load_locust PLAN OUT`), so
gevent's monkey-patching and the generator's CPU stay out of the process that started the server.
PLAN is a JSON file written by `load.py`: the server's address, the run's shape and each account
with the households assigned to it (and their members). OUT receives every request's time in ms,
the failures, and the visits the server said it stored.

Each simulated canvasser logs in through the form, then loops: the worklist, its next rows as htmx
asks for them, a household page, the visit form, the visit POST, and a sync of two visits recorded
"offline", with a think time between actions. Every visit goes to one of the canvasser's own
households, so any refusal is an error.
"""

from __future__ import annotations

# Locust patches the standard library for gevent on import: it must come before anything else.
from locust import FastHttpUser, between, constant, events, task  # isort: skip
from locust.env import Environment  # isort: skip
from locust.exception import StopUser  # isort: skip

import itertools
import json
import random
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gevent

LOGIN_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SCOPE_TOKEN = re.compile(r'name="scope_token" value="([^"]+)"')
OUTCOMES = ("not_home", "not_home", "considering", "refused")


class Recorder:
    """Every request's time and failure, by request name (Locust's own percentiles are rounded).

    Requests that started once every user was up (after the ramp) are also kept apart, so the
    steady state can be told from the login storm of the first 20 s.
    """

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, int] = defaultdict(int)
        self.steady: list[float] = []
        self.steady_failures = 0
        self.messages: list[str] = []
        self.visits_stored = 0  # acknowledged by the server
        self.visits_sent = 0  # sent, acknowledged or not (a stop can cut a request short)
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.steady_from: float | None = None  # None while warming up
        self.warm_up_requests = 0
        self.warm_up_failures = 0
        self.stopping = False
        self.cut_at_stop = 0  # requests in flight at the hard stop, ended by the generator itself

    def start(self, ramp_seconds: float) -> None:
        """Record from now on; the steady state begins when the ramp is over."""
        self.steady_from = time.monotonic() + ramp_seconds

    def on_request(self, name, response_time, exception, **_kwargs) -> None:
        """Locust's request event: keep the time, count a failure and its first messages."""
        if self.stopping:
            self.cut_at_stop += 1
            return
        if self.steady_from is None:
            self.warm_up_requests += 1
            if exception is not None:
                self.warm_up_failures += 1
                self._note(f"warm-up, {name}: {exception}")
            return
        now = time.monotonic()
        self.first_at = self.first_at or now
        self.last_at = now
        self.samples[name].append(float(response_time))
        steady = now - response_time / 1000 >= self.steady_from
        if steady:
            self.steady.append(float(response_time))
        if exception is not None:
            self.failures[name] += 1
            self.steady_failures += steady
            self._note(f"{name}: {exception}")

    def _note(self, message: str) -> None:
        if len(self.messages) < 20:
            self.messages.append(message)

    def as_json(self, plan: dict) -> dict:
        """What load.py reads back."""
        return {
            "users": plan["users"],
            "seconds": plan["seconds"],
            "think": plan["think"],
            "elapsed": (self.last_at or 0) - (self.first_at or 0),
            "steady_elapsed": (self.last_at or 0) - (self.steady_from or 0),
            "warm_up_requests": self.warm_up_requests,
            "warm_up_failures": self.warm_up_failures,
            "cut_at_stop": self.cut_at_stop,
            "samples": self.samples,
            "failures": self.failures,
            "steady": self.steady,
            "steady_failures": self.steady_failures,
            "messages": self.messages,
            "visits_stored": self.visits_stored,
            "visits_sent": self.visits_sent,
        }


RECORDER = Recorder()
PLAN: dict = {}
_accounts = itertools.count()


def _status(response) -> str:
    """The HTTP status, or what went wrong when there was none (a reset, a timeout)."""
    if response.status_code:
        return f"HTTP {response.status_code}"
    return f"no answer ({response.error!r})"


def _follow_up(today: date) -> str:
    return (today + timedelta(days=3)).isoformat()


class Canvasser(FastHttpUser):
    """One canvasser on a phone: log in once, then the loop of `day`, think time between actions."""

    # Bounded, so a hung server cannot keep the run going past its hard stop for long.
    connection_timeout = 10.0
    network_timeout = 10.0
    wait_time = between(1, 3)  # replaced from the plan in main()

    def on_start(self) -> None:
        """Take the next account of the plan and log in through the form."""
        account = PLAN["accounts"][next(_accounts) % len(PLAN["accounts"])]
        self.username = account["username"]
        self.households = [(h, members) for h, members in account["households"]]
        self.today = date.fromisoformat(PLAN["today"])
        self.rng = random.Random(self.username)
        self.csrf = ""
        # A canvasser who cannot log in stops (counted as a failure); the others go on.
        match = LOGIN_CSRF.search(self._get("/login", "GET /login"))
        if match is None:
            raise StopUser()
        form = {
            "username": self.username,
            "password": PLAN["password"],
            "csrf_token": match.group(1),
        }
        with self.client.post(
            "/login", data=form, name="POST /login", allow_redirects=False, catch_response=True
        ) as r:
            logged_in = r.status_code == 302
            if not logged_in:
                r.failure(f"{_status(r)} for {self.username}")
        if not logged_in:
            raise StopUser()

    def _get(self, path: str, name: str, headers: dict | None = None) -> str:
        with self.client.get(path, name=name, headers=headers or {}, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{_status(r)} for {path}")
            return r.text or ""

    def _outcome(self, person_id: int, *, form: bool) -> dict:
        """One person's outcome: the visit form's fields, or an outcome of a sync item."""
        code = self.rng.choice(OUTCOMES)
        extra = {}
        if code == "considering":
            extra = {"follow_up_on": _follow_up(self.today)}
        elif code == "refused":
            extra = {"refusal_reason": "no_money"}
        if form:
            keys = {"follow_up_on": "date_", "refusal_reason": "reason_"}
            return {
                f"outcome_{person_id}": code,
                **{f"{keys[k]}{person_id}": v for k, v in extra.items()},
            }
        return {"person_id": person_id, "outcome": code, **extra}

    def _record_visit(self, household_id: int, members: list[int]) -> None:
        """The visit form, then its POST: one outcome for the first member met."""
        page = self._get(f"/households/{household_id}/visits/new", "GET visit form")
        csrf, token = FORM_CSRF.search(page), SCOPE_TOKEN.search(page)
        if csrf is None or token is None:
            return  # the GET above already failed
        self.csrf = csrf.group(1)
        form = {
            "csrf_token": self.csrf,
            "client_uuid": str(uuid.uuid4()),
            "scope_token": token.group(1),
            "channel": "home",
            **self._outcome(members[0], form=True),
        }
        self.wait()
        RECORDER.visits_sent += 1
        with self.client.post(
            f"/households/{household_id}/visits",
            data=form,
            name="POST visit",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code == 302:
                RECORDER.visits_stored += 1
            else:
                r.failure(f"{_status(r)} for household {household_id}")

    def _sync(self) -> None:
        """POST /api/visits/sync with two visits "recorded offline" a few minutes ago."""
        at = datetime.now(UTC) - timedelta(minutes=self.rng.randint(1, 30))
        items = []
        for household_id, members in self.rng.sample(self.households, 2):
            items.append(
                {
                    "client_uuid": str(uuid.uuid4()),
                    "household_id": household_id,
                    "channel": "home",
                    "visited_at": at.isoformat(),
                    "outcomes": [self._outcome(members[0], form=False)],
                }
            )
        RECORDER.visits_sent += len(items)
        with self.client.post(
            "/api/visits/sync",
            json={"visits": items},
            headers={"X-CSRFToken": self.csrf},
            name="POST /api/visits/sync",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{_status(r)}: {(r.text or '')[:200]}")
                return
            stored = r.json().get("stored", 0)
            RECORDER.visits_stored += stored
            if stored != len(items):
                r.failure(f"{stored} of {len(items)} stored: {(r.text or '')[:300]}")

    @task
    def day(self) -> None:
        """One round of a canvasser's work, a think time after each action."""
        self._get("/worklist", "GET /worklist")
        self.wait()
        # The "Xem thêm" row htmx loads when it scrolls into view.
        self._get(
            "/worklist?offset=30",
            "GET /worklist (htmx rows)",
            headers={"HX-Request": "true", "HX-Target": "worklist-rows"},
        )
        self.wait()
        household_id, members = self.rng.choice(self.households)
        self._get(f"/households/{household_id}", "GET household")
        self.wait()
        self._record_visit(household_id, members)
        self.wait()
        if len(self.households) >= 2 and self.csrf:
            self._sync()
            self.wait()


def main(plan_path: str, out_path: str) -> int:
    """Warm the server up, run the plan with a LocalRunner, stop hard, write the results."""
    PLAN.update(json.loads(Path(plan_path).read_text()))
    Canvasser.host = PLAN["host"]
    env = Environment(user_classes=[Canvasser], events=events)
    env.events.request.add_listener(RECORDER.on_request)
    runner = env.create_local_runner()
    # Untimed: a few canvassers without think time, so both workers have compiled their
    # templates and opened their connections before the first timed request (a server that has
    # just started is not what 200 canvassers meet in the morning).
    Canvasser.wait_time = constant(0.05)
    runner.start(PLAN["warm_up_users"], spawn_rate=100)
    gevent.sleep(PLAN["warm_up_seconds"])
    runner.stop()
    low, high = PLAN["think"]
    Canvasser.wait_time = between(low, high)
    RECORDER.start(PLAN["users"] / PLAN["spawn_rate"])
    runner.start(PLAN["users"], spawn_rate=PLAN["spawn_rate"])

    # The hard stop: quit kills every user's greenlet, even one waiting on a hung server. What
    # the requests cut short report after that is the generator's doing, not the server's.
    def hard_stop() -> None:
        RECORDER.stopping = True
        runner.quit()

    gevent.spawn_later(PLAN["seconds"], hard_stop)
    runner.greenlet.join()
    Path(out_path).write_text(json.dumps(RECORDER.as_json(PLAN)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
