"""Small hostile workbooks (issue 19), written part by part so each carries one trick exactly.

Each is a few kilobytes that a careless reader would expand into gigabytes: a value at the last
cell of an .xlsx sheet (XFD1048576), a huge styles.xml, an .ods whose repeated cells multiply,
an .xls whose records claim a sheet of four billion cells. Tests that could make python-calamine
abort (an allocation failure kills the process; no exception to catch) run the read in a child
process (`read_in_child`), so a regression kills the child and fails the test, not pytest.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).parents[2] / "fixtures" / "imports"

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def xlsx(sheet_data: str, *, styles: str | None = None, dimension: str = "A1") -> bytes:
    """A one-sheet workbook with the given <sheetData> content, inline strings only."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1"'
            f' Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1"'
            f' Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="DS" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        if styles is not None:
            archive.writestr("xl/styles.xml", styles)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/>'
            f"<sheetData>{sheet_data}</sheetData></worksheet>",
        )
    return out.getvalue()


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def targets_header_row() -> str:
    """The header of a targets sheet, in row 1."""
    return row(
        1,
        text_cell("A1", "Mã đơn vị"),
        text_cell("B1", "Chỉ tiêu tham gia mới"),
        text_cell("C1", "Chỉ tiêu đóng tiếp"),
    )


def far_cell_xlsx() -> bytes:
    """5 KB that python-calamine would expand to 1,048,576 × 16,384 cells (512 GiB): a header,
    one data row, and one value at XFD1048576, the last cell a sheet can have."""
    return xlsx(
        targets_header_row()
        + row(2, text_cell("A2", "07210"), '<c r="B2"><v>1</v></c><c r="C2"><v>2</v></c>')
        + row(1048576, '<c r="XFD1048576"><v>1</v></c>'),
        dimension="A1:XFD1048576",
    )


def big_styles_xlsx(size: int) -> bytes:
    """A valid little workbook whose styles.xml unpacks to `size` bytes (it compresses ~1000:1
    only because it is one long run of the same number formats; real ones never reach a MB)."""
    one = '<numFmt numFmtId="200" formatCode="dd/mm/yyyy"/>'
    body = one * (size // len(one))
    styles = (
        f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><numFmts>{body}</numFmts>'
        '<cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>'
    )
    return xlsx(row(1, text_cell("A1", "Họ và tên")), styles=styles)


ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
    ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/"'
    ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods(tables: str) -> bytes:
    """An .ods whose content.xml holds `tables` (table:table elements)."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def ods_text(text: str, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return (
        f'<table:table-cell office:value-type="string"{repeated}><text:p>{text}</text:p>'
        "</table:table-cell>"
    )


def ods_row(*cells: str, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{''.join(cells)}</table:table-row>"


def ods_list_with_padding() -> bytes:
    """A small list as LibreOffice saves it: every row padded with empty cells to column AMJ and
    the sheet with empty rows to row 1,048,576 (padding a reader must not expand)."""
    empty_cells = '<table:table-cell table:number-columns-repeated="1022"/>'
    return ods(
        '<table:table table:name="DS">'
        '<table:table-column table:number-columns-repeated="1024"/>'
        + ods_row(ods_text("Họ và tên"), ods_text("Xã"), empty_cells)
        + ods_row(ods_text("Nguyễn Văn A"), ods_text("Xã Yên Phong"), empty_cells)
        + ods_row('<table:table-cell table:number-columns-repeated="1024"/>', repeat=1048574)
        + "</table:table>"
    )


def ods_repeated_bomb() -> bytes:
    """Under a kilobyte whose repeats mean 16,384 non-empty cells a row, 6,000 times: 98 million
    cells, just under python-calamine's own cap of 100 million (some 4.5 GB as Python lists)."""
    return ods(
        '<table:table table:name="DS">'
        + ods_row(ods_text("x", repeat=16384), repeat=6000)
        + "</table:table>"
    )


def ods_spaces_bomb() -> bytes:
    """One cell whose text is `<text:s text:c="…"/>`: a billion spaces from 100 bytes."""
    return ods(
        '<table:table table:name="DS">'
        + ods_row(ods_text('<text:s text:c="1000000000"/>'))
        + "</table:table>"
    )


# --- .xls: the BIFF8 fixture with records changed in place ---------------------------------------

_DIMENSIONS = struct.pack("<HH", 0x0200, 14)
_LABELSST = struct.pack("<HH", 0x00FD, 10)


def xls_fixture() -> bytes:
    return (FIXTURES / "tcvn3_participants.xls").read_bytes()


def xls_with_dimensions(first_row: int, last_row: int, first_col: int, last_col: int) -> bytes:
    """The fixture with its sheet's DIMENSIONS record claiming another extent."""
    data = bytearray(xls_fixture())
    at = data.index(_DIMENSIONS) + 4
    data[at : at + 12] = struct.pack("<IIHH", first_row, last_row, first_col, last_col)
    return bytes(data)


def xls_with_far_cell(row_index: int, col_index: int) -> bytes:
    """The fixture with its last text cell moved to (row_index, col_index), 0-based."""
    data = bytearray(xls_fixture())
    at = data.rindex(_LABELSST) + 4
    data[at : at + 4] = struct.pack("<HH", row_index, col_index)
    return bytes(data)


# --- reading in a child process ------------------------------------------------------------------

CHILD = """
import resource
import sys
# A regression must fail fast, not swap: 3 GB of address space is plenty for these small files.
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
from outreach.imports.reading.readers import ImportFileError, {function}
data = sys.stdin.buffer.read()
try:
    table = {function}(data, sys.argv[1])
    rows = list(table) if hasattr(table, "head") else table.rows
except ImportFileError as error:
    print("refused:", error.message)
else:
    print("read:", len(rows), "rows")
"""


def read_in_child(data: bytes, filename: str, function: str = "read_table") -> str:
    """What reading `data` in a child process printed ("refused: …" or "read: N rows"); an
    AssertionError naming the signal when the child died (python-calamine aborting, say)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(function=function), filename],
        input=data,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stderr.decode(errors="replace")[-2000:])
    return done.stdout.decode().strip()
