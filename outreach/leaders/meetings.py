"""Review meetings ("họp kiểm điểm") leaders record about the communes they follow, with the
praise or criticism decided and the commitments made; a commitment comes back as a reminder on
the home page from its date until someone marks it done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.formatting import format_day
from outreach.core.i18n import _
from outreach.core.scope import Scope, unit_in_scope
from outreach.models import (
    Campaign,
    Commitment,
    GeoUnit,
    ReviewMeeting,
    ReviewMeetingUnit,
    User,
)
from outreach.models.base import utcnow
from outreach.models.codes import MeetingDecision, UnitKind

MAX_COMMITMENTS = 10


class MeetingError(DomainError):
    """A review meeting that cannot be recorded as given, with the reason in Vietnamese."""


@dataclass(frozen=True)
class CommitmentInput:
    """One commitment as typed: what, who, by when."""

    text: str
    owner: str
    due_on: date | None


@dataclass(frozen=True)
class Reminder:
    """A commitment due (today or before) and not done, with its meeting's units."""

    commitment: Commitment
    meeting: ReviewMeeting
    unit_names: list[str]


def _check_units(session: Session, scope: Scope, unit_ids: list[int]) -> list[GeoUnit]:
    if not unit_ids:
        raise MeetingError(_("Hãy chọn ít nhất một xã, phường được kiểm điểm."))
    units = []
    for unit_id in sorted(set(unit_ids)):
        unit = session.get(GeoUnit, unit_id)
        if (
            unit is None
            or unit.kind != UnitKind.COMMUNE
            or not unit_in_scope(session, scope=scope, unit_id=unit_id)
        ):
            raise MeetingError(_("Có đơn vị không thuộc phạm vi của bạn."))
        units.append(unit)
    return units


def _check_commitments(items: list[CommitmentInput], held_on: date) -> list[CommitmentInput]:
    kept = [c for c in items if c.text.strip() or c.owner.strip() or c.due_on]
    if len(kept) > MAX_COMMITMENTS:
        raise MeetingError(_("Tối đa %(n)s cam kết mỗi cuộc họp.", n=MAX_COMMITMENTS))
    for c in kept:
        if not c.text.strip() or not c.owner.strip() or c.due_on is None:
            raise MeetingError(_("Mỗi cam kết cần nội dung, người thực hiện và hạn hoàn thành."))
        if len(c.text.strip()) > 500 or len(c.owner.strip()) > 200:
            raise MeetingError(_("Nội dung cam kết tối đa 500 ký tự, người thực hiện 200 ký tự."))
        if c.due_on < held_on:
            raise MeetingError(
                _("Hạn của cam kết phải từ ngày họp (%(day)s) trở đi.", day=format_day(held_on))
            )
    return kept


def record_meeting(
    session: Session,
    *,
    scope: Scope,
    campaign: Campaign,
    held_on: date | None,
    unit_ids: list[int],
    attendees: str,
    findings: str,
    decision: str,
    decision_text: str,
    commitments: list[CommitmentInput],
    by_user: User,
    today: date,
) -> ReviewMeeting:
    """Record a meeting about communes in the leader's scope, with its commitments; audited.
    Flushes; the caller commits."""
    if held_on is None:
        raise MeetingError(_("Hãy nhập ngày họp."))
    if held_on > today or held_on < campaign.starts_on:
        raise MeetingError(_("Ngày họp phải trong chiến dịch và không sau hôm nay."))
    if decision not in set(MeetingDecision):
        raise MeetingError(_("Kết luận không hợp lệ."))
    if len(attendees.strip()) > 1000 or len(decision_text.strip()) > 1000:
        raise MeetingError(_("Thành phần và nội dung kết luận tối đa 1.000 ký tự mỗi mục."))
    if not findings.strip() or len(findings.strip()) > 5000:
        raise MeetingError(_("Hãy ghi nhận xét của cuộc họp (tối đa 5.000 ký tự)."))
    units = _check_units(session, scope, unit_ids)
    kept = _check_commitments(commitments, held_on)
    meeting = ReviewMeeting(
        campaign_id=campaign.id,
        province_id=scope.province_id,
        held_on=held_on,
        attendees=attendees.strip(),
        findings=findings.strip(),
        decision=decision,
        decision_text=decision_text.strip(),
        recorded_by_id=by_user.id,
    )
    session.add(meeting)
    session.flush()
    session.add_all(ReviewMeetingUnit(meeting_id=meeting.id, unit_id=u.id) for u in units)
    session.add_all(
        Commitment(
            meeting_id=meeting.id, text=c.text.strip(), owner=c.owner.strip(), due_on=c.due_on
        )
        for c in kept
    )
    record_event(
        session,
        action="review_meeting.create",
        user_id=by_user.id,
        username=by_user.username,
        object_type="review_meeting",
        object_id=meeting.id,
        detail={"units": [u.id for u in units], "commitments": len(kept), "decision": decision},
    )
    session.flush()
    return meeting


