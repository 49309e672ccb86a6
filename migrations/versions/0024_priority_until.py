"""The first day a household's priority may change, and its daily rise

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 06:00:00

Issue 23: the nightly refresh recomputes only the households whose priority can have changed
since the night before (`household.priority_until`) otherwise than by rising one a day (whose
score is then the day's number less `household.priority_origin`), and stored reasons keep no day
counts (they are counted again from the reason's date when read). Every commune is refreshed whole
once more, so each household gets its day.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0024"
down_revision: Union[str, None] = "0023"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# In place on both backends (SQLite 3.35+ adds and drops an unindexed column itself): batch mode
# would rebuild household, which persons and visits reference, and fail on their foreign keys.


def upgrade() -> None:
    op.add_column("household", sa.Column("priority_until", sa.Date(), nullable=True))
    op.add_column("household", sa.Column("priority_origin", sa.Integer(), nullable=True))
    op.execute("DELETE FROM priority_refresh")


def downgrade() -> None:
    op.drop_column("household", "priority_origin")
    op.drop_column("household", "priority_until")
    op.execute("DELETE FROM priority_refresh")
