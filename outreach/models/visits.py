"""Visits are append-only events; each has one outcome per person met."""

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class Visit(SQLModel, table=True):
    """One contact with a household, keyed by the client's UUID so replays never duplicate."""

    __tablename__ = "visit"
    __table_args__ = (
        Index("uq_visit_client_uuid", "client_uuid", unique=True),
        Index("ix_visit_household_time", "household_id", "visited_at"),
        Index("ix_visit_canvasser_time", "canvasser_id", "visited_at"),
        # Covering: a commune's visits in a period by village, households reached, from the index.
        Index("ix_visit_commune_time", "commune_id", "visited_at", "village_id", "household_id"),
        # Covering: households reached per commune in a period, from the index alone.
        Index("ix_visit_province_reach", "province_id", "visited_at", "commune_id", "household_id"),
        # The late visits that arrived in a leader's review window (counted_on is mostly NULL).
        Index("ix_visit_counted_on", "counted_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=36)
    household_id: int = Field(foreign_key="household.id")
    canvasser_id: int = Field(foreign_key="app_user.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    # The household's village when the visit was made: the work is counted where it was done.
    # A copy without a foreign key (see migration 0008); merging villages rewrites it.
    village_id: int | None = Field(default=None)
    visited_at: datetime  # when it happened on the phone (UTC)
    received_at: datetime = Field(default_factory=utcnow)  # when the server got it
    # The Vietnamese day the tallies count it on, when not its own: a visit that arrived later
    # than the offline window allows, or whose half-month was already published for its province,
    # counts on the day it arrived (tallies/service.py) and is flagged "late" for the leader.
    counted_on: date | None = Field(default=None)
    channel: str = Field(max_length=16)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    note: str = Field(default="", max_length=2000)
    # The household had left the canvasser's scope by the time the visit synced.
    out_of_scope: bool = Field(default=False)
    review_status: str = Field(default="none", max_length=16)
    review_comment: str = Field(default="", max_length=1000)
    reviewed_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    # The canvasser's answer to a returned visit, read by the leader on the review page.
    canvasser_reply: str = Field(
        default="", max_length=1000, sa_column_kwargs={"server_default": ""}
    )
    replied_at: datetime | None = None


class VisitOutcome(SQLModel, table=True):
    """What one person met during a visit said or did. Denormalized for the roll-ups."""

    __tablename__ = "visit_outcome"
    __table_args__ = (
        Index("uq_visit_outcome_person", "visit_id", "person_id", unique=True),
        Index("ix_outcome_person_time", "person_id", "visited_at"),
        # Covering: a commune's outcomes in a period by village (the leader's dashboard).
        Index("ix_outcome_commune_code_time", "commune_id", "outcome", "visited_at", "village_id"),
        Index("ix_outcome_province_code_time", "province_id", "outcome", "visited_at"),
        Index("ix_outcome_follow_up", "commune_id", "follow_up_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id")
    person_id: int = Field(foreign_key="person.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    village_id: int | None = Field(default=None)  # as on its visit (no foreign key, like Visit's)
    visited_at: datetime
    outcome: str = Field(max_length=20)
    # Promise (hẹn đóng) or revisit (hẹn quay lại) date.
    follow_up_on: date | None = None
    amount: int | None = None  # VND promised or paid
    months_paid: int | None = None
    receipt_number: str | None = Field(default=None, max_length=40)
    refusal_reason: str | None = Field(default=None, max_length=24)
    created_at: datetime = Field(default_factory=utcnow)
