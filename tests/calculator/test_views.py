"""The calculator page: Vietnamese figures, the htmx fragment, a person's prefill within scope."""

import json
import re
from datetime import date

import pytest
from sqlmodel import select

from outreach.calculator import views as calculator_view
from outreach.models import AuditLog, GeoUnit, Person, PolicyRate, User

CANVASSER = "canbo.07210.1"
EXAMPLE = "/calculator?income=1.500.000&group=other&day=2026-11-22"
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def demo_today(monkeypatch):
    """The page computes for "today" unless told otherwise: pin it to the demo's day."""
    monkeypatch.setattr(calculator_view, "today_local", lambda: date(2026, 11, 22))


def own_person(session, username=CANVASSER, **where) -> Person:
    user = session.exec(select(User).where(User.username == username)).one()
    stmt = select(Person).where(Person.commune_id == user.scope_unit_id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Person, column) == value)
    return session.exec(stmt.order_by(Person.id)).first()


def stat(html: str, name: str) -> str:
    match = re.search(rf'id="calc-{name}"><span class="stat-value">([^<]+)<', html)
    assert match, f"no {name} figure in the page"
    return match.group(1)


def test_page_shows_the_worked_example_in_vietnamese(login_as):
    response = login_as(CANVASSER).get(EXAMPLE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tính mức đóng BHXH tự nguyện" in html
    assert (stat(html, "contribution"), stat(html, "support"), stat(html, "payable")) == (
        "330.000",
        "66.000",
        "264.000",
    )
    for amount in ("792.000", "1.584.000", "3.168.000"):
        assert amount in html
    # Each figure with its legal source and the day it applies from.
    assert "Luật BHXH 41/2024/QH15, Điều 36 khoản 1" in html
    assert "Nghị định 159/2025/NĐ-CP" in html
    assert "áp dụng từ 01/07/2025" in html and "áp dụng từ 01/07/2026" in html
    assert "Thu nhập cao nhất: 20 × mức tham chiếu = 50.600.000 đồng" in html
    assert 'hx-get="/calculator"' in html and 'action="/calculator"' in html


def test_first_view_starts_at_the_floor_for_today(login_as):
    html = login_as(CANVASSER).get("/calculator").get_data(as_text=True)
    assert 'name="income" value="1.500.000"' in html
    assert 'value="22/11/2026"' in html  # day first
    assert stat(html, "payable") == "264.000"
    # Quick picks: the floor first, then the usual incomes.
    assert re.findall(r'class="calc-pick">([^<]+)<', html) == [
        "1.500.000",
        "2.000.000",
        "3.000.000",
        "5.000.000",
    ]


def test_htmx_gets_only_the_result_fragment(login_as):
    response = login_as(CANVASSER).get(EXAMPLE.replace("other", "poor"), headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<form" not in html
    assert stat(html, "support") == "165.000" and stat(html, "payable") == "165.000"
    assert "HX-Request" in response.headers["Vary"]


def test_the_provinces_top_up_is_shown_with_its_source(login_as, session):
    user = session.exec(select(User).where(User.username == CANVASSER)).one()
    province_id = session.get(GeoUnit, user.scope_unit_id).province_id
    session.add(
        PolicyRate(
            key="province_top_up_other",
            value=0.125,
            valid_from=date(2026, 1, 1),
            province_id=province_id,
            source="Nghị quyết 99/2025/NQ-HĐND (thử)",
        )
    )
    session.commit()
    html = login_as(CANVASSER).get(EXAMPLE).get_data(as_text=True)
    assert (stat(html, "support"), stat(html, "top-up"), stat(html, "payable")) == (
        "66.000",
        "41.250",
        "222.750",
    )
    assert "Tỉnh hỗ trợ thêm 12,5% × 330.000 = 41.250 đồng" in html
    assert "Nghị quyết 99/2025/NQ-HĐND (thử)" in html and "áp dụng từ 01/01/2026" in html


def test_a_quick_pick_without_javascript_wins_over_the_typed_income(login_as):
    html = (
        login_as(CANVASSER)
        .get("/calculator?income=1.500.000&income=5000000&group=other&day=2026-11-22")
        .get_data(as_text=True)
    )
    assert 'name="income" value="5.000.000"' in html
    assert stat(html, "contribution") == "1.100.000" and stat(html, "payable") == "1.034.000"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("income=abc", "income", "Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000"),
        ("income=-1500000", "income", "Hãy nhập mức thu nhập bằng số, ví dụ 1.500.000"),
        (
            "income=60.000.000",
            "income",
            "Mức thu nhập phải từ 1.500.000 đến 50.600.000 đồng/tháng",
        ),
        ("income=1000000", "income", "Mức thu nhập phải từ 1.500.000 đến 50.600.000 đồng/tháng"),
        ("income=2000000&group=rich", "group", "Hãy chọn một nhóm đối tượng trong danh sách."),
        ("income=2000000&day=hôm-qua", "day", "Ngày không hợp lệ, hãy chọn lại."),
        (
            "income=2000000&day=2025-01-01",
            None,
            "Chưa có số liệu chính sách áp dụng ngày 01/01/2025. Hãy báo quản trị viên.",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["fragment", "page"])
def test_bad_input_is_a_vietnamese_400_not_a_500(login_as, query, field, message, htmx):
    response = login_as(CANVASSER).get(f"/calculator?{query}", headers=HTMX if htmx else {})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    slot = re.search(r'<div id="calc-error" role="alert"([^>]*)>(.*?)</div>', html, re.S)
    assert slot and slot.group(2).strip() == f'<p class="error">{message}</p>'
    assert "calc-payable" not in html
    if htmx:
        # htmx puts the message into the slot under the field, out of band.
        assert 'hx-swap-oob="innerHTML"' in slot.group(1)
    else:
        # The message is in the form, which keeps what was typed, to be corrected.
        form = html.split('hx-get="/calculator"', 1)[1].split("</form>", 1)[0]
        assert 'id="calc-error"' in form
        assert html.count('aria-invalid="true"') == (1 if field else 0)
        if field:
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html, re.S)


def test_over_the_ceiling_on_the_old_base_salary(login_as):
    response = login_as(CANVASSER).get("/calculator?income=50000000&day=2026-06-30", headers=HTMX)
    assert response.status_code == 400
    assert "Mức thu nhập phải từ 1.500.000 đến 46.800.000 đồng/tháng" in response.get_data(
        as_text=True
    )


def test_from_2027_the_announced_floor_applies(login_as):
    html = login_as(CANVASSER).get("/calculator?day=2027-01-01").get_data(as_text=True)
    assert 'name="income" value="2.200.000"' in html
    assert "Thu nhập thấp nhất (chuẩn nghèo nông thôn): 2.200.000 đồng" in html
    assert "đã công bố, chờ văn bản hướng dẫn" in html
    # 2.000.000 is below the new floor: no longer a quick pick.
    assert re.findall(r'class="calc-pick">([^<]+)<', html) == [
        "2.200.000",
        "3.000.000",
        "5.000.000",
    ]


def test_person_in_scope_prefills_the_form_and_is_audited(login_as, session):
    person = own_person(session, is_participant=True)
    assert person is not None and person.income_basis and person.support_group
    html = login_as(CANVASSER).get(f"/calculator?person={person.id}").get_data(as_text=True)
    income = f"{person.income_basis:,}".replace(",", ".")
    assert f'name="income" value="{income}"' in html
    assert f'<option value="{person.support_group}" selected>' in html
    assert f'name="person" value="{person.id}"' in html
    assert f"Cho: {person.full_name}" in html
    assert f'id="calc-period-{person.payment_frequency}" class="current"' in html
    entry = session.exec(select(AuditLog).where(AuditLog.action == "view_person_calculator")).one()
    assert (entry.object_type, entry.object_id) == ("person", str(person.id))


def test_a_recalculation_for_the_person_uses_the_typed_values(login_as, session):
    person = own_person(session, is_participant=True)
    client = login_as(CANVASSER)
    response = client.get(
        f"/calculator?person={person.id}&income=2000000&group=other&day=2026-11-22", headers=HTMX
    )
    assert stat(response.get_data(as_text=True), "payable") == "374.000"
    # The result still marks how often the person pays: a recalculation is a view too.
    entry = session.exec(select(AuditLog).where(AuditLog.action == "view_person_calculator")).one()
    assert (entry.object_type, entry.object_id) == ("person", str(person.id))
    assert json.loads(entry.detail) == {"recalculated": True}


def test_the_whole_page_with_typed_values_shows_the_person_and_is_audited(login_as, session):
    """Issue 19 #12: the page with income= shows the name and income basis, unaudited before."""
    person = own_person(session, is_participant=True)
    html = (
        login_as(CANVASSER)
        .get(f"/calculator?person={person.id}&income=2000000&group=other&day=2026-11-22")
        .get_data(as_text=True)
    )
    assert f"Cho: {person.full_name}" in html
    entries = session.exec(
        select(AuditLog).where(AuditLog.action == "view_person_calculator")
    ).all()
    assert [(e.username, e.object_type, e.object_id) for e in entries] == [
        (CANVASSER, "person", str(person.id))
    ]


def test_a_calculation_for_nobody_is_not_audited(login_as, session):
    assert login_as(CANVASSER).get(EXAMPLE).status_code == 200
    assert (
        session.exec(select(AuditLog).where(AuditLog.action == "view_person_calculator")).all()
        == []
    )


def test_island_commune_is_prefilled(login_as, session):
    person = own_person(session, support_group="other")
    commune = session.get(GeoUnit, person.commune_id)
    commune.is_island = True
    session.add(commune)
    session.commit()
    html = login_as(CANVASSER).get(f"/calculator?person={person.id}").get_data(as_text=True)
    assert 'name="island" value="1" checked' in html
    assert stat(html, "support") == "165.000"
    assert "Mức của xã đảo, đặc khu" in html


def test_a_record_below_the_new_floor_is_raised_to_it(login_as, session):
    person = own_person(session, is_participant=True)
    person.income_basis = 1_500_000
    session.add(person)
    session.commit()
    response = login_as(CANVASSER).get(f"/calculator?person={person.id}&day=2027-01-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="income" value="2.200.000"' in html
    assert "đã tính theo mức gần nhất" in html


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "fragment"])
def test_another_communes_person_is_a_404(login_as, session, headers):
    user = session.exec(select(User).where(User.username == CANVASSER)).one()
    other = session.exec(
        select(Person).where(Person.commune_id != user.scope_unit_id).order_by(Person.id)
    ).first()
    response = login_as(CANVASSER).get(f"/calculator?person={other.id}", headers=headers)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert other.full_name not in html and "Không tìm thấy trang" in html


