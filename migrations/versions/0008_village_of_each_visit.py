"""The village of each visit and outcome (as at the visit), and indexes for the commune dashboard

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

A commune's dashboard counts visits, households reached and outcomes by village. Reading the
household of every visit cost tens of milliseconds a page at province scale; the visit now keeps
the household's village of the day, and (commune, time, village, household) covers the count.
Existing rows take the household's current village, the best that is known.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _village_column(table: str) -> None:
    # Nullable and without a foreign key, so both backends add (and drop) it in place: SQLite's
    # batch mode would rebuild tables of millions of rows, and cannot drop a referenced column.
    op.add_column(table, sa.Column("village_id", sa.Integer(), nullable=True))


def upgrade() -> None:
    _village_column("visit")
    _village_column("visit_outcome")
    op.execute(
        "UPDATE visit SET village_id = "
        "(SELECT household.village_id FROM household WHERE household.id = visit.household_id)"
    )
    op.execute(
        "UPDATE visit_outcome SET village_id = "
        "(SELECT visit.village_id FROM visit WHERE visit.id = visit_outcome.visit_id)"
    )
    op.drop_index("ix_visit_commune_time", table_name="visit")
    op.create_index(
        "ix_visit_commune_time", "visit", ["commune_id", "visited_at", "village_id", "household_id"]
    )
    op.drop_index("ix_outcome_commune_code_time", table_name="visit_outcome")
    op.create_index(
        "ix_outcome_commune_code_time",
        "visit_outcome",
        ["commune_id", "outcome", "visited_at", "village_id"],
    )
    op.drop_index("ix_household_commune_village", table_name="household")
    op.create_index(
        "ix_household_commune_last_visit",
        "household",
        ["commune_id", "last_visit_at", "village_id"],
    )
    op.create_index(
        "ix_campaign_reach_commune",
        "campaign_reach",
        ["campaign_id", "commune_id", "first_visit_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_reach_commune", table_name="campaign_reach")
    op.drop_index("ix_household_commune_last_visit", table_name="household")
    op.create_index("ix_household_commune_village", "household", ["commune_id", "village_id"])
    op.drop_index("ix_outcome_commune_code_time", table_name="visit_outcome")
    op.create_index(
        "ix_outcome_commune_code_time", "visit_outcome", ["commune_id", "outcome", "visited_at"]
    )
    op.drop_index("ix_visit_commune_time", table_name="visit")
    op.create_index("ix_visit_commune_time", "visit", ["commune_id", "visited_at"])
    op.drop_column("visit_outcome", "village_id")
    op.drop_column("visit", "village_id")
