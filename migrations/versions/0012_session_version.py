"""session version and cleared login failures on each user

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 09:00:00

`session_version` is stamped into every session and remember-me token at login, and raised by a
logout, a password change, an admin's reset and a deactivation: a session or token carrying an
older number is logged out (SECURITY.md, "Sessions"). Existing users start at 0; sessions made
before this revision carry no number and end at their next request, once.

`failures_cleared_at`: failed logins and password checks before it no longer count towards a lock
(an admin lifted the lock, or reset the password).
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Batch mode for SQLite; a NOT NULL column on a table with rows needs its server default.
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("failures_cleared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    # In place on both backends (SQLite 3.35+ drops a column itself): batch mode would rebuild
    # app_user, which every audit entry and visit references, and fail on their foreign keys.
    op.drop_column("app_user", "failures_cleared_at")
    op.drop_column("app_user", "session_version")
