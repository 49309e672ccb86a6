"""The leader's pages: assignment, visit review, promises — roles, CSRF, scope, Vietnamese errors."""

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from outreach.models import GeoUnit, Household, Payment, Person, User, Visit, VisitOutcome
from outreach.models.codes import UnitKind
from tests.conftest import csrf_token, login

PAGES = ["/leader/assign", "/leader/review", "/leader/promises"]


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _assignments(session):
    session.expire_all()
    return dict(session.exec(select(Household.id, Household.assigned_canvasser_id)).all())


def _village_of(session, commune_id):
    """The village of a commune with the most households."""
    counts = {}
    for h in session.exec(select(Household).where(Household.commune_id == commune_id)):
        counts[h.village_id] = counts.get(h.village_id, 0) + 1
    return session.get(GeoUnit, max(counts, key=counts.get))


def _flash(html):
    return re.findall(r'<p class="flash (\w+)" role="status">([^<]+)</p>', html)


@pytest.mark.parametrize(("username", "home"), [("canbo.07210.1", "/worklist"), ("baochi", "/")])
def test_canvassers_and_media_are_refused(login_as, session, username, home):
    client = login_as(username)
    for path in PAGES:
        assert client.get(path).status_code == 403
    before = _assignments(session)
    village = _village_of(session, _user(session, "lanhdao.07210").scope_unit_id)
    response = client.post(
        "/leader/assign/village",
        data={
            "csrf_token": csrf_token(client, home),
            "village_id": village.id,
            "canvasser_id": _user(session, "canbo.07210.2").id,
        },
    )
    assert response.status_code == 403 and _assignments(session) == before


def test_anonymous_users_go_to_the_login(client):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["lanhdao.07210", "lanhdao.tinh", "admin"])
def test_leaders_and_admins_see_the_pages_in_vietnamese(login_as, username):
    client = login_as(username)
    texts = {
        "/leader/assign": "Giao việc",
        "/leader/review": "lượt thăm cần soát",
        "/leader/promises": "Theo dõi hẹn đóng",
    }
    for path, text in texts.items():
        response = client.get(path)
        assert response.status_code == 200 and text in response.get_data(as_text=True)


def test_the_workload_lists_only_canvassers_in_scope(login_as, session):
    client = login_as("lanhdao.07210")
    html = client.get("/leader/assign").get_data(as_text=True)
    rows = set(int(i) for i in re.findall(r'<tr id="load-(\d+)"', html))
    expected = {
        u.id
        for u in session.exec(
            select(User).where(
                User.role == "canvasser",
                User.scope_unit_id == _user(session, "lanhdao.07210").scope_unit_id,
            )
        )
    }
    assert rows == expected and len(rows) == 2


def test_a_group_leader_works_one_commune_of_the_group_at_a_time(login_as, session):
    leader = _user(session, "lanhdao.cum")
    group = set(
        session.exec(select(GeoUnit.id).where(GeoUnit.parent_id == leader.scope_unit_id)).all()
    )
    client = login_as("lanhdao.cum")
    html = client.get("/leader/assign").get_data(as_text=True)
    offered = {int(i) for i in re.findall(r'<option value="(\d+)"', html)}
    assert offered == group and "Chọn một xã, phường" in html and 'id="workload"' not in html
    commune = min(group)
    html = client.get(f"/leader/assign?commune={commune}").get_data(as_text=True)
    villages = set(session.exec(select(GeoUnit.id).where(GeoUnit.parent_id == commune)).all())
    listed = {
        int(i)
        for i in re.findall(
            r'<option value="(\d+)"', html.split('id="assign-village"')[1].split("</select>")[0]
        )
    }
    assert listed == villages and listed
    canvassers = {int(i) for i in re.findall(r'<tr id="load-(\d+)"', html)}
    assert canvassers == set(
        session.exec(
            select(User.id).where(User.role == "canvasser", User.scope_unit_id == commune)
        ).all()
    )
    # A commune outside the group is not offered: the page asks to choose again.
    outside = session.exec(
        select(GeoUnit.id).where(GeoUnit.kind == "commune", GeoUnit.id.not_in(group))
    ).first()
    html = client.get(f"/leader/assign?commune={outside}").get_data(as_text=True)
    assert 'id="workload"' not in html and "Chọn một xã, phường" in html


