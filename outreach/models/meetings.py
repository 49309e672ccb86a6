"""A campaign's milestones per unit level, and the review meetings leaders hold with their
commitments (issue 24)."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class Milestone(SQLModel, table=True):
    """A dated step of a campaign for every unit of one level (commune, group, province).

    `kind` is codes.MilestoneKind: a share of the target reached by a date, the date by which
    units behind must hold a review meeting, or the date they must finish by.
    """

    __tablename__ = "milestone"
    __table_args__ = (
        UniqueConstraint("campaign_id", "level", "kind", "due_on", name="uq_milestone"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    level: str = Field(max_length=16)  # codes.UnitKind: commune, group or province
    kind: str = Field(max_length=16)
    due_on: date
    share: float | None = None  # of the target, for a target-share milestone (0.5 = 50%)
    note: str = Field(default="", max_length=300)


class ReviewMeeting(SQLModel, table=True):
    """A review meeting ("họp kiểm điểm") a leader held, with what was found and decided."""

    __tablename__ = "review_meeting"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    province_id: int = Field(foreign_key="geo_unit.id")
    held_on: date
    attendees: str = Field(default="", max_length=1000)
    findings: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # codes.MeetingDecision: praise ("biểu dương"), criticism ("phê bình") or none.
    decision: str = Field(default="none", max_length=16)
    decision_text: str = Field(default="", max_length=1000)
    recorded_by_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ReviewMeetingUnit(SQLModel, table=True):
    """A unit a review meeting was about."""

    __tablename__ = "review_meeting_unit"

    meeting_id: int = Field(foreign_key="review_meeting.id", primary_key=True)
    unit_id: int = Field(foreign_key="geo_unit.id", primary_key=True, index=True)


class Commitment(SQLModel, table=True):
    """What someone undertook at a meeting, by a date: a reminder on that date until done."""

    __tablename__ = "commitment"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="review_meeting.id", index=True)
    text: str = Field(max_length=500)
    owner: str = Field(max_length=200)
    due_on: date = Field(index=True)
    done_at: datetime | None = None
    done_by_id: int | None = Field(default=None, foreign_key="app_user.id")
