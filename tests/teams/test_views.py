"""The team pages: who may use them, a team set up by the admin, bad input, another commune."""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import select

from outreach.models import AuditLog, GeoUnit, Team, TeamMember, User
from tests.conftest import csrf_token, login

COMMUNE = "07210"


def _ids(session):
    commune = session.exec(select(GeoUnit).where(GeoUnit.code == COMMUNE)).one()
    members = [
        session.exec(select(User).where(User.username == f"canbo.{COMMUNE}.{n}")).one().id
        for n in (1, 2)
    ]
    return commune.id, members


def _create(client, commune_id, members, name="Tổ Bưu điện - Xã"):
    return client.post(
        "/teams/new",
        data={
            "csrf_token": csrf_token(client, "/teams/new"),
            "commune": commune_id,
            "name": name,
            "members": members,
            "target_new": "12",
            "target_renewals": "3",
        },
    )


def _as(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _teams(session) -> int:
    return session.exec(select(func.count()).select_from(Team)).one()


def test_canvassers_and_media_cannot_open_the_team_pages(app):
    for username in ("canbo.07210.1", "baochi"):
        client = _as(app, username)
        assert client.get("/teams").status_code == 403
        assert client.get("/teams/new").status_code == 403


def test_the_admin_sets_up_a_team_and_the_leader_sees_its_score(app, session):
    commune_id, members = _ids(session)
    admin = _as(app, "admin")
    answer = _create(admin, commune_id, members)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    team = session.exec(select(Team)).one()
    assert (team.target_new, team.target_renewals) == (12, 3)
    assert sorted(session.exec(select(TeamMember.user_id)).all()) == sorted(members)
    leader = _as(app, f"lanhdao.{COMMUNE}")
    page = leader.get("/teams").get_data(as_text=True)
    assert "Tổ Bưu điện - Xã" in page and "Hộ đã đến" in page, page[page.find("<main") :][:3000]
    assert re.search(r"Đạt \d+,\d\d% chỉ tiêu \(\d+/15\)", page)  # the Vietnamese number forms
    assert session.exec(select(AuditLog).where(AuditLog.action == "view_teams")).first()


def test_a_team_of_one_is_refused_in_vietnamese_and_nothing_is_written(login_as, session):
    commune_id, members = _ids(session)
    admin = login_as("admin")
    answer = _create(admin, commune_id, members[:1])
    assert answer.status_code == 422
    assert "Một tổ cần ít nhất hai cán bộ thu." in answer.get_data(as_text=True)
    assert _teams(session) == 0
    bad_target = admin.post(
        "/teams/new",
        data={
            "csrf_token": csrf_token(admin, "/teams/new"),
            "commune": commune_id,
            "name": "Tổ 2",
            "members": members,
            "target_new": "mười",
        },
    )
    assert bad_target.status_code == 422 and _teams(session) == 0


def test_another_communes_leader_gets_404(app, session):
    commune_id, members = _ids(session)
    assert _create(_as(app, "admin"), commune_id, members).status_code == 303
    team_id = session.exec(select(Team.id)).one()
    other = _as(app, "lanhdao.07432")
    assert other.get(f"/teams/{team_id}").status_code == 404
    token = csrf_token(other, "/teams")
    assert other.post(f"/teams/{team_id}/dissolve", data={"csrf_token": token}).status_code == 404
    assert "Tổ Bưu điện" not in other.get("/teams").get_data(as_text=True)
    assert _create(other, commune_id, members, name="Tổ lạ").status_code == 422
    assert _teams(session) == 1


def test_the_leader_changes_and_dissolves_the_team(login_as, session):
    commune_id, members = _ids(session)
    leader = login_as(f"lanhdao.{COMMUNE}")
    assert _create(leader, commune_id, members).status_code == 303
    team_id = session.exec(select(Team.id)).one()
    renamed = leader.post(
        f"/teams/{team_id}",
        data={
            "csrf_token": csrf_token(leader, "/teams"),
            "name": "Tổ 1",
            "members": members,
            "target_new": "1.200",
            "target_renewals": "0",
        },
    )
    assert renamed.status_code == 303
    session.expire_all()
    assert (
        session.get(Team, team_id).name == "Tổ 1" and session.get(Team, team_id).target_new == 1200
    )
    token = csrf_token(leader, "/teams")
    assert leader.post(f"/teams/{team_id}/dissolve", data={"csrf_token": token}).status_code == 303
    assert _teams(session) == 0
    actions = session.exec(
        select(AuditLog.action).where(AuditLog.object_type == "team").order_by(AuditLog.id)
    ).all()
    assert [a for a in actions if a != "view_teams"] == [
        "team_created",
        "team_changed",
        "team_dissolved",
    ]


def test_the_dashboard_names_each_canvassers_team(app, session):
    commune_id, members = _ids(session)
    assert _create(_as(app, "admin"), commune_id, members).status_code == 303
    leader = _as(app, f"lanhdao.{COMMUNE}")
    page = leader.get("/dashboard?by=canvasser").get_data(as_text=True)
    assert page.count("· Tổ Bưu điện - Xã") == 2  # both members, beside their names
