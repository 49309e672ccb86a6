"""Promise follow-through: did the promises canvassers recorded turn into payments BHXH confirms?

Only meaningful where payments lists (kind "payments") have been imported for the province:
`known_through` is the latest day paid in them (None without any), and says how far they can tell.

Definitions, per promise (a VisitOutcome "promised" recorded during the campaign, in scope):

- its day is the Vietnamese calendar day of the visit; its deadline is the promised date
  (`follow_up_on`, or the visit day when none was given) plus `GRACE_DAYS` days, because receipts
  reach the imported lists a few days late and people often pay a little after the day they named;
- **kept**: the person has a Payment dated on or after the visit day, however late
  (`worklist.service.promise_kept`: the one condition, which also takes the follow-up off the
  canvasser's worklist and out of the leaders' overdue follow-ups at the same moment);
- **pending**: not kept, and the deadline is today or later;
- **broken**: not kept, the deadline has passed, and the province's payments lists reach the
  deadline (`known_through` on or after it): they would show the payment;
- **unknown** (chưa rõ): not kept and the deadline has passed, but no payments list reaching the
  deadline has been imported: nobody can tell whether the person paid.

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
from outreach.tallies.retention import payments_known_through
from outreach.worklist.service import promise_kept

GRACE_DAYS = 7


STATUSES = ("kept", "broken", "pending", "unknown")


@dataclass
class Followthrough:
    """Promises kept, broken, pending, unknown and enrollments reported vs confirmed, for one unit."""

    name: str = ""
    kept: int = 0
    broken: int = 0
    pending: int = 0
    unknown: int = 0
    reported: int = 0
    confirmed: int = 0

    @property
    def promises(self) -> int:
        """All promises counted."""
        return self.kept + self.broken + self.pending + self.unknown

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

    known_through: date | None  # the latest day paid in the province's payments lists
    total: Followthrough = field(default_factory=Followthrough)
    communes: list[Followthrough] = field(default_factory=list)

    @property
    def has_payments(self) -> bool:
        """Whether any payments list has been imported for the province."""
        return self.known_through is not None


def promise_status(
    *,
    kept: bool,
    visit_day: date,
    follow_up_on: date | None,
    today: date,
    known_through: date | None,
) -> str:
    """ "kept", "pending", "broken" or "unknown" for one promise (`kept`: `promise_kept`)."""
    if kept:
        return "kept"
    deadline = (follow_up_on or visit_day) + timedelta(days=GRACE_DAYS)
    if deadline >= today:
        return "pending"
    return "broken" if known_through is not None and known_through >= deadline else "unknown"


def followthrough(
    session: Session, *, scope: Scope, campaign: Campaign, today: date
) -> FollowthroughReport:
    """Promises kept, broken, pending, unknown and enrollments reported vs confirmed, in scope
    and campaign."""
    known_through = payments_known_through(session, province_id=scope.province_id)
    report = FollowthroughReport(known_through=known_through, total=Followthrough(name=""))
    starts_at = local_midnight(campaign.starts_on)
    ends_before = local_midnight(campaign.ends_on + timedelta(days=1))
    in_campaign = and_(VisitOutcome.visited_at >= starts_at, VisitOutcome.visited_at < ends_before)
    per_commune: dict[int, Followthrough] = defaultdict(Followthrough)

    # Each promise, and whether it is kept (one narrow row each: the rule is the SQL condition).
    promises = session.execute(
        apply_scope(
            select(
                VisitOutcome.commune_id,
                VisitOutcome.visited_at,
                VisitOutcome.follow_up_on,
                promise_kept(VisitOutcome.person_id, VisitOutcome.visited_at).label("kept"),
            ),
            VisitOutcome,
            scope,
        ).where(VisitOutcome.outcome == Outcome.PROMISED, in_campaign)
    ).all()
    for commune_id, visited_at, follow_up_on, kept in promises:
        moment = visited_at.replace(tzinfo=UTC) if visited_at.tzinfo is None else visited_at
        status = promise_status(
            kept=bool(kept),
            visit_day=moment.astimezone(VIETNAM).date(),
            follow_up_on=follow_up_on,
            today=today,
            known_through=known_through,
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
