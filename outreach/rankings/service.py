"""Rankings for the review meetings: units by % of target at a chosen date, praise and criticism.

What counts (one definition, used on the page, in the sheet and in the tests):

- **achieved**: `enrolled_new` and `renewed` outcomes recorded from the campaign's first day
  through the end of the chosen day (Vietnamese calendar), never past the campaign's last day.
  Counted by the one read model (`tallies.figures`): communes from the daily tallies, exactly as
  the 15th/30th summaries and the dashboard, so a ranking at a period's last day shows the
  summary's cumulative figures; villages from the visit outcomes of one commune, each in the
  village its household was in at the visit, as on the dashboard.
- **target**: the unit's effective target (`targets.effective_target`: a commune's own, else the
  sum of its villages').
- **% of target**: (new + renewed) / (target new + target renewals), both kinds together, so a
  commune strong on renewals is not ranked last for a small new-participant target.
- **rank**: by that ratio, highest first; equal ratios share a rank (1, 2, 2, 4). Units without a
  target (or a target of zero) are listed after, unranked.
- **marks**: the top 3 ranks are praised ("Biểu dương"), the bottom 3 criticised ("Phê bình");
  with fewer than 6 ranked units, half of them each way (as in the summaries). A tie that reaches
  across both ends marks nobody in it: a meeting cannot praise and criticise the same result.
- **countdown**: days from the chosen day to the campaign's last day; 0 on that day, negative after.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

import xlsxwriter
from sqlmodel import Session, select

from outreach.campaigns.targets import effective_targets
from outreach.core.errors import DomainError
from outreach.core.formatting import format_day, safe_cell
from outreach.core.scope import Scope
from outreach.core.text import place_key
from outreach.dashboard.national import national_dashboard
from outreach.models import Campaign, GeoUnit
from outreach.models.codes import Outcome, UnitKind
from outreach.tallies import figures

LEVELS = ("commune", "village")
PRAISE, CRITICISM = figures.PRAISE, figures.CRITICISM
MARK_LABELS = {PRAISE: "Biểu dương", CRITICISM: "Phê bình"}
_COUNTED = {Outcome.ENROLLED_NEW.value: "new", Outcome.RENEWED.value: "renewals"}


class RankingError(DomainError):
    """A ranking that cannot be made, with a Vietnamese message for the leader."""


@dataclass
class RankRow:
    """One unit in the ranking."""

    unit_id: int
    code: str
    name: str
    target_new: int | None
    target_renewals: int | None
    achieved_new: int
    achieved_renewals: int
    ratio: float | None  # None: no target, not ranked
    rank: int | None = None
    mark: str | None = None  # PRAISE, CRITICISM or None
    days_left: int = 0

    @property
    def mark_label(self) -> str:
        """The mark in Vietnamese, as the meeting reads it ("" when unmarked)."""
        return MARK_LABELS.get(self.mark or "", "")


def days_left(campaign: Campaign, as_of: date) -> int:
    """Days from `as_of` to the campaign's last day: 0 on it, negative once it has passed."""
    return (campaign.ends_on - as_of).days


def ranking_level(scope: Scope, level: str) -> str:
    """The level a scope ranks at: a commune leader always ranks villages."""
    if level not in LEVELS:
        raise RankingError("Cấp xếp hạng không hợp lệ: chọn xã, phường hoặc thôn, tổ dân phố.")
    return "village" if scope.unit_kind == UnitKind.COMMUNE else level