def test_assigning_a_village_needs_csrf(login_as, session):
    leader, two = _user(session, "lanhdao.07210"), _user(session, "canbo.07210.2")
    village = _village_of(session, leader.scope_unit_id)
    client = login_as("lanhdao.07210")
    before = _assignments(session)
    response = client.post(
        "/leader/assign/village", data={"village_id": village.id, "canvasser_id": two.id}
    )
    assert response.status_code == 400
    assert _assignments(session) == before


def test_assigning_a_village_changes_the_canvassers_list(app, login_as, session):
    leader, two = _user(session, "lanhdao.07210"), _user(session, "canbo.07210.2")
    village = _village_of(session, leader.scope_unit_id)
    in_village = set(
        session.exec(select(Household.id).where(Household.village_id == village.id)).all()
    )
    client = login_as("lanhdao.07210")
    response = client.post(
        "/leader/assign/village",
        data={
            "csrf_token": csrf_token(client, "/leader/assign"),
            "village_id": village.id,
            "canvasser_id": two.id,
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert ("ok", f"Đã giao {len(in_village)} hộ cho {two.full_name}.") in _flash(html)
    after = _assignments(session)
    assert {h for h, c in after.items() if c == two.id} == in_village

    canvasser = app.test_client()
    login(canvasser, "canbo.07210.2")
    listed = set(
        int(i)
        for i in re.findall(r'id="hh-(\d+)"', canvasser.get("/worklist").get_data(as_text=True))
    )
    on_list = set(
        session.exec(
            select(Household.id).where(
                Household.village_id == village.id, Household.priority_score > 0
            )
        ).all()
    )
    assert on_list and listed == on_list


def test_out_of_scope_or_bad_input_is_refused_in_vietnamese(login_as, session):
    leader, two = _user(session, "lanhdao.07210"), _user(session, "canbo.07210.2")
    outsider = _user(session, "canbo.09370.1")
    mine = _village_of(session, leader.scope_unit_id)
    theirs = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.VILLAGE, GeoUnit.parent_id != leader.scope_unit_id
        )
    ).first()
    client = login_as("lanhdao.07210")
    before = _assignments(session)
    cases = [
        (
            "/leader/assign/village",
            {"village_id": theirs.id, "canvasser_id": two.id},
            "Thôn, tổ dân phố này không thuộc phạm vi của bạn.",
        ),
        (
            "/leader/assign/village",
            {"village_id": mine.id, "canvasser_id": outsider.id},
            "Cán bộ này không thuộc phạm vi của bạn.",
        ),
        (
            "/leader/assign/village",
            {"village_id": "abc", "canvasser_id": "1; drop"},
            "Thôn, tổ dân phố này không thuộc phạm vi của bạn.",
        ),
        (
            "/leader/assign/households",
            {"household_id": ["x"], "canvasser_id": two.id},
            "Danh sách hộ không hợp lệ.",
        ),
        ("/leader/assign/households", {"canvasser_id": two.id}, "Hãy chọn ít nhất một hộ."),
        (
            "/leader/assign/move",
            {"from_canvasser_id": outsider.id, "to_canvasser_id": two.id},
            "Cán bộ này không thuộc phạm vi của bạn.",
        ),
        (
            "/leader/assign/move",
            {"from_canvasser_id": two.id, "to_canvasser_id": two.id},
            "Hãy chọn hai cán bộ khác nhau.",
        ),
        (
            "/leader/assign/move",
            {"from_canvasser_id": two.id, "to_canvasser_id": outsider.id},
            "Cán bộ này không thuộc phạm vi của bạn.",
        ),
    ]
    token = csrf_token(client, "/leader/assign")
    for path, data, message in cases:
        response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=True)
        assert response.status_code == 200, path
        flashes = _flash(response.get_data(as_text=True))
        assert ("error", message) in flashes, (path, flashes)
    assert _assignments(session) == before