def _unit_names(session: Session, meeting_ids: list[int]) -> dict[int, list[GeoUnit]]:
    out: dict[int, list[GeoUnit]] = {}
    if not meeting_ids:
        return out
    rows = session.exec(
        select(ReviewMeetingUnit.meeting_id, GeoUnit)
        .join(GeoUnit, GeoUnit.id == ReviewMeetingUnit.unit_id)
        .where(ReviewMeetingUnit.meeting_id.in_(meeting_ids))
    ).all()
    for meeting_id, unit in rows:
        out.setdefault(meeting_id, []).append(unit)
    return out


def _visible(session: Session, scope: Scope, units: list[GeoUnit]) -> bool:
    return any(unit_in_scope(session, scope=scope, unit_id=u.id) for u in units)


def meetings_in_scope(
    session: Session, *, scope: Scope, campaign_id: int
) -> list[tuple[ReviewMeeting, list[GeoUnit], list[Commitment]]]:
    """The campaign's meetings about a commune in scope, newest first, with their commitments."""
    meetings = list(
        session.exec(
            select(ReviewMeeting)
            .where(
                ReviewMeeting.campaign_id == campaign_id,
                ReviewMeeting.province_id == scope.province_id,
            )
            .order_by(ReviewMeeting.held_on.desc(), ReviewMeeting.id.desc())
        )
    )
    units = _unit_names(session, [m.id for m in meetings])
    commitments: dict[int, list[Commitment]] = {}
    if meetings:
        for c in session.exec(
            select(Commitment)
            .where(Commitment.meeting_id.in_([m.id for m in meetings]))
            .order_by(Commitment.due_on, Commitment.id)
        ):
            commitments.setdefault(c.meeting_id, []).append(c)
    return [
        (m, units.get(m.id, []), commitments.get(m.id, []))
        for m in meetings
        if _visible(session, scope, units.get(m.id, []))
    ]


def last_review_by_unit(session: Session, *, campaign_id: int) -> dict[int, date]:
    """The latest meeting day about each commune in the campaign."""
    rows = session.exec(
        select(ReviewMeetingUnit.unit_id, func.max(ReviewMeeting.held_on))
        .join(ReviewMeeting, ReviewMeeting.id == ReviewMeetingUnit.meeting_id)
        .where(ReviewMeeting.campaign_id == campaign_id)
        .group_by(ReviewMeetingUnit.unit_id)
    ).all()
    return {
        unit_id: day if isinstance(day, date) else date.fromisoformat(str(day))
        for unit_id, day in rows
    }


def due_reminders(session: Session, *, scope: Scope, today: date) -> list[Reminder]:
    """Commitments due today or before and not done, about a commune in scope, oldest first."""
    rows = session.exec(
        select(Commitment, ReviewMeeting)
        .join(ReviewMeeting, ReviewMeeting.id == Commitment.meeting_id)
        .where(
            ReviewMeeting.province_id == scope.province_id,
            Commitment.done_at.is_(None),
            Commitment.due_on <= today,
        )
        .order_by(Commitment.due_on, Commitment.id)
    ).all()
    units = _unit_names(session, sorted({m.id for _c, m in rows}))
    return [
        Reminder(c, m, [u.name for u in units.get(m.id, [])])
        for c, m in rows
        if _visible(session, scope, units.get(m.id, []))
    ]


def complete_commitment(
    session: Session,
    *,
    scope: Scope,
    commitment_id: int,
    by_user: User,
    now: datetime | None = None,
) -> Commitment:
    """Mark a commitment done (one about a commune in scope); audited. Flushes."""
    commitment = session.get(Commitment, commitment_id)
    meeting = session.get(ReviewMeeting, commitment.meeting_id) if commitment else None
    if (
        meeting is None
        or meeting.province_id != scope.province_id
        or not _visible(session, scope, _unit_names(session, [meeting.id]).get(meeting.id, []))
    ):
        raise MeetingError(_("Không tìm thấy cam kết trong phạm vi của bạn."))
    if commitment.done_at is None:
        commitment.done_at, commitment.done_by_id = now or utcnow(), by_user.id
        session.add(commitment)
        record_event(
            session,
            action="commitment.done",
            user_id=by_user.id,
            username=by_user.username,
            object_type="commitment",
            object_id=commitment.id,
        )
        session.flush()
    return commitment
