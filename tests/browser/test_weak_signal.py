"""Weak signal never freezes "Lưu": a sync that gets no answer in a few seconds leaves the visit in
the outbox with the offline message; sent again later, it is stored once. A busy server (503 with
a JSON error, as while a long import holds the SQLite database) keeps the visit on the phone too."""

from __future__ import annotations

import contextlib
import re
import time

from playwright.sync_api import Page, Route, expect
from sqlmodel import select

from outreach.models import Visit
from tests.browser.test_login_journeys import log_in
from tests.browser.test_offline_search import _canvasser, _listed_person


def _visits(read_db, household_id: int) -> int:
    return len(
        read_db(lambda s: s.exec(select(Visit).where(Visit.household_id == household_id)).all())
    )


def test_a_hanging_sync_goes_to_the_outbox_and_is_stored_once(page: Page, read_db):
    me = _canvasser(read_db, {"canbo.09370.1"})
    log_in(page, me.username)
    household, _person = _listed_person(read_db, me.id)
    before = _visits(read_db, household.id)
    held: list[Route] = []

    def stored_but_silent(route: Route) -> None:
        route.fetch()  # the server stores the visit; its answer never reaches the phone
        held.append(route)

    page.route("**/api/visits/sync", stored_but_silent)
    page.goto(f"/households/{household.id}/visits/new")
    started = time.monotonic()
    page.get_by_role("button", name="Không ai ở nhà").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=20000)
    expect(page.get_by_text("trên máy; máy sẽ tự gửi khi có sóng")).to_be_visible()
    assert time.monotonic() - started < 15
    expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi")
    assert _visits(read_db, household.id) == before + 1  # it did arrive

    page.unroute("**/api/visits/sync")
    for route in held:
        with contextlib.suppress(Exception):  # the page gave up on it already
            route.abort()
    page.goto("/outbox")
    page.get_by_role("button", name="Gửi ngay").tap()
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=20000)
    assert _visits(read_db, household.id) == before + 1  # once


def test_a_busy_server_keeps_the_visit_on_the_phone(page: Page, read_db):
    me = _canvasser(read_db, {"canbo.09370.1"})
    log_in(page, me.username)
    household, _person = _listed_person(read_db, me.id)
    before = _visits(read_db, household.id)
    page.route(
        "**/api/visits/sync",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": "Máy chủ đang bận nhập danh sách, hãy thử lại sau ít phút."}',
        ),
    )
    page.goto(f"/households/{household.id}/visits/new")
    page.get_by_role("button", name="Không ai ở nhà").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=20000)
    expect(page.get_by_text("trên máy; máy sẽ tự gửi khi có sóng")).to_be_visible()
    expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi")
    assert _visits(read_db, household.id) == before
    page.unroute("**/api/visits/sync")
    page.goto("/outbox")
    page.get_by_role("button", name="Gửi ngay").tap()
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=20000)
    assert _visits(read_db, household.id) == before + 1
