"""A canvasser's answer to a returned visit

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:40:00

Issue 22: a visit a leader returned is marked on the household page with the leader's comment,
and the canvasser answers it there; the leader reads the answer on the review page.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0018"
down_revision: Union[str, None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # In place (a NOT NULL column with a server default needs no rebuild): visit is large and
    # every outcome references it.
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "canvasser_reply",
                sqlmodel.sql.sqltypes.AutoString(length=1000),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("replied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    op.drop_column("visit", "replied_at")
    op.drop_column("visit", "canvasser_reply")
