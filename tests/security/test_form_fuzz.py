"""Hypothesis fills every form with junk: the app never answers 5xx, and a refusal writes nothing.

The forms are the matrix's POST entries that take form fields (tests/security/authz_matrix.py);
their field names are the keys of the valid body the matrix sends, so a field added to a form
without being added there is not fuzzed — but a route added without an entry fails the matrix.
Each value is the valid one or junk: empty, huge, unicode and control characters, NUL, numbers
far past any column, impossible dates, SQL and template strings; keys are repeated and random
extra fields are added. A request that is refused (4xx, or a redirect carrying an error message)
must leave the row counts of every table and the rows of the tables the form changes as they were.

Not fuzzed here (FUZZ_EXCLUDED and each entry's `no_fuzz` say why): file uploads and the JSON sync
API (fuzzed in tests/visits), and forms without fields (nothing to fuzz but extra fields, which
`request.form.get` never reads).
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from .authz_matrix import ANON, LOGGED_IN, MATRIX, Objects
from .conftest import csrf_for, fingerprint, logged_in

FUZZ_EXCLUDED = {
    "auth.logout": "no fields; it would end the session the other examples use",
    "admin.deactivate_user": "no fields",
    "admin.reset_password": "no fields",
    "imports.retry": "no fields",
    "summaries.draft": "no fields",
}
# Writes the app makes on purpose even when it refuses: a failed login is audited and counted.
REFUSAL_WRITES = {
    "auth.login": ("audit_log", "app_user"),
    # A wrong current password is counted and audited like a failed login (SECURITY.md).
    "account.password": ("audit_log",),
}

FORMS = [
    entry
    for entry in MATRIX
    if entry.method == "POST"
    and entry.form is not None
    and not entry.no_fuzz
    and entry.endpoint not in FUZZ_EXCLUDED
]

NASTY = st.sampled_from(
    [
        "-1",
        "0",
        "-0",
        "2147483648",
        "9223372036854775808",
        "99999999999999999999999999",
        "1e308",
        "NaN",
        "inf",
        "1.5",
        "1.000.000.000.000.000",
        "2026-02-30",
        "31/02/2026",
        "0000-00-00",
        "9999-12-31",
        "10000-01-01",
        "'; DROP TABLE app_user; --",
        '" OR "1"="1',
        "%s%s%n",
        "{{ 7*7 }}",
        "<script>alert(1)</script>",
        '=HYPERLINK("http://x")',
        "\x00",
        "a\x00b",
        "\r\n\t",
        "\u202e\u200b",
        "١٢٣",
        "１２３",
        "Nguyễn Văn A",
        " ",
    ]
)
JUNK = st.one_of(
    st.just(""),
    NASTY,
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(200, 5000)),
)


def _values(valid) -> st.SearchStrategy[list[str]]:
    """One field's values: the valid one or junk, sometimes repeated, sometimes absent."""
    one = st.one_of(st.just(str(valid[0] if isinstance(valid, list) else valid)), JUNK)
    return st.lists(one, min_size=0, max_size=3)


@st.composite
def form_bodies(draw, fields: dict, endpoint: str) -> list[tuple[str, str]]:
    """A body of (name, value) pairs for a form with these fields and their valid values."""
    pairs = []
    for name, valid in fields.items():
        pairs += [(name, value) for value in draw(_values(valid))]
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), JUNK, max_size=3))
    pairs += list(extra.items())
    return draw(st.permutations(pairs))


def _user_of(entry) -> str:
    allowed = [role for role in LOGGED_IN if role in entry.allowed]
    return allowed[0] if allowed else ANON


@pytest.fixture(scope="module")
def clients(shared_app):
    cache: dict = {}

    def get(role: str):
        if role not in cache:
            client = logged_in(shared_app, role)
            cache[role] = (client, csrf_for(client))
        return cache[role]

    return get


def _wait_for_import_jobs() -> None:
    # An accepted mapping starts a check in a background thread (imports/views.py): let it end,
    # so its writes are not taken for the next example's.
    for thread in threading.enumerate():
        if thread.name.startswith("import-"):
            thread.join(timeout=30)


def _error_flashed(client) -> bool:
    """Whether the answer flashed an error (popped, so the next example starts clean)."""
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return any(category == "error" for category, _message in flashes)


def test_every_form_is_fuzzed_or_excluded_with_a_reason():
    posts = {e.endpoint for e in MATRIX if e.method == "POST"}
    fuzzed = {e.endpoint for e in FORMS}
    told = set(FUZZ_EXCLUDED) | {e.endpoint for e in MATRIX if e.no_fuzz}
    assert posts - fuzzed - told == set()
    assert len(FORMS) >= 15


@pytest.mark.parametrize("entry", FORMS, ids=[e.endpoint for e in FORMS])
def test_form_survives_junk(entry, world, shared_app, clients):
    role = _user_of(entry)
    client, token = clients(role)
    objects = world.objects(role, "in")
    path = entry.path(objects)
    fields = entry.form(objects)
    tables = tuple(t for t in entry.tables if t not in REFUSAL_WRITES.get(entry.endpoint, ()))
    ignored = REFUSAL_WRITES.get(entry.endpoint, ())

    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=form_bodies(fields, entry.endpoint))
    def check(body):
        _wait_for_import_jobs()
        before = fingerprint(shared_app, tables)
        response = client.post(path, data=MultiDict([*body, ("csrf_token", token)]))
        _wait_for_import_jobs()
        assert response.status_code < 500, (body, response.get_data()[:500])
        refused = response.status_code >= 400 or _error_flashed(client)
        if refused:
            after = fingerprint(shared_app, tables)
            for name in ignored:
                after.pop(name, None), before.pop(name, None)
            assert after == before, (body, response.status_code)

    check()


HUGE = str(2**63)  # one past the largest 64-bit integer
ID_FIELDS = [
    (entry, name)
    for entry in FORMS
    for name, valid in entry.form(Objects(*([7] * 14), "2026-11-15", "2026-11-30", 7)).items()
    if isinstance(valid, int | list) and not name.startswith(("new_", "renew_"))
]


def _id_case(entry, name):
    return pytest.param(entry, name, id=f"{entry.endpoint}-{name}")


@pytest.mark.parametrize(("entry", "name"), [_id_case(e, n) for e, n in ID_FIELDS])
def test_an_id_no_column_can_hold_is_refused_not_a_crash(entry, name, world, shared_app, clients):
    """The fuzzer's cheapest find, checked on every id field: 2**63 names nothing."""
    role = _user_of(entry)
    client, token = clients(role)
    objects = world.objects(role, "in")
    form = entry.form(objects)
    form[name] = HUGE
    before = fingerprint(shared_app, entry.tables)
    response = client.post(entry.path(objects), data={**form, "csrf_token": token})
    assert response.status_code < 500
    if response.status_code >= 400 or _error_flashed(client):
        assert fingerprint(shared_app, entry.tables) == before
