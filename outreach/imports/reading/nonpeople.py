"""Rows of a list that are no people: totals, signatures, numbering, field codes, section and
group headings. Each is recognised with the reason the preview shows ("Dòng nhóm: Xã Đồng Kỳ")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from outreach.core.i18n import _
from outreach.imports.reading.cells import Cell
from outreach.imports.reading.headers import header_text, is_field_name, is_number_row
from outreach.imports.reading.tcvn3 import is_convertible, looks_like_tcvn3, tcvn3_to_unicode


class _Mapped(Protocol):
    """A mapped column: where it is and which field it holds."""

    index: int
    name: str


_TOTALS = re.compile(r"\s*(?:tổng\s*cộng|tổng\s*số|tổng|cộng|total)\b", re.IGNORECASE)
_FOOTER = re.compile(
    r"\s*(?:người\s*lập|lập\s*biểu|giám\s*đốc|thủ\s*trưởng|kế\s*toán|xác\s*nhận|chủ\s*tịch"
    r"|trưởng\s*(?:phòng|ban|thôn|bưu\s*điện)|đại\s*diện|cán\s*bộ\s*thu|cơ\s*quan\s*lđtbxh)"
    r"|.*\bngày[\s.…_\d]*tháng[\s.…_\d]*năm\b",
    re.IGNORECASE,
)
# Section rows of D05-TS / D03-TS: "I", "I.1", "II." alone (the STT column), "I.1 Người tham gia",
# "I Tăng", "Giảm". Numerals in capitals only, whole words: "Vi Văn An", "Tăng Thị Hoa" are people.
_SECTION = re.compile(
    r"\s*(?:(?:[IVX]+|[A-D])\.?|(?:[IVX]+|[A-D]|\d+)(?:\.\d+)+\.?)\s*$"
    r"|\s*(?:[IVX]+|[A-D]|\d+)(?:\.\d+)+\.?\s"
    r"|\s*(?:[IVX]+|[A-D])\.?\s+(?i:tăng|giảm)\b"
    r"|\s*(?i:tăng|giảm)(?:\s+(?i:mới))?\s*$"
)
# A section's number in the first column ("I", "II.", "I.1"): a person's is a plain number.
SECTION_NUMBER = re.compile(r"\s*[IVX]+(?:\.\d+)*\.?\s*$")
# A row naming a group of the people under it (merged across the table, or alone in it).
_GROUP = re.compile(
    r"\s*(?:huyện|quận|thị\s*xã|thành\s*phố|xã|phường|thị\s*trấn|đặc\s*khu|thôn|tổ|xóm|bản"
    r"|ấp|khu|đội|nhóm|đơn\s*vị|đại\s*lý|điểm\s*thu)\b",
    re.IGNORECASE,
)


def _first_text(row: Sequence[Cell]) -> str | None:
    """The row's first non-blank cell when it is text (a number there means a data row)."""
    for cell in row:
        if cell is None:
            continue
        if cell.__class__ is not str:
            return None
        if cell and not cell.isspace():
            return cell
    return None


def end_marker(row: Sequence[Cell], tcvn3: bool = False) -> str | None:
    """ "totals" for a "Tổng cộng" / "Cộng" row, "signatures" for the first line of the
    signatures ("Người lập biểu", "…, ngày 15 tháng 11 năm 2026"), else None."""
    text = _first_text(row)
    if text is None or text.lstrip()[:1].isdigit():
        return None
    if not text.isascii() and (is_convertible(text) if tcvn3 else looks_like_tcvn3(text)):
        text = tcvn3_to_unicode(text)
    if _TOTALS.match(text) is not None:
        return "totals"
    return "signatures" if _FOOTER.match(text) is not None else None


def not_a_person(
    row: Sequence[Cell], columns: Sequence[_Mapped], tcvn3: bool = False
) -> str | None:
    """Why a row in error is no person (a number row, a repeated header or field codes, a
    section or group heading), or None: its errors are then the admin's to fix."""
    cells = [cell for cell in row if not _is_blank(cell)]
    if not cells:
        return None
    if is_number_row(row):
        return _("Dòng đánh số cột")
    texts = [header_text(cell, tcvn3) for cell in cells if isinstance(cell, str)]
    first = texts[0] if texts and cells[0].__class__ is str else None
    if first is not None and len(set(texts)) == 1 and len(texts) == len(cells):
        # One text, alone or merged across the table: "Huyện Yên Thế", "I.1 Người tham gia".
        if _SECTION.match(first) is not None:
            return _("Dòng mục (tăng, giảm)")
        if _GROUP.match(first) is not None or len(texts) >= 3:
            return _("Dòng nhóm: %(text)s", text=first)
        return None
    # Exact names only: a person's "Nam", "Xã Yên Phong" must not pass their row for a header.
    named = sum(1 for text in set(texts) if is_field_name(text))
    if named >= 3 and named * 2 >= len(cells):
        return _("Dòng tên cột hoặc mã trường (không phải người tham gia)")
    if first is not None and _SECTION.match(first) is not None and len(cells) <= 3:
        mapped = {column.index for column in columns if column.name in _IDENTITY}
        if not has_value(row, mapped):
            return _("Dòng mục (tăng, giảm)")
    return None


_IDENTITY = frozenset(("bhxh_number", "citizen_id"))


def heading(row: Sequence[Cell], tcvn3: bool = False) -> str | None:
    """Why a row with nothing in the mapped columns is listed: a group or section heading in a
    column of its own ("Xã Đồng Kỳ" in the STT column), else None (blank, a spare number)."""
    text = _first_text(row)
    if text is None:
        return None
    text = header_text(text, tcvn3)
    if _SECTION.match(text) is not None:
        return _("Dòng mục (tăng, giảm)")
    if _GROUP.match(text) is not None:
        return _("Dòng nhóm: %(text)s", text=" ".join(text.split()))
    return None


def _is_blank(cell: Cell) -> bool:
    return cell is None or (cell.__class__ is str and (not cell or cell.isspace()))


def has_value(row: Sequence[Cell], indexes: Iterable[int]) -> bool:
    width = len(row)
    for index in indexes:
        if index < width:
            cell = row[index]
            if cell is not None and not (cell.__class__ is str and (not cell or cell.isspace())):
                return True
    return False
