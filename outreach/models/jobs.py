"""Background jobs a user asked for (publish a bulletin, send it, export a log): what was asked,
where it stands, and its outcome, so that any server's page follows it."""

from datetime import datetime

from sqlalchemy import Index, LargeBinary
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
    # When its task was last put on the queue (again): one still queued long after, with no task
    # on the queue (Redis lost it), is queued again by the workers' minute sweep.
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class StoredFile(SQLModel, table=True):
    """A piece of a file some row owns (an import batch's upload or error list, a job's export),
    in pieces of a few megabytes, in the database so that every server and worker reads the same
    bytes (core/files.py)."""

    __tablename__ = "stored_file"

    owner_type: str = Field(max_length=16, primary_key=True)  # "import_batch", "background_job"
    owner_id: int = Field(primary_key=True)
    purpose: str = Field(max_length=16, primary_key=True)  # "upload", "errors", "export"…
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
