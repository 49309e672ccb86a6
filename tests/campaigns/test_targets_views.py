"""The targets pages: roles, scope (another commune is 404), validation, and the sheet upload."""

import io

import pytest
from sqlmodel import select

from outreach.models import AuditLog, Campaign, GeoUnit, Target, User
from outreach.models.codes import UnitKind
from tests.conftest import csrf_token


def _leader_commune(session, username="lanhdao.07210"):
    user = session.exec(select(User).where(User.username == username)).one()
    return session.get(GeoUnit, user.scope_unit_id)


def _village(session, commune):
    return session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == commune.id, GeoUnit.kind == UnitKind.VILLAGE)
    ).first()


def _other_commune(session, commune):
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.id != commune.id)
    ).first()


def _own(session, unit):
    session.expire_all()
    return [
        (t.new_participants, t.renewals)
        for t in session.exec(select(Target).where(Target.unit_id == unit.id))
    ]


@pytest.mark.parametrize("username", ["canbo.07210.1", "baochi"])
def test_canvassers_and_media_are_refused(login_as, session, username):
    client = login_as(username)
    commune = _leader_commune(session)
    assert client.get("/targets").status_code == 403
    token = csrf_token(client, "/targets")  # the 403 page carries the token too
    data = {"csrf_token": token, "unit_id": commune.id, "new_participants": 1, "renewals": 1}
    assert client.post("/targets", data=data).status_code == 403
    assert client.post("/targets/upload", data={"csrf_token": token}).status_code == 403


def test_a_commune_leader_sees_and_sets_their_commune_and_villages(login_as, session):
    client = login_as("lanhdao.07210")
    commune = _leader_commune(session)
    village = _village(session, commune)
    html = client.get("/targets").get_data(as_text=True)
    assert commune.name in html and village.name in html
    assert f'data-unit="{_other_commune(session, commune).id}"' not in html
    form = client.get(f"/targets?unit={village.id}").get_data(as_text=True)
    assert 'id="new_participants"' in form
    response = client.post(
        "/targets",
        data={
            "csrf_token": csrf_token(client, "/targets"),
            "unit_id": village.id,
            "new_participants": "1.200",
            "renewals": "30",
        },
    )
    assert response.status_code == 302
    assert _own(session, village) == [(1200, 30)]
    entry = session.exec(select(AuditLog).where(AuditLog.action == "set_target")).one()
    assert entry.object_id == str(village.id)


def test_a_commune_leader_cannot_touch_another_commune(login_as, session):
    client = login_as("lanhdao.07210")
    other = _other_commune(session, _leader_commune(session))
    before = _own(session, other)
    assert client.get(f"/targets?unit={other.id}").status_code == 404
    assert client.get(f"/targets?commune={other.id}").status_code == 404
    token = csrf_token(client, "/targets")
    for unit in (other, _village(session, other)):
        response = client.post(
            "/targets",
            data={"csrf_token": token, "unit_id": unit.id, "new_participants": 9, "renewals": 9},
        )
        assert response.status_code == 404
    assert _own(session, other) == before


@pytest.mark.parametrize(
    ("new", "renewals", "message"),
    [("-5", "1", "số nguyên không âm"), ("abc", "1", "số nguyên không âm"), ("", "1", "Chưa nhập")],
)
def test_bad_numbers_show_a_vietnamese_error_and_change_nothing(
    login_as, session, new, renewals, message
):
    client = login_as("lanhdao.07210")
    commune = _leader_commune(session)
    before = _own(session, commune)
    response = client.post(
        "/targets",
        data={
            "csrf_token": csrf_token(client, "/targets"),
            "unit_id": commune.id,
            "new_participants": new,
            "renewals": renewals,
        },
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _own(session, commune) == before


def test_clearing_a_commune_target_falls_back_to_the_villages(login_as, session):
    client = login_as("lanhdao.07210")
    commune = _leader_commune(session)
    token = csrf_token(client, "/targets")
    village = _village(session, commune)
    client.post(
        "/targets",
        data={"csrf_token": token, "unit_id": village.id, "new_participants": 7, "renewals": 8},
    )
    response = client.post(
        "/targets", data={"csrf_token": token, "unit_id": commune.id, "action": "clear"}
    )
    assert response.status_code == 302 and _own(session, commune) == []
    html = client.get("/targets").get_data(as_text=True)
    assert "Tổng 1 thôn" in html


def test_the_province_leader_uploads_a_sheet(login_as, session):
    client = login_as("lanhdao.tinh")
    commune = _leader_commune(session)
    body = "Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp\n07210,321,654\n".encode()
    response = client.post(
        "/targets/upload",
        data={"csrf_token": csrf_token(client, "/targets"), "file": (io.BytesIO(body), "ct.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert _own(session, commune) == [(321, 654)]
    assert session.exec(select(AuditLog).where(AuditLog.action == "import_targets")).one()


def test_a_bad_sheet_lists_its_errors_and_writes_nothing(login_as, session):
    client = login_as("lanhdao.07210")
    commune = _leader_commune(session)
    other = _other_commune(session, commune)
    before = (_own(session, commune), _own(session, other))
    body = (
        f"Mã đơn vị,Chỉ tiêu tham gia mới,Chỉ tiêu đóng tiếp\n07210,1,2\n{other.code},3,4\n"
    ).encode()
    response = client.post(
        "/targets/upload",
        data={"csrf_token": csrf_token(client, "/targets"), "file": (io.BytesIO(body), "ct.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Dòng 3:" in html and "ngoài phạm vi" in html
    assert (_own(session, commune), _own(session, other)) == before
    empty = client.post(
        "/targets/upload",
        data={"csrf_token": csrf_token(client, "/targets")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and "Chưa chọn tệp" in empty.get_data(as_text=True)


def test_an_unknown_campaign_is_not_found(login_as, session):
    client = login_as("admin")
    assert client.get("/targets?campaign=9999").status_code == 404
    campaign = session.exec(select(Campaign)).one()
    assert client.get(f"/targets?campaign={campaign.id}").status_code == 200


def test_ids_beyond_the_database_range_are_not_found(login_as):
    client = login_as("lanhdao.tinh")
    huge = "99999999999999999999"
    assert client.get(f"/targets?unit={huge}").status_code == 404
    assert client.get(f"/targets?commune={huge}").status_code == 404
    assert client.get(f"/targets?campaign={huge}").status_code == 404
    token = csrf_token(client, "/targets")
    response = client.post(
        "/targets",
        data={"csrf_token": token, "unit_id": huge, "new_participants": 1, "renewals": 1},
    )
    assert response.status_code == 404
