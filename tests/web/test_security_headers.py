"""Security headers on every kind of answer, the session cookie's flags, and the idle timeout."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
import time
import zipfile
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlmodel import select

from outreach import create_app
from outreach.core.audit import record_event
from outreach.imports.batches import errors_workbook
from outreach.imports.reading.rows import RowError
from outreach.models import GeoUnit, Household, ImportBatch, Person, User
from outreach.web.extensions import (
    PERSONAL_DATA_BLUEPRINTS,
    PERSONAL_DATA_ENDPOINTS,
    shows_personal_data,
)
from tests.conftest import csrf_token, login
from tests.workers import jobs_settled, worker_threads

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _check_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.request.path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in (d.strip() for d in csp.split(";")) if part
    )
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp and directives["object-src"] == "'none'"
    assert directives["default-src"] == "'self'"


ANSWERS = [
    ("/worklist", {}, 200, "text/html"),  # an HTML page
    ("/worklist", {"HX-Request": "true"}, 200, "text/html"),  # the fragment htmx swaps
    ("/session.json", {}, 200, "application/json"),  # a JSON answer
    ("/api/openapi.json", {}, 200, "application/json"),
    ("/households/999999999", {}, 404, "text/html"),  # an error page
    ("/admin/users", {}, 403, "text/html"),
    ("/static/css/app.css", {}, 200, "text/css"),  # a static file
    ("/static/js/app.js", {}, 200, "text/javascript"),
]


def test_every_kind_of_answer_has_the_headers_and_no_page_inline_script(app, login_as):
    client = login_as("canbo.07210.1")
    for path, headers, status, kind in ANSWERS:
        response = client.get(path, headers=headers)
        assert (response.status_code, response.mimetype) == (status, kind), path
        _check_headers(response)
    admin = app.test_client()
    login(admin, "admin")
    for path in ("/admin/audit", "/admin/users", "/dashboard", "/worklist"):
        html = (
            (admin if path.startswith(("/admin", "/dash")) else client)
            .get(path)
            .get_data(as_text=True)
        )
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=\"", html), path  # no onclick= handlers either


def test_the_login_page_and_a_500_have_the_headers_too(app):
    @app.get("/__boom")
    def _boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    _check_headers(client.get("/login"))
    response = client.get("/__boom")
    assert response.status_code == 500 and "Hệ thống gặp sự cố" in response.get_data(as_text=True)
    _check_headers(response)


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_the_cookie_is_secure_when_behind_tls(db_url, monkeypatch):
    monkeypatch.setenv("OUTREACH_SECURE_COOKIES", "1")
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "RATELIMIT_ENABLED": False,
        }
    )
    try:
        client = app.test_client()
        cookie = _session_cookie(login(client, "admin"))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        # The "remember me" cookie gets the same flags.
        assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
    finally:
        app.extensions["engine"].dispose()


@pytest.fixture
def clock(monkeypatch):
    """Move the clock the signed session cookie is checked against (no sleeping for hours)."""
    offset = {"seconds": 0}
    real = time.time
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(real()) + offset["seconds"]
    )

    def advance(delta: timedelta) -> None:
        offset["seconds"] += int(delta.total_seconds())

    return advance


def test_the_session_cookie_flags_and_the_idle_timeout(app, client, clock):
    cookie = _session_cookie(login(client, "canbo.07210.1"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development unless told otherwise
    assert "Expires=" in cookie  # a permanent session: the browser drops it too
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert lifetime == timedelta(hours=2)
    for _ in range(3):  # six hours of work, never two hours idle: still logged in
        clock(lifetime - timedelta(minutes=5))
        assert client.get("/worklist").status_code == 200
    clock(lifetime + timedelta(minutes=1))  # then more than two hours without a request
    response = client.get("/worklist")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_idle_limit_comes_from_the_environment(monkeypatch, db_url):
    monkeypatch.setenv("OUTREACH_SESSION_MINUTES", "30")
    from outreach import config

    assert config.from_environment()["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)


# ---- caching: pages with personal data are private, no-store; files and aggregates are not -------
#
# A shared phone's next user must find nothing of the last one's in the browser's or a proxy's
# cache (the back button, the disk cache). The service worker keeps its own offline copies per
# user whatever this header says (tests/browser/test_shared_phone.py).

PERSONAL = "private, no-store"
# Every route that is not personal, and why; a new route must be added here or to
# PERSONAL_DATA_BLUEPRINTS / PERSONAL_DATA_ENDPOINTS in outreach/web/extensions.py.
IMPERSONAL = {
    "static": "the app's CSS, scripts and icons",
    "pwa.service_worker": "the worker's script (no-cache: checked on every load)",
    "pwa.manifest": "the app's name and icons",
    "pwa.offline": "the page shown without signal; kept by the worker without cookies",
    "api.openapi": "the sync API's contract",
    "auth.login": "the login form",
    "auth.logout": "a redirect to the login form",
    "prefs.set_language": "a redirect back",
    "summaries.index": "published summaries: aggregates, read by the media",
    "summaries.period": "aggregates",
    "summaries.version": "aggregates",
    "summaries.pdf": "aggregates",
    "summaries.csv": "aggregates",
    "summaries.national_pdf": "aggregates (the national bulletin)",
    "summaries.draft": "aggregates",
    "summaries.publish": "aggregates",
    "summaries.deliver": "a redirect to the period's page",
    "home.dismiss": "a redirect home",
    "rankings.show": "communes ranked by their figures",
    "rankings.workbook": "the same, as a spreadsheet",
    "targets.index": "each commune's target",
    "targets.save": "the same",
    "targets.upload": "the same",
    "admin.campaigns_index": "campaigns: names and dates",
    "admin.new_campaign": "the same",
    "admin.edit_campaign": "the same",
    "admin.campaign_targets": "each commune's target",
    "admin.villages_index": "villages and their household counts",
    "admin.show_village": "a village: its name and household count",
    "admin.rename_village": "the same",
    "admin.move_village": "the same",
    "admin.merge_villages": "the same",
}


def test_every_route_is_classified_as_personal_or_not(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    personal = {endpoint for endpoint in endpoints if shows_personal_data(endpoint)}
    assert not personal & set(IMPERSONAL)
    unclassified = endpoints - personal - set(IMPERSONAL)
    assert not unclassified, f"personal data or not? {sorted(unclassified)}"
    # No stale name in either list.
    assert set(IMPERSONAL).issubset(endpoints) and PERSONAL_DATA_ENDPOINTS.issubset(endpoints)
    assert PERSONAL_DATA_BLUEPRINTS.issubset({endpoint.partition(".")[0] for endpoint in endpoints})
    for endpoint in ("households.show", "worklist.show", "visits.new", "dashboard.list_page"):
        assert endpoint in personal


@pytest.fixture
def samples(session):
    """Ids the personal pages below name: all in commune 07210 (the users' own)."""
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    household = session.exec(
        select(Household).where(Household.commune_id == commune.id).order_by(Household.id)
    ).first()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    user = session.exec(select(User).where(User.username == "canbo.07210.2")).one()
    batch = session.exec(select(ImportBatch.id)).first() or 1
    return {"household": household.id, "person": person.id, "user": user.id, "batch": batch}


# (who asks, the page, htmx?) for every GET route showing personal data.
PERSONAL_PAGES = [
    ("canbo.07210.1", "/worklist", False),
    ("canbo.07210.1", "/worklist?offset=30", True),  # the list's next page, as htmx asks
    ("canbo.07210.1", "/households/{household}", False),
    ("canbo.07210.1", "/households/{household}", True),
    ("canbo.07210.1", "/households/999999", False),  # the 404 of such a route too
    ("canbo.07210.1", "/households/{household}/visits/new", False),
    ("canbo.07210.1", "/households/{household}/corrections", False),
    ("canbo.07210.1", "/calculator?person={person}", False),
    ("canbo.07210.1", "/outbox", False),
    ("canbo.07210.1", "/session.json", False),
    ("canbo.07210.1", "/offline/pages.json", False),
    ("canbo.07210.1", "/offline/search", False),
    ("canbo.07210.1", "/account/password", False),
    ("lanhdao.07210", "/", False),
    ("lanhdao.07210", "/worklist/canvassers", False),
    ("lanhdao.07210", "/dashboard", False),
    ("lanhdao.07210", "/dashboard", True),
    ("lanhdao.07210", "/dashboard/list?kind=never_visited", False),
    ("lanhdao.07210", "{cell}", False),  # the list behind a figure of the dashboard
    ("lanhdao.07210", "/leader/assign", False),
    ("lanhdao.07210", "/leader/review", False),
    ("lanhdao.07210", "/leader/promises", False),
    ("lanhdao.07210", "/leader/corrections", False),
    ("lanhdao.07210", "/leader/corrections/export.xlsx", False),
    ("lanhdao.07210", "/teams", False),
    ("lanhdao.07210", "/teams/new", False),
    ("lanhdao.07210", "/teams/999999", False),  # the 404 of such a route too
    ("lanhdao.07210", "/leader/retention", False),
    ("lanhdao.07210", "/leader/meetings", False),
    ("admin", "/admin/audit", False),
    ("admin", "/exports/999999", False),  # an export's page (its 404 here) …
    ("admin", "/exports/999999/file", False),  # … and its file
    ("admin", "/admin/users", False),
    ("admin", "/admin/users/new", False),
    ("admin", "/admin/users/{user}", False),
    ("admin", "/imports", False),
    ("admin", "/imports/{batch}", False),
    ("admin", "/imports/{batch}/errors.xlsx", False),
]


def test_pages_with_personal_data_are_private_and_never_stored(app, samples):
    clients: dict[str, object] = {}
    seen = set()
    adapter = app.url_map.bind("localhost")
    for username, template, htmx in PERSONAL_PAGES:
        if username not in clients:
            clients[username] = app.test_client()
            login(clients[username], username)
        client = clients[username]
        if template == "{cell}":
            dashboard = client.get("/dashboard").get_data(as_text=True)
            template = html_lib.unescape(
                re.search(r'href="(/dashboard/cell\?[^"]+)"', dashboard)[1]
            )
        path = template.format(**samples)
        with client.get(path, headers={"HX-Request": "true"} if htmx else {}) as response:
            assert response.status_code in (200, 404), (path, response.status_code)
            assert response.status_code == 200 or "999999" in path or "imports" in path, path
            assert response.headers["Cache-Control"] == PERSONAL, path
        seen.add(adapter.match(path.split("?")[0])[0])
    personal_pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and shows_personal_data(rule.endpoint)
    }
    assert personal_pages <= seen, sorted(personal_pages - seen)


