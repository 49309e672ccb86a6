"""Background jobs a user asked for (publish a bulletin, send it, export a log): what was asked,
where it stands, and its outcome, so that any server's page follows it."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class BackgroundJob(SQLModel, table=True):
    """One request queued for `outreach worker`: queued → running → done | failed."""

    __tablename__ = "background_job"
    __table_args__ = (Index("ix_background_job_subject_status", "subject", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # "summary.publish", "summary.deliver", "audit.export"…
    # What the job works on ("summary:12"): one active job per subject (a double click queues one).
    subject: str = Field(max_length=64)
    status: str = Field(default="queued", max_length=16)
    province_id: int | None = Field(default=None, foreign_key="geo_unit.id")
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    params_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    message: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
