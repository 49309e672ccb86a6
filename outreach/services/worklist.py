"""Households' priority, precomputed from the engine so a worklist page is one indexed query.

A household's score depends on "today", so scores are stamped with the day they were computed
(`priority_on`). They are refreshed for a commune when a page of it is first asked for on a new
day, and for one household whenever a visit to it is recorded.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import bindparam, or_, update
from sqlmodel import Session, select

from ..models import Household, Person, VisitOutcome
from .clock import VIETNAM
from .priority import (
    PastOutcome,
    PersonFacts,
    Priority,
    ReasonLine,
    household_priority,
    person_priority,
)


def facts_of(person: Person) -> PersonFacts:
    """The engine's view of a person row."""
    return PersonFacts(
        is_participant=person.is_participant,
        paid_through=person.paid_through,
        payment_frequency=person.payment_frequency,
        benefit_start=person.benefit_start,
        benefit_end=person.benefit_end,
        reserved_months=person.reserved_months,
        is_potential=person.is_potential,
        facts_updated_on=person.updated_at.astimezone(VIETNAM).date()
        if person.updated_at
        else None,
    )


def encode_reasons(reasons: Iterable[ReasonLine]) -> str:
    """Reasons as compact JSON for the household row."""
    return json.dumps(
        [[r.reason.value, r.on.isoformat() if r.on else None, r.days, r.outcome] for r in reasons],
        separators=(",", ":"),
    )


def top_code(priority: Priority) -> str:
    """The code of the strongest reason, or "" for a household off the list."""
    return priority.reasons[0].reason.value if priority.reasons and priority.score > 0 else ""


def decode_reasons(text: str) -> list[ReasonLine]:
    """The reasons stored on a household row."""
    from .priority import Reason

    if not text:
        return []
    return [
        ReasonLine(Reason(code), date.fromisoformat(on) if on else None, days, outcome)
        for code, on, days, outcome in json.loads(text)
    ]


def _priorities(
    persons: Iterable[Person],
    outcomes: Iterable[VisitOutcome],
    *,
    today: date,
    weights: Mapping[str, int] | None,
) -> dict[int, Priority]:
    history: dict[int, list[PastOutcome]] = defaultdict(list)
    for o in outcomes:
        history[o.person_id].append(
            PastOutcome(o.visited_at.astimezone(VIETNAM).date(), o.outcome, o.follow_up_on)
        )
    by_household: dict[int, list[Priority]] = defaultdict(list)
    for p in persons:
        by_household[p.household_id].append(
            person_priority(facts_of(p), history[p.id], today=today, weights=weights)
        )
    return {
        hid: household_priority(members, weights=weights) for hid, members in by_household.items()
    }


def refresh_commune(
    session: Session, *, commune_id: int, today: date, weights: Mapping[str, int] | None = None
) -> int:
    """Recompute every household of a commune for `today`; returns how many were written."""
    persons = session.exec(select(Person).where(Person.commune_id == commune_id)).all()
    outcomes = session.exec(select(VisitOutcome).where(VisitOutcome.commune_id == commune_id)).all()
    scores = _priorities(persons, outcomes, today=today, weights=weights)
    rows = [
        {"hid": hid, "score": p.score, "reasons": encode_reasons(p.reasons), "top": top_code(p), "on": today}
        for hid, p in scores.items()
    ]
    if rows:
        table = Household.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("hid"))
            .values(
                priority_score=bindparam("score"),
                priority_reasons=bindparam("reasons"),
                priority_top=bindparam("top"),
                priority_on=bindparam("on"),
            ),
            rows,
        )
    return len(rows)


def refresh_household(
    session: Session, *, household_id: int, today: date, weights: Mapping[str, int] | None = None
) -> Priority:
    """Recompute one household (after a visit to it) within the caller's transaction."""
    persons = session.exec(select(Person).where(Person.household_id == household_id)).all()
    outcomes = (
        session.exec(
            select(VisitOutcome).where(VisitOutcome.person_id.in_([p.id for p in persons]))
        ).all()
        if persons
        else []
    )
    priority = _priorities(persons, outcomes, today=today, weights=weights).get(
        household_id, Priority(score=0, off_list=True)
    )
    household = session.get(Household, household_id)
    household.priority_score = priority.score
    household.priority_reasons = encode_reasons(priority.reasons)
    household.priority_top = top_code(priority)
    household.priority_on = today
    session.add(household)
    return priority


def stale_communes(session: Session, *, commune_ids: Iterable[int], today: date) -> list[int]:
    """Communes among these with a household whose score was not computed for `today`."""
    ids = sorted(set(commune_ids))
    if not ids:
        return []
    stmt = (
        select(Household.commune_id)
        .where(Household.commune_id.in_(ids))
        .where(or_(Household.priority_on.is_(None), Household.priority_on != today))
        .distinct()
    )
    return list(session.exec(stmt).all())
