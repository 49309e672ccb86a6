"""The visit form at the door, counted in taps on a 360×740 phone: nobody home in two taps from the
household page, a promise with a quick-pick date in four, "Lưu" always on screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func
from sqlmodel import select

from outreach.models import Household, Person, User, Visit, VisitOutcome
from tests.browser.conftest import VIEWPORT
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


class Thumb:
    """Taps like a thumb, and counts them."""

    def __init__(self) -> None:
        self.taps = 0

    def tap(self, target: Locator) -> None:
        self.taps += 1
        target.tap()


def _household_with(read_db, members: int, skip: int = 0):
    """A household of `members` or more people (from the last ones, away from other tests' picks)
    and its canvasser."""

    def pick(s):
        sizes = (
            select(Person.household_id)
            .group_by(Person.household_id)
            .having(func.count() >= members)
            .order_by(Person.household_id.desc())
        )
        found = []
        for household_id in s.exec(sizes).all():
            h = s.get(Household, household_id)
            me = s.get(User, h.assigned_canvasser_id) if h.assigned_canvasser_id else None
            if me is None or me.username.startswith("canbo.07210."):
                continue
            found.append((me, h))
            if len(found) > skip:
                people = s.exec(
                    select(Person).where(Person.household_id == h.id).order_by(Person.id)
                ).all()
                return me, h, people
        raise AssertionError(f"no household with {members} members")

    return read_db(pick)


def _last_visit(read_db, household_id: int):
    def read(s):
        visit = s.exec(
            select(Visit).where(Visit.household_id == household_id).order_by(Visit.id.desc())
        ).first()
        outcomes = s.exec(select(VisitOutcome).where(VisitOutcome.visit_id == visit.id)).all()
        return visit, {o.person_id: o for o in outcomes}

    return read_db(read)


@pytest.fixture
def demo_day(live_app):
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    yield DEMO_TODAY
    live_app.config["OUTREACH_TODAY"] = ""


def _save_in_view(page: Page) -> None:
    box = page.get_by_role("button", name="Lưu lượt thăm").bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box


def test_nobody_home_for_the_whole_household_in_two_taps(page: Page, read_db, demo_day):
    me, household, members = _household_with(read_db, 2, skip=0)
    log_in(page, me.username)
    page.goto(f"/households/{household.id}")
    thumb = Thumb()
    thumb.tap(page.get_by_role("link", name="Ghi lượt thăm"))
    thumb.tap(page.get_by_role("button", name="Không ai ở nhà"))
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=15000)
    expect(page.get_by_text(f"Đã lưu lượt thăm hộ {household.head_name}.")).to_be_visible()
    assert thumb.taps <= 2
    visit, outcomes = _last_visit(read_db, household.id)
    assert visit.canvasser_id == me.id
    assert set(outcomes) == {p.id for p in members}
    assert {o.outcome for o in outcomes.values()} == {"not_home"}


def test_a_promise_with_a_quick_pick_date_in_four_taps(page: Page, read_db, demo_day):
    me, household, members = _household_with(read_db, 2, skip=1)
    log_in(page, me.username)
    page.goto(f"/households/{household.id}")
    first = members[0]
    thumb = Thumb()
    thumb.tap(page.get_by_role("link", name="Ghi lượt thăm"))
    person = page.locator(f"#person-{first.id}")
    # Before an outcome is chosen, no date, reason or payment field is in the way.
    expect(person.get_by_label(re.compile("^Ngày hẹn"))).to_be_hidden()
    expect(person.get_by_label("Lý do từ chối")).to_be_hidden()
    thumb.tap(person.get_by_label("Hẹn đóng", exact=True))
    expect(person.get_by_label("Số tiền (đồng)")).to_be_hidden()
    thumb.tap(person.get_by_role("button", name=re.compile(r"^Ngày mai")))
    tomorrow = DEMO_TODAY + timedelta(days=1)
    # Day first, whatever the phone's language.
    expect(person.get_by_label(re.compile("^Ngày hẹn"))).to_have_value(
        tomorrow.strftime("%d/%m/%Y")
    )
    thumb.tap(page.get_by_role("button", name="Lưu lượt thăm"))
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=15000)
    assert thumb.taps <= 4
    _visit, outcomes = _last_visit(read_db, household.id)
    assert set(outcomes) == {first.id}
    assert outcomes[first.id].outcome == "promised"
    assert outcomes[first.id].follow_up_on == tomorrow
    # At once on the household page: where the member stands now, and the visit in the history.
    page.goto(f"/households/{household.id}")
    expect(page.locator(f"#person-{first.id} .member-now")).to_contain_text("Lần cuối: Hẹn đóng,")
    expect(page.locator(f"#person-{first.id} .member-now")).to_contain_text(
        f"hẹn ngày {tomorrow.strftime('%d/%m/%Y')}"
    )
    expect(page.locator("#visits .history > li").first).to_contain_text(
        f"{first.full_name}: Hẹn đóng"
    )


def test_a_returned_visit_is_answered_from_the_household_page(
    page: Page, read_db, live_app, demo_day, check_a11y, no_horizontal_scroll
):
    me, household, members = _household_with(read_db, 1, skip=2)
    leader = read_db(
        lambda s: s.exec(
            select(User).where(User.role == "leader", User.scope_unit_id == household.commune_id)
        ).first()
    )
    log_in(page, me.username)
    page.goto(f"/households/{household.id}")
    page.get_by_role("link", name="Ghi lượt thăm").tap()
    page.get_by_role("button", name="Không ai ở nhà").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=15000)
    visit, _outcomes = _last_visit(read_db, household.id)

    def send_back(s):
        stored = s.get(Visit, visit.id)
        stored.review_status, stored.review_comment = "returned", "Gọi lại để xác nhận"
        stored.reviewed_by_id = leader.id
        s.add(stored)
        s.commit()

    read_db(send_back)
    page.goto("/worklist")
    page.locator("#returned").get_by_role("link").first.tap()
    line = page.locator(f"#visit-{visit.id}")
    expect(line).to_contain_text("Bị trả lại")
    expect(line).to_contain_text("Gọi lại để xác nhận")
    expect(line).to_contain_text("Không ai ở nhà")
    no_horizontal_scroll()
    check_a11y("household page with a returned visit")
    line.get_by_label("Trả lời người soát").fill("Đã gọi, chủ hộ đi làm xa")
    line.get_by_role("button", name="Gửi trả lời").tap()
    expect(page.get_by_text("Đã gửi câu trả lời cho người soát.")).to_be_visible()
    expect(page.locator(f"#visit-{visit.id}")).to_contain_text("Bạn đã trả lời: Đã gọi")
    page.context.clear_cookies()
    log_in(page, leader.username)
    page.goto("/leader/review")
    expect(page.locator(f"#reply-{visit.id}")).to_contain_text("Đã gọi, chủ hộ đi làm xa")


def test_save_is_on_screen_on_a_four_member_household(
    page: Page, read_db, demo_day, check_a11y, no_horizontal_scroll
):
    me, household, members = _household_with(read_db, 4, skip=0)
    log_in(page, me.username)
    page.goto(f"/households/{household.id}/visits/new")
    _save_in_view(page)
    last = page.locator(f"#person-{members[-1].id}")
    last.get_by_label("Từ chối", exact=True).tap()
    expect(last.get_by_label("Lý do từ chối")).to_be_visible()
    last.get_by_label("Lý do từ chối").select_option("no_money")
    _save_in_view(page)
    no_horizontal_scroll()
    check_a11y("visit form, four members")
    # A date typed day-first by hand is read day-first by the server too.
    page.locator(f"#person-{members[0].id}").get_by_label("Đang cân nhắc", exact=True).tap()
    later = DEMO_TODAY + timedelta(days=10)
    page.locator(f"#date_{members[0].id}").fill(later.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Lưu lượt thăm").tap()
    expect(page).to_have_url(re.compile(r"/worklist$"), timeout=15000)
    _visit, outcomes = _last_visit(read_db, household.id)
    assert outcomes[members[0].id].follow_up_on == later
    assert outcomes[members[-1].id].refusal_reason == "no_money"
