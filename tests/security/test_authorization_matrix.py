"""Every route × every role × an object in and out of scope answers as tests/security/authz_matrix.py says.

Requests that must not write run on one app per module, each role logged in once, and an unsafe
one is checked to have written nothing (row counts and a hash of the tables the route touches).
Requests that are allowed to write run on a second copy per role, in the order of the matrix
(which puts, say, merging villages before moving one away). Unsafe requests carry a valid CSRF
token: this file tests authorization; test_csrf.py tests the token.
"""

from __future__ import annotations

import pytest

from .authz_matrix import ADMIN, ANON, EXCLUDED, LOGIN, MATRIX, UNSAFE, entries_by_key
from .conftest import copy_database, csrf_for, fingerprint, logged_in, make_app

HUGE_ID = 2**64  # past every integer column: must name nothing (404), never crash (500)


def _url_map_routes(app) -> set[str]:
    return {
        f"{rule.endpoint} {method}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in EXCLUDED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_an_entry_and_every_entry_a_route(shared_app):
    """A new route (or method) without an entry in the matrix fails here, and so does a stale one."""
    routes = _url_map_routes(shared_app)
    table = set(entries_by_key())
    assert routes - table == set(), "routes missing from tests/security/authz_matrix.py"
    assert table - routes == set(), "matrix entries naming no route"
    assert {rule.endpoint for rule in shared_app.url_map.iter_rules()} >= set(EXCLUDED)


def _cases():
    for entry in MATRIX:
        for role, which in entry.cases():
            marks = []
            if (role, which) in entry.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=entry.xfail[(role, which)]))
            yield pytest.param(entry, role, which, id=f"{entry.key}-{role}-{which}", marks=marks)


@pytest.fixture(scope="module")
def clients(shared_app):
    """One logged-in client per role on the module's app, with its CSRF token."""
    cache: dict[str, tuple] = {}

    def get(role: str):
        if role not in cache:
            client = logged_in(shared_app, role)
            cache[role] = (client, csrf_for(client))
        return cache[role]

    return get


def send(client, entry, objects, token: str):
    """The entry's request for these objects, with the token where an unsafe method needs it."""
    path = entry.path(objects)
    if entry.method not in UNSAFE:
        return client.open(path, method=entry.method)
    if entry.json is not None:
        return client.open(
            path, method=entry.method, json=entry.json(objects), headers={"X-CSRFToken": token}
        )
    form = dict(entry.form(objects) if entry.form else {})
    form["csrf_token"] = token
    return client.open(path, method=entry.method, data=form)


def check_status(response, expected) -> None:
    """The status the matrix expects; LOGIN is a redirect to the login page."""
    body = response.get_data()[:300]
    if expected == LOGIN:
        assert response.status_code == 302, body
        assert response.headers["Location"].startswith("/login"), response.headers["Location"]
    else:
        assert response.status_code == expected, body


@pytest.fixture(scope="module")
def writers(world, databases, tmp_path_factory):
    """One more app per role, on its own copy of the world, for the requests that write."""
    cache: dict[str, tuple] = {}
    spare: list = []

    def get(role: str, *, new_client: bool = False):
        if new_client:
            # A request that ends a session (logout) ends every session of the user (SECURITY.md):
            # it gets an app and a database of its own, so the role's shared client lives on.
            app = make_app(copy_database(databases, world.url))
            spare.append(app)
            client = logged_in(app, role)
            return client, csrf_for(client)
        if role not in cache:
            app = make_app(copy_database(databases, world.url))
            client = logged_in(app, role)
            cache[role] = (app, client, csrf_for(client))
        _app, client, token = cache[role]
        return client, token

    yield get
    for app in [*(app for app, _client, _token in cache.values()), *spare]:
        app.extensions["engine"].dispose()


@pytest.mark.parametrize(("entry", "role", "which"), list(_cases()))
def test_route_answers_each_role(entry, role, which, world, shared_app, clients, writers):
    expected = entry.expected(role, which)
    objects = world.objects(role, which)
    if entry.writes_for(role, which):
        client, token = writers(role, new_client=entry.ends_session)
        check_status(send(client, entry, objects, token), expected)
        return
    client, token = clients(role)
    unsafe = entry.method in UNSAFE
    before = fingerprint(shared_app, entry.tables) if unsafe else None
    response = send(client, entry, objects, token)
    check_status(response, expected)
    if unsafe:
        assert fingerprint(shared_app, entry.tables) == before, "a refused request wrote data"


def _id_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "<int:" in rule.rule:
            yield rule


def test_an_absurd_id_in_any_url_is_a_404(shared_app, clients):
    """`<int:…>` accepts any digits: an id no column can hold names nothing, on every route."""
    client, token = clients(ADMIN)
    failures = []
    for rule in _id_routes(shared_app):
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(HUGE_ID))
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(path, method=method, data={"csrf_token": token})
        if response.status_code != 404:
            failures.append((method, path, response.status_code))
    assert failures == []


def test_anonymous_htmx_requests_get_401_with_the_login_address(world, shared_app):
    """htmx would swap a login form into the page: it gets 401 and HX-Redirect instead of 302."""
    client = shared_app.test_client()
    objects = world.objects(ANON, "in")
    checked = 0
    for entry in MATRIX:
        if entry.method != "GET" or entry.expected(ANON, "in") != LOGIN:
            continue
        response = client.get(entry.path(objects), headers={"HX-Request": "true"})
        assert response.status_code == 401, entry.key
        assert response.headers["HX-Redirect"].startswith("/login?next="), entry.key
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("role", ["commune_leader", "group_leader", "province_leader", "admin"])
def test_dashboard_cell_refuses_a_canvasser_outside_the_scope(role, world, clients):
    """The matrix's cell entry moves the unit and village out too; here only the canvasser is."""
    client, _token = clients(role)
    outside = world.objects(role, "out").canvasser
    response = client.get(f"/dashboard/cell?metric=visits&canvasser={outside}")
    assert response.status_code == 404
