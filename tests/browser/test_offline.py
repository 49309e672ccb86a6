"""A canvasser without signal: pages from the phone, visits kept in the outbox, sent exactly once.

Chromium's own offline mode (`context.set_offline`) cuts the page and its service worker off the
network; the server is the real one. Visits are counted in the database by their UUIDs.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlmodel import select

from outreach.models import Household, Person, Visit
from outreach.visits.outbox_file import import_outbox
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

CANVASSER = "canbo.09370.1"  # the demo canvasser with the most households (8)


@pytest.fixture
def canvasser_id(user_named) -> int:
    return user_named(CANVASSER).id


def _visits_by(read_db, user_id: int) -> list[str]:
    return read_db(
        lambda s: list(s.exec(select(Visit.client_uuid).where(Visit.canvasser_id == user_id)))
    )


def _households(read_db, user_id: int, count: int) -> list[tuple[int, int]]:
    """(household, its first member) for households on the canvasser's list."""

    def pick(session):
        rows = session.exec(
            select(Household.id, Person.id)
            .join(Person, Person.household_id == Household.id)
            .where(Household.assigned_canvasser_id == user_id, Household.priority_score > 0)
            .order_by(Household.priority_score.desc(), Household.id, Person.id)
        ).all()
        seen: dict[int, int] = {}
        for household_id, person_id in rows:
            seen.setdefault(household_id, person_id)
        return list(seen.items())[:count]

    return read_db(pick)