@pytest.mark.parametrize("person", ["abc", "999999999", ""])
def test_a_bad_person_id_is_a_404(login_as, person):
    assert login_as(CANVASSER).get(f"/calculator?person={person}").status_code == 404


def test_media_may_not_use_it(login_as):
    assert login_as("baochi").get(EXAMPLE).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(EXAMPLE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("username", "in_nav"),
    [(CANVASSER, True), ("lanhdao.07210", True), ("admin", False)],
)
def test_leaders_and_admins_may_use_it_canvassers_and_leaders_see_it_in_the_nav(
    login_as, username, in_nav
):
    response = login_as(username).get(EXAMPLE)
    assert response.status_code == 200
    nav = response.get_data(as_text=True).split('<nav aria-label="Điều hướng chính">')[1]
    nav = nav.split("</nav>")[0]
    assert ('href="/calculator" aria-current="page">Tính mức đóng</a>' in nav) is in_nav


def test_each_member_of_a_household_links_to_the_calculator(login_as, session):
    person = own_person(session)
    html = login_as(CANVASSER).get(f"/households/{person.household_id}").get_data(as_text=True)
    members = session.exec(select(Person).where(Person.household_id == person.household_id)).all()
    for member in members:
        assert f'href="/calculator?person={member.id}">Tính mức đóng' in html


def test_english_numbers_and_messages(login_as):
    client = login_as(CANVASSER)
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    html = client.get("/calculator?income=60000000&day=2026-11-22").get_data(as_text=True)
    assert "Monthly income must be between 1,500,000 and 50,600,000 VND" in html
    html = client.get(EXAMPLE).get_data(as_text=True)
    assert stat(html, "payable") == "264,000" and "applies from 01/07/2025" in html
