"""Logging in on a phone, as every demo role, in Vietnamese: what each person sees first."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import func, select

from outreach.models import GeoUnit, Household, Person
from outreach.models.codes import UnitKind
from outreach.operations.demo import DEMO_PASSWORD

CANVASSER = "canbo.07210.1"
# Used only for failed logins, so no other test depends on its failure counter.
WRONG_PASSWORD_USER = "canbo.07210.2"
BAD_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng."

# Where each role lands after logging in, and what that role, and only it, sees there.
# The canvasser's home is their worklist (/ redirects to /worklist); the others stay on /.
LEADER_HIDES = ["hộ cần thăm", "Bản tin đã công bố", "lần nhập danh sách"]
ROLE_TEXT = {
    "canbo.07210.1": {
        "path": "/worklist",
        "role": "Cán bộ vận động",
        "shows": [
            "hộ cần thăm",
            "Hôm nay",
            "Kỳ này",
            "Tìm mọi hộ: tên (không cần dấu), số điện thoại, mã BHXH hoặc CCCD",
        ],
        "hides": ["theo dõi các xã", "Bản tin đã công bố", "lần nhập danh sách"],
        "calculator": True,
    },
    "lanhdao.07210": {
        "path": "/",
        "role": "Lãnh đạo, chỉ đạo",
        "shows": ["Việc tiếp theo: theo dõi các xã trong phạm vi", "người trong danh sách"],
        "hides": LEADER_HIDES,
        "calculator": True,
    },
    "lanhdao.cum": {
        "path": "/",
        "role": "Lãnh đạo, chỉ đạo",
        "shows": ["Việc tiếp theo: theo dõi các xã trong phạm vi", "người trong danh sách"],
        "hides": LEADER_HIDES,
        "calculator": True,
    },
    "lanhdao.tinh": {
        "path": "/",
        "role": "Lãnh đạo, chỉ đạo",
        "shows": ["Việc tiếp theo: theo dõi các xã trong phạm vi", "Chiến dịch: "],
        "hides": LEADER_HIDES,
        "calculator": True,
    },
    "admin": {
        "path": "/",
        "role": "Quản trị (BHXH tỉnh)",
        "shows": ["xã, phường, đặc khu", "lần nhập danh sách", "Nhập danh sách BHXH"],
        "hides": ["hộ cần thăm", "hộ chưa từng được thăm", "Bản tin đã công bố"],
        "calculator": False,
    },
    "baochi": {
        "path": "/",
        "role": "Báo chí, truyền hình",
        # Whether any summary is published yet depends on the summaries journey; not checked here.
        "shows": ["Bản tin đã công bố", "không có thông tin cá nhân"],
        # Media never sees personal data, nor even counts of households.
        "hides": ["hộ trong phạm vi", "hộ cần thăm", "người trong danh sách"],
        "calculator": False,
    },
}
WORKLIST_PAGE = 30  # rows on the first page of a worklist


def log_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the Vietnamese login form by its labels and tap the button, as a person would."""
    page.goto("/login")
    page.get_by_label("Tên đăng nhập", exact=True).fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    with page.expect_navigation():  # the POST answers with a redirect home or the form again
        page.get_by_role("button", name="Đăng nhập", exact=True).tap()


def forget_session(page: Page) -> None:
    """The phone drops its session cookie, once nothing of the last page is still loading: a
    request in flight (the page's session check) would otherwise set the cookie again."""
    page.goto("about:blank")
    page.context.clear_cookies()


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def communes_in_scope(session, unit: GeoUnit) -> list[str]:
    """Names of the communes a leader scoped to `unit` should see, read straight from the tree."""
    stmt = select(GeoUnit.name).where(GeoUnit.kind == UnitKind.COMMUNE)
    if unit.kind == UnitKind.PROVINCE:
        stmt = stmt.where(GeoUnit.province_id == unit.id)
    elif unit.kind == UnitKind.COMMUNE:
        stmt = stmt.where(GeoUnit.id == unit.id)
    else:
        stmt = stmt.where(GeoUnit.parent_id == unit.id)
    return list(session.exec(stmt).all())


