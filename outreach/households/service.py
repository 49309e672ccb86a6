"""Reading one household with its members and visits, within the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from outreach.core.clock import as_utc
from outreach.core.scope import Scope, apply_scope, get_in_scope
from outreach.models import GeoUnit, Household, Person, User, Visit, VisitOutcome
from outreach.models.codes import Outcome
from outreach.models.tallies import LatestOutcome


@dataclass(frozen=True)
class VisitLine:
    """A past visit with who made it, when, and what each person met said."""

    visit: Visit
    canvasser_name: str
    outcomes: list[VisitOutcome]
    at: datetime  # when it happened, aware UTC

    @property
    def nobody_home(self) -> bool:
        """Every member recorded was not home: nobody was met."""
        return bool(self.outcomes) and all(o.outcome == Outcome.NOT_HOME for o in self.outcomes)

    @property
    def met(self) -> int:
        """How many people were actually met (a not-home outcome is nobody met)."""
        return sum(o.outcome != Outcome.NOT_HOME for o in self.outcomes)


@dataclass(frozen=True)
class MemberNow:
    """A member's latest outcome: what was said last, when, and the date promised if any."""

    outcome: str
    at: datetime
    follow_up_on: date | None


@dataclass(frozen=True)
class HouseholdDetail:
    """A household, its place, its members, where each stands now, and its recent visits."""

    household: Household
    commune: GeoUnit
    village: GeoUnit | None
    members: list[Person]
    visits: list[VisitLine]
    now: dict[int, MemberNow]
    names: dict[int, str]  # person id → name, for the history's outcomes


def _latest(session: Session, person_ids: list[int]) -> dict[int, MemberNow]:
    """Each person's latest outcome, from the table kept up to date with every visit."""
    if not person_ids:
        return {}
    return {
        row.person_id: MemberNow(row.outcome, as_utc(row.visited_at), row.follow_up_on)
        for row in session.exec(
            select(LatestOutcome).where(LatestOutcome.person_id.in_(person_ids))
        )
    }


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
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(visit_limit)
    ).all()
    outcomes: dict[int, list[VisitOutcome]] = {}
    names: dict[int, str] = {}
    if visits:
        for outcome in session.exec(
            select(VisitOutcome)
            .where(VisitOutcome.visit_id.in_([v.id for v in visits]))
            .order_by(VisitOutcome.person_id)
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
            VisitLine(
                v, names.get(v.canvasser_id, ""), outcomes.get(v.id, []), as_utc(v.visited_at)
            )
            for v in visits
        ],
        now=_latest(session, [p.id for p in members]),
        names={p.id: p.full_name for p in members},
    )
