"""A crawler over every GET route: whatever the query string, never a 500, always the headers.

The routes come from the app's URL map, like the authorization matrix (authz_matrix.py), and each
is asked as every role, about objects in and out of the role's scope (the matrix's cases), with
and without `HX-Request: true` (the page and its fragment). Hypothesis draws the query string
from PARAMS below: for every parameter the view reads, the matrix's value or junk: valid and
unknown ids, ids past any column, offsets and pages past the end, negative and huge numbers, dates
in every format and none, empty and repeated parameters, Unicode, control characters and NUL,
plus unknown parameters; `<int:…>` parts of the path are swapped for unknown ids too.

Every answer is a 2xx, a redirect to a local address, or a 4xx that is the Vietnamese error page
(the page, its htmx fragment, the 401 that sends htmx to the login page, or a JSON error), it
carries the security headers of tests/web/test_security_headers.py, and a page with personal
data is never stored. A GET route without an entry in PARAMS fails the suite; a parameter a view
reads (`request.args.get("x")`, `"x" in request.args`) without an entry fails it too.

Bounded: a few examples per route × role × scope (derandomized, so CI sees the same ones), the
whole crawl in well under two minutes on SQLite.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound

from outreach.dashboard.cells import METRICS
from outreach.dashboard.service import SORTS
from outreach.models.codes import Role
from outreach.web.extensions import PERSONAL_CACHE_CONTROL, shows_personal_data
from outreach.web.guards import MAX_ID
from outreach.worklist.priority import Reason
from tests.web.test_security_headers import _check_headers

from .authz_matrix import ANON, EXCLUDED, MATRIX, Objects
from .conftest import logged_in

Strategy = Callable[[Objects], st.SearchStrategy[str]]

# ---- values ------------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "-1",
    "0",
    "-0",
    "+7",
    " 7 ",
    "1_0",
    "1e3",
    "1.5",
    "NaN",
    "inf",
    "²",  # a digit to str.isdigit(), not to int()
    "١٢٣",  # Arabic-Indic digits: int() reads them
    "１２３",  # full-width digits
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999",
    "\x00",
    "1\x00",
    "a\x00b",
    "\r\n\t",
    "\x1b[31m",
    "\u202e\u200b",
    "\ufeff7",
    "'; DROP TABLE app_user; --",
    "%s%n",
    "{{ 7*7 }}",
    "<script>x</script>",
    "Nguyễn Văn A",
    "x" * 2000,
]
JUNK = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
UNKNOWN_IDS = [0, 1, 999_999_999, MAX_ID, MAX_ID + 1, 2**63, 2**64]
NUMBERS = st.one_of(
    st.sampled_from(["1", "2", "30", "50", "60", "1000", "99999"]),
    st.sampled_from(UNKNOWN_IDS).map(str),
    st.integers(min_value=-(2**66), max_value=2**66).map(str),
    JUNK,
)
DATE_FORMATS = [
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%-d/%-m/%Y",
    "%d-%m-%Y",
    "%m/%d/%Y",
    "%Y%m%d",
    "%d/%m/%y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y-%m",
    "%Y-W%W-1",
]
# Valid days a page cannot compute with: a day or Vietnam's time zone added overflows.
CALENDAR_ENDS = ["0001-01-01", "9999-12-31", "01/01/0001", "31/12/9999", "1/1/1", "9999-12-30"]
DAYS = st.one_of(
    st.sampled_from(CALENDAR_ENDS),
    st.sampled_from(["", "2026-11-22", "22/11/2026", "1899-12-31", "2200-01-01"]),
    st.builds(
        lambda day, fmt: day.strftime(fmt).replace(" ", ""),
        st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
        st.sampled_from(DATE_FORMATS),
    ),
    st.sampled_from(
        [
            "2026-11-15",
            "15/11/2026",
            "2026-02-30",
            "31/02/2026",
            "0000-00-00",
            "0001-01-01",
            "9999-12-31",
            "31/12/9999",
            "10000-01-01",
            "2026-13-01",
            "2026-11-15T10:00",
            "2026-11-15 25:00",
            "١٥/١١/٢٠٢٦",
            "２０２６-１１-１５",
        ]
    ),
    JUNK,
)


def ids(*picks: Callable[[Objects], int]) -> Strategy:
    """Ids of the request's objects (in or out of scope), unknown and impossible ids, or junk."""
    return lambda o: st.one_of(
        st.sampled_from([str(pick(o)) for pick in picks]),
        st.sampled_from(UNKNOWN_IDS).map(str),
        JUNK,
    )


