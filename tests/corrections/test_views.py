"""The corrections pages: who may open them, what a refusal looks like, the leader's decision."""

from __future__ import annotations

import io
import re

from python_calamine import CalamineWorkbook
from sqlalchemy import func
from sqlmodel import select

from outreach.models import AuditLog, Correction, Household, Person, User
from outreach.models.codes import CorrectionStatus, Role
from tests.conftest import csrf_token, login

CANVASSER, LEADER = "canbo.07210.1", "lanhdao.07210"


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _household(session, canvasser: User) -> Household:
    return session.exec(
        select(Household)
        .where(Household.assigned_canvasser_id == canvasser.id)
        .order_by(Household.id)
    ).first()


def _count(session) -> int:
    return session.exec(select(func.count()).select_from(Correction)).one()


def _post(client, path: str, data: dict):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)})


def test_a_canvasser_reports_and_a_bad_entry_is_refused_in_vietnamese(app, session, login_as):
    canvasser = _user(session, CANVASSER)
    household = _household(session, canvasser)
    client = login_as(CANVASSER)
    path = f"/households/{household.id}/corrections"
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Thêm người gặp tại nhà" in html and "Không liên hệ nữa" in html

    refused = _post(
        client,
        path,
        {"kind": "add_person", "full_name": "Trần Văn Nam", "born": "1990", "bhxh_number": "123"},
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Mã số BHXH phải có 10 chữ số" in text
    assert 'value="Trần Văn Nam"' in text  # what was typed is kept on the form
    assert _count(session) == 0

    saved = _post(client, path, {"kind": "phone", "whose": "household", "phone": "0912 345 678"})
    assert saved.status_code == 303
    follow = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "chờ lãnh đạo duyệt" in follow
    assert "0912 345 678" in follow
    assert _count(session) == 1
    # The household page shows it, and links the canvasser to the forms.
    shown = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert "Sửa thông tin tại nhà" in shown and "Chờ duyệt" in shown
    assert f'href="{path}"' in shown


def test_another_communes_canvasser_gets_404_and_writes_nothing(app, session, login_as):
    outsider = session.exec(
        select(User).where(
            User.role == Role.CANVASSER,
            User.scope_unit_id != _user(session, CANVASSER).scope_unit_id,
        )
    ).first()
    household = _household(session, _user(session, CANVASSER))
    client = app.test_client()
    assert login(client, outsider.username).status_code == 302
    path = f"/households/{household.id}/corrections"
    assert client.get(path).status_code == 404
    token = csrf_token(client, "/worklist")
    response = client.post(
        path,
        data={"kind": "phone", "whose": "household", "phone": "0912345678", "csrf_token": token},
    )
    assert response.status_code == 404
    assert _count(session) == 0
    # Leaders do not report corrections themselves; the media never see any.
    leader = login_as(LEADER)
    assert leader.get(path).status_code == 403


def test_the_leader_sees_the_count_approves_and_the_household_shows_it(app, session, login_as):
    canvasser = _user(session, CANVASSER)
    household = _household(session, canvasser)
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    client = login_as(CANVASSER)
    path = f"/households/{household.id}/corrections"
    _post(client, path, {"kind": "phone", "whose": str(person.id), "phone": "0987654321"})
    _post(
        client,
        path,
        {
            "kind": "add_person",
            "full_name": "Lò Văn Páo",
            "born": "02/09/2001",
            "bhxh_number": "0199887766",
            "citizen_id": "011201009988",
        },
    )
    # Every screen shows the numbers masked (SECURITY.md §4), the canvasser's included.
    mine = client.get(path).get_data(as_text=True)
    assert "••••••7766" in mine and "0199887766" not in mine and "011201009988" not in mine
    client.post("/logout", data={"csrf_token": csrf_token(client, "/worklist")})

    leader = app.test_client()
    login(leader, LEADER)
    home = leader.get("/").get_data(as_text=True)
    assert "2 sửa đổi tại hộ chờ duyệt" in home
    page = leader.get("/leader/corrections").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<li id="correction-(\d+)">', page)]
    assert len(ids) == 2 and "Lò Văn Páo" in page
    assert "••••••7766" in page and "0199887766" not in page and "011201009988" not in page
    token = csrf_token(leader, "/leader/corrections")
    # A rejection without a reason is refused and changes nothing.
    refused = leader.post(
        f"/leader/corrections/{ids[0]}", data={"decision": "reject", "csrf_token": token}
    )
    assert refused.status_code == 303
    assert "Hãy ghi lý do" in leader.get("/leader/corrections").get_data(as_text=True)
    # In English the button says what it does, the status what happened (one Vietnamese word).
    leader.post("/language", data={"lang": "en", "csrf_token": token})
    english = leader.get("/leader/corrections").get_data(as_text=True)
    assert ">Reject</button>" in english and ">Not approved</button>" not in english
    leader.post("/language", data={"lang": "vi", "csrf_token": token})
    for correction_id in ids:
        response = leader.post(
            f"/leader/corrections/{correction_id}",
            data={"decision": "approve", "csrf_token": token},
        )
        assert response.status_code == 303
    statuses = set(session.exec(select(Correction.status)).all())
    assert statuses == {CorrectionStatus.APPROVED}
    shown = leader.get(f"/households/{household.id}").get_data(as_text=True)
    assert "Lò Văn Páo" in shown and "0987 654 321" in shown
    assert "Sửa đổi tại hộ: không có gì chờ duyệt" in leader.get("/").get_data(as_text=True)

    sheet = leader.get("/leader/corrections/export.xlsx?status=approved")
    assert sheet.status_code == 200
    assert sheet.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(sheet.data)).get_sheet_by_index(0).to_python()
    walk_in = next(row for row in rows[4:] if row[6] == "Lò Văn Páo")
    assert walk_in[8:10] == ["0199887766", "011201009988"]  # BHXH needs the numbers whole
    actions = set(session.exec(select(AuditLog.action)).all())
    assert {"correction.report", "correction.approve", "correction.export"} <= actions


