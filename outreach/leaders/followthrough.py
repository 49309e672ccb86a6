"""Promise follow-through: did the promises canvassers recorded turn into payments BHXH confirms?

Only meaningful where payments lists (kind "payments") have been imported; `has_payments` says so.

Definitions, per promise (a VisitOutcome "promised" recorded during the campaign, in scope):

- its day is the Vietnamese calendar day of the visit; its deadline is the promised date
  (`follow_up_on`, or the visit day when none was given) plus `GRACE_DAYS` days, because receipts
  reach the imported lists a few days late and people often pay a little after the day they named;
- **kept**: the person has a Payment with `paid_on` between the visit day and the deadline, both
  included;
- **broken**: not kept, and the deadline is before today;
- **pending**: not kept, and the deadline is today or later.

Enrollments: **reported** are persons with an "enrolled_new" outcome recorded during the campaign;
**confirmed** are those of them with a Payment marked `is_new_enrollment` paid on or after the
campaign's first day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.periods import local_midnight
from outreach.core.scope import Scope, apply_scope
from outreach.core.text import place_key
from outreach.models import Campaign, GeoUnit, Payment, VisitOutcome
from outreach.models.codes import Outcome, UnitKind

GRACE_DAYS = 7


@dataclass
class Followthrough:
    """Promises kept, broken, pending and enrollments reported vs confirmed, for one unit."""

    name: str = ""
    kept: int = 0
    broken: int = 0
    pending: int = 0
    reported: int = 0
    confirmed: int = 0

    @property
    def promises(self) -> int:
        """All promises counted."""
        return self.kept + self.broken + self.pending

    @property
    def kept_ratio(self) -> float | None:
        """Kept among the promises already decided (kept or broken); None before any is."""
        decided = self.kept + self.broken
        return self.kept / decided if decided else None

    @property
    def confirmed_ratio(self) -> float | None:
        """Confirmed among the reported enrollments; None when none was reported."""
        return self.confirmed / self.reported if self.reported else None


@dataclass
class FollowthroughReport:
    """The whole scope's figures and one line per commune that had any."""

    has_payments: bool
    total: Followthrough = field(default_factory=Followthrough)
    communes: list[Followthrough] = field(default_factory=list)


def promise_status(
    *, visit_day: date, follow_up_on: date | None, payments: list[date], today: date
) -> str:
    """ "kept", "broken" or "pending" for one promise, given the person's payment days."""
    deadline = (follow_up_on or visit_day) + timedelta(days=GRACE_DAYS)
    if any(visit_day <= paid <= deadline for paid in payments):
        return "kept"
    return "broken" if deadline < today else "pending"


def followthrough(
    session: Session, *, scope: Scope, campaign: Campaign, today: date
) -> FollowthroughReport:
    """Promises kept, broken, pending and enrollments reported vs confirmed, in scope and campaign."""
    has_payments = (
        session.exec(apply_scope(select(Payment.id), Payment, scope).limit(1)).first() is not None
    )
    report = FollowthroughReport(has_payments=has_payments, total=Followthrough(name=""))
    starts_at = local_midnight(campaign.starts_on)
    ends_before = local_midnight(campaign.ends_on + timedelta(days=1))
    in_campaign = and_(VisitOutcome.visited_at >= starts_at, VisitOutcome.visited_at < ends_before)
    per_commune: dict[int, Followthrough] = defaultdict(Followthrough)

    # Each promise with the days its person paid from the campaign's start on (a left join: a
    # promise with no payment comes back once with None). Narrow rows, grouped in Python.
    promises = session.execute(
        apply_scope(
            select(
                VisitOutcome.id,
                VisitOutcome.commune_id,
                VisitOutcome.visited_at,
                VisitOutcome.follow_up_on,
                Payment.paid_on,
            ),
            VisitOutcome,
            scope,
        )
        .outerjoin(
            Payment,
            and_(
                Payment.person_id == VisitOutcome.person_id,
                Payment.paid_on >= campaign.starts_on - timedelta(days=1),
            ),
        )
        .where(VisitOutcome.outcome == Outcome.PROMISED, in_campaign)
    ).all()
    grouped: dict[int, tuple[int, date, date | None, list[date]]] = {}
    for outcome_id, commune_id, visited_at, follow_up_on, paid_on in promises:
        if outcome_id not in grouped:
            moment = visited_at.replace(tzinfo=UTC) if visited_at.tzinfo is None else visited_at
            grouped[outcome_id] = (commune_id, moment.astimezone(VIETNAM).date(), follow_up_on, [])
        if paid_on is not None:
            grouped[outcome_id][3].append(paid_on)
    for commune_id, visit_day, follow_up_on, paid in grouped.values():
        status = promise_status(
            visit_day=visit_day, follow_up_on=follow_up_on, payments=paid, today=today
        )
        for line in (per_commune[commune_id], report.total):
            setattr(line, status, getattr(line, status) + 1)

    confirmed_payment = (
        select(Payment.id)
        .where(
            Payment.person_id == VisitOutcome.person_id,
            Payment.is_new_enrollment,
            Payment.paid_on >= campaign.starts_on,
        )
        .exists()
    )
    enrolled = session.execute(
        apply_scope(
            select(
                VisitOutcome.commune_id,
                func.count(func.distinct(VisitOutcome.person_id)),
            ),
            VisitOutcome,
            scope,
        )
        .where(VisitOutcome.outcome == Outcome.ENROLLED_NEW, in_campaign)
        .group_by(VisitOutcome.commune_id)
    ).all()
    confirmed = dict(
        session.execute(
            apply_scope(
                select(VisitOutcome.commune_id, func.count(func.distinct(VisitOutcome.person_id))),
                VisitOutcome,
                scope,
            )
            .where(VisitOutcome.outcome == Outcome.ENROLLED_NEW, in_campaign, confirmed_payment)
            .group_by(VisitOutcome.commune_id)
        ).all()
    )
    for commune_id, n in enrolled:
        per_commune[commune_id].reported += n
        per_commune[commune_id].confirmed += confirmed.get(commune_id, 0)
    # A person counted in two communes (they moved) is one person for the whole scope.
    report.total.reported = _distinct_persons(session, scope=scope, condition=in_campaign)
    report.total.confirmed = _distinct_persons(
        session, scope=scope, condition=and_(in_campaign, confirmed_payment)
    )

    names = dict(
        session.exec(
            select(GeoUnit.id, GeoUnit.name).where(
                GeoUnit.id.in_(sorted(per_commune)), GeoUnit.kind == UnitKind.COMMUNE
            )
        ).all()
    )
    for commune_id, line in per_commune.items():
        line.name = names.get(commune_id, "")
    report.communes = sorted(per_commune.values(), key=lambda line: place_key(line.name))
    return report


def _distinct_persons(session: Session, *, scope: Scope, condition) -> int:
    return int(
        session.execute(
            apply_scope(
                select(func.count(func.distinct(VisitOutcome.person_id))), VisitOutcome, scope
            ).where(VisitOutcome.outcome == Outcome.ENROLLED_NEW, condition)
        ).scalar()
        or 0
    )
