"""Scope in one place: apply_scope is what keeps communes apart."""

from sqlalchemy import func
from sqlmodel import select

from outreach.core.scope import apply_scope, get_in_scope, scope_for
from outreach.models import GeoUnit, Household, Person, User, Visit
from outreach.models.codes import UnitKind


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _count(session, model, scope):
    return session.exec(apply_scope(select(func.count()).select_from(model), model, scope)).one()


def test_commune_scope_sees_only_its_commune(session):
    canvasser = _user(session, "canbo.07210.1")
    scope = scope_for(session, canvasser)
    commune = session.get(GeoUnit, canvasser.scope_unit_id)
    assert scope.commune_ids == frozenset({commune.id})
    for model in (Household, Person, Visit):
        in_scope = _count(session, model, scope)
        own = session.exec(
            select(func.count()).select_from(model).where(model.commune_id == commune.id)
        ).one()
        total = session.exec(select(func.count()).select_from(model)).one()
        assert in_scope == own > 0
        assert total > in_scope


def test_group_scope_covers_the_communes_of_its_old_district(session):
    leader = _user(session, "lanhdao.cum")
    scope = scope_for(session, leader)
    group = session.get(GeoUnit, leader.scope_unit_id)
    assert group.kind == UnitKind.GROUP
    children = session.exec(select(GeoUnit.id).where(GeoUnit.parent_id == group.id)).all()
    assert scope.commune_ids == frozenset(children) and children


def test_province_scope_sees_the_whole_province(session):
    scope = scope_for(session, _user(session, "lanhdao.tinh"))
    assert scope.commune_ids is None
    assert (
        _count(session, Person, scope)
        == session.exec(select(func.count()).select_from(Person)).one()
    )


def test_media_sees_no_personal_data_at_all(session):
    scope = scope_for(session, _user(session, "baochi"))
    assert not scope.sees_personal_data
    for model in (Household, Person, Visit):
        assert _count(session, model, scope) == 0


def test_get_in_scope_refuses_another_communes_household(session):
    scope = scope_for(session, _user(session, "canbo.07210.1"))
    own = session.exec(select(Household).where(Household.commune_id.in_(scope.commune_ids))).first()
    other = session.exec(
        select(Household).where(Household.commune_id.not_in(scope.commune_ids))
    ).first()
    assert get_in_scope(session, Household, own.id, scope) is not None
    assert get_in_scope(session, Household, other.id, scope) is None
