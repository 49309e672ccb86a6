"""Reading corrections back: per household, the leader's lists and count, in words.

Every query goes through the scope door (`core.scope`): a leader reads only their units' rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.formatting import format_day, format_phone, mask_identifier
from outreach.core.i18n import _, _l
from outreach.core.scope import Scope, apply_scope, personal_rows
from outreach.models import Correction, Household, Person, User
from outreach.models.codes import CorrectionKind, CorrectionStatus

KIND_LABELS = {
    CorrectionKind.ADD_PERSON: _l("Thêm người"),
    CorrectionKind.PHONE: _l("Sửa số điện thoại"),
    CorrectionKind.MOVED: _l("Chuyển đi"),
    CorrectionKind.DECEASED: _l("Qua đời"),
    CorrectionKind.OBJECTION: _l("Không liên hệ nữa"),
    CorrectionKind.LOCATION: _l("Vị trí nhà"),
}
STATUS_LABELS = {
    CorrectionStatus.PENDING: _l("Chờ duyệt"),
    CorrectionStatus.APPROVED: _l("Đã duyệt"),
    CorrectionStatus.REJECTED: _l("Không duyệt"),
    CorrectionStatus.APPLIED: _l("Đang có hiệu lực"),
    CorrectionStatus.LIFTED: _l("Đã gỡ"),
}


@dataclass(frozen=True)
class CorrectionLine:
    """A correction with the names a page or a sheet shows beside it."""

    correction: Correction
    household: Household
    person_name: str
    reporter_name: str
    decider_name: str

    @property
    def details(self) -> dict:
        """What was reported (the JSON of `Correction.details`)."""
        return json.loads(self.correction.details or "{}")

    @property
    def kind_label(self) -> str:
        """The kind in words."""
        return str(KIND_LABELS.get(self.correction.kind, self.correction.kind))

    @property
    def status_label(self) -> str:
        """The status in words."""
        return str(STATUS_LABELS.get(self.correction.status, self.correction.status))

    @property
    def summary(self) -> str:
        """What the correction says, in one line for the leader, the household and BHXH."""
        return describe(self.correction.kind, self.details, self.person_name)


def describe(kind: str, details: dict, person_name: str) -> str:
    """One line saying what a correction reports."""
    if kind == CorrectionKind.ADD_PERSON:
        parts = [details.get("full_name", "")]
        if details.get("date_of_birth"):
            born = date.fromisoformat(details["date_of_birth"])
            parts.append(str(born.year) if details.get("year_only") else format_day(born))
        if details.get("bhxh_number"):
            # Masked like every screen's (SECURITY.md §4); the sheet has them in their columns.
            parts.append(_("mã số BHXH %(n)s", n=mask_identifier(details["bhxh_number"])))
        if details.get("citizen_id"):
            parts.append(_("CCCD %(n)s", n=mask_identifier(details["citizen_id"])))
        if details.get("phone"):
            parts.append(format_phone(details["phone"]))
        return ", ".join(parts)
    if kind == CorrectionKind.PHONE:
        whose = person_name or _("Số của hộ")
        return _(
            "%(whose)s: %(old)s → %(new)s",
            whose=whose,
            old=format_phone(details.get("old")) or _("chưa có"),
            new=format_phone(details.get("new")),
        )
    if kind == CorrectionKind.MOVED:
        who = person_name or _("Cả hộ")
        where = details.get("new_address") or _("chưa rõ địa chỉ mới")
        if details.get("still_in_commune"):
            return _("%(who)s chuyển đến %(where)s (vẫn trong xã)", who=who, where=where)
        return _("%(who)s chuyển đi: %(where)s", who=who, where=where)
    if kind == CorrectionKind.LOCATION:
        return _(
            "%(lat).5f, %(lon).5f (chủ hộ đồng ý)",
            lat=details.get("latitude", 0.0),
            lon=details.get("longitude", 0.0),
        )
    return person_name  # a death or an objection: the person is the whole story


def _lines(session: Session, corrections: list[Correction]) -> list[CorrectionLine]:
    """Corrections with their household, person and users' names (four small look-ups)."""
    if not corrections:
        return []
    households = {
        h.id: h
        for h in session.exec(
            select(Household).where(Household.id.in_({c.household_id for c in corrections}))
        )
    }
    person_ids = {c.person_id for c in corrections if c.person_id}
    persons = dict(
        session.exec(select(Person.id, Person.full_name).where(Person.id.in_(person_ids))).all()
        if person_ids
        else []
    )
    user_ids = {c.reported_by_id for c in corrections} | {
        c.decided_by_id for c in corrections if c.decided_by_id
    }
    users = dict(session.exec(select(User.id, User.full_name).where(User.id.in_(user_ids))).all())
    return [
        CorrectionLine(
            c,
            households[c.household_id],
            persons.get(c.person_id, ""),
            users.get(c.reported_by_id, ""),
            users.get(c.decided_by_id, "") if c.decided_by_id else "",
        )
        for c in corrections
    ]


def corrections_of_household(
    session: Session, *, scope: Scope, household_id: int, limit: int = 30
) -> list[CorrectionLine]:
    """The household's corrections in scope, newest first."""
    stmt = (
        apply_scope(select(Correction), Correction, scope)
        .where(Correction.household_id == household_id)
        .order_by(Correction.reported_at.desc(), Correction.id.desc())
        .limit(limit)
    )
    return _lines(session, list(session.exec(stmt)))


def pending_count(session: Session, *, scope: Scope) -> int:
    """Corrections in scope waiting for a leader."""
    stmt = (
        select(func.count())
        .select_from(Correction)
        .where(*personal_rows(Correction, scope), Correction.status == CorrectionStatus.PENDING)
    )
    return int(session.exec(stmt).one())


def corrections_in_scope(
    session: Session,
    *,
    scope: Scope,
    statuses: tuple[str, ...],
    kinds: tuple[str, ...] | None = None,
    limit: int = 200,
) -> list[CorrectionLine]:
    """Corrections in scope with one of these statuses (and kinds), oldest report first."""
    stmt = (
        apply_scope(select(Correction), Correction, scope)
        .where(Correction.status.in_(statuses))
        .order_by(Correction.reported_at, Correction.id)
        .limit(limit)
    )
    if kinds is not None:
        stmt = stmt.where(Correction.kind.in_(kinds))
    return _lines(session, list(session.exec(stmt)))


def recent_decisions(session: Session, *, scope: Scope, limit: int = 20) -> list[CorrectionLine]:
    """The latest corrections a leader decided in scope, newest decision first."""
    stmt = (
        apply_scope(select(Correction), Correction, scope)
        .where(Correction.decided_at.is_not(None))
        .order_by(Correction.decided_at.desc(), Correction.id.desc())
        .limit(limit)
    )
    return _lines(session, list(session.exec(stmt)))
