"""Reading one household with its members and visits, within the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from outreach.core.scope import Scope, apply_scope, get_in_scope
from outreach.models import GeoUnit, Household, Person, User, Visit, VisitOutcome


@dataclass(frozen=True)
class VisitLine:
    """A past visit with who made it and what each person met said."""

    visit: Visit
    canvasser_name: str
    outcomes: list[VisitOutcome]


@dataclass(frozen=True)
class HouseholdDetail:
    """A household, its place, its members and its recent visits."""

    household: Household
    commune: GeoUnit
    village: GeoUnit | None
    members: list[Person]
    visits: list[VisitLine]


def household_detail(
    session: Session, *, household_id: int, scope: Scope, visit_limit: int = 20
) -> HouseholdDetail | None:
    """A household in scope with its members and latest visits; None if absent or out of scope."""
    household = get_in_scope(session, Household, household_id, scope)
    if household is None:
        return None
    members = session.exec(
        apply_scope(
            select(Person).where(Person.household_id == household.id), Person, scope
        ).order_by(Person.id)
    ).all()
    visits = session.exec(
        apply_scope(select(Visit).where(Visit.household_id == household.id), Visit, scope)
        .order_by(Visit.visited_at.desc())
        .limit(visit_limit)
    ).all()
    outcomes: dict[int, list[VisitOutcome]] = {}
    names: dict[int, str] = {}
    if visits:
        for outcome in session.exec(
            select(VisitOutcome).where(VisitOutcome.visit_id.in_([v.id for v in visits]))
        ):
            outcomes.setdefault(outcome.visit_id, []).append(outcome)
        names = dict(
            session.exec(
                select(User.id, User.full_name).where(User.id.in_({v.canvasser_id for v in visits}))
            ).all()
        )
    return HouseholdDetail(
        household=household,
        commune=session.get(GeoUnit, household.commune_id),
        village=session.get(GeoUnit, household.village_id) if household.village_id else None,
        members=list(members),
        visits=[
            VisitLine(v, names.get(v.canvasser_id, ""), outcomes.get(v.id, [])) for v in visits
        ],
    )
