"""audit log filter indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 09:47:58.731976

The admins' log browser filters by user name, object and IP, newest first; the failed-login count
per name reads (username, at) too. Without these, each filter scans a log of millions of rows.
"""

from typing import Sequence, Union

from alembic import op


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_ip_at", ["ip", "at"], unique=False)
        batch_op.create_index(
            "ix_audit_object_at", ["object_type", "object_id", "at"], unique=False
        )
        batch_op.create_index("ix_audit_username_at", ["username", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_username_at")
        batch_op.drop_index("ix_audit_object_at")
        batch_op.drop_index("ix_audit_ip_at")
