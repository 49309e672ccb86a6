"""Issue 19: no upload expands past the readers' limits, whatever its few kilobytes claim.

Every workbook python-calamine would read is checked first (`extent.check_extent_of`), and the
streaming reader bounds the cells it hands over. Tests whose file would make calamine abort the
process either run the read in a child (`hostile.read_in_child`: a regression kills the child,
and the test fails) or forbid calamine in this process (`no_calamine`: a regression raises
instead of reaching it).
"""

import io
import struct
import time
import zipfile
import zlib

import pytest
import python_calamine

from outreach.imports.reading import extent, limits, xlsx_stream
from outreach.imports.reading.limits import MAX_COLUMNS, cell_name
from outreach.imports.reading.readers import ImportFileError, open_table, read_table

from . import hostile
from .hostile import ods, ods_row, ods_text, read_in_child, row, text_cell, xlsx


class CalamineReached(BaseException):
    """Not an Exception: the reader turns those into "tệp hỏng", which some tests expect."""


@pytest.fixture
def no_calamine(monkeypatch):
    """python-calamine unreachable: the checks must refuse before it is asked to read."""

    def refuse(*args, **kwargs):
        raise CalamineReached("python-calamine reached with a file the checks should refuse")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)


def message(read, *args) -> str:
    with pytest.raises(ImportFileError) as caught:
        table = read(*args)
        list(table) if hasattr(table, "head") else table
    return caught.value.message


def stream_message(tmp_path, data: bytes, name: str = "ds.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return message(open_table, path)


def test_cell_names_are_excels():
    assert cell_name(0, 0) == "A1"
    assert cell_name(1048575, 16383) == "XFD1048576"
    assert cell_name(4, MAX_COLUMNS - 1) == "AMJ5"


# --- #4: a value at XFD1048576 ------------------------------------------------------------------


@pytest.mark.parametrize("function", ["read_table", "open_table"])
def test_a_value_at_the_last_cell_of_a_sheet_is_refused_in_a_real_process(function):
    """The 1.5 KB workbook of the finding: python-calamine would allocate 512 GiB for it and the
    process would die (SIGABRT). Read in a child with calamine live, it is refused by name."""
    out = read_in_child(hostile.far_cell_xlsx(), "ct.xlsx", function)
    assert out.startswith("refused: Không đọc được tệp ct.xlsx: có dữ liệu ở ô XFD1048576"), out
    assert "tối đa 1.024 cột, 1.048.576 dòng" in out


def test_a_value_at_the_last_cell_never_reaches_calamine(tmp_path, no_calamine):
    data = hostile.far_cell_xlsx()
    assert "ô XFD1048576" in message(read_table, data, "ct.xlsx")
    assert "ô XFD1048576" in message(open_table, data, "ct.xlsx")
    assert "ô XFD1048576" in stream_message(tmp_path, data)  # the imports' streaming path


def test_the_last_column_a_list_may_use_and_the_one_after(tmp_path, no_calamine):
    header = row(1, text_cell("A1", "Họ và tên"))
    last = xlsx(header + row(2, f'<c r="{cell_name(1, MAX_COLUMNS - 1)}"><v>7</v></c>'))
    path = tmp_path / "ok.xlsx"
    path.write_bytes(last)
    with open_table(path) as table:
        rows = list(table)
    assert rows[1][MAX_COLUMNS - 1] == 7 and len(rows[1]) == MAX_COLUMNS
    beyond = xlsx(header + row(2, f'<c r="{cell_name(1, MAX_COLUMNS)}"><v>7</v></c>'))
    assert "ô AMK2" in stream_message(tmp_path, beyond)
    assert "ô AMK2" in message(read_table, beyond, "ds.xlsx")


def test_a_row_past_excels_last_is_refused(tmp_path, no_calamine):
    data = xlsx(row(1, text_cell("A1", "Họ và tên")) + row(1048577, '<c r="A1048577"><v>1</v></c>'))
    assert "ô A1048577" in stream_message(tmp_path, data)


def test_styled_empty_cells_far_out_are_not_data(tmp_path):
    """Formatting to the sheet's end (a border, a fill) is no value: it widens nothing."""
    data = xlsx(
        row(1, text_cell("A1", "Họ và tên"), text_cell("B1", "Xã"))
        + row(2, text_cell("A2", "Nguyễn Văn A"), text_cell("B2", "Xã Yên Phong"))
        + row(1048576, '<c r="XFD1048576" s="0"/>'),
        dimension="A1:XFD1048576",
    )
    path = tmp_path / "ds.xlsx"
    path.write_bytes(data)
    with open_table(path) as table:
        rows = list(table)
    assert rows == [["Họ và tên", "Xã"], ["Nguyễn Văn A", "Xã Yên Phong"]]
    assert table.row_estimate == 1048576  # the <dimension> is an estimate, never trusted


def test_blank_rows_down_to_a_far_value_count_against_the_streamed_cells(tmp_path, monkeypatch):
    """A value a million rows down, or each row's value far out, is padding handed over row
    after row: bounded by `MAX_STREAMED_CELLS` (made small here)."""
    monkeypatch.setattr(xlsx_stream, "MAX_STREAMED_CELLS", 5000)
    header = row(1, *(text_cell(cell_name(0, c), f"Cột {c}") for c in range(10)))
    assert (
        len(open_table_rows(tmp_path, xlsx(header + row(400, '<c r="A400"><v>1</v></c>')))) == 400
    )
    far = xlsx(header + row(600, '<c r="A600"><v>1</v></c>'))
    assert "trang tính quá lớn (6.000 ô, tối đa 5.000)" in stream_message(tmp_path, far)
    wide = "".join(row(r, f'<c r="{cell_name(r - 1, 900)}"><v>1</v></c>') for r in range(2, 9))
    assert "trang tính quá lớn" in stream_message(tmp_path, xlsx(header + wide))


def open_table_rows(tmp_path, data: bytes) -> list:
    path = tmp_path / "ds.xlsx"
    path.write_bytes(data)
    with open_table(path) as table:
        return list(table)


# --- #6: parts read whole ---------------------------------------------------------------------


def test_an_oversized_styles_part_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    """17 MB of styles.xml in a ~1 MB upload (it compresses ~20:1, inside the zip-bomb ratio):
    refused by its declared size before a byte of it is parsed."""
    formats = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="#,##0.{i:06d}"/>' for i in range(330_000)
    )
    styles = (
        f'<?xml version="1.0"?><styleSheet xmlns="{hostile.MAIN}"><numFmts>{formats}</numFmts>'
        '<cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>'
    )
    assert len(styles) > 16 * 1024**2
    data = xlsx(row(1, text_cell("A1", "Họ và tên")), styles=styles)
    assert len(data) < 2 * 1024**2

    def parse(*args, **kwargs):
        raise AssertionError("styles.xml parsed")

    monkeypatch.setattr(xlsx_stream.ET, "fromstring", parse)
    expected = "phần xl/styles.xml trong tệp quá lớn (17 MB, tối đa 16 MB; nghi là tệp độc hại)"
    assert expected in stream_message(tmp_path, data)
    assert expected in message(read_table, data, "ds.xlsx")


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels", "[Content_Types].xml"]
)
def test_every_part_read_whole_has_a_limit(tmp_path, monkeypatch, part):
    monkeypatch.setitem(limits.PART_LIMITS, part.lower(), 100)
    data = xlsx(row(1, text_cell("A1", "Họ và tên")))
    assert f"phần {part} trong tệp quá lớn" in stream_message(tmp_path, data)


