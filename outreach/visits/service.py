"""Recording visits: validated, idempotent by the client's UUID, and reflected in the worklist at once."""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, case, func
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.periods import half_month_start, local_midnight
from outreach.core.scope import Scope, get_in_scope
from outreach.models import Household, Person, User, Visit, VisitOutcome
from outreach.models.base import utcnow
from outreach.models.codes import FOLLOW_UP_OUTCOMES, Channel, Outcome, RefusalReason
from outreach.tallies.service import count_visit
from outreach.worklist.service import refresh_household

PAYMENT_OUTCOMES = frozenset({Outcome.ENROLLED_NEW, Outcome.RENEWED})
MAX_NOTE = 2000


class VisitError(DomainError):
    """A visit that cannot be stored; `errors` maps a field to its Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class OutcomeInput:
    """What the canvasser recorded for one person met."""

    person_id: int
    outcome: str
    follow_up_on: date | None = None
    refusal_reason: str | None = None
    months_paid: int | None = None
    amount: int | None = None
    receipt_number: str | None = None


@dataclass(frozen=True)
class VisitInput:
    """A visit as the phone sends it."""

    client_uuid: str
    household_id: int
    channel: str
    outcomes: tuple[OutcomeInput, ...]
    visited_at: datetime | None = None
    note: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None


@dataclass
class RecordedVisit:
    """The stored visit, and whether this call was a replay of one already stored."""

    visit: Visit
    outcomes: list[VisitOutcome] = field(default_factory=list)
    replayed: bool = False


def _check_outcome(
    o: OutcomeInput, member_ids: set[int], today: date, key: str, errors: dict
) -> None:
    if o.person_id not in member_ids:
        errors[key] = _("Người này không thuộc hộ đang thăm.")
        return
    if o.outcome not in set(Outcome):
        errors[key] = _("Kết quả không hợp lệ.")
        return
    if o.outcome in FOLLOW_UP_OUTCOMES:
        if o.follow_up_on is None:
            errors[key] = _("Hãy chọn ngày hẹn.")
        elif o.follow_up_on < today:
            errors[key] = _("Ngày hẹn phải từ hôm nay trở đi.")
        elif o.follow_up_on > today + timedelta(days=366):
            errors[key] = _("Ngày hẹn quá xa (tối đa một năm).")
    if o.outcome == Outcome.REFUSED and o.refusal_reason not in set(RefusalReason):
        errors[key] = _("Hãy chọn lý do từ chối.")
    if o.outcome in PAYMENT_OUTCOMES:
        if o.months_paid is None or not 1 <= o.months_paid <= 120:
            errors[key] = _("Số tháng đóng phải từ 1 đến 120.")
        elif o.amount is None or not 0 < o.amount <= 1_000_000_000:
            errors[key] = _("Hãy nhập số tiền đã đóng (đồng).")
        elif o.receipt_number and len(o.receipt_number) > 40:
            errors[key] = _("Số biên lai quá dài.")


def validate_visit(data: VisitInput, *, members: list[Person], today: date, now: datetime) -> None:
    """Raise VisitError with every problem found, field by field, in Vietnamese."""
    errors: dict[str, str] = {}
    try:
        uuid_module.UUID(data.client_uuid)
    except (ValueError, TypeError, AttributeError):
        errors["client_uuid"] = _("Mã lượt thăm không hợp lệ.")
    if data.channel not in set(Channel):
        errors["channel"] = _("Hãy chọn hình thức: đến nhà, gọi điện hoặc họp.")
    if not data.outcomes:
        errors["outcomes"] = _("Hãy ghi kết quả cho ít nhất một người đã gặp.")
    seen: set[int] = set()
    member_ids = {m.id for m in members}
    for o in data.outcomes:
        key = f"person_{o.person_id}"
        if o.person_id in seen:
            errors[key] = _("Mỗi người chỉ ghi một kết quả cho một lượt thăm.")
            continue
        seen.add(o.person_id)
        _check_outcome(o, member_ids, today, key, errors)
    if len(data.note) > MAX_NOTE:
        errors["note"] = _("Ghi chú tối đa %(n)s ký tự.", n=MAX_NOTE)
    if (data.latitude is None) != (data.longitude is None) or (
        data.latitude is not None
        and not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180)
    ):
        errors["gps"] = _("Tọa độ không hợp lệ.")
    if data.visited_at is not None and data.visited_at > now + timedelta(minutes=10):
        errors["visited_at"] = _("Thời gian thăm không được ở tương lai.")
    if errors:
        raise VisitError(errors)


def _same_content(stored: Visit, outcomes: list[VisitOutcome], data: VisitInput) -> bool:
    theirs = sorted((o.person_id, o.outcome, o.follow_up_on, o.refusal_reason) for o in outcomes)
    ours = sorted((o.person_id, o.outcome, o.follow_up_on, o.refusal_reason) for o in data.outcomes)
    return (
        stored.household_id == data.household_id
        and stored.channel == data.channel
        and theirs == ours
    )


def _canonical(data: VisitInput) -> str:
    """The UUID as it is stored (lowercase, hyphenated), so a replay in another spelling is found."""
    try:
        return str(uuid_module.UUID(data.client_uuid))
    except (ValueError, TypeError, AttributeError):
        return str(data.client_uuid)


# Run for every visit recorded, so built once with parameters: building and keying a statement
# again each time cost more CPU than running it.
_VISIT_BY_UUID = select(Visit).where(Visit.client_uuid == bindparam("client_uuid"))
_MEMBERS = select(Person).where(Person.household_id == bindparam("household_id"))


def record_visit(
    session: Session,
    *,
    canvasser: User,
    scope: Scope,
    data: VisitInput,
    today: date,
    now: datetime | None = None,
    allow_out_of_scope: bool = False,
    members: list[Person] | None = None,
) -> RecordedVisit:
    """Store a visit and its outcomes in one transaction; a repeat of the same UUID returns the first.

    `members` are the household's persons when the caller has just read them in this transaction.
    """
    now = now or utcnow()
    existing = session.exec(_VISIT_BY_UUID, params={"client_uuid": _canonical(data)}).first()
    if existing is not None:
        outcomes = list(
            session.exec(select(VisitOutcome).where(VisitOutcome.visit_id == existing.id))
        )
        if existing.canvasser_id != canvasser.id or not _same_content(existing, outcomes, data):
            raise VisitError(
                {"client_uuid": _("Mã lượt thăm này đã được dùng cho một lượt thăm khác.")}
            )
        return RecordedVisit(existing, outcomes, replayed=True)

    household = get_in_scope(session, Household, data.household_id, scope)
    out_of_scope = False
    if household is None and allow_out_of_scope and scope.sees_personal_data:
        # The caller holds proof (a signed scope token) that the household was in scope when the
        # visit was recorded offline; it has left since. Keep the visit, flagged for the leader,
        # but never for a household outside the canvasser's province.
        household = session.exec(
            select(Household).where(
                Household.id == data.household_id, Household.province_id == scope.province_id
            )
        ).first()
        out_of_scope = household is not None
    if household is None:
        raise VisitError({"household": _("Hộ này không thuộc phạm vi của bạn.")})
    if members is None:
        members = list(session.exec(_MEMBERS, params={"household_id": household.id}))
    # A visit saved offline days ago is checked against its own day: a promise "for tomorrow"
    # made then must not be refused because tomorrow has passed by the time it syncs.
    if data.visited_at is not None:
        today = min(today, data.visited_at.astimezone(VIETNAM).date())
    validate_visit(data, members=members, today=today, now=now)

    at = (data.visited_at or now).astimezone(UTC)
    visit = Visit(
        client_uuid=str(uuid_module.UUID(data.client_uuid)),
        household_id=household.id,
        canvasser_id=canvasser.id,
        province_id=household.province_id,
        commune_id=household.commune_id,
        village_id=household.village_id,
        visited_at=at,
        received_at=now,
        channel=data.channel,
        latitude=data.latitude,
        longitude=data.longitude,
        accuracy_m=data.accuracy_m,
        note=data.note.strip(),
        out_of_scope=out_of_scope,
    )
    session.add(visit)
    session.flush()
    rows = []
    for o in data.outcomes:
        row = VisitOutcome(
            visit_id=visit.id,
            person_id=o.person_id,
            province_id=household.province_id,
            commune_id=household.commune_id,
            village_id=household.village_id,
            visited_at=at,
            outcome=o.outcome,
            follow_up_on=o.follow_up_on if o.outcome in FOLLOW_UP_OUTCOMES else None,
            refusal_reason=o.refusal_reason if o.outcome == Outcome.REFUSED else None,
            months_paid=o.months_paid if o.outcome in PAYMENT_OUTCOMES else None,
            amount=o.amount if o.outcome in PAYMENT_OUTCOMES | {Outcome.PROMISED} else None,
            receipt_number=(o.receipt_number or None) if o.outcome in PAYMENT_OUTCOMES else None,
        )
        session.add(row)
        rows.append(row)
    if household.last_visit_at is None or household.last_visit_at < at:
        household.last_visit_at = at
    session.add(household)
    session.flush()
    count_visit(session, visit=visit, outcomes=rows)
    refresh_household(session, household_id=household.id, today=today, persons=members)
    session.flush()
    return RecordedVisit(visit, rows)


@dataclass(frozen=True)
class Tally:
    """A canvasser's own counts: visits, new participants, renewals, promises."""

    visits: int
    enrolled_new: int
    renewed: int
    promised: int


