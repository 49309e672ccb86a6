"""The worklist's first screen is work, on a 360×740 phone: the first household shows without
scrolling, and a search by a name typed without accents finds a household that is not due."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.core.text import fold
from outreach.models import Household, Person, User
from tests.browser.conftest import VIEWPORT
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def test_the_first_household_is_on_the_first_screen(page: Page, live_app, monkeypatch, read_db):
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY.isoformat())
    me = read_db(lambda s: s.exec(select(User).where(User.username == "canbo.07210.1")).one())
    log_in(page, me.username)
    expect(page).to_have_url(re.compile(r"/worklist$"))
    first = page.locator("#worklist .wl-row").first
    expect(first).to_be_visible()
    assert page.evaluate("() => window.scrollY") == 0
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], box
    # The tally is compact: today and this half-month, in at most four short lines.
    tally = page.locator(".tally").bounding_box()
    assert tally["height"] <= 90, tally
    # No household twice on the page.
    ids = page.locator("#worklist .wl-row").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))


def test_a_search_without_accents_finds_a_household_that_is_not_due(page: Page, read_db):
    def pick(s):
        me = s.exec(select(User).where(User.username == "canbo.07210.1")).one()
        for h in s.exec(
            select(Household).where(Household.commune_id == me.scope_unit_id).order_by(Household.id)
        ):
            person = s.exec(select(Person).where(Person.household_id == h.id)).first()
            if person and fold(person.full_name) != person.full_name.lower():
                return me, h, person
        raise AssertionError("no household with an accented name")

    me, household, person = read_db(pick)
    log_in(page, me.username)
    page.get_by_role("searchbox").fill(fold(person.full_name))
    page.get_by_role("button", name="Tìm", exact=True).tap()
    expect(page.locator(f"#hh-{household.id}")).to_be_visible(timeout=15000)
    expect(page.locator("#worklist h2").first).to_contain_text("hộ khớp")