def test_picking_households_of_a_village(login_as, session):
    leader, two = _user(session, "lanhdao.07210"), _user(session, "canbo.07210.2")
    village = _village_of(session, leader.scope_unit_id)
    ids = sorted(session.exec(select(Household.id).where(Household.village_id == village.id)).all())
    client = login_as("lanhdao.07210")
    fragment = client.get(
        f"/leader/assign?village={village.id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and 'id="households"' in fragment
    assert sorted(int(i) for i in re.findall(r'name="household_id" value="(\d+)"', fragment)) == ids
    # A village of another commune shows nothing to pick.
    other = session.exec(
        select(Household.village_id).where(Household.commune_id != leader.scope_unit_id)
    ).first()
    assert 'name="household_id"' not in client.get(f"/leader/assign?village={other}").get_data(
        as_text=True
    )

    response = client.post(
        "/leader/assign/households",
        data={
            "csrf_token": csrf_token(client, "/leader/assign"),
            "village_id": village.id,
            "household_id": [str(ids[0])],
            "canvasser_id": two.id,
        },
    )
    assert response.status_code == 303 and f"village={village.id}" in response.headers["Location"]
    after = _assignments(session)
    assert after[ids[0]] == two.id and all(after[i] != two.id for i in ids[1:])


def _visit_of(session, username):
    """A constructed visit by a canvasser, far from its household."""
    canvasser = _user(session, username)
    household = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id)
    ).first()
    household.latitude, household.longitude = 21.27, 106.19
    session.add(household)
    at = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    visit = Visit(
        client_uuid=str(uuid.uuid4()),
        household_id=household.id,
        canvasser_id=canvasser.id,
        province_id=household.province_id,
        commune_id=household.commune_id,
        visited_at=at,
        channel="home",
        latitude=21.28,
        longitude=106.19,
    )
    session.add(visit)
    session.flush()
    person = session.exec(select(Person).where(Person.household_id == household.id)).first()
    session.add(
        VisitOutcome(
            visit_id=visit.id,
            person_id=person.id,
            province_id=household.province_id,
            commune_id=household.commune_id,
            visited_at=at,
            outcome="not_home",
        )
    )
    session.commit()
    return visit


def test_returning_a_visit_shows_it_on_the_canvassers_list(app, login_as, session):
    visit = _visit_of(session, "canbo.07210.2")
    client = login_as("lanhdao.07210")
    html = client.get("/leader/review?from=2026-11-22&to=2026-11-22").get_data(as_text=True)
    assert f'id="visit-{visit.id}"' in html and "Xa nhà" in html
    token = csrf_token(client, "/leader/review")
    response = client.post(
        f"/leader/review/{visit.id}/return",
        data={"csrf_token": token, "comment": "  "},
        follow_redirects=True,
    )
    assert ("error", "Hãy ghi lý do trả lại để cán bộ biết cần kiểm tra gì.") in _flash(
        response.get_data(as_text=True)
    )
    session.expire_all()
    assert session.get(Visit, visit.id).review_status == "none"
    assert (
        client.post(f"/leader/review/{visit.id}/return", data={"comment": "x"}).status_code == 400
    )

    response = client.post(
        f"/leader/review/{visit.id}/return",
        data={
            "csrf_token": token,
            "comment": "Vị trí cách nhà 1 km, kiểm tra lại",
            "from": "2026-11-22",
        },
    )
    assert response.status_code == 303 and "from=2026-11-22" in response.headers["Location"]
    session.expire_all()
    assert session.get(Visit, visit.id).review_status == "returned"

    canvasser = app.test_client()
    login(canvasser, "canbo.07210.2")
    page = canvasser.get("/worklist").get_data(as_text=True)
    assert "Lượt thăm bị trả lại" in page and "Vị trí cách nhà 1 km, kiểm tra lại" in page
    other = app.test_client()
    login(other, "canbo.07210.1")
    assert "Lượt thăm bị trả lại" not in other.get("/worklist").get_data(as_text=True)


