"""A canvasser's day on a phone: why each household is on top, a call, a visit, and tomorrow."""

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from outreach.models import Household, Person, User, Visit
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY


def test_canvasser_records_a_promise_and_finds_the_household_due_tomorrow(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll
):
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    try:
        # A canvasser (not one other tests log in as) with a two-member household that has a phone.
        def pick(s):
            for h in s.exec(
                select(Household).where(Household.phone.is_not(None)).order_by(Household.id)
            ):
                me = s.get(User, h.assigned_canvasser_id)
                if me.username.startswith(("canbo.07210.",)):
                    continue
                members = s.exec(
                    select(Person).where(Person.household_id == h.id).order_by(Person.id)
                ).all()
                if len(members) >= 2:
                    return me, h, members
            raise AssertionError("no household with two members and a phone")

        me, household, members = read_db(pick)

        def visits_of(s):
            return s.exec(
                select(Visit).where(Visit.household_id == household.id).order_by(Visit.id)
            ).all()

        before = len(read_db(visits_of))
        log_in(page, me.username)
        expect(page).to_have_url(re.compile(r"/worklist$"))
        expect(page.get_by_text(re.compile(r"\d+ hộ cần thăm"))).to_be_visible()
        # Every row says why it is there, in Vietnamese.
        first_row = page.locator("#worklist-rows .wl-row").first
        expect(first_row.locator(".chip").first).to_have_text(
            re.compile(r"(Hẹn|Quá hạn|TCTN|Đến hạn|Đang hưởng|Bảo lưu|Đối tượng)")
        )
        check_a11y("worklist")
        no_horizontal_scroll()

        page.goto(f"/households/{household.id}")
        expect(page.get_by_role("heading", name=f"Hộ {household.head_name}")).to_be_visible()
        call = page.get_by_role("link", name=re.compile(r"^Gọi "))
        expect(call).to_have_attribute("href", f"tel:{household.phone}")
        expect(page.get_by_role("link", name="Nhắn tin")).to_have_attribute(
            "href", re.compile(r"^sms:")
        )

        # Record the visit: two members, a promise for tomorrow by quick pick, a refusal.
        page.get_by_role("link", name="Ghi lượt thăm").tap()
        page.get_by_label("Gọi điện").check()
        first, second = members[0], members[1]
        page.locator(f"#person-{first.id}").get_by_label("Hẹn đóng", exact=True).check()
        page.locator(f"#person-{first.id}").get_by_role(
            "button", name=re.compile(r"^Ngày mai")
        ).tap()
        expect(page.locator(f"#date_{first.id}")).to_have_value(
            (DEMO_TODAY + timedelta(days=1)).strftime("%d/%m/%Y")
        )
        page.locator(f"#person-{second.id}").get_by_label("Từ chối", exact=True).check()
        page.locator(f"#reason_{second.id}").select_option("no_money")
        check_a11y("visit form")
        page.get_by_role("button", name="Lưu lượt thăm").tap()
        expect(page).to_have_url(re.compile(r"/worklist$"))
        expect(page.get_by_text(f"Đã lưu lượt thăm hộ {household.head_name}.")).to_be_visible()
        expect(page.locator(".tally")).to_contain_text("1 lượt thăm")

        stored = read_db(visits_of)
        assert len(stored) == before + 1
        assert stored[-1].channel == "phone" and stored[-1].canvasser_id == me.id

        # Tomorrow the promise is due: the household is in "Hẹn hôm nay" and near the top.
        live_app.config["OUTREACH_TODAY"] = (DEMO_TODAY + timedelta(days=1)).isoformat()
        page.goto("/worklist")
        due = page.locator("section.due")
        expect(due.get_by_role("heading", name="Hẹn hôm nay")).to_be_visible()
        row = due.locator(f"#hh-{household.id}")
        expect(row).to_be_visible()
        expect(row.locator(".chip").first).to_have_text("Hẹn đóng hôm nay")
    finally:
        live_app.config["OUTREACH_TODAY"] = ""


def test_leader_sees_the_same_list(page: Page, user_named):
    canvasser = user_named("canbo.07210.1")
    log_in(page, "lanhdao.07210")
    page.goto("/worklist/canvassers")
    page.get_by_role("link", name=re.compile(re.escape(canvasser.full_name))).tap()
    expect(page.get_by_role("heading", name=f"Danh sách của {canvasser.full_name}")).to_be_visible()
    expect(page.locator("#worklist-rows .wl-row").first).to_be_visible()


def test_more_households_load_on_scroll(page: Page, live_app, monkeypatch):
    import outreach.worklist.views as worklist_view

    monkeypatch.setattr(worklist_view, "PAGE", 1)  # the live server runs in this process
    # The demo's day: from 17:00 UTC Vietnam is on the next one, and the first page then held a
    # second row (seen in a CI run after that hour).
    monkeypatch.setitem(live_app.config, "OUTREACH_TODAY", DEMO_TODAY)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "offset=" in r.url else None)
    log_in(page, "canbo.07210.1")
    total = int(re.search(r"(\d+) hộ cần thăm", page.inner_text("#worklist")).group(1))
    assert total >= 3
    # The server sends one row; htmx fetches the next page each time the "more" item is revealed.
    first_page = page.request.get("/worklist").text()
    assert first_page.count('class="wl-row"') == 1 and 'hx-trigger="revealed"' in first_page
    # Today's appointments, apart above the list, are not in it: count the page's rows.
    rows = page.locator("#worklist .wl-row")
    # The list starts high enough on the screen that the next page may be revealed at once.
    expect(page.locator("#worklist-rows .wl-row").first).to_be_visible()
    for _ in range(total * 3):
        if rows.count() >= total:
            break
        page.mouse.wheel(0, 2000)  # the canvasser scrolls down
        page.wait_for_timeout(150)
    expect(rows).to_have_count(total)
    offsets = [re.search(r"offset=(\d+)", url).group(1) for url in fetched]
    assert len(offsets) == total - 1 and len(set(offsets)) == len(offsets)
    expect(page.locator("#worklist-rows .more")).to_have_count(0)
    ids = rows.evaluate_all("els => els.map(e => e.id)")
    assert len(set(ids)) == total
