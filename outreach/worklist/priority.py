"""The priority engine: a pure function of a person's facts, their visit history and "today".

It returns a score and the reasons behind it, strongest first (brief §5), so every worklist row
can say in plain words why it is there. Nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from outreach.core.lists import BENEFIT_ENDING_DAYS, COMING_DUE_DAYS, ListCategory, payment_deadline
from outreach.models.codes import CLOSING_OUTCOMES, Outcome

# Every weight in one place. A campaign may override any of them (Campaign.priority_weights, JSON).
DEFAULT_WEIGHTS: dict[str, int] = {
    # Base score of each reason, in the order of brief §5.
    "follow_up_due": 1000,  # a promise or revisit date that has come
    "lapsed": 800,  # the payment deadline has passed
    "benefit_ending": 600,  # unemployment benefit ends within 30 days
    "coming_due": 500,  # paid-through month ends within 30 days (or the window is open)
    "benefit": 300,  # receiving unemployment benefit
    "reserved": 200,  # reserved contribution record
    "potential": 100,  # other potential participant
    # Urgency inside a reason: +1 per day overdue / -1 per day until due, capped.
    "urgency_cap": 90,
    # Adjustments.
    "never_visited": 60,  # nobody has been to see them yet
    "recent_visit": -250,  # visited within `recent_visit_days`
    "recent_visit_days": 7,
    "not_home_retry_days": 2,  # after `not_home`, wait this long before trying again
    "not_home_wait": -400,  # while waiting to retry
    "refused_cooldown_days": 28,  # after `refused`, leave them alone for four weeks
    "refused_cooldown": -900,
    # A household ranks by its best member, plus this much per other member with a reason.
    "household_extra_member": 40,
}


class Reason(StrEnum):
    FOLLOW_UP_DUE = "follow_up_due"
    LAPSED = "lapsed"
    BENEFIT_ENDING = "benefit_ending"
    COMING_DUE = "coming_due"
    BENEFIT = "benefit"
    RESERVED = "reserved"
    POTENTIAL = "potential"
    NEVER_VISITED = "never_visited"
    RECENT_VISIT = "recent_visit"
    NOT_HOME_WAIT = "not_home_wait"
    REFUSED_COOLDOWN = "refused_cooldown"


@dataclass(frozen=True)
class PersonFacts:
    """What the lists say about a person (the subset of Person the engine reads)."""

    is_participant: bool = False
    paid_through: date | None = None
    payment_frequency: int | None = None
    benefit_start: date | None = None
    benefit_end: date | None = None
    reserved_months: int | None = None
    is_potential: bool = False
    # When the lists last changed these facts: a closing outcome before then no longer counts.
    facts_updated_on: date | None = None


@dataclass(frozen=True)
class PastOutcome:
    """One outcome recorded for the person on a visit.

    `kept`: a promise or "considering" the person has since kept, a payment dated on or after
    its day being known (`worklist.service.promise_kept`, the one definition); its follow-up is
    then no longer due.
    """

    on: date
    outcome: str
    follow_up_on: date | None = None
    kept: bool = False


@dataclass(frozen=True)
class ReasonLine:
    """A reason with what its sentence needs: a date and a number of days."""

    reason: Reason
    on: date | None = None
    days: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Priority:
    """A score, the reasons strongest first, and whether the person is off the list."""

    score: int
    reasons: tuple[ReasonLine, ...] = field(default_factory=tuple)
    off_list: bool = False


def weights_for(overrides: str | Mapping[str, int] | None) -> dict[str, int]:
    """The default weights with a campaign's overrides (JSON text or a mapping) applied."""
    if not overrides:
        return dict(DEFAULT_WEIGHTS)
    values = json.loads(overrides) if isinstance(overrides, str) else dict(overrides)
    unknown = set(values) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"Trọng số không có: {', '.join(sorted(unknown))}")
    return {**DEFAULT_WEIGHTS, **{k: int(v) for k, v in values.items()}}


