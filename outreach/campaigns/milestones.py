"""A campaign's milestones per unit level, and each commune against them (issue 24).

Milestones are for every unit of one level (communes here): "50% of the target by 31/10", "units
behind hold a review meeting by 07/11", "finish by 30/11". A commune is measured against the
**next** target-share or finish milestone (its target × the share; finish is the whole target);
a commune **must hold a review** when it was below its target share at the last target-share
milestone already passed, a review deadline follows that milestone, and no review meeting about
it has been recorded since that milestone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import Scope
from outreach.core.text import place_key
from outreach.dashboard.service import Row, dashboard_for
from outreach.leaders.meetings import last_review_by_unit
from outreach.models import Campaign, Milestone, User
from outreach.models.codes import MilestoneKind, UnitKind

LEVELS = (UnitKind.COMMUNE.value,)  # the level the pages measure; groups and province later


class MilestoneError(DomainError):
    """A milestone that cannot be added as given."""


def add_milestone(
    session: Session,
    *,
    campaign: Campaign,
    kind: str,
    due_on: date,
    share: float | None = None,
    note: str = "",
    level: str = UnitKind.COMMUNE.value,
    by_user: User | None = None,
) -> Milestone:
    """Add a milestone to a campaign after checking it; audited. Flushes."""
    if level not in LEVELS:
        raise MilestoneError(_("Cấp đơn vị không hợp lệ: %(level)s.", level=level))
    if kind not in set(MilestoneKind):
        raise MilestoneError(_("Loại mốc không hợp lệ: %(kind)s.", kind=kind))
    if not campaign.starts_on <= due_on <= campaign.ends_on:
        raise MilestoneError(_("Ngày của mốc phải trong thời gian chiến dịch."))
    if kind == MilestoneKind.TARGET_SHARE and (share is None or not 0 < share <= 1):
        raise MilestoneError(_("Mốc tỷ lệ chỉ tiêu cần tỷ lệ từ 1% đến 100%."))
    exists = session.exec(
        select(Milestone.id).where(
            Milestone.campaign_id == campaign.id,
            Milestone.level == level,
            Milestone.kind == kind,
            Milestone.due_on == due_on,
        )
    ).first()
    if exists is not None:
        raise MilestoneError(_("Chiến dịch đã có mốc này."))
    milestone = Milestone(
        campaign_id=campaign.id,
        level=level,
        kind=kind,
        due_on=due_on,
        share=share if kind == MilestoneKind.TARGET_SHARE else None,
        note=note.strip()[:300],
    )
    session.add(milestone)
    session.flush()
    record_event(
        session,
        action="milestone.create",
        user_id=by_user.id if by_user else None,
        username=by_user.username if by_user else "cli",
        object_type="milestone",
        object_id=milestone.id,
        detail={"kind": kind, "due_on": due_on.isoformat(), "share": share},
    )
    return milestone


def milestones_of(session: Session, *, campaign_id: int) -> list[Milestone]:
    """A campaign's milestones, by date."""
    return list(
        session.exec(
            select(Milestone)
            .where(Milestone.campaign_id == campaign_id)
            .order_by(Milestone.due_on, Milestone.id)
        )
    )


def _share(milestone: Milestone) -> float:
    return 1.0 if milestone.kind == MilestoneKind.FINISH else (milestone.share or 0.0)


def _expected(row: Row, milestone: Milestone) -> int:
    return math.ceil(row.target * _share(milestone) - 1e-9)


@dataclass(frozen=True)
class UnitAgainstMilestone:
    """A commune's results against the next milestone."""

    id: int
    name: str
    done: int
    target: int
    milestone: Milestone
    expected: int  # results the milestone asks for

    @property
    def gap(self) -> int:
        """Results still missing for the milestone (0 when reached)."""
        return max(self.expected - self.done, 0)


@dataclass(frozen=True)
class ReviewDue:
    """A commune that missed a target-share milestone and must hold a review by a date."""

    id: int
    name: str
    done_then: int
    expected_then: int
    missed: Milestone
    review_by: Milestone


@dataclass(frozen=True)
class MilestoneBoard:
    """What the leaders' page shows: the next milestone, each commune against it, reviews due."""

    milestones: list[Milestone]
    next_milestone: Milestone | None
    units: list[UnitAgainstMilestone]
    reviews_due: list[ReviewDue]


def _commune_rows(session: Session, scope: Scope, campaign: Campaign, day: date) -> list[Row]:
    board = dashboard_for(session, scope=scope, campaign=campaign, today=day)
    if board.group_by == "commune":
        return [r for r in board.rows if r.target > 0]
    return [board.totals] if board.totals.target > 0 else []  # a commune leader's own commune


def next_milestone(milestones: list[Milestone], today: date) -> Milestone | None:
    """The first target-share or finish milestone on or after today."""
    return next(
        (m for m in milestones if m.kind != MilestoneKind.REVIEW and m.due_on >= today), None
    )


def units_against(rows: list[Row], milestone: Milestone) -> list[UnitAgainstMilestone]:
    """Communes with a target against a milestone, the furthest from it first."""
    units = [
        UnitAgainstMilestone(r.id, r.name, r.done, r.target, milestone, _expected(r, milestone))
        for r in rows
        if r.target > 0
    ]
    return sorted(units, key=lambda u: (-u.gap, place_key(u.name)))


def milestone_board(
    session: Session, *, scope: Scope, campaign: Campaign, today: date
) -> MilestoneBoard:
    """The scope's communes against the campaign's next milestone, and those that must review."""
    milestones = [m for m in milestones_of(session, campaign_id=campaign.id) if m.level in LEVELS]
    upcoming = next_milestone(milestones, today)
    units = (
        units_against(_commune_rows(session, scope, campaign, today), upcoming)
        if upcoming is not None
        else []
    )
    missed = [m for m in milestones if m.kind == MilestoneKind.TARGET_SHARE and m.due_on < today]
    reviews_due = []
    if missed:
        last_missed = missed[-1]
        review_by = next(
            (
                m
                for m in milestones
                if m.kind == MilestoneKind.REVIEW and m.due_on >= last_missed.due_on
            ),
            None,
        )
        if review_by is not None:
            reviewed = last_review_by_unit(session, campaign_id=campaign.id)
            for row in _commune_rows(session, scope, campaign, last_missed.due_on):
                expected = _expected(row, last_missed)
                since = reviewed.get(row.id)
                if row.done < expected and (since is None or since < last_missed.due_on):
                    reviews_due.append(
                        ReviewDue(row.id, row.name, row.done, expected, last_missed, review_by)
                    )
    return MilestoneBoard(milestones, upcoming, units, reviews_due)
