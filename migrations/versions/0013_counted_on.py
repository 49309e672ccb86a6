"""The day a late visit counts on

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00

Issue 19 #15: a visit synced long after it happened, or into a half-month whose bulletin is
already published for its province, must not rewrite that period. It is stored with the day it
arrived in `visit.counted_on`, and the tallies count it there (tallies/service.py); a leader sees
it flagged "late". Visits stored before this revision count on their own day, as before: the
column stays NULL for them, and the tallies need no rebuild.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Batch mode for SQLite; a nullable column is added in place there (no rebuild of a table of
    # millions of rows, which visit_outcome references).
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_visit_counted_on", ["counted_on"], unique=False)


def downgrade() -> None:
    # In place on both backends (SQLite 3.35+ drops an unindexed column itself): batch mode would
    # rebuild visit, which every outcome references.
    op.drop_index("ix_visit_counted_on", table_name="visit")
    op.drop_column("visit", "counted_on")
