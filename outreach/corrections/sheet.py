"""The corrections as an .xlsx sheet for BHXH: what canvassers found at the door, in scope.

Every text cell goes through `safe_cell` (a name starting with "=" stays text) and the workbook
turns no string into a formula; numbers (BHXH, CCCD) are written as text so no zero is lost.
"""

from __future__ import annotations

import io
from datetime import date

import xlsxwriter
from sqlmodel import Session, select

from outreach.core.audit import vietnam_time
from outreach.core.formatting import format_day, safe_cell
from outreach.core.i18n import _, _l
from outreach.core.scope import Scope
from outreach.corrections.listing import corrections_in_scope
from outreach.models import GeoUnit, Person

HEADER = (
    _l("Số"),
    _l("Loại"),
    _l("Trạng thái"),
    _l("Xã, phường"),
    _l("Chủ hộ"),
    _l("Địa chỉ"),
    _l("Người"),
    _l("Ngày sinh"),
    _l("Mã số BHXH"),
    _l("Số CCCD"),
    _l("Nội dung"),
    _l("Lý do, ghi chú"),
    _l("Cán bộ ghi"),
    _l("Thời điểm ghi"),
    _l("Người duyệt"),
    _l("Thời điểm duyệt"),
)
WIDTHS = (6, 16, 14, 18, 22, 30, 22, 12, 13, 14, 40, 30, 20, 18, 20, 18)
EXPORT_LIMIT = 5000


def corrections_workbook(
    session: Session, *, scope: Scope, statuses: tuple[str, ...], scope_name: str, today: date
) -> tuple[bytes, int]:
    """The corrections in scope with these statuses as .xlsx, and how many rows it holds."""
    lines = corrections_in_scope(session, scope=scope, statuses=statuses, limit=EXPORT_LIMIT)
    person_ids = {line.correction.person_id for line in lines if line.correction.person_id}
    persons = (
        {p.id: p for p in session.exec(select(Person).where(Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
    communes = (
        dict(
            session.exec(
                select(GeoUnit.id, GeoUnit.name).where(
                    GeoUnit.id.in_({line.correction.commune_id for line in lines})
                )
            ).all()
        )
        if lines
        else {}
    )
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(_("Sửa đổi"))
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "border": 1})
    sheet.write_string(
        0, 0, safe_cell(_("Thông tin cán bộ ghi nhận tại hộ — %(scope)s", scope=scope_name)), title
    )
    sheet.write_string(1, 0, safe_cell(_("Xuất ngày %(day)s", day=format_day(today))))
    sheet.write_row(3, 0, [safe_cell(h) for h in HEADER], header)
    for row, line in enumerate(lines, start=4):
        c, details = line.correction, line.details
        person = persons.get(c.person_id)
        born = (
            date.fromisoformat(details["date_of_birth"])
            if details.get("date_of_birth")
            else (person.date_of_birth if person else None)
        )
        cells = (
            c.id,
            line.kind_label,
            line.status_label,
            communes.get(c.commune_id, ""),
            line.household.head_name,
            line.household.address,
            line.person_name or details.get("full_name", ""),
            format_day(born) if born else "",
            details.get("bhxh_number") or (person.bhxh_number if person else "") or "",
            details.get("citizen_id") or (person.citizen_id if person else "") or "",
            line.summary,
            " · ".join(part for part in (c.reason, c.decision_note) if part),
            line.reporter_name,
            vietnam_time(c.reported_at),
            line.decider_name,
            vietnam_time(c.decided_at) if c.decided_at else "",
        )
        sheet.write_number(row, 0, cells[0])
        for column, value in enumerate(cells[1:], start=1):
            sheet.write_string(row, column, safe_cell(value))
    for column, width in enumerate(WIDTHS):
        sheet.set_column(column, column, width)
    sheet.freeze_panes(4, 0)
    book.close()
    return out.getvalue(), len(lines)
