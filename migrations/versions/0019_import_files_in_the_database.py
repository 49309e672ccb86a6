"""Uploaded lists and their error lists in the database

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 00:10:00

Issue 23: an upload, its error list and its header cells were files under one server's
instance/imports/, so another app server or a worker on another machine could not read them.
They are now rows of `import_file` (pieces of a few megabytes), and `import_batch.files_deleted_at`
says when they were deleted after the retention period (OUTREACH_UPLOAD_RETENTION_DAYS).
Batches uploaded before this revision keep their files on disk, where nothing reads them any
more: upload the list again to check or import it.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0019"
down_revision: Union[str, None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "import_file",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"]),
        sa.PrimaryKeyConstraint("batch_id", "purpose", "seq"),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("files_deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("files_deleted_at")
    op.drop_table("import_file")
