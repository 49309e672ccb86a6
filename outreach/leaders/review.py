"""Visit review: flag visits that look wrong, and let a leader confirm them or return them.

The flags, over the visits in a leader's scope recorded in a window [since, until):

- "far": the visit and its household both carry GPS, and they are more than `FAR_METRES` apart
  (great-circle distance, haversine on a 6,371 km sphere);
- "burst": the canvasser's visits (all of theirs in the window, in time order) form a run of at
  least `BURST_RUN` visits each less than `BURST_GAP` after the one before; every visit of such a
  run is flagged (two quick visits to neighbours are normal, a third within minutes is not);
- "same_outcome": a canvasser has at least `SAME_OUTCOME_MIN` visits in the window and every
  outcome recorded in them has the same code; all those visits are flagged;
- "late": the visit arrived in the window but counts on the day it arrived, not its own
  (`Visit.counted_on`, set by tallies/service.py): it arrived later than the offline window
  allows, or its half-month was already published (issue 19 #15). Flagged whenever it happened,
  were it years before the window, so a leader confirms (or returns) every one.

Flags are computed when asked for, from what is stored: a leader's look is cheap for a commune and
bounded by the window for a province. A returned visit stays on the canvasser's list ("Lượt thăm
bị trả lại") until a leader confirms it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, bindparam, func
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.clock import VIETNAM, as_utc
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import Scope, apply_scope, get_in_scope, personal_rows
from outreach.models import GeoUnit, Household, User, Visit, VisitOutcome
from outreach.models.base import utcnow
from outreach.models.codes import ReviewStatus

FAR_METRES = 500.0
BURST_GAP = timedelta(minutes=3)
BURST_RUN = 3
SAME_OUTCOME_MIN = 10
MAX_COMMENT = 1000
EARTH_RADIUS_M = 6_371_000.0
# A cheap pre-filter in the database: 0.003° of latitude is 333 m and 0.003° of longitude is at
# most 334 m, both under 500/√2 = 353 m, so every pair farther than 500 m differs by more than
# this in latitude or longitude. The exact distance is then computed for those candidates only.
_DEGREES_PREFILTER = 0.003
_JUST_BEFORE = timedelta(microseconds=1)  # `until` is excluded: its day counts only if after it


class ReviewError(DomainError):
    """A review that cannot be saved; the message is Vietnamese and nothing was changed."""


@dataclass(frozen=True)
class FlaggedVisit:
    """A visit that looks wrong, with the reasons, for the leader's review list."""

    visit: Visit
    at: datetime  # when the visit happened, aware UTC (SQLite returns it naive)
    household: Household
    canvasser_name: str
    village_name: str
    reasons: tuple[str, ...]
    distance_m: float | None
    outcome: str | None  # the one outcome of a "same_outcome" canvasser


@dataclass(frozen=True)
class ReturnedVisit:
    """A visit a leader sent back to the canvasser, with the leader's comment."""

    visit: Visit
    at: datetime  # when the visit happened, aware UTC
    household: Household
    reviewer_name: str


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def burst_ids(visits: list[tuple[int, int, datetime]]) -> set[int]:
    """Ids of visits in runs of ≥ BURST_RUN, each < BURST_GAP after the previous, per canvasser."""
    flagged: set[int] = set()
    by_canvasser: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for visit_id, canvasser_id, at in visits:
        by_canvasser[canvasser_id].append((as_utc(at), visit_id))
    for rows in by_canvasser.values():
        rows.sort()
        run = [rows[0][1]] if rows else []
        for (before, _visit_id), (at, visit_id) in zip(rows, rows[1:], strict=False):
            if at - before < BURST_GAP:
                run.append(visit_id)
            else:
                if len(run) >= BURST_RUN:
                    flagged.update(run)
                run = [visit_id]
        if len(run) >= BURST_RUN:
            flagged.update(run)
    return flagged


def _window(stmt, since: datetime, until: datetime):
    return stmt.where(Visit.visited_at >= since, Visit.visited_at < until)