def test_login_page_is_vietnamese_and_accessible(page: Page, check_a11y, console_errors):
    page.goto("/login")
    expect(page).to_have_title(re.compile(r"^Đăng nhập · "))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    expect(page.get_by_label("Tên đăng nhập", exact=True)).to_be_focused()  # autofocus
    expect(page.get_by_label("Mật khẩu", exact=True)).to_have_attribute("type", "password")
    # "Remember me" is off by default: phones are shared at post offices.
    expect(page.get_by_label("Ghi nhớ đăng nhập trên máy này")).not_to_be_checked()
    button = page.get_by_role("button", name="Đăng nhập", exact=True)
    box = button.bounding_box()
    assert box and box["height"] >= 44, f"login button is a {box} touch target"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    check_a11y("login page")
    assert console_errors == []


@pytest.mark.parametrize("username", list(ROLE_TEXT))
def test_each_role_logs_in_and_sees_its_home(
    page: Page,
    username,
    user_named,
    read_db,
    check_a11y,
    no_horizontal_scroll,
    console_errors,
):
    user = user_named(username)
    unit = read_db(lambda s: s.get(GeoUnit, user.scope_unit_id))
    expected = ROLE_TEXT[username]

    log_in(page, username)

    expect(page).to_have_url(re.compile(re.escape(expected["path"]) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Xin chào, {user.full_name}")
    expect(page.locator("header .whoami")).to_have_text(f"{user.full_name} · {expected['role']}")
    who = page.locator("section.who")
    if username == CANVASSER:
        expect(who).to_contain_text(user.organization)
    else:
        expect(who).to_contain_text(expected["role"])
        expect(who).to_contain_text(f"Phạm vi: {unit.name}")
        expect(page.get_by_role("link", name="Trang chính")).to_have_attribute(
            "aria-current", "page"
        )
    main = page.locator("main")
    for text in expected["shows"]:
        expect(main).to_contain_text(text)
    for text in expected["hides"]:
        expect(main).not_to_contain_text(text)
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    expect(page.get_by_role("link", name="Tính mức đóng")).to_have_count(
        1 if expected["calculator"] else 0
    )

    if username.startswith("lanhdao."):
        names = read_db(lambda s: communes_in_scope(s, unit))
        rows = page.locator("#commune-counts tbody th[scope=row]")
        expect(rows).to_have_count(len(names))
        if len(names) <= 20:
            assert sorted(rows.all_inner_texts()) == sorted(names)
    elif username == "admin":
        communes = read_db(
            lambda s: s.exec(
                select(func.count())
                .select_from(GeoUnit)
                .where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == unit.id)
            ).one()
        )
        stat = page.locator(".stat", has_text="xã, phường, đặc khu").locator(".stat-value")
        expect(stat).to_have_text(str(communes))
    elif username == CANVASSER:
        heading = page.get_by_role("heading", level=2, name=re.compile(r"hộ cần thăm$"))
        total = int(re.match(r"([\d.]+) hộ", heading.inner_text()).group(1).replace(".", ""))
        assert total > 0, "the demo canvasser should have households to visit"
        rows = page.locator("#worklist-rows > li.wl-row")
        expect(rows).to_have_count(min(total, WORKLIST_PAGE))
        # Only households assigned to this canvasser, in their commune.
        shown = [int(i.removeprefix("hh-")) for i in rows.evaluate_all("els => els.map(e => e.id)")]
        mine = read_db(
            lambda s: set(
                s.exec(
                    select(Household.id).where(
                        Household.assigned_canvasser_id == user.id,
                        Household.commune_id == user.scope_unit_id,
                    )
                ).all()
            )
        )
        assert set(shown) <= mine, f"households not assigned to {username}: {set(shown) - mine}"
    elif username == "baochi":
        expect(page.locator('a[href^="/households/"]')).to_have_count(0)

    no_horizontal_scroll()
    check_a11y(f"home page of {username}")
    assert console_errors == []


def test_wrong_password_stays_on_login_with_vietnamese_error(page: Page):
    log_in(page, WRONG_PASSWORD_USER, DEMO_PASSWORD + "x")

    error = page.get_by_role("alert")
    expect(error).to_have_text(BAD_LOGIN)
    assert path_of(page) == "/login"
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    expect(page.get_by_text("Xin chào")).to_have_count(0)
    # Still logged out: the home page sends us back to the form.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_wrong_password_error_is_accessible(new_context, check_a11y_in_place):
    # The error only exists after a POST, so axe runs in place in a context that bypasses CSP.
    page = new_context(bypass_csp=True).new_page()
    log_in(page, WRONG_PASSWORD_USER, "sai-mat-khau")
    expect(page.get_by_role("alert")).to_have_text(BAD_LOGIN)
    check_a11y_in_place(page, "login page with an error")


def test_logout_returns_to_login(page: Page):
    log_in(page, "lanhdao.07210")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào, ")

    page.get_by_role("button", name="Đăng xuất").tap()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    expect(page.get_by_label("Tên đăng nhập", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Đăng xuất")).to_have_count(0)
    # The session is really gone, not just the page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_canvasser_taps_first_household_and_can_call(page: Page, read_db, check_a11y):
    log_in(page, CANVASSER)
    first = page.locator('#worklist a[href^="/households/"]').first
    expect(first).to_be_visible()
    href = first.get_attribute("href")
    household_id = int(re.fullmatch(r"/households/(\d+)", href).group(1))
    household = read_db(lambda s: s.get(Household, household_id))
    members = read_db(
        lambda s: s.exec(select(Person).where(Person.household_id == household_id)).all()
    )
    expect(first).to_contain_text(household.head_name)

    first.tap()

    expect(page).to_have_url(re.compile(rf"/households/{household_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hộ {household.head_name}")
    expect(page.get_by_role("heading", name="Thành viên", level=2)).to_be_visible()
    expect(page.locator("#members li.person")).to_have_count(len(members))
    for person in members:
        expect(page.locator("#members")).to_contain_text(person.full_name)
    # One call link for the household's phone and one per member with a phone; no other.
    phones = [p.phone for p in members if p.phone]
    if household.phone:
        call = page.locator("a.tel.button")
        expect(call).to_have_attribute("href", f"tel:{household.phone}")
        expect(call).to_contain_text("Gọi ")
        box = call.bounding_box()
        assert box and box["height"] >= 44, "the call button is too small to tap"
        phones.append(household.phone)
    tel_links = page.locator('a[href^="tel:"]')
    expect(tel_links).to_have_count(len(phones))
    assert sorted(a.get_attribute("href") for a in tel_links.all()) == sorted(
        f"tel:{p}" for p in phones
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    check_a11y("household page")


def test_canvasser_household_page_has_a_call_link(page: Page, read_db, user_named):
    """The tel: link appears when the household has a phone (the first household may have none)."""
    user = user_named(CANVASSER)
    household = read_db(
        lambda s: s.exec(
            select(Household)
            .where(Household.assigned_canvasser_id == user.id, Household.phone.is_not(None))
            .order_by(Household.id)
        ).first()
    )
    assert household is not None, "the demo canvasser should have a household with a phone"
    log_in(page, CANVASSER)
    page.goto(f"/households/{household.id}")
    expect(page.locator("a.tel.button")).to_have_attribute("href", f"tel:{household.phone}")


def test_canvasser_cannot_open_another_communes_household(page: Page, read_db, user_named):
    user = user_named(CANVASSER)
    other = read_db(
        lambda s: s.exec(
            select(Household)
            .where(Household.commune_id != user.scope_unit_id)
            .order_by(Household.id)
        ).first()
    )
    assert other is not None
    log_in(page, CANVASSER)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào, ")

    response = page.goto(f"/households/{other.id}")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
    expect(page.get_by_role("alert")).to_contain_text("không thuộc phạm vi của bạn")
    expect(page.locator("main")).not_to_contain_text(other.head_name)
    expect(page.get_by_role("link", name="Về trang chính")).to_be_visible()
