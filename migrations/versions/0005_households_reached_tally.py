"""households reached per half-month, as a daily tally

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:10:00
"""

from typing import Sequence, Union

from alembic import op


revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Count each household once per half-month, on the day of its first visit in it."""
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        day = "CAST(timezone('Asia/Ho_Chi_Minh', v.visited_at) AS DATE)"
        month = f"CAST(date_trunc('month', {day}) AS DATE)"
        half = f"CASE WHEN EXTRACT(DAY FROM {day}) <= 15 THEN {month} ELSE {month} + 15 END"
    else:
        day = "date(v.visited_at, '+7 hours')"
        half = (
            f"CASE WHEN CAST(strftime('%d', {day}) AS INTEGER) <= 15 "
            f"THEN date({day}, 'start of month') ELSE date({day}, 'start of month', '+15 days') END"
        )
    op.execute(
        "INSERT INTO daily_tally (commune_id, day, metric, province_id, count) "
        "SELECT f.commune_id, f.day, 'households', f.province_id, count(*) FROM ("
        f"  SELECT min(v.commune_id) AS commune_id, min({day}) AS day, v.province_id AS province_id"
        f"  FROM visit v GROUP BY v.province_id, v.household_id, {half}"
        ") f GROUP BY f.commune_id, f.day, f.province_id"
    )


def downgrade() -> None:
    op.execute("DELETE FROM daily_tally WHERE metric = 'households'")
