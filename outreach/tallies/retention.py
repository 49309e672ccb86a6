"""Do the people a campaign brought in keep paying? Which lists and paths convert? How do
canvassers work the doors? The read model of those figures (docs/figures.md, "Retention and
conversion"), counted from the raw rows in a scope: visits, outcomes, imported payments and the
persons' list facts. Counts only: nothing here returns a person.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.clock import add_months_end
from outreach.core.lists import ListCategory, payment_deadline
from outreach.core.scope import Scope, within_scope
from outreach.core.text import person_key
from outreach.models import Campaign, Payment, Person, User, Visit, VisitOutcome
from outreach.models.codes import Outcome
from outreach.tallies.figures import MET_OUTCOMES, _vietnam_day, visited_between

CONVERTING = frozenset({Outcome.ENROLLED_NEW.value, Outcome.RENEWED.value})
# The categories the report shows: "benefit" includes "benefit ending soon" (list_categories adds
# it), and "none" is a person met who is on no list category that day (e.g. paid up).
CATEGORIES = (
    ListCategory.COMING_DUE.value,
    ListCategory.LAPSED.value,
    ListCategory.BENEFIT.value,
    ListCategory.RESERVED.value,
    ListCategory.POTENTIAL.value,
    "none",
)
# Paths by the first thing a person said in the campaign (not at home does not count).
PATHS = ("converted_first", "promised", "considering", "refused", "other")
BREAK_MINUTES = 120  # a longer gap between two doors is a break, not walking time


@dataclass
class Retention:
    """The campaign's enrolled and renewed persons, by what their payments show since."""

    paid_up: int = 0  # paid the next period by its deadline
    lapsed: int = 0  # the deadline passed (in the lists' reach) with no payment
    not_due: int = 0  # the deadline is still ahead of what the payments lists reach
    unconfirmed: int = 0  # no payment on or after the outcome's day: not confirmed by the lists
    known_through: date | None = None

    @property
    def cohort(self) -> int:
        """Every person enrolled or renewed in the campaign, in scope."""
        return self.paid_up + self.lapsed + self.not_due + self.unconfirmed

    @property
    def rate(self) -> float | None:
        """Paid up among those whose deadline has passed in the lists' reach."""
        decided = self.paid_up + self.lapsed
        return self.paid_up / decided if decided else None


@dataclass
class Conversion:
    """Persons met and those of them who enrolled or renewed."""

    met: int = 0
    converted: int = 0

    @property
    def rate(self) -> float | None:
        """Converted among the persons met."""
        return self.converted / self.met if self.met else None


@dataclass
class CanvasserPace:
    """One canvasser's doors: visits, visits where someone was met, the minutes between doors."""

    canvasser_id: int
    name: str
    visits: int = 0
    contacts: int = 0
    gaps: list[float] = field(default_factory=list)

    @property
    def contact_rate(self) -> float | None:
        """Visits where at least one person was met, among all visits."""
        return self.contacts / self.visits if self.visits else None

    @property
    def minutes_between_doors(self) -> float | None:
        """The median gap between two consecutive visits of one day (breaks left out)."""
        return statistics.median(self.gaps) if self.gaps else None


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _outcomes(session: Session, scope: Scope, first: date, last: date) -> list[tuple]:
    """(person, moment, outcome, outcome id) of the window in scope, oldest first."""
    return list(
        session.execute(
            select(
                VisitOutcome.person_id,
                VisitOutcome.visited_at,
                VisitOutcome.outcome,
                VisitOutcome.id,
            )
            .where(*within_scope(VisitOutcome, scope), *visited_between(VisitOutcome, first, last))
            .order_by(VisitOutcome.visited_at, VisitOutcome.id)
        ).all()
    )


def payments_known_through(session: Session, *, province_id: int) -> date | None:
    """The latest day paid in the province's imported payments lists (None: none imported)."""
    latest = session.execute(
        select(func.max(Payment.paid_on)).where(Payment.province_id == province_id)
    ).scalar()
    return None if latest is None else _day(latest)


def next_deadline(paid_on: date, months: int) -> date:
    """The deadline of the period after a payment of `months` months made on `paid_on`: it covers
    its own month and the months after, and the next is due within the law's grace."""
    months = max(months or 1, 1)
    return payment_deadline(add_months_end(paid_on, months - 1), months)


def _payments(session: Session, person_ids: set[int]) -> dict[int, list[tuple[date, int]]]:
    out: dict[int, list[tuple[date, int]]] = defaultdict(list)
    ids = sorted(person_ids)
    for start in range(0, len(ids), 900):  # under SQLite's bound-parameter limit
        rows = session.execute(
            select(Payment.person_id, Payment.paid_on, Payment.months, Payment.id)
            .where(Payment.person_id.in_(ids[start : start + 900]))
            .order_by(Payment.paid_on, Payment.id)
        ).all()
        for person_id, paid_on, months, _id in rows:
            out[person_id].append((_day(paid_on), months))
    return out


