"""A commune leader on a phone gives a village to another canvasser and returns a visit.

The live server's database is shared by the browser tests, and others read canbo.07210.1's list:
everything this journey changes (the village's canvasser, one household's coordinates, one visit's
review) is put back at the end.
"""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func
from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.models import Household, User, Visit
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

LEADER, FROM, TO = "lanhdao.07210", "canbo.07210.1", "canbo.07210.2"
COMMENT = "Vị trí ghi cách nhà hơn 1 km: anh kiểm tra lại giúp"


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Đăng xuất").tap()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_leader_reassigns_a_village_and_returns_a_visit(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    def setup(s):
        users = {
            u.username: u for u in s.exec(select(User).where(User.username.in_([LEADER, FROM, TO])))
        }
        village_id = s.exec(
            select(Household.village_id)
            .where(Household.assigned_canvasser_id == users[FROM].id)
            .group_by(Household.village_id)
            .order_by(func.count().desc())
        ).first()
        in_village = s.exec(select(Household).where(Household.village_id == village_id)).all()
        # One of canbo.07210.2's own recorded visits with GPS, to be flagged and returned.
        visit = s.exec(
            select(Visit)
            .where(Visit.canvasser_id == users[TO].id, Visit.latitude.is_not(None))
            .order_by(Visit.visited_at.desc())
        ).first()
        household = s.get(Household, visit.household_id)
        return users, village_id, in_village, visit, household

    users, village_id, in_village, visit, household = read_db(setup)
    # Other journeys (an import) may have given canbo.07210.2 a few households already.
    had = set(
        read_db(
            lambda s: s.exec(
                select(Household.id).where(Household.assigned_canvasser_id == users[TO].id)
            ).all()
        )
    )
    assert not had & {h.id for h in in_village}, "the village is not theirs yet"
    original_coordinates = (household.latitude, household.longitude)
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    try:
        log_in(page, LEADER)
        page.goto("/leader/assign")
        expect(page.get_by_role("heading", name="Giao việc", level=1)).to_be_visible()
        check_a11y("leader assign")
        no_horizontal_scroll()

        page.get_by_label("Thôn, tổ dân phố", exact=True).select_option(str(village_id))
        page.get_by_label("Giao cho cán bộ", exact=True).select_option(str(users[TO].id))
        with page.expect_navigation():
            page.get_by_role("button", name="Giao thôn").tap()
        expect(page.get_by_role("status").filter(has_text="Đã giao")).to_have_text(
            f"Đã giao {len(in_village)} hộ cho {users[TO].full_name}."
        )
        expect(page.locator(f"#load-{users[TO].id} td").first).to_have_text(
            str(len(had) + len(in_village))  # the workload: what they had, and the village
        )
        no_horizontal_scroll()

        on_list = read_db(
            lambda s: s.exec(
                select(Household.id).where(
                    Household.village_id == village_id, Household.priority_score > 0
                )
            ).all()
        )
        assert on_list
        _log_out(page)
        log_in(page, TO)
        expect(page).to_have_url(re.compile(r"/worklist$"))
        theirs = read_db(  # everything now on their list: what they had, and the village
            lambda s: s.exec(
                select(Household.id).where(
                    Household.assigned_canvasser_id == users[TO].id, Household.priority_score > 0
                )
            ).all()
        )
        assert set(on_list) <= set(theirs) and set(theirs) - set(on_list) <= had
        rows = page.locator("#worklist-rows .wl-row")
        expect(rows).to_have_count(len(theirs))
        assert sorted(rows.evaluate_all("els => els.map(e => e.id)")) == sorted(
            f"hh-{i}" for i in theirs
        )
        expect(page.get_by_role("heading", name="Lượt thăm bị trả lại")).to_have_count(0)

        # The household's known location is 1 km from where the visit was recorded: flagged.
        def move_household(s):
            h = s.get(Household, household.id)
            h.latitude, h.longitude = visit.latitude + 0.01, visit.longitude
            s.add(h)
            s.commit()

        read_db(move_household)
        _log_out(page)
        log_in(page, LEADER)
        day = visit.visited_at.astimezone(VIETNAM).date()
        page.goto(f"/leader/review?from={day.isoformat()}&to={day.isoformat()}")
        item = page.locator(f"#visit-{visit.id}")
        expect(item.locator(".chip").first).to_have_text(re.compile(r"^Xa nhà 1\.1\d\d m$"))
        check_a11y("leader review")
        no_horizontal_scroll()
        item.get_by_label("Lý do trả lại").fill(COMMENT)
        with page.expect_navigation():
            item.get_by_role("button", name="Trả lại cho cán bộ").tap()
        expect(page.get_by_role("status").filter(has_text="Đã trả lại")).to_be_visible()
        expect(page.locator(f"#visit-{visit.id}")).to_contain_text("Đã trả lại")

        _log_out(page)
        log_in(page, TO)
        returned = page.locator("#returned")
        expect(returned.get_by_role("heading", name="Lượt thăm bị trả lại")).to_be_visible()
        expect(returned).to_contain_text(COMMENT)
        expect(returned).to_contain_text(users[LEADER].full_name)
        no_horizontal_scroll()
        assert not console_errors
    finally:
        live_app.config.pop("OUTREACH_TODAY", None)

        def restore(s):
            for h in s.exec(select(Household).where(Household.village_id == village_id)).all():
                h.assigned_canvasser_id = next(
                    x.assigned_canvasser_id for x in in_village if x.id == h.id
                )
                s.add(h)
            h = s.get(Household, household.id)
            h.latitude, h.longitude = original_coordinates
            s.add(h)
            v = s.get(Visit, visit.id)
            v.review_status, v.review_comment, v.reviewed_by_id = "none", "", None
            s.add(v)
            s.commit()

        read_db(restore)
