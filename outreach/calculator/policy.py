"""The effective-dated policy table: contribution rate, income floor, base salary, state support.

Seed values and their legal sources come from docs/sources.md ("Policy figures"). Rows marked announced were
reported before their implementing decree was seen; an admin can check and correct each source.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from outreach.models import PolicyRate

# (key, value, valid_from, source, announced)
SEED_RATES: tuple[tuple[str, float, date, str, bool], ...] = (
    ("contribution_rate", 0.22, date(2025, 7, 1), "Luật BHXH 41/2024/QH15, Điều 36 khoản 1", False),
    (
        "income_floor",
        1_500_000,
        date(2022, 1, 1),
        "Nghị định 07/2021/NĐ-CP (chuẩn nghèo nông thôn)",
        False,
    ),
    (
        "income_floor",
        2_200_000,
        date(2027, 1, 1),
        "Chuẩn nghèo giai đoạn 2026–2030 (đã công bố)",
        True,
    ),
    ("base_salary", 2_340_000, date(2024, 7, 1), "Nghị định 73/2024/NĐ-CP", False),
    ("base_salary", 2_530_000, date(2026, 7, 1), "Thông báo của Chính phủ, tháng 3/2026", True),
    ("ceiling_multiple", 20, date(2025, 7, 1), "Luật BHXH 41/2024/QH15, Điều 36", False),
    ("support_poor", 0.30, date(2018, 1, 1), "Nghị định 134/2015/NĐ-CP (sửa đổi)", False),
    ("support_near_poor", 0.25, date(2018, 1, 1), "Nghị định 134/2015/NĐ-CP (sửa đổi)", False),
    (
        "support_ethnic_minority",
        0.10,
        date(2018, 1, 1),
        "Nghị định 134/2015/NĐ-CP (sửa đổi)",
        False,
    ),
    ("support_other", 0.10, date(2018, 1, 1), "Nghị định 134/2015/NĐ-CP (sửa đổi)", False),
    ("support_poor", 0.50, date(2025, 7, 1), "Nghị định 159/2025/NĐ-CP", False),
    ("support_island", 0.50, date(2025, 7, 1), "Nghị định 159/2025/NĐ-CP", False),
    ("support_near_poor", 0.40, date(2025, 7, 1), "Nghị định 159/2025/NĐ-CP", False),
    ("support_ethnic_minority", 0.30, date(2025, 7, 1), "Nghị định 159/2025/NĐ-CP", False),
    ("support_other", 0.20, date(2025, 7, 1), "Nghị định 159/2025/NĐ-CP", False),
)


def seed_policy_rates(session: Session) -> int:
    """Insert the national seed rows that are not there yet; returns how many were added."""
    existing = {
        (r.key, r.valid_from)
        for r in session.exec(select(PolicyRate).where(PolicyRate.province_id.is_(None)))
    }
    added = 0
    for key, value, valid_from, source, announced in SEED_RATES:
        if (key, valid_from) in existing:
            continue
        session.add(
            PolicyRate(
                key=key, value=value, valid_from=valid_from, source=source, is_announced=announced
            )
        )
        added += 1
    session.flush()
    return added


def rate_on(
    session: Session, *, key: str, day: date, province_id: int | None = None
) -> PolicyRate | None:
    """The row of a policy figure in force on a day (a province's own row wins over the national one)."""
    stmt = select(PolicyRate).where(PolicyRate.key == key, PolicyRate.valid_from <= day)
    rows = session.exec(stmt.order_by(PolicyRate.valid_from.desc())).all()
    own = [r for r in rows if r.province_id == province_id and province_id is not None]
    national = [r for r in rows if r.province_id is None]
    return (own or national or [None])[0]