def retention(session: Session, *, scope: Scope, campaign: Campaign, last: date) -> Retention:
    """Of the persons enrolled or renewed in the campaign up to `last`, how many paid the next
    period by its deadline (docs/figures.md)."""
    cohort: dict[int, date] = {}
    for person_id, moment, outcome, _id in _outcomes(session, scope, campaign.starts_on, last):
        if outcome in CONVERTING and person_id not in cohort:
            cohort[person_id] = _vietnam_day(moment)
    result = Retention(known_through=payments_known_through(session, province_id=scope.province_id))
    payments = _payments(session, set(cohort))
    for person_id, day in cohort.items():
        paid = [p for p in payments.get(person_id, []) if p[0] >= day]
        if not paid:
            result.unconfirmed += 1
            continue
        deadline = next_deadline(*paid[0])
        if any(later <= deadline for later, _months in paid[1:]):
            result.paid_up += 1
        elif result.known_through is None or result.known_through < deadline:
            result.not_due += 1
        else:
            result.lapsed += 1
    return result


Categorizer = Callable[[Person, date], set]


def conversion(
    session: Session,
    *,
    scope: Scope,
    campaign: Campaign,
    last: date,
    categories_of: Categorizer,
) -> tuple[dict[str, Conversion], dict[str, Conversion]]:
    """Conversion of the persons met in the campaign, by the list categories they were in on
    the day first met and by the path of their first answer (docs/figures.md).

    `categories_of(person, day)` is the worklist's `person_categories` (the one rule, in a
    feature this read model may not import), passed in by the page.
    """
    first_met: dict[int, tuple[date, str]] = {}
    converted: set[int] = set()
    for person_id, moment, outcome, _id in _outcomes(session, scope, campaign.starts_on, last):
        if outcome not in MET_OUTCOMES:
            continue
        first_met.setdefault(person_id, (_vietnam_day(moment), outcome))
        if outcome in CONVERTING:
            converted.add(person_id)
    by_category = {name: Conversion() for name in CATEGORIES}
    by_path = {name: Conversion() for name in PATHS}
    for person_id, person in _persons(session, set(first_met)).items():
        day, outcome = first_met[person_id]
        names = {str(c) for c in categories_of(person, day)}
        shown = [n for n in CATEGORIES if n in names] or ["none"]
        for name in shown:
            by_category[name].met += 1
            by_category[name].converted += person_id in converted
        path = by_path[_path(outcome)]
        path.met += 1
        path.converted += person_id in converted
    return by_category, by_path


def _path(outcome: str) -> str:
    if outcome in CONVERTING:
        return "converted_first"
    return outcome if outcome in PATHS else "other"


def _persons(session: Session, person_ids: set[int]) -> dict[int, Person]:
    out = {}
    ids = sorted(person_ids)
    for start in range(0, len(ids), 900):
        for person in session.exec(select(Person).where(Person.id.in_(ids[start : start + 900]))):
            out[person.id] = person
    return out


def canvasser_pace(
    session: Session, *, scope: Scope, first: date, last: date
) -> list[CanvasserPace]:
    """Per canvasser who visited in scope on days [first, last]: the contact rate and the
    minutes between doors (docs/figures.md), by name."""
    visits = session.execute(
        select(Visit.id, Visit.canvasser_id, Visit.visited_at)
        .where(*within_scope(Visit, scope), *visited_between(Visit, first, last))
        .order_by(Visit.canvasser_id, Visit.visited_at, Visit.id)
    ).all()
    met = set(
        session.execute(
            select(VisitOutcome.visit_id)
            .where(
                *within_scope(VisitOutcome, scope),
                *visited_between(VisitOutcome, first, last),
                VisitOutcome.outcome.in_(sorted(MET_OUTCOMES)),
            )
            .distinct()
        ).scalars()
    )
    names = (
        dict(
            session.execute(
                select(User.id, User.full_name).where(User.id.in_({v[1] for v in visits}))
            ).all()
        )
        if visits
        else {}
    )
    pace: dict[int, CanvasserPace] = {}
    previous: dict[int, datetime] = {}
    for visit_id, canvasser_id, moment in visits:
        row = pace.setdefault(
            canvasser_id, CanvasserPace(canvasser_id, names.get(canvasser_id, ""))
        )
        row.visits += 1
        row.contacts += visit_id in met
        before = previous.get(canvasser_id)
        if before is not None and _vietnam_day(before) == _vietnam_day(moment):
            minutes = (_aware(moment) - _aware(before)).total_seconds() / 60
            if minutes <= BREAK_MINUTES:
                row.gaps.append(minutes)
        previous[canvasser_id] = moment
    return sorted(pace.values(), key=lambda r: person_key(r.name))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
