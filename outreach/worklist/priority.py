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
from operator import attrgetter

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
    """A score, the reasons strongest first, and whether the person is off the list.

    `until`: the first day the score or the reasons (their day counts aside, see `days_of`) may
    be different than `rises` says; None when only new facts or visits can change them. The
    nightly refresh recomputes a household only from that day on.
    """

    score: int
    reasons: tuple[ReasonLine, ...] = field(default_factory=tuple)
    off_list: bool = False
    until: date | None = None
    # The score rises by one a day until `until`, everything else staying (brief §5 urgency:
    # a day more overdue, a day later past the appointment).
    rises: bool = False


# Day counts that follow from a reason's date and the day it is read: stored without them, so
# that a night changes a household's row only when its score or its reasons change.
_DAYS_SINCE = frozenset({Reason.LAPSED, Reason.FOLLOW_UP_DUE, Reason.RECENT_VISIT})
_DAYS_UNTIL = frozenset(
    {
        Reason.COMING_DUE,
        Reason.BENEFIT_ENDING,
        Reason.BENEFIT,
        Reason.NOT_HOME_WAIT,
        Reason.REFUSED_COOLDOWN,
    }
)


def counted_from_date(reason: Reason, on: date | None) -> bool:
    """Whether this reason's day count follows from its date (and so is never stored)."""
    return on is not None and (reason in _DAYS_SINCE or reason in _DAYS_UNTIL)


def days_of(reason: Reason, on: date | None, today: date) -> int | None:
    """The day count a reason with this date carries on `today` (None for those without one;
    a reserved record's months are stored as they are)."""
    if not counted_from_date(reason, on):
        return None
    return (today - on).days if reason in _DAYS_SINCE else (on - today).days


def _level_days(ordered: list[tuple[int, bool]], today: date) -> list[date]:
    """The days something rising one a day draws level with something still above it, in a
    list of (score, rising?) strongest first: from then on their order may change (tomorrow
    for two level already: tomorrow the rising one is ahead). Those rising together keep
    their distance."""
    return [
        today + timedelta(days=max(above - score, 1))
        for i, (score, rising) in enumerate(ordered)
        if rising
        for above, above_rising in ordered[:i]
        if not above_rising
    ]


def _earliest(*days: date | None) -> date | None:
    """The earliest of these days, None if there are none."""
    known = [d for d in days if d is not None]
    return min(known) if known else None


def weights_for(overrides: str | Mapping[str, int] | None) -> dict[str, int]:
    """The default weights with a campaign's overrides (JSON text or a mapping) applied."""
    if not overrides:
        return dict(DEFAULT_WEIGHTS)
    values = json.loads(overrides) if isinstance(overrides, str) else dict(overrides)
    unknown = set(values) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"Trọng số không có: {', '.join(sorted(unknown))}")
    return {**DEFAULT_WEIGHTS, **{k: int(v) for k, v in values.items()}}


# A scored reason: its score, its line, and for a score rising by one a day the first day it no
# longer does (None for a score that stays).
Scored = tuple[int, ReasonLine, date | None]


def _list_reasons(
    facts: PersonFacts, today: date, w: Mapping[str, int]
) -> tuple[list[Scored], date | None]:
    """Reasons 2–7 of brief §5 with their scores, and the first day they may differ otherwise
    than by rising."""
    payment, payment_changes = _payment_reason(facts, today, w)
    benefit, benefit_changes = _benefit_reason(facts, today, w)
    found = [reason for reason in (payment, benefit) if reason is not None]
    if facts.reserved_months:
        line = ReasonLine(Reason.RESERVED, days=facts.reserved_months)
        found.append((w["reserved"], line, None))
    if facts.is_potential:
        found.append((w["potential"], ReasonLine(Reason.POTENTIAL), None))
    return found, _earliest(payment_changes, benefit_changes)