def _controlled(page: Page) -> None:
    """Wait until the service worker controls the page (polled from here: the page's CSP
    forbids the string evaluation `wait_for_function` polls with)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for _ in range(100):
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            return
        time.sleep(0.05)
    raise AssertionError("the service worker never took control of the page")


def _ready_offline(page: Page) -> None:
    """Log in, let the service worker take control, and save the list for offline use."""
    log_in(page, CANVASSER)
    page.goto("/worklist")
    _controlled(page)
    page.get_by_role("button", name="Tải về để dùng khi mất sóng").tap()
    expect(page.locator("#offline-status")).to_contain_text("Đã tải về", timeout=60_000)


def _record(page: Page, household_id: int, person_id: int) -> None:
    page.goto(f"/households/{household_id}/visits/new")
    page.locator(f"#person-{person_id}").get_by_label("Vắng nhà", exact=True).check()
    page.get_by_role("button", name="Lưu lượt thăm").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"))


def test_five_visits_offline_survive_a_reload_and_are_sent_once(
    page: Page,
    context: BrowserContext,
    live_app,
    read_db,
    canvasser_id,
    console_errors,
    no_horizontal_scroll,
):
    before = set(_visits_by(read_db, canvasser_id))
    _ready_offline(page)
    homes = _households(read_db, canvasser_id, 3)  # on the list (its scores are now computed)
    assert len(homes) == 3
    sent = []
    page.on("request", lambda r: sent.append(r.post_data) if "/api/visits/sync" in r.url else None)

    context.set_offline(True)
    for household_id, person_id in (homes[0], homes[0], homes[1], homes[1], homes[2]):
        _record(page, household_id, person_id)
        expect(page.get_by_text("trên máy; máy sẽ tự gửi khi có sóng")).to_be_visible()
    badge = page.locator("#outbox-badge")
    expect(badge).to_have_text("5 chưa gửi")
    page.reload()  # still offline: the list comes from the phone, the badge from its storage
    expect(page.get_by_role("button", name="Tải về để dùng khi mất sóng")).to_be_visible()
    expect(badge).to_have_text("5 chưa gửi")
    page.goto(f"/households/{homes[2][0]}")
    expect(page.get_by_role("link", name="Ghi lượt thăm")).to_be_visible()
    page.goto("/outbox")  # saved with the list: the five visits, each waiting
    expect(page.locator("#outbox-list li")).to_have_count(5)
    expect(page.locator("#outbox-list")).to_contain_text("Chờ gửi")
    no_horizontal_scroll()
    with page.expect_download() as download:  # the last resort, should the phone never send
        page.get_by_role("button", name="Xuất dữ liệu chưa gửi").tap()
    exported = Path(download.value.path()).read_bytes()
    assert len(json.loads(exported)["visits"]) == 5
    assert set(_visits_by(read_db, canvasser_id)) == before  # nothing reached the server

    # An admin imports the exported file first (`outreach import-outbox`): the five are stored…
    imported = read_db(
        lambda s: import_outbox(
            s, data=exported, today=DEMO_TODAY, secret=live_app.config["SECRET_KEY"]
        )
    )
    assert imported.counts["stored"] == 5
    context.set_offline(False)  # …then the signal returns and the phone sends them too
    expect(badge).to_be_hidden(timeout=20_000)
    after = set(_visits_by(read_db, canvasser_id))
    assert len(after - before) == 5  # each once

    # The same batches sent again (a phone that never heard back) are still five visits.
    token = page.request.get("/session.json").json()["csrf_token"]
    headers = {"Content-Type": "application/json", "X-CSRFToken": token}
    assert sent
    for body in sent:
        answer = page.request.post("/api/visits/sync", data=body, headers=headers).json()
        assert {r["status"] for r in answer["results"]} == {"duplicate"}
    assert set(_visits_by(read_db, canvasser_id)) == after
    assert not [e for e in console_errors if "Failed to fetch" not in e and "ERR_INTERNET" not in e]


def test_a_send_whose_answer_is_lost_is_retried_and_stored_once(
    browser, browser_context_args, read_db, canvasser_id
):
    """The server stores the visit but the phone never hears back (the server stopped mid-answer,
    the signal dropped): the visit stays in the outbox and the next send settles it, once.

    Service workers are blocked here so that the route below sees every request (Playwright does
    not route what a service worker handles); the outbox does not need them.
    """
    context = browser.new_context(**browser_context_args, service_workers="block")
    page = context.new_page()
    try:
        before = set(_visits_by(read_db, canvasser_id))
        log_in(page, CANVASSER)
        ((household_id, person_id),) = _households(read_db, canvasser_id, 1)
        lost = []

        def store_then_drop(route: Route) -> None:
            if lost:  # later sends (the next page's own) find no server at all
                route.abort("connectionrefused")
                return
            route.fetch()  # the first reaches the real server, which stores the visit…
            lost.append(route.request.url)
            route.fulfill(status=502, body="")  # …but the phone gets no answer it can use

        page.route("**/api/visits/sync", store_then_drop)
        _record(page, household_id, person_id)
        expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi")
        assert lost and len(set(_visits_by(read_db, canvasser_id)) - before) == 1

        page.goto("/outbox")
        expect(page.locator("#outbox-list")).to_contain_text("Chờ gửi")
        page.unroute("**/api/visits/sync")  # the server is back
        with page.expect_response("**/api/visits/sync"):
            page.get_by_role("button", name="Gửi ngay").tap()
        expect(page.locator("#outbox-badge")).to_be_hidden()
        expect(page.get_by_text("Không còn lượt thăm nào chờ gửi.")).to_be_visible()
        assert len(set(_visits_by(read_db, canvasser_id)) - before) == 1
    finally:
        context.close()


def test_a_session_lost_offline_keeps_the_outbox_until_login(
    page: Page, context: BrowserContext, read_db, canvasser_id, check_a11y, no_horizontal_scroll
):
    before = set(_visits_by(read_db, canvasser_id))
    _ready_offline(page)
    ((household_id, person_id),) = _households(read_db, canvasser_id, 1)
    context.set_offline(True)
    _record(page, household_id, person_id)
    context.clear_cookies()  # the session ended while the phone had no signal
    context.set_offline(False)
    expect(page.locator("#outbox-login")).to_be_visible(timeout=20_000)
    expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi")
    assert set(_visits_by(read_db, canvasser_id)) == before

    page.get_by_role("link", name="đăng nhập lại").tap()
    page.get_by_label("Tên đăng nhập", exact=True).fill(CANVASSER)
    page.get_by_label("Mật khẩu", exact=True).fill("Demo@2026")
    with page.expect_response("**/api/visits/sync", timeout=20_000):  # the first page sends
        page.get_by_role("button", name="Đăng nhập", exact=True).tap()
    expect(page.locator("#outbox-badge")).to_be_hidden()
    assert len(set(_visits_by(read_db, canvasser_id)) - before) == 1
    page.goto("/outbox")
    expect(page.get_by_text("Không còn lượt thăm nào chờ gửi.")).to_be_visible()
    check_a11y("outbox page")
    no_horizontal_scroll()


def test_the_app_installs_manifest_icons_and_worker(page: Page):
    page.goto("/login")
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).headers["content-type"] == "image/png"
    _controlled(page)


def test_a_conflict_and_a_password_to_change_keep_the_visits_and_say_why(
    browser, browser_context_args, read_db, user_named
):
    """Issue 19 #17 and #18: a visit whose UUID the server holds with other content is kept,
    with the server's message, never dropped as stored; a password to change is said (JSON 403),
    not taken for "no signal", and the visits wait for it."""
    username = "canbo.09370.2"  # no other journey logs in as this canvasser
    me = user_named(username)
    context = browser.new_context(**browser_context_args, service_workers="block")
    page = context.new_page()

    def set_password_change(value: bool) -> None:
        def update(session):
            user = session.get(type(me), me.id)
            user.must_change_password = value
            session.add(user)
            session.commit()

        read_db(update)

    def household(session):
        return session.exec(
            select(Household.id, Person.id)
            .join(Person, Person.household_id == Household.id)
            .where(Household.commune_id == me.scope_unit_id)
            .order_by(Household.id, Person.id)
        ).first()

    household_id, person_id = read_db(household)

    def visit(note: str, key: str | None = None) -> dict:
        return {
            "client_uuid": key or str(uuid.uuid4()),
            "household_id": household_id,
            "channel": "home",
            "visited_at": datetime.now(UTC).isoformat(),
            "outcomes": [{"person_id": person_id, "outcome": "not_home"}],
            "note": note,
        }

    def outbox() -> dict:
        rows = page.evaluate("Outbox.all()")
        return {row["client_uuid"]: row for row in rows}

    try:
        log_in(page, username)
        page.goto("/worklist")
        assert page.evaluate("Outbox.send()") == "sent"  # the page's own send, over
        stored = visit("Lần đầu")
        token = page.request.get("/session.json").json()["csrf_token"]
        answer = page.request.post(
            "/api/visits/sync",
            data=json.dumps({"visits": [stored]}),
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        ).json()
        assert answer["stored"] == 1

        # The same UUID with another note: the server says "conflict", the phone keeps it.
        other = visit("Sửa lại sau khi đã gửi", key=stored["client_uuid"])
        status = page.evaluate("v => Outbox.add(v, 'Hộ thử').then(() => Outbox.send())", other)
        assert status == "sent"
        row = outbox()[other["client_uuid"]]
        assert row["state"] == "conflict" and row["visit"]["note"] == other["note"]
        assert "vẫn được giữ trên máy" in row["errors"]["client_uuid"]
        expect(page.locator("#outbox-badge")).to_have_text("1 bị từ chối")
        page.goto("/outbox")
        expect(page.locator("#outbox-list")).to_contain_text("nội dung khác")
        page.get_by_role("button", name="Gửi ngay").tap()
        assert page.evaluate("Outbox.send()") == "sent"  # the send the tap started, once over
        expect(page.locator("#outbox-list li")).to_have_count(1)
        assert outbox()[other["client_uuid"]]["state"] == "conflict"
        notes = read_db(
            lambda s: list(
                s.exec(select(Visit.note).where(Visit.client_uuid == stored["client_uuid"]))
            )
        )
        assert notes == ["Lần đầu"]

        # An admin reset the password meanwhile: every page leads to the password form, and the
        # outbox there says why it cannot send, keeping the visit.
        waiting = visit("Chờ đổi mật khẩu")
        page.evaluate("v => Outbox.add(v, 'Hộ thử')", waiting)
        set_password_change(True)
        with page.expect_response("**/api/visits/sync") as response:
            page.goto("/worklist")
        assert response.value.status == 403
        expect(page).to_have_url(re.compile(r"/account/password$"))
        hint = page.locator("#outbox-password")
        expect(hint).to_be_visible()
        expect(hint).to_contain_text("đổi mật khẩu")
        expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi")
        assert outbox()[waiting["client_uuid"]]["state"] == "pending"
        assert not read_db(
            lambda s: s.exec(
                select(Visit).where(Visit.client_uuid == waiting["client_uuid"])
            ).first()
        )

        set_password_change(False)  # changed: the next send goes through
        assert page.evaluate("Outbox.send()") == "sent"
        expect(hint).to_be_hidden()
        assert waiting["client_uuid"] not in outbox()
        assert read_db(
            lambda s: s.exec(
                select(Visit).where(Visit.client_uuid == waiting["client_uuid"])
            ).first()
        )
    finally:
        set_password_change(False)
        context.close()
