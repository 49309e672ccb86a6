"""Scope in one place: the one door every query of households, persons, visits and counts uses.

A user's scope is a unit of the geography tree (province, old-district group or commune). Tables
holding personal data carry `province_id` and `commune_id`, so one filter serves them all and is
answered from their (province_id, …) and (commune_id, …) indexes.

- `apply_scope` / `personal_rows`: rows of personal data (households, persons, visits, outcomes),
  with the personal-data rule (media staff see none);
- `within_scope`: the same geography for counts and tallies, which every role may read;
- `communes_in`, `unit_in_scope`, `village_in_scope`, `canvasser_in_scope`, `narrow_scope`: the
  units a scope covers, for the pages that pick one.

A national scope (the unit above the provinces) covers every province, for figures only: its
users read no personal data, in any province they narrow to (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import false
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from outreach.core.text import place_key
from outreach.models import FollowedUnit, GeoUnit, User, Visit
from outreach.models.codes import Role, UnitKind

T = TypeVar("T")

# Roles that may read personal data at all. Media staff see aggregates only (brief §9).
PERSONAL_DATA_ROLES = frozenset({Role.CANVASSER, Role.LEADER, Role.ADMIN})


@dataclass(frozen=True)
class Scope:
    """What a user may see: a province, or a set of communes in it."""

    role: str
    unit_id: int
    unit_kind: str
    province_id: int  # the national unit's own id for a national scope
    commune_ids: frozenset[int] | None  # None means the whole province (or country)
    aggregates_only: bool = False  # a national user's scope, narrowed or not
    # A steering member's set of followed units: `commune_ids` are the communes under them, and
    # `unit_id` (their home unit) names no figure of its own (no own target, no "whole unit").
    followed: bool = False

    @property
    def is_national(self) -> bool:
        """True for the whole country: every province's figures, no personal data."""
        return self.unit_kind == UnitKind.NATION

    @property
    def sees_personal_data(self) -> bool:
        """Whether this role may read persons, households and visits at all."""
        return self.role in PERSONAL_DATA_ROLES and not self.aggregates_only

    def covers_commune(self, commune_id: int) -> bool:
        """True when a commune lies inside this scope."""
        return self.commune_ids is None or commune_id in self.commune_ids


def unit_in_scope(session: Session, *, scope: Scope, unit_id: int | None) -> bool:
    """True when a commune or village lies inside the scope: its province, then its commune.

    `Scope.covers_commune` alone says yes to any commune for a province-wide scope, including a
    commune of another province.
    """
    unit = session.get(GeoUnit, unit_id) if unit_id else None
    if unit is not None and scope.is_national:
        return True
    if unit is None or (unit.province_id or unit.id) != scope.province_id:
        return False
    if unit.kind == UnitKind.PROVINCE:
        return scope.commune_ids is None
    commune_id = unit.parent_id if unit.kind == UnitKind.VILLAGE else unit.id
    return commune_id is not None and scope.covers_commune(commune_id)


def communes_under(session: Session, unit: GeoUnit) -> frozenset[int] | None:
    """Commune ids under a unit; None for a whole province (or the country)."""
    if unit.kind in (UnitKind.PROVINCE, UnitKind.NATION):
        return None
    if unit.kind == UnitKind.COMMUNE:
        return frozenset({unit.id})
    if unit.kind == UnitKind.VILLAGE:
        return frozenset({unit.parent_id})
    ids = session.exec(
        select(GeoUnit.id).where(GeoUnit.parent_id == unit.id, GeoUnit.kind == UnitKind.COMMUNE)
    ).all()
    return frozenset(ids)


def scope_for(session: Session, user: User) -> Scope:
    """Resolve a user's scope unit into the communes it covers; a leader who follows a set of
    units (`FollowedUnit`) covers exactly the communes under them, in their province."""
    unit = session.get(GeoUnit, user.scope_unit_id)
    if unit is None:
        raise LookupError(f"scope unit {user.scope_unit_id} of user {user.id} does not exist")
    province_id = unit.province_id or unit.id
    followed = followed_communes(session, user=user, province_id=province_id)
    return Scope(
        role=user.role,
        unit_id=unit.id,
        unit_kind=unit.kind,
        province_id=province_id,
        commune_ids=followed if followed is not None else communes_under(session, unit),
        aggregates_only=unit.kind == UnitKind.NATION,
        followed=followed is not None,
    )


