"""Corrections at the door, and why a person is off every list

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 23:50:00

Issue 22: a canvasser adds a person met at the door, corrects a phone, records a move, a death,
an objection to being contacted (Decree 13/2023) or the household's location. Each is a row of
`correction` (an event, never an overwrite); approved ones change the household or person, and
`person.off_list` says why a person is kept off every list ("" for everyone until now).
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=False),
        sa.Column("reported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["province_id"], ["geo_unit.id"]),
        sa.ForeignKeyConstraint(["reported_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_correction_commune_status", "correction", ["commune_id", "status", "reported_at"]
    )
    op.create_index(
        "ix_correction_province_status", "correction", ["province_id", "status", "reported_at"]
    )
    op.create_index("ix_correction_household", "correction", ["household_id", "reported_at"])
    # A NOT NULL column with a default is added in place on both backends (no rebuild of person).
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "off_list",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="",
                nullable=False,
            )
        )
        batch_op.create_index("ix_person_off_list", ["off_list"], unique=False)


def downgrade() -> None:
    # In place on both backends (SQLite 3.35+ drops an unindexed column itself): batch mode would
    # rebuild person, which every outcome and payment references.
    op.drop_index("ix_person_off_list", table_name="person")
    op.drop_column("person", "off_list")
    op.drop_index("ix_correction_household", table_name="correction")
    op.drop_index("ix_correction_province_status", table_name="correction")
    op.drop_index("ix_correction_commune_status", table_name="correction")
    op.drop_table("correction")
