"""Recording a visit through the form: saved once, errors in Vietnamese, scope and role checked."""

import re
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from outreach.core.clock import today_local
from outreach.models import Household, Person, User, Visit, VisitOutcome
from tests.conftest import csrf_token


def _household(session, username="canbo.07210.1"):
    me = session.exec(select(User).where(User.username == username)).one()
    h = session.exec(select(Household).where(Household.assigned_canvasser_id == me.id)).first()
    return h, session.exec(
        select(Person).where(Person.household_id == h.id).order_by(Person.id)
    ).all()


def _form(client, household_id):
    html = client.get(f"/households/{household_id}/visits/new").get_data(as_text=True)
    return re.search(r'name="client_uuid" value="([^"]+)"', html).group(1), html


def _count(session, model=Visit):
    return session.exec(select(func.count()).select_from(model)).one()


def test_record_a_promise_and_see_it_on_the_household(login_as, session):
    client = login_as("canbo.07210.1")
    h, members = _household(session)
    uid, html = _form(client, h.id)
    assert "Ngày mai" in html and "Cuối tháng" in html and "Hẹn đóng" in html
    tomorrow = (today_local() + timedelta(days=1)).isoformat()
    data = {
        "csrf_token": csrf_token(client, "/worklist"),
        "client_uuid": uid,
        "channel": "phone",
        f"outcome_{members[0].id}": "promised",
        f"date_{members[0].id}": tomorrow,
        f"amount_{members[0].id}": "792.000",
    }
    before = _count(session)
    response = client.post(f"/households/{h.id}/visits", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/worklist"
    assert "Đã lưu lượt thăm" in client.get("/worklist").get_data(as_text=True)
    assert _count(session) == before + 1
    outcome = session.exec(select(VisitOutcome).order_by(VisitOutcome.id.desc())).first()
    assert (
        outcome.outcome == "promised"
        and outcome.follow_up_on.isoformat() == tomorrow
        and outcome.amount == 792000
    )
    # The same form sent again (double tap, retry) is the same visit.
    again = client.post(f"/households/{h.id}/visits", data=data)
    assert again.status_code == 302 and _count(session) == before + 1


def test_a_past_promise_date_is_refused_and_nothing_is_stored(login_as, session):
    client = login_as("canbo.07210.1")
    h, members = _household(session)
    uid, _ = _form(client, h.id)
    before = _count(session)
    data = {
        "csrf_token": csrf_token(client, "/worklist"),
        "client_uuid": uid,
        "channel": "home",
        f"outcome_{members[0].id}": "promised",
        f"date_{members[0].id}": "2020-01-01",
    }
    response = client.post(f"/households/{h.id}/visits", data=data)
    assert response.status_code == 400
    assert "Ngày hẹn phải từ hôm nay trở đi." in response.get_data(as_text=True)
    assert _count(session) == before


def test_no_outcome_at_all_is_refused(login_as, session):
    client = login_as("canbo.07210.1")
    h, _ = _household(session)
    uid, _ = _form(client, h.id)
    response = client.post(
        f"/households/{h.id}/visits",
        data={"csrf_token": csrf_token(client, "/worklist"), "client_uuid": uid, "channel": "home"},
    )
    assert response.status_code == 400 and "ít nhất một người" in response.get_data(as_text=True)


def test_another_communes_household_is_404_and_leaders_cannot_record(login_as, session):
    me = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    other = session.exec(select(Household).where(Household.commune_id != me.scope_unit_id)).first()
    client = login_as("canbo.07210.1")
    assert client.get(f"/households/{other.id}/visits/new").status_code == 404
    token = csrf_token(client, "/worklist")
    assert (
        client.post(f"/households/{other.id}/visits", data={"csrf_token": token}).status_code == 404
    )


def test_leader_cannot_open_the_visit_form(login_as, session):
    h, _ = _household(session)
    assert login_as("lanhdao.07210").get(f"/households/{h.id}/visits/new").status_code == 403


def test_post_without_csrf_is_refused(login_as, session):
    client = login_as("canbo.07210.1")
    h, members = _household(session)
    uid, _ = _form(client, h.id)
    response = client.post(
        f"/households/{h.id}/visits",
        data={"client_uuid": uid, "channel": "home", f"outcome_{members[0].id}": "not_home"},
    )
    assert response.status_code == 400 and _count(session, VisitOutcome) == _count(
        session, VisitOutcome
    )


def test_a_person_off_every_list_is_not_on_the_visit_form(login_as, session):
    household, members = _household(session)
    assert len(members) >= 2
    objecting = members[0]
    objecting.off_list = "objection"  # as an objection to contact leaves it (corrections/)
    session.add(objecting)
    session.commit()
    page = login_as("canbo.07210.1").get(f"/households/{household.id}/visits/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="outcome_{objecting.id}"' not in html
    assert f'name="outcome_{members[1].id}"' in html
