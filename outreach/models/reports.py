"""Half-month report periods and the media summaries published for them."""

from datetime import date, datetime

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class ReportPeriod(SQLModel, table=True):
    """Day 1–15 (the 15th summary) or day 16–end of month (the 30th summary)."""

    __tablename__ = "report_period"
    __table_args__ = (UniqueConstraint("starts_on", name="uq_report_period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    starts_on: date
    ends_on: date
    # The day the summary is due: the 15th, or the 30th (the last day in February).
    label_day: int


class Summary(SQLModel, table=True):
    """One version of a period's summary. Publishing freezes its figures and PDF bytes."""

    __tablename__ = "summary"
    __table_args__ = (
        UniqueConstraint("period_id", "campaign_id", "version", name="uq_summary_version"),
        Index("ix_summary_status_period", "status", "period_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="report_period.id")
    campaign_id: int = Field(foreign_key="campaign.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    version: int = Field(default=1)
    status: str = Field(default="draft", max_length=16)
    cutoff_at: datetime
    figures_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    content_hash: str | None = Field(default=None, max_length=64)
    correction_reason: str = Field(default="", max_length=1000)
    supersedes_id: int | None = Field(default=None, foreign_key="summary.id")
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    published_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    published_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
