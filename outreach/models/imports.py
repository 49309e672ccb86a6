"""Import batches of BHXH lists, remembered header mappings, and payment receipts."""

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel, Text

from outreach.models.base import utcnow


class ImportBatch(SQLModel, table=True):
    """One uploaded file: who, when, its hash, its progress and its honest final counts."""

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_hash", "file_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    filename: str = Field(max_length=300)
    file_hash: str = Field(max_length=64)
    office: str = Field(default="", max_length=200)
    status: str = Field(default="uploaded", max_length=16)
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    province_id: int | None = Field(default=None, foreign_key="geo_unit.id")
    rows_read: int = Field(default=0)
    rows_validated: int = Field(default=0)
    rows_written: int = Field(default=0)
    inserted: int = Field(default=0)
    updated: int = Field(default=0)
    unchanged: int = Field(default=0)
    rejected: int = Field(default=0)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The upload's name as first stored (its bytes are in `stored_file`, shared by every server).
    stored_as: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    # The admin chose to import the valid rows and leave the rejected ones out.
    skip_rejected: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # The admin confirmed, on the preview, the new villages (thôn, tổ dân phố) the file names.
    create_villages: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # When its job was last queued (a batch still waiting long after, its job lost, is re-queued).
    queued_at: datetime | None = None
    # When the upload and its error list (personal data) were deleted after the retention period.
    files_deleted_at: datetime | None = None


class ImportMapping(SQLModel, table=True):
    """A header → field mapping an admin confirmed, reused for the next file from that office."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("office", "kind", name="uq_import_mapping_office_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    office: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    mapping_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class Payment(SQLModel, table=True):
    """A receipt from BHXH or the post office: who paid, how much, for how many months, when."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_person_paid", "person_id", "paid_on"),
        Index("ix_payment_commune_paid", "commune_id", "paid_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    paid_on: date
    amount: int
    months: int
    is_new_enrollment: bool = Field(default=False)
    receipt_number: str | None = Field(default=None, max_length=40)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
