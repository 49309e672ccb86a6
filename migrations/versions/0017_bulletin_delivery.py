"""Bulletins e-mailed on publishing; notices; e-mail addresses; milestones and review meetings

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-04 23:40:00

Issue 24: users get an e-mail address and a "send me the bulletins" flag; each published bulletin
e-mailed to a user is recorded (sent, or failed with the error, to retry); notices (the drafted
bulletin, the weekly digest) wait on a user's home page until dismissed. A campaign gets dated
milestones per unit level; leaders record review meetings about units, with commitments.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0017"
down_revision: Union[str, None] = "0015"
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
    _create_meetings()


def _create_meetings() -> None:
    """Milestones per unit level; review meetings, their units and commitments."""
    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "level", "kind", "due_on", name="uq_milestone"),
    )
    op.create_index("ix_milestone_campaign_id", "milestone", ["campaign_id"], unique=False)
    op.create_table(
        "review_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attendees", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False, server_default=""),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decision_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.ForeignKeyConstraint(["province_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_review_meeting_campaign_id", "review_meeting", ["campaign_id"], unique=False
    )
    op.create_table(
        "review_meeting_unit",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["review_meeting.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["geo_unit.id"]),
        sa.PrimaryKeyConstraint("meeting_id", "unit_id"),
    )
    op.create_index(
        "ix_review_meeting_unit_unit_id", "review_meeting_unit", ["unit_id"], unique=False
    )
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["review_meeting.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commitment_meeting_id", "commitment", ["meeting_id"], unique=False)
    op.create_index("ix_commitment_due_on", "commitment", ["due_on"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_commitment_due_on", table_name="commitment")
    op.drop_index("ix_commitment_meeting_id", table_name="commitment")
    op.drop_table("commitment")
    op.drop_index("ix_review_meeting_unit_unit_id", table_name="review_meeting_unit")
    op.drop_table("review_meeting_unit")
    op.drop_index("ix_review_meeting_campaign_id", table_name="review_meeting")
    op.drop_table("review_meeting")
    op.drop_index("ix_milestone_campaign_id", table_name="milestone")
    op.drop_table("milestone")
    op.drop_index("ix_notice_user_id", table_name="notice")
    op.drop_table("notice")
    op.drop_index("ix_bulletin_delivery_summary_id", table_name="bulletin_delivery")
    op.drop_table("bulletin_delivery")
    # In place on both backends (SQLite 3.35+ drops a column itself): batch mode would rebuild
    # app_user, which many tables reference.
    op.drop_column("app_user", "gets_bulletins")
    op.drop_column("app_user", "email")