def test_a_member_longer_than_its_declared_size_is_refused(tmp_path):
    """Every limit is checked against the sizes the zip's directory declares: a deflate stream
    that goes on past its member's declared size is refused, not truncated."""
    body = b"<row/>" * 50_000
    data = bytearray(xlsx(row(1, text_cell("A1", "Họ và tên"))))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/workbook.xml":
                content += b"<!--" + body + b"-->"
            target.writestr(info, content, zipfile.ZIP_DEFLATED)
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/workbook.xml")
    short = info.file_size - len(body) - 7  # declared: the workbook without the comment
    crc = zlib.crc32(archive_bytes(bytes(data), "xl/workbook.xml")[:short])
    for at in (info.header_offset + 14, central_entry(bytes(data), "xl/workbook.xml") + 16):
        data[at : at + 4] = struct.pack("<I", crc)
        data[at + 8 : at + 12] = struct.pack("<I", short)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert archive.getinfo("xl/workbook.xml").file_size == short
        assert archive.read("xl/workbook.xml").endswith(b"</workbook>")  # zipfile truncates
        member = xlsx_stream.open_member(archive, archive.getinfo("xl/workbook.xml"), bytes(data))
        with pytest.raises(zipfile.BadZipFile, match="longer than its declared size"):
            while member.read(1000):
                pass


def archive_bytes(data: bytes, name: str) -> bytes:
    """A member's whole deflate stream inflated, whatever its declared size."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    return zlib.decompressobj(-15).decompress(data[start : start + info.compress_size])


def central_entry(data: bytes, name: str) -> int:
    """The offset of `name`'s entry in the zip's central directory."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return at


# --- #7: repeated .ods cells ----------------------------------------------------------------------


