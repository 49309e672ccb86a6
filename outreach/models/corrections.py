"""Corrections made at the door: events kept as they were reported, never overwritten."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class Correction(SQLModel, table=True):
    """One correction a canvasser reported, and what a leader decided about it.

    The household's and persons' rows change only when it takes effect (approved, or at once for
    an objection and a first location); this row keeps what was reported, the values it replaced
    (`details`) and who decided, so nothing is overwritten without a trace.
    """

    __tablename__ = "correction"
    __table_args__ = (
        # The leaders' pending list and count, per commune or over a province.
        Index("ix_correction_commune_status", "commune_id", "status", "reported_at"),
        Index("ix_correction_province_status", "province_id", "status", "reported_at"),
        Index("ix_correction_household", "household_id", "reported_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # CorrectionKind
    status: str = Field(max_length=16)  # CorrectionStatus
    household_id: int = Field(foreign_key="household.id")
    # The person it is about; for a person added, the one created when it was approved.
    person_id: int | None = Field(default=None, foreign_key="person.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    # What was reported and the values it replaces, as JSON (the kind says which keys).
    details: str = Field(default="", max_length=4000)
    # The person's own words for an objection; the canvasser's note otherwise.
    reason: str = Field(default="", max_length=500)
    reported_by_id: int = Field(foreign_key="app_user.id")
    reported_at: datetime = Field(default_factory=utcnow)
    visit_id: int | None = Field(default=None, foreign_key="visit.id")  # a location's visit
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="", max_length=500)
