"""Advisory teams of canvassers within a commune

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 00:00:00

Issue 24: canvassers of a commune (a post-office and a commune staff member, say) canvass as a
team: every member's worklist holds the team's households, and leaders see a team scoreboard
against the team's own targets.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0020"
down_revision: Union[str, None] = "0019"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("target_new", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("target_renewals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["geo_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commune_id", "name", name="uq_team_commune_name"),
    )
    op.create_index("ix_team_commune_id", "team", ["commune_id"], unique=False)
    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index("ix_team_member_team_id", "team_member", ["team_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_team_member_team_id", table_name="team_member")
    op.drop_table("team_member")
    op.drop_index("ix_team_commune_id", table_name="team")
    op.drop_table("team")
