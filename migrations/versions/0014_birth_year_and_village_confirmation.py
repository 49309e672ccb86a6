"""A birth year without its day; new villages confirmed before an import creates them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:40:00

Issue 20: lists often give a year of birth alone ("1978"). It was stored as 01/01/1978 and shown
so; `person.birth_year_only` says the day and month are unknown, so pages show "Sinh năm 1978".
`import_batch.create_villages` records that the admin confirmed, on the preview, the villages the
file names that do not exist yet: an import creates none without it.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Added in place on both backends (a constant default: no rebuild of the person table).
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("birth_year_only", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("create_villages", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    op.drop_column("import_batch", "create_villages")
    op.drop_column("person", "birth_year_only")