def numbers(o: Objects) -> st.SearchStrategy[str]:
    """Offsets and page numbers: the next page, far past the end, negative, huge, junk."""
    return NUMBERS


def days(o: Objects) -> st.SearchStrategy[str]:
    """A day in any format, impossible days, years 1 and 9999, or junk."""
    return DAYS


def one_of(*values: str) -> Strategy:
    """A parameter with a closed set of values: one of them or junk."""
    return lambda o: st.one_of(st.sampled_from(values), JUNK)


def text(o: Objects) -> st.SearchStrategy[str]:
    """Free text (a search box, a name): anything."""
    return st.one_of(JUNK, st.text(min_size=1, max_size=120))


def paths(o: Objects) -> st.SearchStrategy[str]:
    """A `next=` address: local, other sites, tricks."""
    return st.one_of(
        st.sampled_from(
            ["/", "/worklist", "//evil.example", "https://evil.example/", "/\\evil", "/%0d%0a"]
        ),
        JUNK,
    )


COMMUNE = ids(lambda o: o.commune, lambda o: o.other_commune, lambda o: o.home_commune)
VILLAGE = ids(lambda o: o.village, lambda o: o.other_village)
UNIT = ids(lambda o: o.commune, lambda o: o.village, lambda o: o.home_commune)
CANVASSER = ids(lambda o: o.canvasser, lambda o: o.other_canvasser)
CAMPAIGN = ids(lambda o: o.campaign)
PERSON = ids(lambda o: o.person)
AUDIT_FILTERS = {
    "from": days,
    "to": days,
    "action": one_of("login", "login_failed", "view_household", "import.commit"),
    "object_type": one_of("household", "person", "user", "campaign"),
    "user": text,
    "object_id": text,
    "ip": one_of("127.0.0.1", "::1", "10.0.0.1"),
}
RANKING = {
    "campaign": CAMPAIGN,
    "date": days,
    "level": one_of("commune", "village", "province"),
    "commune": COMMUNE,
}
NONE: dict[str, Strategy] = {}


def period_keys(o: Objects) -> st.SearchStrategy[str]:
    """A period's key (2026-11-15): the world's, impossible ones, junk."""
    return st.one_of(
        st.sampled_from([o.period_key, o.draft_key, "2026-11-01", "2026-02-30", "2026-13-15"]),
        st.sampled_from(["0001-01-15", "9999-12-30", "0-0-0", "2026-11", "1_0-1-1"]),
        DAYS,
    )


# Every GET route (endpoint) and the query parameters its view reads. A new route fails
# test_every_get_route_is_described until it is here; a parameter a view reads and this does
# not name fails test_every_parameter_a_view_reads_is_described.
PARAMS: dict[str, dict[str, Strategy]] = {
    "home.index": NONE,
    "auth.login": {"next": paths},  # read by the POST; the GET form must survive it too
    "account.password": NONE,
    "pwa.manifest": NONE,
    "pwa.service_worker": NONE,
    "pwa.offline": NONE,
    "pwa.outbox": NONE,
    "pwa.session_info": NONE,
    "pwa.offline_pages": NONE,
    "api.openapi": NONE,
    "households.show": NONE,
    "visits.new": NONE,
    "calculator.index": {
        "person": PERSON,
        "income": one_of("2000000", "1.500.000", "5,000,000", "3 triệu", "1500000000"),
        "group": one_of("poor", "near_poor", "ethnic_minority", "other"),
        "island": one_of("1", "on"),
        "day": days,
    },
    "worklist.show": {
        "canvasser": CANVASSER,
        "offset": numbers,
        "village": VILLAGE,
        "reason": one_of(*(reason.value for reason in Reason)),
        "q": text,
    },
    "worklist.canvassers": NONE,
    "dashboard.show": {
        "unit": UNIT,
        "campaign": CAMPAIGN,
        "by": one_of("village", "canvasser", "commune"),
        "sort": one_of(*SORTS),
        "dir": one_of("asc", "desc"),
    },
    "dashboard.list_page": {
        "kind": one_of("never_visited", "overdue"),
        "unit": UNIT,
        "offset": numbers,
    },
    "dashboard.cell_page": {
        "metric": one_of(*METRICS),
        "unit": UNIT,
        "campaign": CAMPAIGN,
        "village": lambda o: st.one_of(st.just("other"), VILLAGE(o)),
        "canvasser": CANVASSER,
        "offset": numbers,
    },
    "leader.assign": {"commune": COMMUNE, "village": VILLAGE},
    "leader.review_list": {"from": days, "to": days},
    "leader.promises": NONE,
    "pwa.offline_search": NONE,
    "teams.index": NONE,
    "teams.new": {"commune": COMMUNE},
    "teams.edit": NONE,
    "corrections.household": NONE,
    "corrections.leader_list": NONE,
    "corrections.export": {"status": one_of("pending", "approved", "all", "x")},
    "leader.retention": NONE,
    "leader.meetings_page": NONE,
    "targets.index": {"campaign": CAMPAIGN, "commune": COMMUNE, "unit": UNIT},
    "rankings.show": RANKING,
    "rankings.workbook": RANKING,
    "admin.users": {
        "role": one_of(*(role.value for role in Role)),
        "status": one_of("active", "inactive"),
        "q": text,
        "page": numbers,
    },
    "admin.new_user": NONE,
    "admin.edit_user": NONE,
    "admin.campaigns_index": NONE,
    "admin.new_campaign": NONE,
    "admin.edit_campaign": NONE,
    "admin.campaign_targets": NONE,
    "admin.villages_index": {"commune": COMMUNE},
    "admin.show_village": NONE,
    "audit.index": {**AUDIT_FILTERS, "before": numbers},
    "exports.show": NONE,
    "exports.file": NONE,
    "imports.index": NONE,
    "imports.show": NONE,
    "imports.errors": NONE,
    "summaries.index": {"period": period_keys},  # the national figures' half-month
    "summaries.period": NONE,
    "summaries.version": NONE,
    "summaries.pdf": NONE,
    "summaries.csv": NONE,
    "summaries.national_pdf": {"period": period_keys},
}
# Path parts that are not ids: drawn like a query parameter.
PATH_PARAMS: dict[str, Strategy] = {"key": period_keys}

