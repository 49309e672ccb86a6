"""Timed GET /dashboard through Flask's test client, logged in as a leader (issue 6)."""

from __future__ import annotations

import re

from flask import Flask

from .web import BenchError, SampleUsers, time_page

COMMUNE_LEADER_RE = re.compile(r"^lanhdao\.\d+$")


def commune_leader(users: SampleUsers) -> str:
    """The first commune leader (`lanhdao.<commune code>`) among the sampled logins."""
    for name in users.logins:
        if COMMUNE_LEADER_RE.match(name):
            return name
    raise BenchError("no commune leader (lanhdao.<code>) among the sampled users")


def time_dashboard(app: Flask, username: str, iterations: int) -> list[float]:
    """GET /dashboard timings (ms) for a leader who is already logged in."""
    return time_page(app, username, "/dashboard", iterations)