def _payment_reason(
    facts: PersonFacts, today: date, w: Mapping[str, int]
) -> tuple[Scored | None, date | None]:
    """A participant's lapse or coming due, and the first day it may change otherwise."""
    if not facts.is_participant or facts.paid_through is None:
        return None, None
    cap = w["urgency_cap"]
    deadline = payment_deadline(facts.paid_through, facts.payment_frequency or 1)
    if today > deadline:
        overdue = (today - deadline).days
        line = ReasonLine(Reason.LAPSED, deadline, overdue)
        rises_until = deadline + timedelta(days=cap + 1) if overdue < cap else None
        return (w["lapsed"] + min(overdue, cap), line, rises_until), None
    if facts.paid_through > today + timedelta(days=COMING_DUE_DAYS):
        return None, facts.paid_through - timedelta(days=COMING_DUE_DAYS)
    left = (deadline - today).days
    line = ReasonLine(Reason.COMING_DUE, deadline, left)
    # Its urgency grows by one every third day from `cap` days before the deadline; after the
    # deadline it lapses.
    step = max(cap - left, 0) // 3 + 1
    changes = min(deadline - timedelta(days=cap - 3 * step), deadline + timedelta(days=1))
    return (w["coming_due"] + max(cap - left, 0) // 3, line, None), changes


def _benefit_reason(
    facts: PersonFacts, today: date, w: Mapping[str, int]
) -> tuple[Scored | None, date | None]:
    """An unemployment benefit being received or ending, and the first day that may change
    otherwise than by rising."""
    if facts.benefit_end is None or today > facts.benefit_end:
        return None, None
    if facts.benefit_start is not None and today < facts.benefit_start:
        return None, facts.benefit_start
    left = (facts.benefit_end - today).days
    if left > BENEFIT_ENDING_DAYS:
        line = ReasonLine(Reason.BENEFIT, facts.benefit_end, left)
        return (w["benefit"], line, None), facts.benefit_end - timedelta(days=BENEFIT_ENDING_DAYS)
    line = ReasonLine(Reason.BENEFIT_ENDING, facts.benefit_end, left)
    ending = w["benefit_ending"] + BENEFIT_ENDING_DAYS - left
    return (ending, line, facts.benefit_end + timedelta(days=1)), None


# The engine's list reasons are the BHXH list categories of the same name.
_CATEGORY_REASONS = frozenset(c.value for c in ListCategory)


def list_categories(*, today: date, **facts) -> set[ListCategory]:
    """Every list category a person with these facts (PersonFacts fields) belongs to on `today`."""
    found = {
        ListCategory(line.reason.value)
        for _, line, _rises in _list_reasons(PersonFacts(**facts), today, DEFAULT_WEIGHTS)[0]
        if line.reason.value in _CATEGORY_REASONS
    }
    if ListCategory.BENEFIT_ENDING in found:
        found.add(ListCategory.BENEFIT)  # ending soon is still receiving the benefit
    return found


_BY_DAY = attrgetter("on")  # a third of the sort's time of a lambda, over a province's outcomes


def person_priority(
    facts: PersonFacts,
    history: Iterable[PastOutcome],
    *,
    today: date,
    weights: Mapping[str, int] | None = None,
) -> Priority:
    """Score one person on `today` from their facts and past outcomes, with the reasons why."""
    w = weights or DEFAULT_WEIGHTS
    past = sorted(history, key=_BY_DAY)
    last = past[-1] if past else None

    closing = next((o for o in reversed(past) if o.outcome in CLOSING_OUTCOMES), None)
    if closing and (facts.facts_updated_on is None or closing.on >= facts.facts_updated_on):
        return Priority(score=0, off_list=True)

    scored, changes = _list_reasons(facts, today, w)
    tomorrow = today + timedelta(days=1)
    follow_up = last.follow_up_on if last is not None else None
    if (
        follow_up is not None
        and last.outcome in (Outcome.PROMISED, Outcome.CONSIDERING)
        and not last.kept  # they paid: nothing to follow up
    ):
        if follow_up > today:
            changes = _earliest(changes, follow_up)
        else:
            late, cap = (today - follow_up).days, w["urgency_cap"]
            scored.append(
                (
                    w["follow_up_due"] + min(late, cap),
                    ReasonLine(Reason.FOLLOW_UP_DUE, follow_up, late, last.outcome),
                    follow_up + timedelta(days=cap + 1) if late < cap else None,
                )
            )
    if not scored:
        return Priority(score=0, until=changes)

    scored.sort(key=lambda item: -item[0])
    # The score rises when the strongest reason does. Any rising reason stopping is a change (it
    # stays still, or it goes), and so is one drawing level with a still one above it.
    rises = scored[0][2] is not None
    changes = _earliest(changes, *(stops for _, _, stops in scored))
    order = [(score, stops is not None) for score, _, stops in scored]
    changes = _earliest(changes, *_level_days(order, today))
    score = scored[0][0]
    adjustments: list[ReasonLine] = []
    if last is None:
        score += w["never_visited"]
        adjustments.append(ReasonLine(Reason.NEVER_VISITED))
    else:
        since = (today - last.on).days
        if last.outcome == Outcome.REFUSED and since < w["refused_cooldown_days"]:
            ends = last.on + timedelta(days=w["refused_cooldown_days"])
            score += w["refused_cooldown"]
            adjustments.append(ReasonLine(Reason.REFUSED_COOLDOWN, ends, (ends - today).days))
            changes = _earliest(changes, ends)
        elif last.outcome == Outcome.NOT_HOME and since < w["not_home_retry_days"]:
            ends = last.on + timedelta(days=w["not_home_retry_days"])
            score += w["not_home_wait"]
            adjustments.append(ReasonLine(Reason.NOT_HOME_WAIT, ends, (ends - today).days))
            changes = _earliest(changes, ends)
        elif since < w["recent_visit_days"] and scored[0][1].reason != Reason.FOLLOW_UP_DUE:
            score += w["recent_visit"]
            adjustments.append(ReasonLine(Reason.RECENT_VISIT, last.on, since))
            changes = _earliest(changes, last.on + timedelta(days=w["recent_visit_days"]))
    if rises and score < 1:  # held at 1 below: it does not rise one a day from there
        rises, changes = False, tomorrow
    return Priority(
        score=max(score, 1),
        reasons=tuple(line for _, line, _stops in scored) + tuple(adjustments),
        until=changes,
        rises=rises,
    )


def household_priority(
    members: Iterable[Priority], *, today: date, weights: Mapping[str, int] | None = None
) -> Priority:
    """A household ranks by its best member, plus a little for each other member with a reason."""
    w = weights or DEFAULT_WEIGHTS
    members = list(members)
    until = _earliest(*(m.until for m in members))  # a member off the list now may join it
    on_list = sorted((m for m in members if not m.off_list and m.score > 0), key=lambda m: -m.score)
    if not on_list:
        return Priority(score=0, off_list=True, until=until)
    best = on_list[0]
    # A member rising may draw level with the best one (passing another changes nothing here).
    order = [(best.score, best.rises)] + [(m.score, True) for m in on_list[1:] if m.rises]
    until = _earliest(until, *_level_days(order, today))
    return Priority(
        score=best.score + w["household_extra_member"] * (len(on_list) - 1),
        reasons=best.reasons,
        until=until,
        rises=best.rises,
    )
