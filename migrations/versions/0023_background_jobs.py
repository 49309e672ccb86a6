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
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["province_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_background_job_subject_status", "background_job", ["subject", "status"])
    # When a batch's job was last queued: one still waiting long after, with no job on the
    # queue (Redis lost it), is queued again by the workers' minute sweep.
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("queued_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_batch") as batch:
        batch.drop_column("queued_at")
    op.drop_index("ix_background_job_subject_status", table_name="background_job")
    op.drop_table("background_job")