def test_an_ods_padded_by_libreoffice_reads_quickly(monkeypatch):
    """Empty cells to column AMJ and empty rows to row 1,048,576 are padding: nothing counts."""
    started = time.perf_counter()
    table = read_table(hostile.ods_list_with_padding(), "ds.ods")
    assert table.rows == [["Họ và tên", "Xã"], ["Nguyễn Văn A", "Xã Yên Phong"]]
    assert time.perf_counter() - started < 2


def test_the_ods_scan_gives_the_same_answer_in_tiny_chunks(monkeypatch):
    monkeypatch.setattr(extent, "_SCAN_BYTES", 7)
    assert read_table(hostile.ods_list_with_padding(), "ds.ods").rows[1] == [
        "Nguyễn Văn A",
        "Xã Yên Phong",
    ]
    with pytest.raises(ImportFileError, match="quá lớn"):
        read_table(hostile.ods_spaces_bomb(), "ds.ods")


def test_repeated_ods_cells_in_a_real_process():
    """865 bytes that python-calamine turns into 4.5 GB (its own cap is 100 million cells)."""
    out = read_in_child(hostile.ods_repeated_bomb(), "ds.ods")
    assert out.startswith("refused: Không đọc được tệp ds.ods: có dữ liệu ở ô XFD1"), out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # 10,000 cells of 40 KB each: 400 MB of text from a kilobyte.
        (ods_row(ods_text("y" * 40_000, repeat=1000), repeat=10), "nội dung các ô khi mở ra"),
        # A billion spaces in one cell.
        (ods_row(ods_text('<text:s text:c="1000000000"/>')), "nội dung các ô khi mở ra"),
        # Repeats hidden by a ">" in an attribute: still read.
        (
            ods_row(
                '<table:table-cell office:string-value="a>b" office:value-type="string"'
                ' table:number-columns-repeated="1500"/>'
            ),
            "ô BER1",
        ),
        # What a pattern could not see: a comment, a DOCTYPE, a count that is not a number.
        (ods_row(ods_text("a")) + "<!-- <table:table-row> -->", "tệp hỏng"),
        (
            ods_row(
                '<table:table-cell office:value-type="string"'
                ' table:number-columns-repeated="&#49;000000"/>'
            ),
            "tệp hỏng",
        ),
    ],
)
def test_ods_repeats_are_counted_before_calamine_reads_them(no_calamine, content, expected):
    data = ods(f'<table:table table:name="DS">{content}</table:table>')
    assert len(data) < 50_000
    assert expected in message(read_table, data, "ds.ods")


def test_ods_cells_within_the_columns_are_counted_too(no_calamine, monkeypatch):
    """1,000 columns × 20,000 rows: inside the columns, over the cells (the text count, which
    would refuse it first, made large)."""
    monkeypatch.setattr(extent, "MAX_EXPANDED_TEXT", 10**12)
    data = ods(
        '<table:table table:name="DS">'
        + ods_row(ods_text("x", repeat=1000), repeat=20_000)
        + "</table:table>"
    )
    assert "trang tính quá lớn (20.000.000 ô, tối đa 10.000.000)" in message(
        read_table, data, "ds.ods"
    )


def test_every_ods_table_counts(no_calamine):
    """calamine reads every table of an .ods on opening, not only the first."""
    small = '<table:table table:name="A">' + ods_row(ods_text("a")) + "</table:table>"
    big = '<table:table table:name="B">' + ods_row(ods_text("b", 1000), repeat=10_001)
    data = ods(small + big + "</table:table>")
    assert "quá lớn" in message(read_table, data, "ds.ods")


# --- .xls -------------------------------------------------------------------------------------


def test_the_xls_fixture_still_reads():
    assert len(read_table(hostile.xls_fixture(), "ds.xls").rows) == 16


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A DIMENSIONS record claiming four billion rows: calamine reserves them on trust.
        (hostile.xls_with_dimensions(0, 0xFFFFFFFF, 0, 255), "trang tính quá lớn"),
        # Rows counted as calamine counts them (u32, wrapping): first row after the last.
        (hostile.xls_with_dimensions(10, 5, 0, 10), "trang tính quá lớn"),
        # A text cell at row 65,536, column 65,536 (BIFF8 allows a 16-bit column).
        (hostile.xls_with_far_cell(65535, 65535), "ô CRXP65536"),
        (hostile.xls_with_far_cell(1200, MAX_COLUMNS), "ô AMK1201"),
    ],
)
def test_an_xls_claiming_or_holding_a_huge_sheet_is_refused(no_calamine, data, expected):
    assert expected in message(read_table, data, "ds.xls")