def followed_communes(session: Session, *, user: User, province_id: int) -> frozenset[int] | None:
    """The communes under the units a leader follows (in their province), or None if they follow
    none. Canvassers never follow units (their list is their own): no query for them."""
    if user.role != Role.LEADER:
        return None
    units = session.exec(
        select(GeoUnit)
        .join(FollowedUnit, FollowedUnit.unit_id == GeoUnit.id)
        .where(FollowedUnit.user_id == user.id, GeoUnit.province_id == province_id)
    ).all()
    if not units:
        return None
    return frozenset().union(*(communes_under(session, u) or frozenset() for u in units))


def province_scope(province_id: int, *, role: str = Role.ADMIN) -> Scope:
    """A whole province (the summaries count the province whoever drafts them)."""
    return Scope(role, province_id, UnitKind.PROVINCE, province_id, None)


def within_scope(model: type, scope: Scope) -> list:
    """Conditions keeping a table with province_id and commune_id inside the scope's geography.

    The province alone for a whole province; the communes alone otherwise, so the database
    picks the (commune_id, …) indexes rather than scanning the province's (province_id, …) ones.
    For counts; rows of personal data go through `personal_rows` / `apply_scope`.
    """
    if scope.is_national:
        return []  # every province
    if scope.commune_ids is None:
        return [model.province_id == scope.province_id]
    return [model.commune_id.in_(sorted(scope.commune_ids))]


def commune_condition(column, scope: Scope) -> list:
    """Conditions keeping a commune-id column inside the scope (none for a whole province)."""
    return [] if scope.commune_ids is None else [column.in_(sorted(scope.commune_ids))]


def personal_rows(model: type, scope: Scope) -> list:
    """Conditions for rows of personal data the scope's user may read: its geography, and only
    for the roles that may read personal data at all."""
    if not scope.sees_personal_data:
        return [false()]
    return within_scope(model, scope)


def apply_scope(stmt: Select, model: type, scope: Scope) -> Select:
    """Restrict a query over a personal-data table (it has province_id, commune_id) to the scope."""
    return stmt.where(*personal_rows(model, scope))


def get_in_scope(session: Session, model: type[T], object_id: int, scope: Scope) -> T | None:
    """Fetch one row by id only if it lies in the scope; None otherwise (the caller answers 404)."""
    stmt = apply_scope(select(model).where(model.id == object_id), model, scope)
    return session.exec(stmt).first()


def narrow_scope(session: Session, *, scope: Scope, unit_id: int) -> tuple[Scope, GeoUnit] | None:
    """The scope limited to a unit (commune, group, village or the province) inside it, or None."""
    unit = session.get(GeoUnit, unit_id)
    if unit is not None and scope.is_national:
        # Any province or unit of the country; still figures only (aggregates_only is kept).
        province_id = unit.id if unit.kind == UnitKind.NATION else unit.province_id or unit.id
        narrowed = replace(
            scope,
            unit_id=unit.id,
            unit_kind=unit.kind,
            province_id=province_id,
            commune_ids=communes_under(session, unit),
        )
        return narrowed, unit
    if unit is None or (unit.province_id or unit.id) != scope.province_id:
        return None
    communes = communes_under(session, unit)
    if scope.commune_ids is not None and (communes is None or not communes <= scope.commune_ids):
        return None
    narrowed = replace(
        scope, unit_id=unit.id, unit_kind=unit.kind, commune_ids=communes, followed=False
    )
    return narrowed, unit


def communes_in(session: Session, scope: Scope) -> list[GeoUnit]:
    """The communes the scope covers, in Vietnamese alphabetical order of their names."""
    in_province = [] if scope.is_national else [GeoUnit.province_id == scope.province_id]
    stmt = select(GeoUnit).where(
        GeoUnit.kind == UnitKind.COMMUNE, *in_province, *commune_condition(GeoUnit.id, scope)
    )
    return sorted(session.exec(stmt).all(), key=lambda u: place_key(u.name, u.type_name))


def village_in_scope(session: Session, *, scope: Scope, village_id: int) -> GeoUnit | None:
    """The village if it lies in one of the scope's communes, else None."""
    village = session.get(GeoUnit, village_id)
    if village is None or village.kind != UnitKind.VILLAGE:
        return None
    return village if unit_in_scope(session, scope=scope, unit_id=village.id) else None


def canvasser_in_scope(session: Session, *, scope: Scope, user_id: int) -> User | None:
    """A user whose visits the scope's leader may list: one working in the scope, or one who
    made visits in it (their row is on the dashboard); else None."""
    user = session.get(User, user_id)
    if user is None:
        return None
    if unit_in_scope(session, scope=scope, unit_id=user.scope_unit_id):
        return user
    visited = session.execute(
        select(Visit.id).where(Visit.canvasser_id == user.id, *within_scope(Visit, scope)).limit(1)
    ).first()
    return user if visited is not None else None
