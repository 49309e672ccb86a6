"""One phone, two canvassers: the pages kept for offline use are the logged-in user's only.

Canvasser A (commune 07210) saves the list for a day without signal; A's session then ends without
a logout (it expired, the browser was closed: the cookies are cleared here). Offline, neither
nobody nor canvasser B (commune 09370), logged in next on the same phone, may be shown A's
households; B's own pages still work offline, and A's unsent visit stays in the outbox. Chromium's
offline mode (`context.set_offline`) cuts the page and its service worker off the real server.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import select

from outreach.models import Household, Person, User
from tests.browser.test_login_journeys import log_in
from tests.browser.test_offline import _controlled

A = "canbo.07210.1"
B = "canbo.09370.1"
WAIT = 30_000  # ms: anything that waits on the live server (CI machines are slow)
NO_SIGNAL = "Không có mạng"  # the offline page's heading


def _household(read_db, username: str) -> tuple[int, int, str]:
    """(household, its first member, its head's name): the top of the canvasser's list (its
    scores are computed once the list has been opened)."""

    def pick(session):
        user = session.exec(select(User).where(User.username == username)).one()
        household = session.exec(
            select(Household)
            .where(
                Household.assigned_canvasser_id == user.id,
                Household.priority_score > 0,
                Household.head_name != "",
            )
            .order_by(Household.priority_score.desc(), Household.id)
        ).first()
        assert household is not None, f"{username} has no household on the list"
        member = session.exec(
            select(Person.id).where(Person.household_id == household.id).order_by(Person.id)
        ).first()
        return household.id, member, household.head_name

    return read_db(pick)


def _save_for_offline(page: Page, username: str) -> None:
    log_in(page, username)
    page.goto("/worklist")
    _controlled(page)
    page.get_by_role("button", name="Tải về để dùng khi mất sóng").tap()
    expect(page.locator("#offline-status")).to_contain_text("Đã tải về", timeout=120_000)


def _caches_holding(page: Page, path: str) -> list[str]:
    """The names of the caches (Cache API) that hold a copy of `path`."""
    return page.evaluate(
        """async (path) => {
            const url = new URL(path, location.origin).toString();
            const names = [];
            for (const name of await caches.keys()) {
                if (await (await caches.open(name)).match(url)) names.push(name);
            }
            return names;
        }""",
        path,
    )


def _no_cache_holds(page: Page, path: str) -> None:
    """The worker empties caches after the answer that told it to: wait for it."""
    deadline = time.monotonic() + WAIT / 1000
    while (held := _caches_holding(page, path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not held, f"{path} still kept in {held}"


def _unexpected(errors: list[str]) -> list[str]:
    """Console errors other than requests made without signal and the session check's 401."""
    expected = ("ERR_INTERNET_DISCONNECTED", "Failed to fetch", "401 (UNAUTHORIZED)")
    return [error for error in errors if not any(text in error for text in expected)]


def _shows_no_signal_page(page: Page, path: str, name: str) -> None:
    page.goto(path)
    expect(page.get_by_role("heading", name=NO_SIGNAL)).to_be_visible(timeout=WAIT)
    assert name not in page.content(), f"{name} shown at {path}"


def test_the_next_user_of_a_shared_phone_never_sees_the_last_ones_households(
    page: Page, context: BrowserContext, read_db, console_errors
):
    _save_for_offline(page, A)
    home_a, member_a, name_a = _household(read_db, A)
    # Answered "private, no-store" (no browser cache may keep it), and kept anyway by the service
    # worker for A's day without signal: the Cache API ignores Cache-Control.
    answer = page.request.get(f"/households/{home_a}")
    assert answer.headers["cache-control"] == "private, no-store"
    context.set_offline(True)
    page.goto(f"/households/{home_a}")
    expect(page.get_by_role("heading", name=name_a)).to_be_visible(timeout=WAIT)
    # A records a visit without signal: it waits in the outbox (A's, on this phone).
    page.goto(f"/households/{home_a}/visits/new")
    page.locator(f"#person-{member_a}").get_by_label("Vắng nhà", exact=True).check()
    page.get_by_role("button", name="Lưu lượt thăm").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=WAIT)
    expect(page.locator("#outbox-badge")).to_have_text("1 chưa gửi", timeout=WAIT)

    # A's session ends without a logout: expired, or the browser closed.
    context.set_offline(False)
    page.goto("about:blank")
    context.clear_cookies()

    # B, a canvasser of another commune, logs in on the same phone.
    log_in(page, B)
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=WAIT)
    expect(page.locator("#offline-status")).not_to_contain_text("Đã tải về")  # A's download
    home_b, _member_b, name_b = _household(read_db, B)
    assert name_a != name_b
    # A's visit is still on the phone (only A's session sends it), listed without A's household.
    page.goto("/outbox")
    expect(page.locator("#outbox-list li")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#outbox-list")).to_contain_text(f"#{home_a}")
    assert name_a not in page.locator("#outbox-list").inner_text()
    page.goto(f"/households/{home_b}")  # kept for B
    expect(page.get_by_role("heading", name=name_b)).to_be_visible(timeout=WAIT)

    context.set_offline(True)
    _shows_no_signal_page(page, f"/households/{home_a}", name_a)
    _shows_no_signal_page(page, f"/households/{home_a}/visits/new", name_a)
    page.goto(f"/households/{home_b}")  # B's own page still works without signal
    expect(page.get_by_role("heading", name=name_b)).to_be_visible(timeout=WAIT)

    # Not only refused: the login emptied A's cache.
    for path in (f"/households/{home_a}", f"/households/{home_a}/visits/new", "/worklist"):
        held = _caches_holding(page, path)
        assert all(name.startswith("pages-") for name in held), held  # B's own, if any
    _no_cache_holds(page, f"/households/{home_a}")
    assert not _unexpected(console_errors)


def test_nobody_is_shown_kept_pages_once_the_session_is_over(
    page: Page, context: BrowserContext, read_db, console_errors
):
    _save_for_offline(page, A)
    home_a, _member_a, name_a = _household(read_db, A)
    context.set_offline(True)
    page.goto(f"/households/{home_a}")
    expect(page.get_by_role("heading", name=name_a)).to_be_visible(timeout=WAIT)

    # The session ends while the phone has no signal: nobody is logged in now.
    page.goto("about:blank")
    context.clear_cookies()
    _shows_no_signal_page(page, f"/households/{home_a}", name_a)
    _shows_no_signal_page(page, "/worklist", name_a)

    # Back online, the app sends nobody to the login page: every kept page goes.
    context.set_offline(False)
    page.goto("/worklist")
    expect(page).to_have_url(re.compile(r"/login"), timeout=WAIT)
    _no_cache_holds(page, f"/households/{home_a}")
    _no_cache_holds(page, "/worklist")
    context.set_offline(True)
    _shows_no_signal_page(page, f"/households/{home_a}", name_a)
    assert not _unexpected(console_errors)
