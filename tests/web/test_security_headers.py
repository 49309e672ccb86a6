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
from outreach.models import GeoUnit, ImportBatch, Person
from tests.conftest import login

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


# ---- personal identifiers: masked for every role (DESIGN §9) ------------------------------------
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
    assert "1 hộ cần thăm" in html  # found
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
    # Closing the streamed answer ends its request, as a WSGI server does (the session goes back).
    with login_as("admin").get("/admin/audit/export.csv?action=login_failed") as response:
        body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))[1:]
    cells = [cell for row in rows for cell in row if cell]
    for value in DANGEROUS:
        assert "'" + value in cells
    assert not any(cell[:1] in "=+-@" for cell in cells)
