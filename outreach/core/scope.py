"""Scope in one place: every query of households, persons and visits goes through `apply_scope`.

A user's scope is a unit of the geography tree (province, old-district group or commune). Tables
holding personal data carry `province_id` and `commune_id`, so one filter serves them all and is
answered from their (province_id, …) and (commune_id, …) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import false
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from outreach.models import GeoUnit, User
from outreach.models.codes import Role, UnitKind

T = TypeVar("T")

# Roles that may read personal data at all. Media staff see aggregates only (DESIGN §9).
PERSONAL_DATA_ROLES = frozenset({Role.CANVASSER, Role.LEADER, Role.ADMIN})


@dataclass(frozen=True)
class Scope:
    """What a user may see: a province, or a set of communes in it."""

    role: str
    unit_id: int
    unit_kind: str
    province_id: int
    commune_ids: frozenset[int] | None  # None means the whole province

    @property
    def sees_personal_data(self) -> bool:
        """Whether this role may read persons, households and visits at all."""
        return self.role in PERSONAL_DATA_ROLES

    def covers_commune(self, commune_id: int) -> bool:
        """True when a commune lies inside this scope."""
        return self.commune_ids is None or commune_id in self.commune_ids


def unit_in_scope(session: Session, *, scope: Scope, unit_id: int | None) -> bool:
    """True when a commune or village lies inside the scope: its province, then its commune.

    `Scope.covers_commune` alone says yes to any commune for a province-wide scope, including a
    commune of another province.
    """
    unit = session.get(GeoUnit, unit_id) if unit_id else None
    if unit is None or (unit.province_id or unit.id) != scope.province_id:
        return False
    if unit.kind == UnitKind.PROVINCE:
        return scope.commune_ids is None
    commune_id = unit.parent_id if unit.kind == UnitKind.VILLAGE else unit.id
    return commune_id is not None and scope.covers_commune(commune_id)


def communes_under(session: Session, unit: GeoUnit) -> frozenset[int] | None:
    """Commune ids under a unit; None for a whole province."""
    if unit.kind == UnitKind.PROVINCE:
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
    """Resolve a user's scope unit into the communes it covers."""
    unit = session.get(GeoUnit, user.scope_unit_id)
    if unit is None:
        raise LookupError(f"scope unit {user.scope_unit_id} of user {user.id} does not exist")
    return Scope(
        role=user.role,
        unit_id=unit.id,
        unit_kind=unit.kind,
        province_id=unit.province_id or unit.id,
        commune_ids=communes_under(session, unit),
    )


def apply_scope(stmt: Select, model: type, scope: Scope) -> Select:
    """Restrict a query over a personal-data table (it has province_id, commune_id) to the scope."""
    if not scope.sees_personal_data:
        return stmt.where(false())
    stmt = stmt.where(model.province_id == scope.province_id)
    if scope.commune_ids is not None:
        stmt = stmt.where(model.commune_id.in_(sorted(scope.commune_ids)))
    return stmt


def get_in_scope(session: Session, model: type[T], object_id: int, scope: Scope) -> T | None:
    """Fetch one row by id only if it lies in the scope; None otherwise (the caller answers 404)."""
    stmt = apply_scope(select(model).where(model.id == object_id), model, scope)
    return session.exec(stmt).first()