# ---- the crawl ---------------------------------------------------------------------------------

GET_ENTRIES = [entry for entry in MATRIX if entry.method == "GET"]
# Examples per route × role × scope: most where a view reads parameters; a route that reads none
# only gets unknown parameters and ids in its path, a role it refuses (403, the login page) reads
# nothing at all. About 1,300 examples, two requests each (the page and its fragment).
EXAMPLES = {"parameters": 10, "plain": 3, "refused": 2}
VIETNAMESE = re.compile(
    "[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]", re.IGNORECASE
)
READS: dict[str, set[str]] = defaultdict(set)  # endpoint -> query parameters its view read


class _RecordingArgs(ImmutableMultiDict):
    """The request's arguments, noting every name a view asks for (into READS)."""

    endpoint = ""

    def _note(self, key):
        if isinstance(key, str):
            READS[self.endpoint].add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict's own signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


@pytest.fixture(scope="module")
def crawl_app(shared_app):
    """The module's app, recording which arguments each view reads (set up before any request)."""
    from flask import request

    @shared_app.before_request
    def _record_reads():
        recording = _RecordingArgs(request.args.items(multi=True))
        recording.endpoint = request.endpoint or ""
        request.args = recording

    return shared_app


@pytest.fixture(scope="module")
def clients(crawl_app):
    """One client per role on the module's app, logged in once."""
    cache: dict = {}

    def get(role: str):
        if role not in cache:
            cache[role] = logged_in(crawl_app, role)
        return cache[role]

    return get


def _get_routes(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in EXCLUDED
    }


def test_every_get_route_is_described(shared_app):
    """A new GET route fails here until PARAMS says which parameters its view reads."""
    routes = _get_routes(shared_app)
    assert routes - set(PARAMS) == set(), "GET routes missing from PARAMS in test_crawl.py"
    assert set(PARAMS) - routes == set(), "PARAMS entries naming no GET route"
    assert {entry.endpoint for entry in GET_ENTRIES} == routes


@st.composite
def requests(draw, entry, objects: Objects, adapter) -> tuple[str, list[tuple[str, str]]]:
    """(path, query pairs) for one request to `entry`'s route about these objects."""
    given_path = entry.path(objects)
    path, _, given_query = given_path.partition("?")
    endpoint, view_args = adapter.match(path, method="GET")
    for name, value in view_args.items():
        if isinstance(value, int):
            view_args[name] = draw(st.one_of(st.just(value), st.sampled_from(UNKNOWN_IDS)))
        else:
            view_args[name] = draw(PATH_PARAMS[name](objects))
    defaults = ImmutableMultiDict(parse_qsl(given_query))  # the matrix's own values
    # Half the time every day the page reads is the same one: a window (from, to) that is valid
    # and at the end of the calendar, which neither day alone reaches.
    same_day = draw(st.one_of(st.none(), DAYS))
    pairs: list[tuple[str, str]] = []
    for name, strategy in PARAMS[endpoint].items():
        if strategy is days and same_day is not None:
            pairs.append((name, same_day))
            continue
        valid = defaults.getlist(name)
        values = draw(
            st.one_of(st.just(valid), st.lists(strategy(objects), max_size=3))
            if valid
            else st.lists(strategy(objects), max_size=3)
        )
        pairs += [(name, value) for value in values]
    pairs += draw(st.lists(st.tuples(st.text(min_size=1, max_size=8), JUNK), max_size=2))
    return adapter.build(endpoint, view_args), draw(st.permutations(pairs))


