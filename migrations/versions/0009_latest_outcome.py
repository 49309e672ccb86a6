"""Each visited person's latest outcome, for overdue follow-ups at any scope

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

Overdue follow-ups were counted by checking every past promise for a later outcome of the same
person: tens of milliseconds for a commune, 6-10 s for the province. `latest_outcome` keeps the
answer per person, maintained with every visit (tallies/service.py) and filled here from the
raw outcomes (latest by visit time, then outcome id).
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "latest_outcome",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("visited_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["commune_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["province_id"], ["geo_unit.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.execute(
        "INSERT INTO latest_outcome "
        "(person_id, province_id, commune_id, visited_at, outcome_id, outcome, follow_up_on) "
        "SELECT person_id, province_id, commune_id, visited_at, id, outcome, "
        "CASE WHEN outcome IN ('considering', 'promised') THEN follow_up_on END "
        "FROM (SELECT o.*, row_number() OVER "
        "(PARTITION BY o.person_id ORDER BY o.visited_at DESC, o.id DESC) AS rank "
        "FROM visit_outcome o) AS ranked WHERE rank = 1"
    )
    op.create_index(
        "ix_latest_outcome_province_follow_up", "latest_outcome", ["province_id", "follow_up_on"]
    )
    op.create_index(
        "ix_latest_outcome_commune_follow_up", "latest_outcome", ["commune_id", "follow_up_on"]
    )


def downgrade() -> None:
    op.drop_table("latest_outcome")