def _units(
    session: Session, *, scope: Scope, campaign: Campaign, level: str, commune_id: int | None
) -> tuple[list[GeoUnit], int | None]:
    """The units to rank and, for villages, their commune."""
    if level == "village":
        if commune_id is None and scope.commune_ids is not None and len(scope.commune_ids) == 1:
            commune_id = next(iter(scope.commune_ids))
        commune = session.get(GeoUnit, commune_id) if commune_id is not None else None
        if (
            commune is None
            or commune.kind != UnitKind.COMMUNE
            or commune.province_id != campaign.province_id
            or not scope.covers_commune(commune.id)
        ):
            raise LookupError("commune outside the scope")
        units = session.exec(
            select(GeoUnit).where(GeoUnit.parent_id == commune.id, GeoUnit.kind == UnitKind.VILLAGE)
        ).all()
        return list(units), commune.id
    stmt = select(GeoUnit).where(
        GeoUnit.province_id == campaign.province_id, GeoUnit.kind == UnitKind.COMMUNE
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(GeoUnit.id.in_(sorted(scope.commune_ids)))
    return list(session.exec(stmt).all()), None


def _mark(rows: list[RankRow]) -> None:
    """Ranks and marks by the one rule of tallies.figures.ranks_and_marks."""
    marks = figures.ranks_and_marks({row.unit_id: row.ratio for row in rows})
    for row in rows:
        row.rank, row.mark = marks.get(row.unit_id, (None, None))


def rank_units(
    session: Session,
    *,
    scope: Scope,
    campaign: Campaign,
    as_of: date,
    level: str = "commune",
    commune_id: int | None = None,
) -> list[RankRow]:
    """The units of the scope ranked by % of target at the end of `as_of`, best first.

    A commune leader ranks the villages of their commune; group and province leaders rank their
    communes, or with level="village" the villages of one commune (`commune_id`) in their scope.
    LookupError when the commune is outside the scope (the caller answers 404).
    """
    if scope.province_id != campaign.province_id:
        raise LookupError("campaign of another province")
    level = ranking_level(scope, level)
    units, commune = _units(
        session, scope=scope, campaign=campaign, level=level, commune_id=commune_id
    )
    last = min(as_of, campaign.ends_on)
    counted = replace(scope, commune_ids=frozenset({commune})) if level == "village" else scope
    count = figures.village_counts if level == "village" else figures.commune_counts
    achieved = count(session, scope=counted, first=campaign.starts_on, last=last)
    targets = effective_targets(session, campaign=campaign, units=units)
    countdown = days_left(campaign, as_of)
    rows = []
    for unit in units:
        done = achieved.get(unit.id, Counter())
        target = targets.get(unit.id)
        rows.append(
            RankRow(
                unit_id=unit.id,
                code=unit.code,
                name=unit.name,
                target_new=target.new_participants if target else None,
                target_renewals=target.renewals if target else None,
                achieved_new=done["new"],
                achieved_renewals=done["renewals"],
                ratio=(
                    (done["new"] + done["renewals"]) / target.total
                    if target and target.total
                    else None
                ),
                days_left=countdown,
            )
        )
    _mark(rows)
    names = {u.id: place_key(u.name, u.type_name) for u in units}
    rows.sort(key=lambda r: (r.ratio is None, -(r.ratio or 0), names[r.unit_id]))
    return rows


def rank_provinces(
    session: Session, *, scope: Scope, campaigns: list[Campaign], as_of: date
) -> list[RankRow]:
    """The provinces ranked by % of target at the end of `as_of`, each in its active campaign.

    Each province's figures and target are its national-dashboard row (the dashboard's own
    totals), so a province ranks on the number its leaders see.
    """
    board = national_dashboard(session, scope=scope, campaigns=campaigns, today=as_of)
    codes = {u.id: u.code for u in board.provinces}
    ends = {c.province_id: c.ends_on for c in campaigns}
    rows = [
        RankRow(
            unit_id=row.id,
            code=codes[row.id],
            name=row.name,
            target_new=row.target_new if row.target else None,
            target_renewals=row.target_renewals if row.target else None,
            achieved_new=row.new,
            achieved_renewals=row.renewals,
            ratio=row.ratio,
            days_left=(ends[row.id] - as_of).days,
        )
        for row in board.rows
    ]
    _mark(rows)
    rows.sort(key=lambda r: (r.ratio is None, -(r.ratio or 0)))  # board.rows are by name
    return rows


def countdown_text(campaign: Campaign, as_of: date) -> str:
    """The deadline line: "Còn 39 ngày đến hạn 31/12/2026", or how long ago it passed."""
    left = days_left(campaign, as_of)
    deadline = format_day(campaign.ends_on)
    if left > 0:
        return f"Còn {left} ngày đến hạn {deadline}"
    if left == 0:
        return f"Hôm nay là hạn cuối ({deadline})"
    return f"Đã quá hạn {deadline} {-left} ngày"


HEADER = (
    "Hạng",
    "Mã đơn vị",
    "Đơn vị",
    "Chỉ tiêu tham gia mới",
    "Chỉ tiêu đóng tiếp",
    "Tham gia mới",
    "Đóng tiếp",
    "Tỷ lệ hoàn thành",
    "Đánh giá",
)


def rankings_workbook(
    rows: list[RankRow], *, campaign: Campaign, as_of: date, scope_name: str, level: str
) -> bytes:
    """The ranking as .xlsx for the review meeting (numbers as numbers, text never a formula)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Xếp hạng")
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "border": 1})
    percent = book.add_format({"num_format": "0.00%"})
    whole = book.add_format({"num_format": "#,##0"})
    what = "thôn, tổ dân phố" if level == "village" else "xã, phường"
    sheet.write_string(
        0, 0, safe_cell(f"Xếp hạng {what} theo tỷ lệ hoàn thành chỉ tiêu — {scope_name}"), title
    )
    sheet.write_string(1, 0, safe_cell(f"Chiến dịch: {campaign.name}"))
    sheet.write_string(2, 0, safe_cell(f"Tính đến hết ngày {format_day(as_of)}"), bold)
    sheet.write_string(3, 0, safe_cell(countdown_text(campaign, as_of)), bold)
    sheet.write_row(5, 0, [safe_cell(h) for h in HEADER], header)
    for index, row in enumerate(rows, start=6):
        if row.rank is not None:
            sheet.write_number(index, 0, row.rank)
        else:
            sheet.write_string(index, 0, "")
        sheet.write_string(index, 1, safe_cell(row.code))
        sheet.write_string(index, 2, safe_cell(row.name))
        for column, value in (
            (3, row.target_new),
            (4, row.target_renewals),
            (5, row.achieved_new),
            (6, row.achieved_renewals),
        ):
            if value is None:
                sheet.write_string(index, column, "")
            else:
                sheet.write_number(index, column, value, whole)
        if row.ratio is None:
            sheet.write_string(index, 7, safe_cell("Chưa có chỉ tiêu"))
        else:
            sheet.write_number(index, 7, row.ratio, percent)
        sheet.write_string(index, 8, safe_cell(row.mark_label))
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 10)
    sheet.set_column(2, 2, 30)
    sheet.set_column(3, 7, 13)
    sheet.set_column(8, 8, 12)
    sheet.freeze_panes(6, 0)
    book.close()
    return out.getvalue()
