"""What each role's home page shows: counts within the user's scope, never a whole table in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.scope import Scope, apply_scope
from outreach.core.text import place_key
from outreach.models import Campaign, GeoUnit, Household, ImportBatch, Person, User, Visit
from outreach.models.base import utcnow
from outreach.models.codes import Role, UnitKind


@dataclass(frozen=True)
class CommuneCount:
    """Households, persons and recent visits of one commune."""

    commune_id: int
    name: str
    households: int
    persons: int
    visits_30d: int


def _count(session: Session, model: type, scope: Scope, *conditions) -> int:
    stmt = apply_scope(select(func.count()).select_from(model), model, scope)
    for condition in conditions:
        stmt = stmt.where(condition)
    return session.exec(stmt).one()


def scope_totals(session: Session, *, scope: Scope, now: datetime | None = None) -> dict[str, int]:
    """Households, persons, visits in the last 30 days and never-visited households in scope."""
    since = (now or utcnow()) - timedelta(days=30)
    return {
        "households": _count(session, Household, scope),
        "persons": _count(session, Person, scope),
        "visits_30d": _count(session, Visit, scope, Visit.visited_at >= since),
        "never_visited": _count(session, Household, scope, Household.last_visit_at.is_(None)),
    }


def commune_counts(
    session: Session, *, scope: Scope, now: datetime | None = None
) -> list[CommuneCount]:
    """Per-commune households, persons and 30-day visits in scope, grouped in the database."""
    since = (now or utcnow()) - timedelta(days=30)

    def grouped(model, *conditions) -> dict[int, int]:
        stmt = apply_scope(select(model.commune_id, func.count()), model, scope)
        for condition in conditions:
            stmt = stmt.where(condition)
        return dict(session.exec(stmt.group_by(model.commune_id)).all())

    households = grouped(Household)
    persons = grouped(Person)
    visits = grouped(Visit, Visit.visited_at >= since)
    units = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == scope.province_id
        )
    ).all()
    return [
        CommuneCount(
            u.id, u.name, households.get(u.id, 0), persons.get(u.id, 0), visits.get(u.id, 0)
        )
        for u in sorted(units, key=lambda u: place_key(u.name, u.type_name))
        if scope.covers_commune(u.id)
    ]


def admin_totals(session: Session, *, province_id: int) -> dict[str, int]:
    """What an admin of the province manages: users by role, units, campaigns, imports."""
    users = dict(session.exec(select(User.role, func.count()).group_by(User.role)).all())
    units = dict(
        session.exec(
            select(GeoUnit.kind, func.count())
            .where(GeoUnit.province_id == province_id)
            .group_by(GeoUnit.kind)
        ).all()
    )
    return {
        **{f"users_{role}": users.get(role, 0) for role in Role},
        "communes": units.get(UnitKind.COMMUNE, 0),
        "villages": units.get(UnitKind.VILLAGE, 0),
        "campaigns": session.exec(
            select(func.count()).select_from(Campaign).where(Campaign.province_id == province_id)
        ).one(),
        "import_batches": session.exec(
            select(func.count())
            .select_from(ImportBatch)
            .where(ImportBatch.province_id == province_id)
        ).one(),
    }
