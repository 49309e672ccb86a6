"""Without signal, the list's search looks through the downloaded households (a name typed
without accents, a CCCD number), and the list and tally show the visits waiting in the outbox."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import func
from sqlmodel import select

from outreach.core.text import fold
from outreach.models import Household, Person, User, Visit
from tests.browser.test_login_journeys import log_in
from tests.browser.test_offline import _controlled


def _canvasser(read_db, skip: set[str]) -> User:
    """A canvasser with three or more households whom no other offline test uses."""

    def pick(s):
        counts = s.exec(
            select(Household.assigned_canvasser_id, func.count())
            .where(Household.assigned_canvasser_id.is_not(None))
            .group_by(Household.assigned_canvasser_id)
            .having(func.count() >= 3)
            .order_by(Household.assigned_canvasser_id.desc())
        ).all()
        for user_id, _n in counts:
            user = s.get(User, user_id)
            if user.username not in skip and not user.username.startswith("canbo.07210."):
                return user
        raise AssertionError("no canvasser to use")

    return read_db(pick)


def _listed_person(read_db, user_id: int):
    """One of the canvasser's listed households, with a member whose name has accents and who
    has a CCCD number."""

    def pick(s):
        for h in s.exec(
            select(Household)
            .where(Household.assigned_canvasser_id == user_id, Household.priority_score > 0)
            .order_by(Household.priority_score.desc(), Household.id)
        ):
            for person in s.exec(select(Person).where(Person.household_id == h.id)):
                if person.citizen_id and fold(person.full_name) != person.full_name.lower():
                    return h, person
        raise AssertionError("no household to look for")

    return read_db(pick)


def test_search_and_the_outbox_without_signal(page: Page, context: BrowserContext, read_db):
    me = _canvasser(read_db, {"canbo.09370.1"})
    log_in(page, me.username)
    page.goto("/worklist")
    _controlled(page)
    page.get_by_role("button", name="Tải về để dùng khi mất sóng").tap()
    expect(page.locator("#offline-status")).to_contain_text("Đã tải về", timeout=60_000)
    household, person = _listed_person(read_db, me.id)
    # The phone keeps no identifier in clear: only hashes.
    index = page.request.get("/offline/search").text()
    assert person.citizen_id not in index

    context.set_offline(True)
    page.reload()
    search = page.get_by_role("searchbox")
    search.fill(fold(person.full_name).upper())
    page.get_by_role("button", name="Tìm", exact=True).tap()
    expect(page.locator("#worklist h2")).to_contain_text("tìm trên máy", timeout=15000)
    expect(page.locator(f"#worklist #hh-{household.id}")).to_be_visible()
    search.fill(person.citizen_id)
    page.get_by_role("button", name="Tìm", exact=True).tap()
    expect(page.locator("#worklist .wl-row")).to_have_count(1, timeout=15000)
    expect(page.locator(f"#worklist #hh-{household.id}")).to_be_visible()

    # A visit recorded offline: the list marks the household and the tally counts it.
    before = read_db(lambda s: len(s.exec(select(Visit).where(Visit.canvasser_id == me.id)).all()))
    page.goto(f"/households/{household.id}/visits/new")
    page.get_by_role("button", name="Không ai ở nhà").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=15000)
    expect(page.get_by_text("trên máy; máy sẽ tự gửi khi có sóng")).to_be_visible()
    expect(page.locator(f"#hh-{household.id} .chip-outbox")).to_have_text("Đã ghi, chờ gửi")
    expect(page.locator(".outbox-tally")).to_have_text(" · 1 chờ gửi")
    # The household's page, from the phone, tells it too.
    page.goto(f"/households/{household.id}")
    waiting = page.locator("#waiting-visits .waiting")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("chưa gửi, đang ở trên máy")
    expect(waiting).to_contain_text("Không ai ở nhà")
    after = read_db(lambda s: len(s.exec(select(Visit).where(Visit.canvasser_id == me.id)).all()))
    assert after == before
