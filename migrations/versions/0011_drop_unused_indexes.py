"""drop two indexes no query uses

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 18:05:00

`ix_person_phone`: the search matches a phone by its last digits (`LIKE '%…'`, so that 09… and
+849… both match), which no B-tree index can serve. `ix_household_canvasser`: its one column is
the first of `ix_household_worklist` (and of `ix_household_worklist_top`), which serve the same
look-ups. Every new person and household paid for keeping them up to date, and a large first
import for building the phone index again (~1.5 s of a million rows).
"""

from typing import Sequence, Union

from alembic import op


revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_index("ix_person_phone", table_name="person")
    op.drop_index("ix_household_canvasser", table_name="household")


def downgrade() -> None:
    op.create_index("ix_household_canvasser", "household", ["assigned_canvasser_id"])
    op.create_index("ix_person_phone", "person", ["phone"])