def test_answers_to_personal_forms_and_the_sync_api_are_private_too(app, login_as, samples):
    client = login_as("canbo.07210.1")
    token = csrf_token(client, "/worklist")
    household = samples["household"]
    form = client.post(f"/households/{household}/visits", data={"csrf_token": token})
    assert form.status_code == 400 and form.headers["Cache-Control"] == PERSONAL  # errors shown
    sync = client.post("/api/visits/sync", json={"visits": []}, headers={"X-CSRFToken": token})
    assert sync.headers["Cache-Control"] == PERSONAL


def test_files_and_aggregates_may_be_cached(app, login_as):
    client = login_as("lanhdao.tinh")
    for path in (
        "/static/css/app.css",
        "/static/js/app.js",
        "/static/icons/icon-192.png",
        "/sw.js",
        "/manifest.webmanifest",
        "/offline",
        "/api/openapi.json",
        "/rankings",
        "/targets",
    ):
        with client.get(path) as response:
            assert response.status_code == 200, path
            cache_control = response.headers.get("Cache-Control", "")
            assert "no-store" not in cache_control and "private" not in cache_control, path
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "no-cache"  # revalidated
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert "Cache-Control" not in app.test_client().get("/login").headers
    media = app.test_client()
    login(media, "baochi")
    summaries = media.get("/summaries")
    assert summaries.status_code == 200
    assert "no-store" not in summaries.headers.get("Cache-Control", "")