def review_flags(
    session: Session, *, scope: Scope, since: datetime, until: datetime, limit: int = 300
) -> list[FlaggedVisit]:
    """Visits in scope and window that look wrong, newest first, each with its reasons."""
    reasons: dict[int, list[str]] = defaultdict(list)
    distances: dict[int, float] = {}

    far = _window(
        apply_scope(
            select(
                Visit.id, Visit.latitude, Visit.longitude, Household.latitude, Household.longitude
            ),
            Visit,
            scope,
        ).join(Household, Household.id == Visit.household_id),
        since,
        until,
    ).where(
        Visit.latitude.is_not(None),
        Visit.longitude.is_not(None),
        Household.latitude.is_not(None),
        Household.longitude.is_not(None),
        (func.abs(Visit.latitude - Household.latitude) > _DEGREES_PREFILTER)
        | (func.abs(Visit.longitude - Household.longitude) > _DEGREES_PREFILTER),
    )
    for visit_id, vlat, vlon, hlat, hlon in session.execute(far).all():
        metres = haversine_m(vlat, vlon, hlat, hlon)
        if metres > FAR_METRES:
            reasons[visit_id].append("far")
            distances[visit_id] = metres

    # Bursts: only three narrow columns per visit leave the database.
    times = session.execute(
        _window(
            apply_scope(select(Visit.id, Visit.canvasser_id, Visit.visited_at), Visit, scope),
            since,
            until,
        )
    ).all()
    for visit_id in burst_ids([tuple(row) for row in times]):
        reasons[visit_id].append("burst")

    same = session.execute(
        _window(
            apply_scope(
                select(
                    Visit.canvasser_id,
                    func.count(func.distinct(Visit.id)),
                    func.count(func.distinct(VisitOutcome.outcome)),
                    func.min(VisitOutcome.outcome),
                ),
                Visit,
                scope,
            ).join(VisitOutcome, VisitOutcome.visit_id == Visit.id),
            since,
            until,
        ).group_by(Visit.canvasser_id)
    ).all()
    same_outcome = {
        cid: outcome for cid, n, kinds, outcome in same if n >= SAME_OUTCOME_MIN and kinds == 1
    }
    if same_outcome:
        for (visit_id,) in session.execute(
            _window(apply_scope(select(Visit.id), Visit, scope), since, until).where(
                Visit.canvasser_id.in_(sorted(same_outcome))
            )
        ).all():
            reasons[visit_id].append("same_outcome")

    # Late: by the day it arrived (= counted on), the window's Vietnamese days, from its index.
    first_day = since.astimezone(VIETNAM).date()
    last_day = (until - _JUST_BEFORE).astimezone(VIETNAM).date()
    for (visit_id,) in session.execute(
        apply_scope(select(Visit.id), Visit, scope).where(
            Visit.counted_on >= first_day, Visit.counted_on <= last_day
        )
    ).all():
        reasons[visit_id].append("late")

    if not reasons:
        return []
    village = GeoUnit.__table__.alias("village")
    rows = session.exec(
        select(Visit, Household, User.full_name, village.c.name)
        .join(Household, Household.id == Visit.household_id)
        .join(User, User.id == Visit.canvasser_id)
        .outerjoin(village, village.c.id == Household.village_id)
        .where(Visit.id.in_(sorted(reasons)))
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(limit)
    ).all()
    return [
        FlaggedVisit(
            visit=v,
            at=as_utc(v.visited_at),
            household=h,
            canvasser_name=name,
            village_name=village_name or "",
            reasons=tuple(reasons[v.id]),
            distance_m=distances.get(v.id),
            outcome=same_outcome.get(v.canvasser_id) if "same_outcome" in reasons[v.id] else None,
        )
        for v, h, name, village_name in rows
    ]


def _visit(session: Session, *, scope: Scope, visit_id: int | None) -> Visit:
    visit = get_in_scope(session, Visit, visit_id, scope) if visit_id else None
    if visit is None:
        raise ReviewError("Không tìm thấy lượt thăm này trong phạm vi của bạn.")
    return visit


def _review(session: Session, *, visit: Visit, status: str, comment: str, by_user: User) -> Visit:
    visit.review_status = status
    visit.review_comment = comment
    visit.reviewed_by_id = by_user.id
    session.add(visit)
    record_event(
        session,
        action="review",
        user_id=by_user.id,
        username=by_user.username,
        object_type="visit",
        object_id=visit.id,
        detail={"status": status, "comment": comment[:200]} if comment else {"status": status},
    )
    session.flush()
    return visit


def confirm_visit(
    session: Session, *, scope: Scope, visit_id: int | None, comment: str = "", by_user: User
) -> Visit:
    """Mark a visit in scope as checked and fine (an optional comment is kept)."""
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ReviewError(f"Ghi chú dài quá {MAX_COMMENT} ký tự.")
    visit = _visit(session, scope=scope, visit_id=visit_id)
    return _review(
        session, visit=visit, status=ReviewStatus.CONFIRMED, comment=comment, by_user=by_user
    )


