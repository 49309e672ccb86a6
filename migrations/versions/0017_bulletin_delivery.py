"""Bulletins e-mailed on publishing; notices on home pages; users' e-mail addresses

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-04 23:40:00

Issue 24: users get an e-mail address and a "send me the bulletins" flag; each published bulletin
e-mailed to a user is recorded (sent, or failed with the error, to retry); notices (the drafted
bulletin, the weekly digest) wait on a user's home page until dismissed.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0017"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch_op.add_column(
            sa.Column("gets_bulletins", sa.Boolean(), nullable=False, server_default="0")
        )
    op.create_table(
        "bulletin_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("summary_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["summary_id"], ["summary.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("summary_id", "user_id", name="uq_bulletin_delivery"),
    )
    op.create_index(
        "ix_bulletin_delivery_summary_id", "bulletin_delivery", ["summary_id"], unique=False
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("dismissed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_notice_user_key"),
    )
    op.create_index("ix_notice_user_id", "notice", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notice_user_id", table_name="notice")
    op.drop_table("notice")
    op.drop_index("ix_bulletin_delivery_summary_id", table_name="bulletin_delivery")
    op.drop_table("bulletin_delivery")
    # In place on both backends (SQLite 3.35+ drops a column itself): batch mode would rebuild
    # app_user, which many tables reference.
    op.drop_column("app_user", "gets_bulletins")
    op.drop_column("app_user", "email")