# ---- personal identifiers: masked for every role (brief §9) ------------------------------------
#
# The policy found in the code: no page shows a full CCCD or BHXH number to any role. Canvassers,
# leaders and admins see the last four digits on the household page (templates/households/
# _members.html, mask_identifier); media never reach a person. A canvasser can still find a person
# by typing a full number into the worklist search, which matches without displaying it.


def _identifiers(session, commune_id: int | None = None) -> list[tuple[str, str]]:
    stmt = select(Person.bhxh_number, Person.citizen_id, Person.household_id)
    if commune_id is not None:
        stmt = stmt.where(Person.commune_id == commune_id)
    return list(session.exec(stmt))


def _assert_masked(html: str, people, *, where: str) -> int:
    """No full number in the page; returns how many masked ones (last 4 digits) it shows."""
    shown = 0
    for bhxh, cccd, _household in people:
        for number in (bhxh, cccd):
            if number:
                assert number not in html, (where, number)
                shown += ("•" * (len(number) - 4) + number[-4:]) in html
    return shown


def test_the_household_page_masks_identifiers_for_every_role(app, session):
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    people = _identifiers(session, commune.id)
    households = sorted({h for _b, _c, h in people})[:4]
    for username in ("canbo.07210.1", "lanhdao.07210", "lanhdao.tinh", "admin"):
        client = app.test_client()
        login(client, username)
        shown = 0
        for household_id in households:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(f"/households/{household_id}", headers=headers)
                assert response.status_code == 200
                mine = [p for p in people if p[2] == household_id]
                shown += _assert_masked(response.get_data(as_text=True), mine, where=household_id)
        assert shown > 0, username  # the masked form is there: the check looked at the right place


