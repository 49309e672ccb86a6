"""Background jobs a user asked for: publishing, sending and exporting on the queue

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-05 02:45:00

Issue 23: publishing a bulletin, e-mailing it and the large exports run in `outreach worker`;
the page follows the job's row, whichever server answers. An import batch remembers when its
job was queued, so that one lost by the queue is queued again.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0023"
down_revision: Union[str, None] = "0021"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "background_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["province_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_background_job_subject_status", "background_job", ["subject", "status"])
    # When a batch's job was last queued: one still waiting long after, with no job on the
    # queue (Redis lost it), is queued again by the workers' minute sweep.
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # One store of files for every feature: an import batch's (its upload, error list…) and a
    # background job's (an export); `import_file`'s rows move over as the batches' files.
    op.create_table(
        "stored_file",
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("owner_type", "owner_id", "purpose", "seq"),
    )
    op.execute(
        "INSERT INTO stored_file (owner_type, owner_id, purpose, seq, data) "
        "SELECT 'import_batch', batch_id, purpose, seq, data FROM import_file"
    )
    op.drop_table("import_file")


def downgrade() -> None:
    op.create_table(
        "import_file",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"]),
        sa.PrimaryKeyConstraint("batch_id", "purpose", "seq"),
    )
    op.execute(
        "INSERT INTO import_file (batch_id, purpose, seq, data) "
        "SELECT owner_id, purpose, seq, data FROM stored_file WHERE owner_type = 'import_batch'"
    )
    op.drop_table("stored_file")
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("queued_at")
    op.drop_index("ix_background_job_subject_status", table_name="background_job")
    op.drop_table("background_job")
