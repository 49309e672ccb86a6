"""What an imported list's facts look like on the pages: a birth year alone is a year, and a
household without an address shows its village without a dangling comma."""

from types import SimpleNamespace

from sqlmodel import Session, select

from outreach.models import Household, Person
from tests.imports.test_placement import _csv, _import


def test_a_year_only_birth_shows_as_a_year(app, login_as):
    with Session(app.extensions["engine"]) as session:
        _import(
            session,
            _csv(
                [
                    "1,Người Năm Sinh,1978,2499060001,,Tổ dân phố số 1,Phường Bắc Giang,10/2026,",
                    "2,Người Đủ Ngày,12/03/1979,2499060002,,Tổ dân phố số 1,Phường Bắc Giang,"
                    "10/2026,",
                ]
            ),
        )
        yearly = session.exec(select(Person).where(Person.bhxh_number == "2499060001")).one()
        exact = session.exec(select(Person).where(Person.bhxh_number == "2499060002")).one()
    client = login_as("admin")
    page = client.get(f"/households/{yearly.household_id}").get_data(as_text=True)
    assert "Sinh năm 1978" in page and "01/01/1978" not in page
    page = client.get(f"/households/{exact.household_id}").get_data(as_text=True)
    assert "Sinh 12/03/1979" in page


def test_a_household_without_an_address_shows_its_village_alone(app):
    macros = app.jinja_env.get_template("worklist/_macros.html").module
    household = Household(id=1, head_name="Người Không Nhà", address="", commune_id=1)
    row = SimpleNamespace(
        household=household, village_name="Tổ dân phố số 2", reasons=[], member_names=[]
    )
    with app.test_request_context():
        html = str(macros.household_row(row))
    assert "Tổ dân phố số 2" in html and ", Tổ dân phố số 2" not in html
    household.address = "Số 5 ngõ 2"
    with app.test_request_context():
        assert "Số 5 ngõ 2, Tổ dân phố số 2" in str(macros.household_row(row))