def return_visit(
    session: Session, *, scope: Scope, visit_id: int | None, comment: str, by_user: User
) -> Visit:
    """Send a visit in scope back to its canvasser with a required comment saying what to check."""
    comment = (comment or "").strip()
    if not comment:
        raise ReviewError("Hãy ghi lý do trả lại để cán bộ biết cần kiểm tra gì.")
    if len(comment) > MAX_COMMENT:
        raise ReviewError(f"Lý do trả lại dài quá {MAX_COMMENT} ký tự.")
    visit = _visit(session, scope=scope, visit_id=visit_id)
    return _review(
        session, visit=visit, status=ReviewStatus.RETURNED, comment=comment, by_user=by_user
    )


# Every worklist page runs it: built once with parameters, as building and keying the statement
# again each time cost more CPU than running it.
_REVIEWER = User.__table__.alias("reviewer")
_RETURNED_TO = (
    select(Visit, Household, _REVIEWER.c.full_name)
    .join(Household, Household.id == Visit.household_id)
    .outerjoin(_REVIEWER, _REVIEWER.c.id == Visit.reviewed_by_id)
    .where(
        Visit.canvasser_id == bindparam("canvasser_id"),
        Visit.review_status == ReviewStatus.RETURNED,
    )
    .order_by(Visit.visited_at.desc(), Visit.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def returned_visits_for(
    session: Session, *, canvasser_id: int, scope: Scope, limit: int = 20
) -> list[ReturnedVisit]:
    """A canvasser's visits a leader returned and nobody has confirmed since, newest first: only
    those the viewer's scope covers (the canvasser may have moved to another commune since)."""
    stmt = _RETURNED_TO.where(*personal_rows(Visit, scope))
    rows = session.exec(stmt, params={"canvasser_id": canvasser_id, "limit": limit}).all()
    return [ReturnedVisit(v, as_utc(v.visited_at), h, name or "") for v, h, name in rows]


def answer_returned_visit(
    session: Session, *, scope: Scope, visit_id: int | None, canvasser: User, reply: str
) -> Visit:
    """The canvasser's answer to a visit of theirs a leader returned, kept for the leader to read.

    Only the visit's own canvasser answers, only while it is returned; a new answer replaces the
    last one (the audit log keeps each).
    """
    reply = (reply or "").strip()
    if not reply:
        raise ReviewError(_("Hãy ghi câu trả lời cho người soát."))
    if len(reply) > MAX_COMMENT:
        raise ReviewError(_("Câu trả lời dài quá %(n)s ký tự.", n=MAX_COMMENT))
    visit = _visit(session, scope=scope, visit_id=visit_id)
    if visit.canvasser_id != canvasser.id or visit.review_status != ReviewStatus.RETURNED:
        raise ReviewError(_("Lượt thăm này không chờ bạn trả lời."))
    visit.canvasser_reply = reply
    visit.replied_at = utcnow()
    session.add(visit)
    record_event(
        session,
        action="reply_review",
        user_id=canvasser.id,
        username=canvasser.username,
        object_type="visit",
        object_id=visit.id,
        detail={"reply": reply[:200]},
    )
    session.flush()
    return visit


@dataclass(frozen=True)
class ReviewReply:
    """A returned visit its canvasser answered, for the leader."""

    visit: Visit
    household: Household
    canvasser_name: str
    at: datetime  # when the visit happened, aware UTC
    replied_at: datetime  # aware UTC


def review_replies(session: Session, *, scope: Scope, limit: int = 50) -> list[ReviewReply]:
    """Returned visits in scope that their canvassers have answered, latest answer first."""
    rows = session.exec(
        select(Visit, Household, User.full_name)
        .join(Household, Household.id == Visit.household_id)
        .join(User, User.id == Visit.canvasser_id)
        .where(
            Visit.review_status == ReviewStatus.RETURNED,
            Visit.replied_at.is_not(None),
            *personal_rows(Visit, scope),
        )
        .order_by(Visit.replied_at.desc(), Visit.id.desc())
        .limit(limit)
    ).all()
    return [
        ReviewReply(v, h, name or "", as_utc(v.visited_at), as_utc(v.replied_at))
        for v, h, name in rows
    ]