def test_an_xls_in_a_real_process():
    out = read_in_child(hostile.xls_with_dimensions(0, 0xFFFFFFFF, 0, 255), "ds.xls")
    assert out.startswith("refused: Không đọc được tệp ds.xls: trang tính quá lớn"), out
    out = read_in_child(hostile.xls_with_far_cell(65535, 65535), "ds.xls", "open_table")
    assert out.startswith("refused: Không đọc được tệp ds.xls: có dữ liệu ở ô CRXP65536"), out


def test_shared_strings_count_once_per_cell(monkeypatch):
    """Each cell naming a shared string holds a copy of it: counted against the expanded text."""
    monkeypatch.setattr(extent, "MAX_EXPANDED_TEXT", 100)
    assert "nội dung các ô khi mở ra" in message(read_table, hostile.xls_fixture(), "ds.xls")


def test_a_directory_chain_that_loops_is_refused(no_calamine):
    """calamine follows a compound file's directory chain to its end: a loop never ends."""
    data = bytearray(hostile.xls_fixture())
    directory = struct.unpack_from("<I", data, 48)[0]
    fat = struct.unpack_from("<I", data, 76)[0]  # the first FAT sector
    struct.pack_into("<I", data, (fat + 1) * 512 + 4 * directory, directory)
    assert "tệp hỏng" in message(read_table, bytes(data), "ds.xls")


def test_a_zip_that_is_neither_xlsx_nor_ods_is_refused(no_calamine):
    """python-calamine would also take an .xlsb under another name: not a format we check."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert "tệp hỏng" in message(read_table, out.getvalue(), "ds.xlsx")


# --- #13: controls, bidi and zero-width characters in cells ---------------------------------------

LIST = ["Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng", "Ghi chú"]


def parsed(*data):
    from outreach.imports.reading.readers import Table
    from outreach.imports.reading.rows import parse_rows

    return parse_rows(Table(rows=[LIST, *map(list, data)]), "participants")


@pytest.mark.parametrize(
    ("cell", "column", "expected"),
    [
        ("Nguyễn\x00 Văn A", "Họ và tên", "Ô có ký tự điều khiển U+0000 ở ký tự thứ 7"),
        ("Xã Yên\x1b Phong", "Xã", "Ô có ký tự điều khiển U+001B ở ký tự thứ 7"),
        ("24123\x0b45678", "Mã số BHXH", "U+000B"),
        ("Nguyễn Văn \u202eA", "Họ và tên", "Ô có ký tự đảo chiều chữ U+202E ở ký tự thứ 12"),
        ("Xã \u2066Yên Phong\u2069", "Xã", "U+2066"),
    ],
)
def test_controls_and_bidi_overrides_are_refused_by_row_and_column(cell, column, expected):
    row = ["Nguyễn Văn A", "2412345678", "Xã Yên Phong", "11/2026", None]
    row[LIST.index(column)] = cell
    sheet = parsed(row, ["Trần Thị B", "2412345679", "Xã Yên Phong", "11/2026", None])
    assert [(e.row_number, e.column_header) for e in sheet.errors] == [(2, column)]
    assert expected in sheet.errors[0].message and "Hãy gõ lại ô này" in sheet.errors[0].message
    assert [r.ok for r in sheet.rows] == [False, True]


def test_zero_width_characters_are_removed_and_tabs_and_line_ends_kept_harmless():
    sheet = parsed(
        ["\ufeffNguyễn\u200b Văn\u200d A\u2060", "24123\u200c45678", "Xã Yên Phong\u200e", "11/2026",
         "dòng 1\r\ndòng 2\tcột"],
        ["\u200b", "2412345679", "Xã Yên Phong", "11/2026", None],
    )  # fmt: skip
    assert sheet.rows[0].ok, sheet.errors
    assert sheet.rows[0].values["full_name"] == "Nguyễn Văn A"
    assert sheet.rows[0].values["bhxh_number"] == "2412345678"
    assert sheet.rows[0].values["commune"] == "Xã Yên Phong"
    # A cell of nothing but zero-width characters is blank: the name is missing.
    assert [e.message for e in sheet.errors] == ["Thiếu Họ và tên"]


def test_every_character_looked_for_is_unprintable():
    """`_parse_row` asks `str.isprintable` first and searches only the cells it says no to."""
    from outreach.imports.reading.rows import _UNSAFE

    looked_for = [chr(c) for c in range(0x110000) if _UNSAFE.match(chr(c))]
    assert len(looked_for) == 29 + 5 + 5 + 1 + 4 + 1  # C0 but 3, 200B-F, 202A-E, 2060, 2066-9, FEFF
    assert not any(char.isprintable() for char in looked_for)
