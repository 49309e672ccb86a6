"""A steering-committee member follows a set of units: their scope is exactly those communes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from outreach.accounts import followed
from outreach.accounts.service import AccountError
from outreach.campaigns.service import active_campaign
from outreach.core.scope import communes_under, scope_for
from outreach.dashboard.service import dashboard_for
from outreach.models import AuditLog, FollowedUnit, GeoUnit, Household, User
from outreach.models.codes import UnitKind
from tests.conftest import DEMO_TODAY, csrf_token, login


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _three_units(session) -> list[GeoUnit]:
    """07210, a commune of another old district, and a whole third old district."""
    home = session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()
    groups = session.exec(
        select(GeoUnit)
        .where(GeoUnit.kind == UnitKind.GROUP, GeoUnit.id != home.parent_id)
        .order_by(GeoUnit.id)
    ).all()
    other = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == groups[0].id, GeoUnit.kind == UnitKind.COMMUNE)
    ).first()
    return [home, other, groups[1]]


def _follow(session, username: str, units: list[GeoUnit]) -> list[GeoUnit]:
    chosen = followed.set_followed_units(
        session,
        user_id=_user(session, username).id,
        unit_ids=[u.id for u in units],
        by_user=_user(session, "admin"),
    )
    session.commit()
    return chosen


def test_the_members_scope_is_exactly_the_followed_communes(session):
    units = _three_units(session)
    _follow(session, "lanhdao.tinh", units)
    scope = scope_for(session, _user(session, "lanhdao.tinh"))
    expected = frozenset().union(*(communes_under(session, u) for u in units))
    assert scope.followed and scope.commune_ids == expected
    assert len(expected) > 3  # the whole third old district is in it
    board = dashboard_for(
        session,
        scope=scope,
        campaign=active_campaign(session, province_id=scope.province_id),
        today=DEMO_TODAY,
    )
    assert {row.id for row in board.rows} == set(expected)
    assert board.totals.name == "Các đơn vị theo dõi"
    assert board.totals.visits == sum(row.visits for row in board.rows)
    assert board.totals.target_new == sum(row.target_new for row in board.rows)
    audit = session.exec(select(AuditLog).where(AuditLog.action == "followed_units_changed")).one()
    assert audit.username == "admin"


def test_following_nothing_gives_the_scope_unit_back(session):
    _follow(session, "lanhdao.tinh", _three_units(session))
    _follow(session, "lanhdao.tinh", [])
    scope = scope_for(session, _user(session, "lanhdao.tinh"))
    assert not scope.followed and scope.commune_ids is None  # the whole province again


@pytest.mark.parametrize("case", ["canvasser", "village", "province"])
def test_units_that_cannot_be_followed_are_refused_and_nothing_changes(session, case):
    units = _three_units(session)
    username = "canbo.07210.1" if case == "canvasser" else "lanhdao.tinh"
    if case == "village":
        units = [session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.VILLAGE)).first()]
    if case == "province":
        units = [session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).first()]
    with pytest.raises(AccountError):
        _follow(session, username, units)
    session.rollback()
    assert session.exec(select(FollowedUnit)).all() == []


def test_the_admin_sets_the_units_and_the_member_sees_only_them(app, session):
    units = _three_units(session)
    member = _user(session, "lanhdao.tinh")
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    page = admin.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "Đơn vị theo dõi (thành viên Ban chỉ đạo)" in page
    answer = admin.post(
        f"/admin/users/{member.id}/followed",
        data={"csrf_token": csrf_token(admin, "/admin/users"), "units": [u.id for u in units]},
    )
    assert answer.status_code == 303
    client = app.test_client()
    assert login(client, "lanhdao.tinh").status_code == 302
    inside = session.exec(select(Household.id).where(Household.commune_id == units[0].id)).first()
    outside = session.exec(
        select(Household.id).where(
            Household.commune_id.not_in(
                list(frozenset().union(*(communes_under(session, u) for u in units)))
            )
        )
    ).first()
    assert client.get(f"/households/{inside}").status_code == 200
    assert client.get(f"/households/{outside}").status_code == 404
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Tiến độ: Các đơn vị theo dõi" in dashboard
    # A leader cannot set anyone's units.
    token = csrf_token(client, "/dashboard")
    refused = client.post(f"/admin/users/{member.id}/followed", data={"csrf_token": token})
    assert refused.status_code == 403
