"""Every POST/PUT/PATCH/DELETE route refuses a request without a valid CSRF token, and writes nothing.

The routes come from the app's URL map, so a new unsafe route is covered the day it is added (and
fails here if the authorization matrix has no entry saying who may use it). Each request is made
by a role that may use the route, on an object in its scope, with the same body the matrix sends
when it expects success: only the token is missing or forged. "Nothing written" is the row count
of every table plus a hash of the rows of the tables the route may change.
"""

from __future__ import annotations

import pytest

from .authz_matrix import ANON, LOGGED_IN, UNSAFE, entries_by_key
from .conftest import csrf_for, fingerprint, logged_in

VARIANTS = ("missing", "forged")


def _unsafe_routes():
    """(endpoint, method) of every unsafe route, read from a throwaway app's URL map."""
    from outreach import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "SECRET_KEY": "x"})
    routes = sorted(
        {
            (rule.endpoint, method)
            for rule in app.url_map.iter_rules()
            for method in rule.methods & UNSAFE
        }
    )
    app.extensions["engine"].dispose()
    return routes


ROUTES = _unsafe_routes()


def _user_of(entry) -> str:
    """A role the route is for: a logged-in one if any (the check must not be the login one)."""
    allowed = [role for role in LOGGED_IN if role in entry.allowed]
    return allowed[0] if allowed else ANON


@pytest.fixture(scope="module")
def clients(shared_app):
    cache: dict = {}

    def get(role: str):
        if role not in cache:
            cache[role] = logged_in(shared_app, role)
        return cache[role]

    return get


def test_the_url_map_has_unsafe_routes_to_check():
    """Guards against the generator silently finding nothing (say, after a rename of methods)."""
    assert len(ROUTES) >= 25
    assert ("api.sync", "POST") in ROUTES and ("auth.login", "POST") in ROUTES


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("endpoint", "method"), ROUTES, ids=[f"{e} {m}" for e, m in ROUTES])
def test_unsafe_route_refuses_a_request_without_a_valid_token(
    endpoint, method, variant, world, shared_app, clients
):
    entry = entries_by_key().get(f"{endpoint} {method}")
    assert entry is not None, f"{endpoint} {method} has no entry in authz_matrix.py"
    role = _user_of(entry)
    client = clients(role)
    objects = world.objects(role, "in")
    # A token of another session: well formed, signed with the same key, not this session's.
    forged = csrf_for(shared_app.test_client()) if variant == "forged" else None
    before = fingerprint(shared_app, entry.tables)
    path = entry.path(objects)
    if entry.json is not None:
        headers = {"X-CSRFToken": forged} if forged else {}
        response = client.open(path, method=method, json=entry.json(objects), headers=headers)
        assert response.status_code == 400
        assert response.is_json and response.get_json()["code"] == "csrf"
        assert "tải lại trang" in response.get_json()["error"]
    else:
        form = dict(entry.form(objects) if entry.form else {})
        if forged:
            form["csrf_token"] = forged
        response = client.open(path, method=method, data=form)
        assert response.status_code == 400, response.get_data()[:300]
        html = response.get_data(as_text=True)
        assert "Phiên làm việc có thể đã hết hạn" in html, html[:500]
    assert fingerprint(shared_app, entry.tables) == before, (
        f"{endpoint} wrote data without a valid token"
    )
    if role != ANON:
        # Still logged in: the refused request (even a logout) changed nothing in the session.
        assert client.get("/session.json").status_code == 200


def test_htmx_requests_send_the_token_in_a_header(shared_app, clients, world):
    """The header htmx uses is accepted: the same refused request goes through with it."""
    client = clients("commune_leader")
    token = csrf_for(client)
    visit = world.objects("commune_leader", "in").visit
    refused = client.post(f"/leader/review/{visit}/return", data={"comment": ""})
    assert refused.status_code == 400
    accepted = client.post(
        f"/leader/review/{visit}/return",
        data={"comment": ""},  # refused by the service instead: nothing written either way
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert accepted.status_code == 303