LISTS = {
    "canbo.07210.1": ["/worklist", "/worklist?q=a", "/offline/pages.json"],
    "lanhdao.07210": [
        "/dashboard",
        "/dashboard/list?kind=never_visited",
        "/dashboard/list?kind=overdue",
        "/leader/review",
        "/leader/promises",
    ],
    "admin": ["/dashboard/list?kind=never_visited", "/admin/audit"],
}


def test_lists_never_show_a_full_number(app, session):
    people = _identifiers(session)
    for username, paths in LISTS.items():
        client = app.test_client()
        login(client, username)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            _assert_masked(response.get_data(as_text=True), people, where=path)


def test_a_full_number_typed_in_the_search_is_not_echoed_in_the_results(login_as, session):
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    bhxh = next(b for b, _c, _h in _identifiers(session, commune.id) if b)
    html = login_as("canbo.07210.1").get(f"/worklist?q={bhxh}").get_data(as_text=True)
    assert "1 hộ khớp" in html  # found
    # The search box and the filter links keep what was typed (the user knows it already);
    # nothing else in the page may carry the number.
    echoed = html.replace(f'value="{bhxh}"', "").replace(f"q={bhxh}", "")
    assert bhxh not in echoed


def test_media_reach_no_person_at_all(login_as, session):
    household_id = _identifiers(session)[0][2]
    client = login_as("baochi")
    for path in (f"/households/{household_id}", "/worklist", "/dashboard/list?kind=never_visited"):
        assert client.get(path).status_code == 403, path


# ---- exports: a cell starting with = + - @ is text, never a formula -------------------------------

DANGEROUS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]


def _sheet_cells(body: bytes) -> tuple[str, list[str]]:
    """The first sheet's XML and every string it shows (shared or inline)."""
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        shared = (
            book.read("xl/sharedStrings.xml").decode()
            if "xl/sharedStrings.xml" in book.namelist()
            else ""
        )
    strings = [html_lib.unescape(s) for s in re.findall(r"<t[^>]*>([^<]*)</t>", shared + sheet)]
    return sheet, strings


def _assert_text_not_formula(body: bytes, values: list[str]) -> None:
    sheet, strings = _sheet_cells(body)
    assert "<f>" not in sheet and "<f " not in sheet  # no formula cell at all
    for value in values:
        assert "'" + value in strings, value
    assert not any(s and s[0] in "=+-@" for s in strings)


def test_the_rankings_sheet_writes_formula_like_names_as_text(login_as, session):
    communes = session.exec(
        select(GeoUnit).where(GeoUnit.kind == "commune").order_by(GeoUnit.id).limit(len(DANGEROUS))
    ).all()
    for commune, name in zip(communes, DANGEROUS, strict=True):
        commune.name = name
    session.commit()
    response = login_as("lanhdao.tinh").get("/rankings.xlsx?date=22/11/2026")
    assert response.status_code == 200
    _assert_text_not_formula(response.data, DANGEROUS)


def test_the_import_error_sheet_writes_formula_like_cells_as_text():
    errors = [RowError(7 + n, value, value) for n, value in enumerate(DANGEROUS)]
    body = errors_workbook(ImportBatch(filename="=ds.csv", kind="participants"), errors)
    _assert_text_not_formula(body, DANGEROUS)


def test_the_audit_export_writes_formula_like_cells_as_text(login_as, session):
    for value in DANGEROUS:
        record_event(session, action="login_failed", username=value[:80], object_id=value[:40])
    session.commit()
    admin = login_as("admin")
    token = csrf_token(admin, "/admin/audit")
    with worker_threads(admin.application):  # a worker writes the export (outreach/exports/)
        admin.post("/exports/audit-log?action=login_failed", data={"csrf_token": token})
        (job,) = jobs_settled(admin.application)
    # Closing the streamed answer ends its request, as a WSGI server does (the session goes back).
    with admin.get(f"/exports/{job.id}/file") as response:
        body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))[1:]
    cells = [cell for row in rows for cell in row if cell]
    for value in DANGEROUS:
        assert "'" + value in cells
    assert not any(cell[:1] in "=+-@" for cell in cells)