@dataclass(frozen=True)
class Tallies:
    """A canvasser's tally for today and for the current half-month period."""

    today: Tally
    period: Tally


# Built once with parameters (every worklist page runs them): see _VISIT_BY_UUID.
_IS_TODAY = case((Visit.visited_at >= bindparam("day_start"), 1), else_=0)
_MINE_THIS_PERIOD = (
    Visit.canvasser_id == bindparam("canvasser_id"),
    Visit.visited_at >= bindparam("period_start"),
)
_VISIT_COUNTS = select(func.count(), func.coalesce(func.sum(_IS_TODAY), 0)).where(
    *_MINE_THIS_PERIOD
)
_OUTCOME_COUNTS = (
    select(VisitOutcome.outcome, func.count(), func.coalesce(func.sum(_IS_TODAY), 0))
    .join(Visit, Visit.id == VisitOutcome.visit_id)
    .where(*_MINE_THIS_PERIOD)
    .group_by(VisitOutcome.outcome)
)


def canvasser_tallies(session: Session, *, canvasser_id: int, today: date) -> Tallies:
    """What a canvasser recorded today and this period, in two grouped queries."""
    params = {
        "canvasser_id": canvasser_id,
        "period_start": local_midnight(half_month_start(today)),
        "day_start": local_midnight(today),
    }
    visits_period, visits_today = session.execute(_VISIT_COUNTS, params).one()
    counts = session.execute(_OUTCOME_COUNTS, params).all()
    period = {outcome: n for outcome, n, _ in counts}
    day = {outcome: n for outcome, _, n in counts}

    def tally(visits: int, by_outcome: dict[str, int]) -> Tally:
        return Tally(
            int(visits),
            int(by_outcome.get(Outcome.ENROLLED_NEW, 0)),
            int(by_outcome.get(Outcome.RENEWED, 0)),
            int(by_outcome.get(Outcome.PROMISED, 0)),
        )

    return Tallies(today=tally(visits_today, day), period=tally(visits_period, period))
