"""Recording visits: validated, idempotent by the client's UUID, and reflected in the worklist at once.

A new participant is counted once (docs/figures.md, "New participant"): `record_visit` refuses
"enrolled_new" for a person already recorded so in the campaign of the visit's day, or whose
paid-through month already covers that day, and a receipt number already recorded
(`participation_errors`), each keyed to the person like the other outcome errors.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, or_
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.errors import DomainError
from outreach.core.formatting import format_day
from outreach.core.i18n import _
from outreach.core.periods import local_midnight
from outreach.core.scope import Scope, get_in_scope
from outreach.models import Campaign, Household, Payment, Person, User, Visit, VisitOutcome
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


def _campaign_window(session: Session, *, province_id: int, day: date) -> list:
    """Conditions keeping an outcome within the campaigns of the province running on `day`
    (none when no campaign runs then: the rule then looks at every earlier visit)."""
    campaigns = session.execute(
        select(Campaign.starts_on, Campaign.ends_on).where(
            Campaign.province_id == province_id,
            Campaign.starts_on <= day,
            Campaign.ends_on >= day,
        )
    ).all()
    if not campaigns:
        return []
    return [
        or_(
            *(
                and_(
                    VisitOutcome.visited_at >= local_midnight(first),
                    VisitOutcome.visited_at < local_midnight(last + timedelta(days=1)),
                )
                for first, last in campaigns
            )
        )
    ]


def participation_errors(
    session: Session,
    *,
    data: VisitInput,
    members: list[Person],
    at: datetime,
    province_id: int,
    commune_id: int,
) -> dict[str, str]:
    """The once-only rules of the figures, per person ("person_<id>"), in Vietnamese:

    - a person is a new participant ("enrolled_new") at most once per campaign: another such
      outcome of theirs in the campaign of the visit's day (earlier, or later and synced first)
      refuses this one, naming its day;
    - never while their paid-through month covers the visit's day (they are a participant:
      "renewed" or "already_covered"), unless a payment dated on or after that day is known,
      which may be this very enrollment's, imported before the phone synced;
    - a receipt number counts once in the province: one already on another payment outcome
      (of the visit's commune, or of these persons anywhere: see below), or on two persons of
      this visit, is refused.
    """
    errors: dict[str, str] = {}
    persons = {m.id: m for m in members}
    day = at.astimezone(VIETNAM).date()
    new = [
        o.person_id
        for o in data.outcomes
        if o.outcome == Outcome.ENROLLED_NEW and o.person_id in persons
    ]
    if new:
        earlier: dict[int, datetime] = {}
        for person_id, when in session.execute(
            select(VisitOutcome.person_id, VisitOutcome.visited_at)
            .where(
                VisitOutcome.person_id.in_(sorted(set(new))),
                VisitOutcome.outcome == Outcome.ENROLLED_NEW,
                *_campaign_window(session, province_id=province_id, day=day),
            )
            .order_by(VisitOutcome.visited_at)
        ).all():
            earlier.setdefault(person_id, when)
        covered = [
            pid for pid in new if persons[pid].paid_through and persons[pid].paid_through >= day
        ]
        paid_since = (
            set(
                session.execute(
                    select(Payment.person_id).where(
                        Payment.person_id.in_(covered), Payment.paid_on >= day
                    )
                ).scalars()
            )
            if covered
            else set()
        )
        for pid in new:
            person = persons[pid]
            if pid in earlier:
                when = earlier[pid]
                when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
                errors[f"person_{pid}"] = _(
                    "%(name)s đã được ghi “Tham gia mới” ngày %(day)s: mỗi người chỉ tính tham "
                    "gia mới một lần trong chiến dịch. Nếu người đó nộp thêm, hãy ghi “Đóng tiếp”.",
                    name=person.full_name,
                    day=format_day(when),
                )
            elif pid in covered and pid not in paid_since:
                errors[f"person_{pid}"] = _(
                    "%(name)s đã đóng BHXH tự nguyện đến hết tháng %(month)s, nên không phải "
                    "người tham gia mới: hãy ghi “Đóng tiếp” hoặc “Đã có BHXH”.",
                    name=person.full_name,
                    month=person.paid_through.strftime("%m/%Y"),
                )
    receipts: dict[int, str] = {
        o.person_id: o.receipt_number.strip()
        for o in data.outcomes
        if o.outcome in PAYMENT_OUTCOMES
        and o.person_id in persons
        and o.receipt_number
        and o.receipt_number.strip()
    }
    if receipts:
        # Where a receipt recorded twice is found from an index: the payments recorded in the
        # visit's commune, and those of these persons anywhere. The province's other communes
        # need an index on (province, receipt) that the schema does not have yet: scanning the
        # province's payments took 120 ms a visit at a fifth of the province's size.
        used: dict[str, datetime] = {}
        wanted = VisitOutcome.receipt_number.in_(sorted(set(receipts.values())))
        for where in (
            VisitOutcome.commune_id == commune_id,
            VisitOutcome.person_id.in_(sorted(persons)),
        ):
            for receipt, when in session.execute(
                select(VisitOutcome.receipt_number, VisitOutcome.visited_at).where(
                    where,
                    # Receipts are kept on payment outcomes only: their slice of the index.
                    VisitOutcome.outcome.in_(sorted(PAYMENT_OUTCOMES)),
                    VisitOutcome.province_id == province_id,
                    wanted,
                )
            ).all():
                used[receipt] = min(used.get(receipt, when), when)
        seen: set[str] = set()
        for pid, receipt in receipts.items():
            key = f"person_{pid}"
            if receipt in used:
                when = used[receipt]
                when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
                errors.setdefault(
                    key,
                    _(
                        "Số biên lai %(receipt)s đã được ghi ngày %(day)s: mỗi biên lai chỉ "
                        "tính một lần.",
                        receipt=receipt,
                        day=format_day(when),
                    ),
                )
            elif receipt in seen:
                errors.setdefault(
                    key,
                    _(
                        "Số biên lai %(receipt)s đã ghi cho người khác trong lượt thăm này.",
                        receipt=receipt,
                    ),
                )
            seen.add(receipt)
    return errors


def _same_content(stored: Visit, outcomes: list[VisitOutcome], data: VisitInput) -> bool:
    """Whether a replay carries the stored visit. Each side is compared as `record_visit` keeps
    it (a refusal reason only for a refusal, a follow-up date only for the outcomes that have
    one, a payment only for a payment, the note stripped), so an honest resend always matches and
    other content never does (issue 19 #17)."""

    def kept(o) -> tuple:
        paid = o.outcome in PAYMENT_OUTCOMES
        return (
            o.person_id,
            o.outcome,
            o.follow_up_on if o.outcome in FOLLOW_UP_OUTCOMES else None,
            o.refusal_reason if o.outcome == Outcome.REFUSED else None,
            o.months_paid if paid else None,
            o.amount if paid or o.outcome == Outcome.PROMISED else None,
            (o.receipt_number or None) if paid else None,
        )

    stored_at = stored.visited_at
    if stored_at.tzinfo is None:  # SQLite may hand it back naive; it is UTC
        stored_at = stored_at.replace(tzinfo=UTC)
    return (
        stored.household_id == data.household_id
        and stored.channel == data.channel
        # A form sent again has no time of its own (it was "now" when first stored).
        and (data.visited_at is None or stored_at == data.visited_at)
        and stored.note == data.note.strip()
        and (stored.latitude, stored.longitude, stored.accuracy_m)
        == (data.latitude, data.longitude, data.accuracy_m)
        and sorted(map(kept, outcomes), key=repr) == sorted(map(kept, data.outcomes), key=repr)
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
_LOCK_HOUSEHOLD = (
    select(Household.id)
    .where(Household.id == bindparam("household_id"))
    .with_for_update(key_share=True)
)


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
    try:
        validate_visit(data, members=members, today=today, now=now)
        errors: dict[str, str] = {}
    except VisitError as error:
        errors = dict(error.errors)
    at = (data.visited_at or now).astimezone(UTC)
    if session.get_bind().dialect.name == "postgresql":
        # Two visits to one household stored at once must not both find "not yet a new
        # participant": the second waits here for the first to commit, then sees it (the row
        # lock a plain UPDATE takes; FOR UPDATE would wait for the visit's foreign-key locks).
        session.execute(_LOCK_HOUSEHOLD, {"household_id": household.id})
    found = participation_errors(
        session,
        data=data,
        members=members,
        at=at,
        province_id=household.province_id,
        commune_id=household.commune_id,
    )
    errors.update({k: v for k, v in found.items() if k not in errors})
    if errors:
        raise VisitError(errors)

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
            receipt_number=(
                (o.receipt_number or "").strip() or None if o.outcome in PAYMENT_OUTCOMES else None
            ),
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
