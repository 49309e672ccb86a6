"""A canvasser of commune A cannot read a household of commune B, even by guessing its URL."""

import pytest
from sqlmodel import select

from outreach.core import scope as scope_service
from outreach.households import service as households_service
from outreach.models import AuditLog, GeoUnit, Household, User


def _households(session, username):
    user = session.exec(select(User).where(User.username == username)).one()
    own = session.exec(select(Household).where(Household.commune_id == user.scope_unit_id)).first()
    other = session.exec(
        select(Household).where(Household.commune_id != user.scope_unit_id)
    ).first()
    return own, other


def test_canvasser_reads_own_commune_household(login_as, session):
    own, _ = _households(session, "canbo.07210.1")
    response = login_as("canbo.07210.1").get(f"/households/{own.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert own.head_name in html and "Thành viên" in html


def test_canvasser_cannot_read_another_communes_household(login_as, session):
    _, other = _households(session, "canbo.07210.1")
    response = login_as("canbo.07210.1").get(f"/households/{other.id}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Không tìm thấy trang" in html and other.head_name not in html


def test_removing_the_scope_filter_exposes_the_household(login_as, session, monkeypatch):
    """The check above holds because of apply_scope: without it, the same request leaks."""
    _, other = _households(session, "canbo.07210.1")
    monkeypatch.setattr(scope_service, "apply_scope", lambda stmt, model, scope: stmt)
    monkeypatch.setattr(households_service, "apply_scope", lambda stmt, model, scope: stmt)
    response = login_as("canbo.07210.1").get(f"/households/{other.id}")
    assert response.status_code == 200 and other.head_name in response.get_data(as_text=True)


def test_media_cannot_open_any_household(login_as, session):
    own, _ = _households(session, "canbo.07210.1")
    assert login_as("baochi").get(f"/households/{own.id}").status_code == 403


def test_province_leader_reads_any_household_and_it_is_audited(login_as, session):
    _, other = _households(session, "canbo.07210.1")
    client = login_as("lanhdao.tinh")
    assert client.get(f"/households/{other.id}").status_code == 200
    entry = session.exec(select(AuditLog).where(AuditLog.action == "view_household")).one()
    assert entry.object_id == str(other.id)


def test_group_leader_is_limited_to_the_group(login_as, session):
    leader = session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    inside = session.exec(select(GeoUnit.id).where(GeoUnit.parent_id == leader.scope_unit_id)).all()
    outside = session.exec(select(Household).where(Household.commune_id.not_in(inside))).first()
    client = login_as("lanhdao.cum")
    assert client.get(f"/households/{outside.id}").status_code == 404


def test_identifiers_are_masked_on_the_household_page(login_as, session):
    own, _ = _households(session, "canbo.07210.1")
    from outreach.models import Person

    member = session.exec(select(Person).where(Person.household_id == own.id)).first()
    html = login_as("canbo.07210.1").get(f"/households/{own.id}").get_data(as_text=True)
    assert member.citizen_id not in html and member.citizen_id[-4:] in html


@pytest.mark.parametrize("path", ["/", "/households/1"])
def test_anonymous_users_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_household_page_shows_each_members_status(login_as, session):
    from outreach.models import Person

    own, _ = _households(session, "canbo.07210.1")
    members = session.exec(select(Person).where(Person.household_id == own.id)).all()
    html = login_as("canbo.07210.1").get(f"/households/{own.id}").get_data(as_text=True)
    section = html.split('id="members"')[1]
    # One status line per member: reasons, or done, or on no list.
    statuses = section.count('class="chips"') + section.count("chip-off")
    assert statuses == len(members)
