"""A team member's day on a phone: the admin sets up a team, and one member's households are on
the other's list at once.

The live server's database is shared by the browser tests: the team is dissolved at the end (and
its rows removed whatever happens), so no other journey sees it.
"""

import re

from playwright.sync_api import Page, expect
from sqlmodel import delete, select

from outreach.models import GeoUnit, Household, Team, TeamMember, User
from tests.browser.test_assignment import _log_out
from tests.browser.test_login_journeys import log_in
from tests.conftest import DEMO_TODAY

COMMUNE, FIRST, SECOND = "07210", "canbo.07210.1", "canbo.07210.2"
TEAM = "Tổ Bưu điện - UBND"


def _remove_teams(s) -> None:
    s.exec(delete(TeamMember))
    s.exec(delete(Team))
    s.commit()


def test_the_admin_sets_up_a_team_and_a_member_works_the_others_households(
    page: Page, live_app, read_db, check_a11y, no_horizontal_scroll, console_errors
):
    def setup(s):
        users = {
            u.username: u for u in s.exec(select(User).where(User.username.in_([FIRST, SECOND])))
        }
        commune = s.exec(select(GeoUnit).where(GeoUnit.code == COMMUNE)).one()
        return users, commune

    users, commune = read_db(setup)
    live_app.config["OUTREACH_TODAY"] = DEMO_TODAY.isoformat()
    try:
        log_in(page, "admin")
        page.goto("/leader/assign")
        with page.expect_navigation():
            page.get_by_role("link", name="Tổ tư vấn, vận động").tap()
        expect(page.get_by_role("heading", name="Tổ tư vấn, vận động", level=1)).to_be_visible()
        with page.expect_navigation():
            page.get_by_role("link", name="Lập tổ mới").tap()
        page.get_by_label("Xã, phường").select_option(str(commune.id))
        with page.expect_navigation():
            page.get_by_role("button", name="Chọn").tap()
        check_a11y("team form")
        no_horizontal_scroll()
        page.get_by_label("Tên tổ").fill(TEAM)
        page.get_by_label(re.compile(re.escape(users[FIRST].full_name))).check()
        page.get_by_label(re.compile(re.escape(users[SECOND].full_name))).check()
        page.get_by_label("Chỉ tiêu tham gia mới").fill("20")
        with page.expect_navigation():
            page.get_by_role("button", name="Lưu tổ").tap()
        expect(page.get_by_role("status").filter(has_text="Đã lưu tổ")).to_be_visible()
        card = page.locator(".team-score").filter(has_text=TEAM)
        expect(card).to_contain_text(users[FIRST].full_name)
        expect(card).to_contain_text(re.compile(r"Đạt \d+,\d\d% chỉ tiêu \(\d+/20\)"))
        check_a11y("team scoreboard")
        no_horizontal_scroll()
        _log_out(page)

        # The second member's list now holds the first member's households, at once.
        log_in(page, SECOND)
        expect(page).to_have_url(re.compile(r"/worklist$"))
        theirs = read_db(  # scored for today by the page just opened
            lambda s: s.exec(
                select(Household.id).where(
                    Household.assigned_canvasser_id == users[FIRST].id,
                    Household.priority_score > 0,
                )
            ).all()
        )
        assert theirs
        row = page.locator(f"#hh-{theirs[0]}")
        expect(row).to_be_visible()
        with page.expect_navigation():
            row.get_by_role("link").first.tap()
        expect(page).to_have_url(re.compile(rf"/households/{theirs[0]}$"))
        no_horizontal_scroll()

        _log_out(page)
        log_in(page, "admin")
        team_id = read_db(lambda s: s.exec(select(Team.id).where(Team.name == TEAM)).one())
        page.goto(f"/teams/{team_id}")
        with page.expect_navigation():
            page.get_by_role("button", name="Giải thể tổ").tap()
        expect(page.get_by_role("status").filter(has_text="Đã giải thể tổ")).to_be_visible()
        assert read_db(lambda s: s.exec(select(Team)).all()) == []
        assert not console_errors
    finally:
        live_app.config.pop("OUTREACH_TODAY", None)
        read_db(_remove_teams)