def check_answer(response, endpoint: str | None, *, htmx: bool) -> None:
    """Never a 5xx; a redirect stays on the site; a 4xx is the Vietnamese error page; headers.

    `endpoint` is None when the path matched no route (an id past MAX_ID): a 404 of nobody's.
    """
    status = response.status_code
    assert status < 500, response.get_data()[:1000]
    assert status in (200, 204) or 300 <= status < 500, status
    _check_headers(response)
    if shows_personal_data(endpoint):
        assert response.headers.get("Cache-Control") == PERSONAL_CACHE_CONTROL
    if 300 <= status < 400:
        location = urlsplit(response.headers["Location"])
        assert not location.scheme and not location.netloc, response.headers["Location"]
    elif status >= 400:
        if response.is_json:
            body = response.get_json()
            assert isinstance(body, dict) and body.get("error"), body
        elif status == 401 and htmx:
            assert response.headers["HX-Redirect"].startswith("/login"), response.headers
        else:
            html = response.get_data(as_text=True)
            assert response.mimetype == "text/html", (status, response.mimetype, html[:300])
            assert VIETNAMESE.search(html), html[:300]
            if not htmx:
                assert '<html lang="vi"' in html, html[:300]


def _cases(kind: str):
    """The matrix's (role, in/out) cases of every GET route, of one kind (see EXAMPLES)."""
    for entry in GET_ENTRIES:
        for role, which in entry.cases():
            if role not in entry.allowed or role == ANON:
                case = "refused"
            else:
                case = "parameters" if PARAMS[entry.endpoint] else "plain"
            if case == kind:
                yield pytest.param(entry, role, which, id=f"{entry.endpoint}-{role}-{which}")


CRAWL_SETTINGS = {
    "deadline": None,
    "derandomize": True,  # the same examples on every run and in CI
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


def crawl(entry, role: str, which: str, world, app, clients, data) -> None:
    """One drawn request, asked for the page and for its fragment, and both answers checked."""
    client = clients(role)
    objects = world.objects(role, which)
    adapter = app.url_map.bind("localhost")
    path, query = data.draw(requests(entry, objects, adapter))
    try:
        endpoint = adapter.match(path, method="GET")[0]
    except NotFound:
        endpoint = None
    for htmx in (False, True):
        headers = {"HX-Request": "true"} if htmx else {}
        with client.get(path, query_string=query, headers=headers) as response:
            check_answer(response, endpoint, htmx=htmx)


@pytest.mark.parametrize(("entry", "role", "which"), list(_cases("parameters")))
@settings(max_examples=EXAMPLES["parameters"], **CRAWL_SETTINGS)
@given(data=st.data())
def test_route_survives_any_query(entry, role, which, world, crawl_app, clients, data):
    crawl(entry, role, which, world, crawl_app, clients, data)


@pytest.mark.parametrize(("entry", "role", "which"), list(_cases("plain")))
@settings(max_examples=EXAMPLES["plain"], **CRAWL_SETTINGS)
@given(data=st.data())
def test_route_without_parameters_survives_any_query(
    entry, role, which, world, crawl_app, clients, data
):
    """Routes whose view reads no parameter: unknown ones, and unknown ids in the path."""
    crawl(entry, role, which, world, crawl_app, clients, data)


@pytest.mark.parametrize(("entry", "role", "which"), list(_cases("refused")))
@settings(max_examples=EXAMPLES["refused"], **CRAWL_SETTINGS)
@given(data=st.data())
def test_refused_route_survives_any_query(entry, role, which, world, crawl_app, clients, data):
    """Roles the route is not for (403, the login page): the refusal, whatever is asked."""
    crawl(entry, role, which, world, crawl_app, clients, data)


def test_every_parameter_a_view_reads_is_described():
    """Run after the crawl: a view reading a parameter PARAMS does not name fails here."""
    if not READS:
        pytest.skip("the crawl did not run (a -k selection)")
    undescribed = {
        endpoint: sorted(names - set(PARAMS.get(endpoint, {})))
        for endpoint, names in READS.items()
        if names - set(PARAMS.get(endpoint, {}))
    }
    assert undescribed == {}