def test_a_leader_outside_the_commune_cannot_decide(app, session, login_as):
    canvasser = _user(session, CANVASSER)
    household = _household(session, canvasser)
    client = login_as(CANVASSER)
    _post(
        client,
        f"/households/{household.id}/corrections",
        {"kind": "add_person", "full_name": "Lò Văn Páo", "born": "2001"},
    )
    correction_id = session.exec(select(Correction.id)).one()
    outsider = app.test_client()
    login(outsider, "lanhdao.cum")  # a group of communes without this one
    assert "Lò Văn Páo" not in outsider.get("/leader/corrections").get_data(as_text=True)
    token = csrf_token(outsider, "/leader/corrections")
    response = outsider.post(
        f"/leader/corrections/{correction_id}", data={"decision": "approve", "csrf_token": token}
    )
    assert response.status_code == 303
    page = outsider.get("/leader/corrections").get_data(as_text=True)
    assert "Không tìm thấy sửa đổi này trong phạm vi của bạn." in page
    session.expire_all()
    assert session.get(Correction, correction_id).status == CorrectionStatus.PENDING
    assert client.get("/leader/corrections").status_code == 403  # not for canvassers
    assert client.get("/leader/corrections/export.xlsx").status_code == 403


def test_an_objection_is_listed_for_the_leader_until_lifted(app, session, login_as):
    canvasser = _user(session, CANVASSER)
    household = _household(session, canvasser)
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    client = login_as(CANVASSER)
    path = f"/households/{household.id}/corrections"
    saved = _post(
        client,
        path,
        {"kind": "objection", "person_id": str(person.id), "reason": "Không muốn bị làm phiền"},
    )
    assert saved.status_code == 303
    assert "có hiệu lực ngay" in client.get(path).get_data(as_text=True)
    correction_id = session.exec(select(Correction.id)).one()

    leader = app.test_client()
    login(leader, LEADER)
    page = leader.get("/leader/corrections").get_data(as_text=True)
    objections = page.split('id="objections"', 1)[1].split("</ul>", 1)[0]
    assert person.full_name in objections and "Không muốn bị làm phiền" in objections
    token = csrf_token(leader, "/leader/corrections")
    leader.post(
        f"/leader/corrections/{correction_id}", data={"decision": "lift", "csrf_token": token}
    )
    session.expire_all()
    assert session.get(Person, person.id).off_list == "objection"  # a reason is needed
    leader.post(
        f"/leader/corrections/{correction_id}",
        data={"decision": "lift", "note": "Anh đồng ý nghe lại", "csrf_token": token},
    )
    session.expire_all()
    assert session.get(Person, person.id).off_list == ""
    page = leader.get("/leader/corrections").get_data(as_text=True)
    assert "Đã gỡ yêu cầu không liên hệ." in page
    assert person.full_name not in page.split('id="objections"', 1)[1].split("</ul>", 1)[0]
