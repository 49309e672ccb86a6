"""Reading uploads: csv in three encodings and three delimiters, xlsx, xls, ods, and bad files."""

import io
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.imports.reading.readers import ImportFileError, read_table
from outreach.imports.reading.rows import parse_rows
from outreach.imports.reading.tcvn3 import unicode_to_tcvn3

FIXTURES = Path(__file__).parents[2] / "fixtures" / "imports"

ROWS = [
    ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN", "", "", "", ""],
    ["STT", "Họ và tên", "Mã số BHXH", "Địa chỉ", "Số tiền"],
    ["1", "Nguyễn Văn Hùng", "2412345678", "Thôn Đông, xã Tân Dĩnh", "1,125,000"],
    ["2", "Trần Thị Ánh", "2498765432", "Xóm Bãi; xã Việt Lập", "1.125.000"],
    ["3", "Đỗ Đức Dương", "0112345678", 'Số 5 "Ngõ Chợ"', "990000"],
    ["4", "Phạm Thị Hương", "2412345679", "Thôn Ỷ Lan\tx", "450000"],
]
EXPECTED = [[cell or None for cell in row] for row in ROWS]

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str, precomposed: bool) -> bytes:
    """Encode like Windows does: a base letter, then a separate tone mark (precomposed if asked
    and the code page has the letter, as Python's encoder does for é or à)."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        if precomposed:
            try:
                out += char.encode("cp1258")
                continue
            except UnicodeEncodeError:
                pass
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(p for p in parts if p in TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in TONE_MARKS))
        out += (base + tones).encode("cp1258")
    return bytes(out)


def csv_text(rows, delimiter: str) -> str:
    out = io.StringIO()
    import csv

    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8-sig": lambda text: text.encode("utf-8-sig"),
    "cp1258": lambda text: cp1258(text, precomposed=False),
    "cp1258-precomposed": lambda text: cp1258(text, precomposed=True),
}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_csv_in_every_encoding_and_delimiter(encoding, delimiter):
    data = ENCODINGS[encoding](csv_text(ROWS, delimiter))
    table = read_table(data, "danh-sach.CSV")
    assert table.rows == EXPECTED
    assert table.delimiter == delimiter
    assert table.encoding == encoding.removesuffix("-precomposed")
    assert all(unicodedata.is_normalized("NFC", cell) for row in table.rows for cell in row if cell)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_still_in_tcvn3_is_kept_for_the_converter(delimiter):
    text = csv_text(ROWS, delimiter)
    data = unicode_to_tcvn3(text).encode("latin-1")
    table = read_table(data, "ds.csv")
    assert table.encoding == "tcvn3"
    assert table.delimiter == delimiter
    assert table.rows[2][1] == "NguyÔn V¨n Hïng"  # converted per column by parse_rows
    sheet = parse_rows(table, "potential", {"Địa chỉ": "commune"})
    assert [row.values["full_name"] for row in sheet.rows] == [
        "Nguyễn Văn Hùng", "Trần Thị Ánh", "Đỗ Đức Dương", "Phạm Thị Hương",
    ]  # fmt: skip


def test_utf16_with_bom_from_excel_unicode_text():
    data = csv_text(ROWS, "\t").encode("utf-16")
    table = read_table(data, "ds.csv")
    assert table.rows == EXPECTED
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")


def test_excel_sep_hint_line():
    data = ("sep=;\r\n" + csv_text(ROWS, ";")).encode("utf-8")
    table = read_table(data, "ds.csv")
    assert table.delimiter == ";"
    assert table.rows == EXPECTED


def test_semicolons_win_over_commas_inside_amounts():
    rows = [["Họ tên", "Số tiền", "Số tháng"], ["A", "1,125,000", "3"], ["B", "2,250,000", "6"]]
    data = "\n".join(";".join(row) for row in rows).encode("utf-8")
    assert read_table(data, "ds.csv").delimiter == ";"


def test_blank_csv_cells_are_none_and_text_is_kept_as_typed():
    table = read_table(b"a,b,c\n  ,0912345678, 007 \n", "ds.csv")
    assert table.rows == [["a", "b", "c"], [None, "0912345678", " 007 "]]


def test_cp1258_is_not_taken_for_tcvn3():
    # cp1258 puts a loose tone mark after "ê" (Þ as Latin-1), which by itself looks like TCVN3.
    names = ["Nguyễn Văn Tư", "Lê Thị Huyền", "Đặng Văn Ước", "Phạm Đức Ễnh", "Ngô Thị Ý"]
    data = cp1258("\n".join(names), precomposed=False)
    table = read_table(data, "ds.csv")
    assert table.encoding == "cp1258"
    assert [row[0] for row in table.rows] == names


# --- workbooks ---------------------------------------------------------------------------------


def make_xlsx(write) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    write(book)
    book.close()
    return out.getvalue()


def test_xlsx_values_types_merges_and_row_positions():
    def write(book):
        sheet = book.add_worksheet("DS")
        day = book.add_format({"num_format": "dd/mm/yyyy"})
        stamp = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        sheet.merge_range("B3:F3", "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN")
        sheet.write_row("B5", ["STT", "Họ và tên", "Mã số BHXH", "Ngày sinh", "Có"])
        sheet.write_row("B6", [1, "Nguyễn Văn A", 2412345678])
        sheet.write_datetime("E6", datetime(1980, 2, 3), day)
        sheet.write_boolean("F6", True)
        sheet.write_row("B7", [2, "Trần Thị B", 112345678, 1.5])
        sheet.write_datetime("F7", datetime(2026, 11, 5, 8, 30), stamp)

    table = read_table(make_xlsx(write), "ds.xlsx")
    assert table.sheet_name == "DS"
    rows = table.rows
    assert len(rows) == 7  # row 7 in Excel is rows[6]
    assert rows[0] == [None] * 6 and rows[1] == [None] * 6
    assert rows[2] == [None] + ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN"] * 5  # merge filled
    assert rows[4] == [None, "STT", "Họ và tên", "Mã số BHXH", "Ngày sinh", "Có"]
    assert rows[5] == [None, 1, "Nguyễn Văn A", 2412345678, date(1980, 2, 3), True]
    assert rows[6] == [None, 2, "Trần Thị B", 112345678, 1.5, datetime(2026, 11, 5, 8, 30)]
    assert type(rows[5][3]) is int


def test_xlsx_first_visible_sheet_is_read():
    def write(book):
        book.add_worksheet("Tham số").write("A1", "hidden helper")
        visible = book.add_worksheet("Danh sách")
        visible.write("A1", "Họ và tên")
        book.add_worksheet("Ghi chú")
        visible.activate()
        book.worksheets()[0].hide()

    table = read_table(make_xlsx(write), "ds.xlsx")
    assert table.sheet_name == "Danh sách"
    assert table.rows == [["Họ và tên"]]
    assert table.other_sheets == ["Tham số", "Ghi chú"]


def test_xlsx_end_to_end_through_parse_rows():
    def write(book):
        sheet = book.add_worksheet()
        month = book.add_format({"num_format": "mm/yyyy"})
        sheet.merge_range("A1:E1", "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN SẮP ĐẾN HẠN")
        sheet.write_row("A3", ["STT", "Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng"])
        sheet.write_row("A4", ["(1)", "(2)", "(3)", "(4)", "(5)"])
        sheet.write_row("A5", [1, "NGUYỄN VĂN A", 112345678, "Xã Yên Phong"])
        sheet.write_datetime("E5", datetime(2026, 11, 1), month)
        sheet.write_row("A6", [2, "Lê Thị B", "2412345678", "Xã Yên Phong", "12/2026"])
        sheet.merge_range("A7:B7", "Tổng cộng")

    sheet = parse_rows(read_table(make_xlsx(write), "ds.xlsx"), "participants")
    assert sheet.header_row == 3
    assert sheet.errors == []
    assert [(row.row_number, row.values["full_name"]) for row in sheet.rows] == [
        (5, "Nguyễn Văn A"),
        (6, "Lê Thị B"),
    ]
    assert sheet.rows[0].values["bhxh_number"] == "0112345678"
    assert sheet.rows[0].values["paid_through"] == date(2026, 11, 30)


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
    ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/"'
    ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def test_ods():
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="DS"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Họ và tên</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>Mã số BHXH</text:p></table:table-cell>'
        "</table:table-row><table:table-row>"
        '<table:table-cell office:value-type="string"><text:p>Nguyễn Văn A</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="2412345678"><text:p>2412345678'
        "</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>"
        "</office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    table = read_table(out.getvalue(), "ds.ods")
    assert table.rows == [["Họ và tên", "Mã số BHXH"], ["Nguyễn Văn A", 2412345678]]


def test_old_xls_in_tcvn3_fixture():
    data = (FIXTURES / "tcvn3_participants.xls").read_bytes()
    table = read_table(data, "tcvn3_participants.xls")
    assert table.rows[0][:4] == ["B¶O HIÓM X· HéI TØNH B¾C GIANG"] * 4  # merged, filled
    sheet = parse_rows(table, "participants")
    assert sheet.header_row == 6
    assert sheet.header.cells[:5] == [
        "STT",
        "Họ và tên",
        "Mã số BHXH",
        "Ngày sinh Nam",
        "Ngày sinh Nữ",
    ]
    assert sheet.skipped_rows == 3  # totals, signatures
    values = {row.row_number: row.values for row in sheet.rows}
    assert sorted(values) == [9, 10, 11, 12, 13]
    assert values[9] == {
        "full_name": "Nguyễn Văn Hùng", "bhxh_number": "2412345678", "sex": "male",
        "date_of_birth": date(1975, 3, 12), "birth_year_only": False,
        "village": "Thôn Đông", "commune": "Xã Tân Dĩnh", "old_district": "Lạng Giang",
        "paid_through": date(2024, 11, 30), "payment_frequency": 3, "phone": "+84362345678",
    }  # fmt: skip
    assert values[10]["full_name"] == "Trần Thị Ánh"
    assert values[10]["date_of_birth"] == date(1980, 1, 1) and values[10]["sex"] == "female"
    assert values[10]["paid_through"] == date(2024, 12, 31)
    assert values[10]["phone"] == "+84912345678"
    assert values[11]["bhxh_number"] == "0412345678"  # a number cell lost the leading 0
    assert values[12]["date_of_birth"] == date(1984, 11, 14)  # serial in a General cell
    assert [(e.row_number, e.column_header, e.message) for e in sheet.errors] == [
        (11, "Ngày sinh Nam", "Ngày không hợp lệ: 30/02/1990"),
        (13, "Mã số BHXH", "Thiếu Mã số BHXH hoặc Số CCCD"),
    ]


# --- bad files ---------------------------------------------------------------------------------


def message_for(data: bytes, filename: str) -> str:
    with pytest.raises(ImportFileError) as caught:
        read_table(data, filename)
    return caught.value.message


def valid_xlsx() -> bytes:
    return make_xlsx(lambda book: book.add_worksheet().write("A1", "Họ và tên"))


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"%PDF-1.4 ...", "ds.pdf", "chỉ nhận tệp Excel (.xlsx, .xls), .ods hoặc .csv"),
        (b"x", "ds", "chỉ nhận tệp Excel"),
        (b"", "ds.xlsx", "tệp rỗng"),
        (b"", "ds.csv", "tệp rỗng"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "ds.xlsx", "đây là tệp PDF"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "ds.xls", "trang web (HTML)"),
        (b"\x00\x01\x02 garbage", "ds.xlsx", "không phải tệp Excel hợp lệ"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "ds.xls", "tệp hỏng"),
        (b"PK\x03\x04" + b"\x00" * 100, "ds.xlsx", "tệp bị hỏng hoặc thiếu"),
        (b"Ho ten,Ma\n\x00\x01\x02", "ds.csv", "không phải tệp văn bản CSV"),
        (b"Ho ten\n\x81\x8d\x8f", "ds.csv", "không nhận ra bảng mã"),
    ],
)
def test_unreadable_files_get_a_vietnamese_message(data, filename, message):
    text = message_for(data, filename)
    assert text.startswith("Không đọc được tệp")
    assert message in text


def test_a_truncated_workbook():
    data = valid_xlsx()
    assert "Không đọc được tệp ds.xlsx" in message_for(data[: len(data) // 2], "ds.xlsx")


def test_a_renamed_xlsx_with_the_xls_extension_still_reads():
    assert read_table(valid_xlsx(), "ds.xls").rows == [["Họ và tên"]]


def test_a_password_protected_xlsx():
    # Excel stores an encrypted workbook as an OLE container with an "EncryptedPackage" stream.
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + "EncryptedPackage".encode("utf-16-le")
    )
    assert "tệp có mật khẩu" in message_for(data + b"\x00" * 200, "ds.xlsx")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 20_000_000)
    assert "nghi là tệp độc hại" in message_for(out.getvalue(), "ds.xlsx")


def test_a_csv_cell_too_long_for_the_csv_module():
    data = b"Ho ten\n" + b"a" * 200_000 + b"\n"
    assert "có ô dài hơn 131.072 ký tự" in message_for(data, "ds.csv")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["a.xlsx", "a.xls", "a.ods", "a.csv"]))
def test_arbitrary_bytes_read_or_fail_with_import_file_error(data, filename):
    try:
        table = read_table(data, filename)
    except ImportFileError as error:
        assert error.message.startswith("Không đọc được tệp")
    else:
        assert isinstance(table.rows, list)