def _list_reasons(
    facts: PersonFacts, today: date, w: Mapping[str, int]
) -> list[tuple[int, ReasonLine]]:
    """Reasons 2–7 of brief §5 with their scores."""
    found: list[tuple[int, ReasonLine]] = []
    cap = w["urgency_cap"]
    if facts.is_participant and facts.paid_through is not None:
        deadline = payment_deadline(facts.paid_through, facts.payment_frequency or 1)
        if today > deadline:
            overdue = (today - deadline).days
            found.append(
                (w["lapsed"] + min(overdue, cap), ReasonLine(Reason.LAPSED, deadline, overdue))
            )
        elif facts.paid_through <= today + timedelta(days=COMING_DUE_DAYS):
            left = (deadline - today).days
            found.append(
                (
                    w["coming_due"] + max(cap - left, 0) // 3,
                    ReasonLine(Reason.COMING_DUE, deadline, left),
                )
            )
    if (
        facts.benefit_end is not None
        and today <= facts.benefit_end
        and (facts.benefit_start is None or facts.benefit_start <= today)
    ):
        left = (facts.benefit_end - today).days
        if left <= BENEFIT_ENDING_DAYS:
            found.append(
                (
                    w["benefit_ending"] + BENEFIT_ENDING_DAYS - left,
                    ReasonLine(Reason.BENEFIT_ENDING, facts.benefit_end, left),
                )
            )
        else:
            found.append((w["benefit"], ReasonLine(Reason.BENEFIT, facts.benefit_end, left)))
    if facts.reserved_months:
        found.append((w["reserved"], ReasonLine(Reason.RESERVED, days=facts.reserved_months)))
    if facts.is_potential:
        found.append((w["potential"], ReasonLine(Reason.POTENTIAL)))
    return found


# The engine's list reasons are the BHXH list categories of the same name.
_CATEGORY_REASONS = frozenset(c.value for c in ListCategory)


def list_categories(*, today: date, **facts) -> set[ListCategory]:
    """Every list category a person with these facts (PersonFacts fields) belongs to on `today`."""
    found = {
        ListCategory(line.reason.value)
        for _, line in _list_reasons(PersonFacts(**facts), today, DEFAULT_WEIGHTS)
        if line.reason.value in _CATEGORY_REASONS
    }
    if ListCategory.BENEFIT_ENDING in found:
        found.add(ListCategory.BENEFIT)  # ending soon is still receiving the benefit
    return found


def person_priority(
    facts: PersonFacts,
    history: Iterable[PastOutcome],
    *,
    today: date,
    weights: Mapping[str, int] | None = None,
) -> Priority:
    """Score one person on `today` from their facts and past outcomes, with the reasons why."""
    w = weights or DEFAULT_WEIGHTS
    past = sorted(history, key=lambda o: o.on)
    last = past[-1] if past else None

    closing = [o for o in past if o.outcome in CLOSING_OUTCOMES]
    if closing and (facts.facts_updated_on is None or closing[-1].on >= facts.facts_updated_on):
        return Priority(score=0, off_list=True)

    scored = _list_reasons(facts, today, w)
    follow_up = last.follow_up_on if last is not None else None
    if (
        follow_up is not None
        and last.outcome in (Outcome.PROMISED, Outcome.CONSIDERING)
        and follow_up <= today
        and not last.kept  # they paid: nothing to follow up
    ):
        late = (today - follow_up).days
        scored.append(
            (
                w["follow_up_due"] + min(late, w["urgency_cap"]),
                ReasonLine(Reason.FOLLOW_UP_DUE, follow_up, late, last.outcome),
            )
        )
    if not scored:
        return Priority(score=0)

    scored.sort(key=lambda pair: -pair[0])
    score = scored[0][0]
    adjustments: list[ReasonLine] = []
    if last is None:
        score += w["never_visited"]
        adjustments.append(ReasonLine(Reason.NEVER_VISITED))
    else:
        since = (today - last.on).days
        if last.outcome == Outcome.REFUSED and since < w["refused_cooldown_days"]:
            score += w["refused_cooldown"]
            adjustments.append(
                ReasonLine(
                    Reason.REFUSED_COOLDOWN,
                    last.on + timedelta(days=w["refused_cooldown_days"]),
                    since,
                )
            )
        elif last.outcome == Outcome.NOT_HOME and since < w["not_home_retry_days"]:
            score += w["not_home_wait"]
            adjustments.append(
                ReasonLine(
                    Reason.NOT_HOME_WAIT, last.on + timedelta(days=w["not_home_retry_days"]), since
                )
            )
        elif since < w["recent_visit_days"] and scored[0][1].reason != Reason.FOLLOW_UP_DUE:
            score += w["recent_visit"]
            adjustments.append(ReasonLine(Reason.RECENT_VISIT, last.on, since))
    return Priority(
        score=max(score, 1), reasons=tuple(line for _, line in scored) + tuple(adjustments)
    )


def household_priority(
    members: Iterable[Priority], *, weights: Mapping[str, int] | None = None
) -> Priority:
    """A household ranks by its best member, plus a little for each other member with a reason."""
    w = weights or DEFAULT_WEIGHTS
    on_list = sorted((m for m in members if not m.off_list and m.score > 0), key=lambda m: -m.score)
    if not on_list:
        return Priority(score=0, off_list=True)
    best = on_list[0]
    return Priority(
        score=best.score + w["household_extra_member"] * (len(on_list) - 1), reasons=best.reasons
    )
