"""The household page tells the story: where each member stands, every visit with its time,
canvasser, outcomes and note, and a returned visit the canvasser answers for the leader."""

import re
from datetime import timedelta

from sqlmodel import select

from outreach.core.clock import today_local
from outreach.models import AuditLog, Household, Person, User, Visit
from tests.conftest import csrf_token


def _household(session, username="canbo.07210.1", members=2):
    me = session.exec(select(User).where(User.username == username)).one()
    for h in session.exec(
        select(Household).where(Household.assigned_canvasser_id == me.id).order_by(Household.id)
    ):
        people = session.exec(
            select(Person).where(Person.household_id == h.id).order_by(Person.id)
        ).all()
        if len(people) >= members:
            return me, h, people
    raise AssertionError("no household")


def _visit(client, household, data):
    html = client.get(f"/households/{household.id}/visits/new").get_data(as_text=True)
    uid = re.search(r'name="client_uuid" value="([^"]+)"', html).group(1)
    form = {"csrf_token": csrf_token(client, "/worklist"), "client_uuid": uid, "channel": "home"}
    response = client.post(f"/households/{household.id}/visits", data={**form, **data})
    assert response.status_code == 302, response.get_data(as_text=True)
    return uid


def test_a_promise_just_made_is_on_the_household_page(login_as, session):
    client = login_as("canbo.07210.1")
    me, household, members = _household(session)
    first, second = members[0], members[1]
    promised = today_local() + timedelta(days=3)
    _visit(
        client,
        household,
        {
            f"outcome_{first.id}": "promised",
            f"date_{first.id}": promised.strftime("%d/%m/%Y"),
            f"outcome_{second.id}": "refused",
            f"reason_{second.id}": "no_money",
            "note": "Hẹn sau khi bán lúa",
        },
    )
    html = client.get(f"/households/{household.id}").get_data(as_text=True)
    member = html[html.index(f'id="person-{first.id}"') :]
    assert f"hẹn ngày {promised.strftime('%d/%m/%Y')}" in member[: member.index("</li>")]
    history = html[html.index('id="visits"') :]
    assert me.full_name in history
    assert f"{first.full_name}: <strong>Hẹn đóng</strong>" in history
    assert f"{second.full_name}: <strong>Từ chối</strong> (Không có tiền)" in history
    assert "Hẹn sau khi bán lúa" in history
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", history)  # the day and the time


def test_nobody_home_is_not_one_person_met(login_as, session):
    client = login_as("canbo.07210.1")
    _me, household, members = _household(session)
    _visit(client, household, {"nobody_home": "1", f"outcome_{members[0].id}": "promised"})
    visit = session.exec(
        select(Visit).where(Visit.household_id == household.id).order_by(Visit.id.desc())
    ).first()
    html = client.get(f"/households/{household.id}").get_data(as_text=True)
    line = html[html.index(f'id="visit-{visit.id}"') :]
    line = line[: line.index("</li>")]
    assert "Không ai ở nhà" in line and "người gặp" not in line and "Hẹn đóng" not in line


def _returned_visit(session, client, household, members, leader_name="lanhdao.07210"):
    uid = _visit(client, household, {f"outcome_{members[0].id}": "not_home"})
    visit = session.exec(select(Visit).where(Visit.client_uuid == uid)).one()
    leader = session.exec(select(User).where(User.username == leader_name)).one()
    visit.review_status = "returned"
    visit.review_comment = "Hộ này đã chuyển đi, kiểm tra lại"
    visit.reviewed_by_id = leader.id
    session.add(visit)
    session.commit()
    return visit


def test_a_returned_visit_is_answered_and_the_leader_reads_the_answer(client, login_as, session):
    login_as("canbo.07210.1")
    _me, household, members = _household(session)
    visit = _returned_visit(session, client, household, members)
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    line = page[page.index(f'id="visit-{visit.id}"') :]
    assert "Bị trả lại" in line and "Hộ này đã chuyển đi, kiểm tra lại" in line
    assert "Ghi lượt thăm sửa lại" in line and 'name="reply"' in line
    response = client.post(
        f"/households/{household.id}/visits/{visit.id}/reply",
        data={"csrf_token": csrf_token(client, "/worklist"), "reply": "Đã kiểm tra: vẫn ở đây"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/households/{household.id}#visit-{visit.id}")
    session.refresh(visit)
    assert visit.canvasser_reply == "Đã kiểm tra: vẫn ở đây" and visit.replied_at is not None
    assert session.exec(
        select(AuditLog).where(AuditLog.action == "reply_review", AuditLog.object_id == visit.id)
    ).first()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/worklist")})
    login_as("lanhdao.07210")
    review = client.get("/leader/review").get_data(as_text=True)
    answer = review[review.index(f'id="reply-{visit.id}"') :]
    assert "Đã kiểm tra: vẫn ở đây" in answer[: answer.index("</li>")]


def test_only_the_visits_canvasser_answers_and_never_with_nothing(client, login_as, session):
    login_as("canbo.07210.1")
    _me, household, members = _household(session)
    visit = _returned_visit(session, client, household, members)
    empty = client.post(
        f"/households/{household.id}/visits/{visit.id}/reply",
        data={"csrf_token": csrf_token(client, "/worklist"), "reply": "   "},
    )
    assert empty.status_code == 303
    assert "Hãy ghi câu trả lời" in client.get(f"/households/{household.id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/worklist")})
    login_as("canbo.07210.2")
    other = client.post(
        f"/households/{household.id}/visits/{visit.id}/reply",
        data={"csrf_token": csrf_token(client, "/worklist"), "reply": "Không phải của tôi"},
    )
    assert other.status_code == 303
    session.refresh(visit)
    assert visit.canvasser_reply == "" and visit.replied_at is None
