"""How far a sheet may reach (issue 19), shared by every reader: checked before a cell is
expanded into memory, never after. A few kilobytes can name the last cell of a sheet
(XFD1048576) or repeat a cell a billion times; a reader that expands them first dies with the
process.
"""

from __future__ import annotations

from outreach.core.i18n import _
from outreach.imports.reading.cells import ImportFileError

MAX_COLUMNS = 1024  # a value in column AMJ at most (LibreOffice's last column; a list has ~20)
MAX_ROWS = 1_048_576  # Excel's last row
# Cells python-calamine may hold for a workbook it reads whole (.xls, .ods, the targets sheet):
# it keeps every cell of the rectangle from A1 to the last value (~40 bytes each, then again as
# Python lists). A 65,536-row .xls of 40 columns is 2.6 million.
MAX_SHEET_CELLS = 10_000_000
# Cells a streamed sheet may expand to (rows padded to the head's width, blank rows between):
# time rather than memory, one row at a time. The million-row benchmark list is 13 million.
MAX_STREAMED_CELLS = 100_000_000
# Characters repeated cells, shared strings and formulas may add beyond the file's own bytes.
MAX_EXPANDED_TEXT = 256 * 1024**2
# Parts of an .xlsx read whole (a DOM, a table), by their lowercase name in the zip: the unzipped
# size the zip's directory declares, checked before one is read (real ones are kilobytes).
PART_LIMITS = {
    "[content_types].xml": 1024**2,
    "_rels/.rels": 1024**2,
    "xl/_rels/workbook.xml.rels": 1024**2,
    "xl/workbook.xml": 4 * 1024**2,
    "xl/styles.xml": 16 * 1024**2,
    "meta-inf/manifest.xml": 1024**2,
}


def _count(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def cell_name(row: int, column: int) -> str:
    """The address Excel shows for a 0-based (row, column): (1048575, 16383) → "XFD1048576"."""
    letters, n = "", column + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def sheet_too_wide(filename: str, row: int, column: int) -> ImportFileError:
    """A value beyond `MAX_COLUMNS` or `MAX_ROWS`, at 0-based (row, column)."""
    return ImportFileError(
        _(
            "Không đọc được tệp %(name)s: có dữ liệu ở ô %(cell)s, ngoài vùng một danh sách "
            "được dùng (tối đa %(columns)s cột, %(rows)s dòng). Hãy xoá các ô thừa rồi lưu lại",
            name=filename,
            cell=cell_name(row, column),
            columns=_count(MAX_COLUMNS),
            rows=_count(MAX_ROWS),
        )
    )


def sheet_too_large(filename: str, cells: int, limit: int) -> ImportFileError:
    """A sheet whose rows and columns would expand to more than `limit` cells."""
    return ImportFileError(
        _(
            "Không đọc được tệp %(name)s: trang tính quá lớn (%(count)s ô, tối đa %(max)s). "
            "Hãy xoá các dòng, cột thừa, hoặc lưu lại dạng .xlsx",
            name=filename,
            count=_count(cells),
            max=_count(limit),
        )
    )


def text_too_large(filename: str) -> ImportFileError:
    """Cells whose repeats (or shared strings, formulas) would expand past `MAX_EXPANDED_TEXT`."""
    return ImportFileError(
        _(
            "Không đọc được tệp %(name)s: nội dung các ô khi mở ra quá lớn (nghi là tệp độc hại)",
            name=filename,
        )
    )
