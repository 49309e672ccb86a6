"""Units a steering-committee member follows

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 00:15:00

Issue 24: a leader's scope can be a set of units (communes and old-district groups) an admin
chooses, for a steering-committee member who follows communes in different old districts.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0021"
down_revision: Union[str, None] = "0020"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "followed_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "unit_id", name="uq_followed_unit_user_unit"),
    )
    op.create_index("ix_followed_unit_user_id", "followed_unit", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_followed_unit_user_id", table_name="followed_unit")
    op.drop_table("followed_unit")