def test_a_returned_visit_stays_in_its_commune_when_the_canvasser_moves(app, login_as, session):
    """Issue 19, critical 1: the returned-visits list went by canvasser alone, so after a move the
    new commune's leader read the old commune's household, visit and comment."""
    visit = _visit_of(session, "canbo.07210.2")
    head = session.get(Household, visit.household_id).head_name
    client = login_as("lanhdao.07210")
    token = csrf_token(client, "/leader/review")
    comment = "Ghi chú trả lại chỉ xã cũ được đọc"
    client.post(f"/leader/review/{visit.id}/return", data={"csrf_token": token, "comment": comment})
    canvasser = _user(session, "canbo.07210.2")
    before = app.test_client()
    login(before, "lanhdao.07210")
    page = before.get(f"/worklist?canvasser={canvasser.id}").get_data(as_text=True)
    assert comment in page and head in page  # seen where it belongs

    other_commune = session.exec(select(GeoUnit).where(GeoUnit.code == "09370")).one()
    canvasser.scope_unit_id = other_commune.id  # an admin moves the canvasser
    session.add(canvasser)
    session.commit()
    for username in ("lanhdao.09370", "canbo.07210.2"):
        viewer = app.test_client()
        login(viewer, username)
        url = "/worklist" + (f"?canvasser={canvasser.id}" if username.startswith("lanhdao") else "")
        response = viewer.get(url)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert comment not in page and f"/households/{visit.household_id}" not in page
        assert "Lượt thăm bị trả lại" not in page


def test_a_visit_of_another_commune_cannot_be_reviewed(login_as, session):
    visit = _visit_of(session, "canbo.09370.1")
    client = login_as("lanhdao.07210")
    assert f'id="visit-{visit.id}"' not in client.get("/leader/review?from=2026-11-22").get_data(
        as_text=True
    )
    response = client.post(
        f"/leader/review/{visit.id}/confirm",
        data={"csrf_token": csrf_token(client, "/leader/review")},
        follow_redirects=True,
    )
    assert ("error", "Không tìm thấy lượt thăm này trong phạm vi của bạn.") in _flash(
        response.get_data(as_text=True)
    )
    session.expire_all()
    assert session.get(Visit, visit.id).review_status == "none"


def test_a_bad_review_window_falls_back_with_a_message(login_as):
    client = login_as("lanhdao.07210")
    for query, message in (
        ("from=hôm-qua", "Ngày không hợp lệ"),
        ("from=2026-11-20&to=2026-11-01", "Ngày bắt đầu phải trước ngày kết thúc"),
        ("from=2025-01-01&to=2026-11-01", "Mỗi lần xem tối đa 62 ngày"),
    ):
        response = client.get(f"/leader/review?{query}")
        assert response.status_code == 200 and message in response.get_data(as_text=True)


def test_promises_page_says_when_no_payments_list_is_imported(login_as):
    client = login_as("lanhdao.tinh")
    html = client.get("/leader/promises").get_data(as_text=True)
    assert "Chưa nhập danh sách nộp tiền" in html
    assert re.search(r'id="pending"><span class="stat-value">[1-9]', html)


def _stat(html: str, name: str) -> int:
    found = re.search(rf'<div class="stat" id="{name}"><span class="stat-value">([\d.]+)<', html)
    assert found, name
    return int(found.group(1).replace(".", ""))


def test_without_a_payments_list_a_passed_promise_is_unknown_not_broken(app, login_as, session):
    app.config["OUTREACH_TODAY"] = "2026-11-22"
    client = login_as("lanhdao.tinh")
    html = client.get("/leader/promises").get_data(as_text=True)
    assert "Chưa nhập danh sách nộp tiền" in html and "chưa rõ" in html
    # The demo's promises whose deadline passed: none broken, since nothing can tell.
    assert _stat(html, "broken") == 0 and _stat(html, "unknown") > 0
    unknown = _stat(html, "unknown")
    # A payments list reaching today's day: those unpaid are broken now.
    person = session.exec(select(Person)).first()
    session.add(
        Payment(
            person_id=person.id,
            province_id=person.province_id,
            commune_id=person.commune_id,
            paid_on=date(2026, 11, 22),
            amount=330_000,
            months=1,
        )
    )
    session.commit()
    html = client.get("/leader/promises").get_data(as_text=True)
    assert "Chưa nhập danh sách nộp tiền" not in html and "22/11/2026" in html
    assert _stat(html, "unknown") == 0 and 0 < _stat(html, "broken") <= unknown
