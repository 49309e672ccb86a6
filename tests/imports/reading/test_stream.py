"""open_table: the streaming reader gives the rows read_table gives, in bounded memory.

read_table (python-calamine) is the oracle: each workbook or csv is read both ways and compared
cell for cell. Small files run through the chunking, head/rest and shared-string code paths by
shrinking their sizes (CHUNK_BYTES, HEAD_ROWS, COMPACT_STRINGS_BYTES) with monkeypatch.
"""

import io
import math
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.imports.reading import readers, xlsx_stream
from outreach.imports.reading.readers import ImportFileError, StreamTable, open_table, read_table
from outreach.imports.reading.rows import parse_rows, stream_rows
from outreach.imports.reading.xlsx_stream import number_format_kind

from .test_readers import ENCODINGS, EXPECTED, FIXTURES, ROWS, csv_text

# --- helpers -----------------------------------------------------------------------------------


def make_xlsx(write, **options) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, **options})
    write(book)
    book.close()
    return out.getvalue()


def read_both(tmp_path: Path, data: bytes, filename: str = "ds.xlsx"):
    """(read_table's rows or error message, open_table's rows or error message)."""
    try:
        expected = read_table(data, filename).rows
    except ImportFileError as error:
        expected = error.message
    path = tmp_path / filename
    path.write_bytes(data)
    try:
        with open_table(path) as table:
            got = list(table)
    except ImportFileError as error:
        got = error.message
    return expected, got


def same(expected, got) -> bool:
    """Equal cell for cell, NaN equal to NaN."""
    if isinstance(expected, str) or isinstance(got, str):
        return expected == got
    if len(expected) != len(got):
        return False
    for row_a, row_b in zip(expected, got, strict=True):
        if len(row_a) != len(row_b):
            return False
        for a, b in zip(row_a, row_b, strict=True):
            if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
                continue
            if a != b or type(a) is not type(b):
                return False
    return True


def assert_same(tmp_path: Path, data: bytes, filename: str = "ds.xlsx"):
    expected, got = read_both(tmp_path, data, filename)
    assert same(expected, got), (expected, got)
    return got


@pytest.fixture(params=["whole", "chunked", "patterned"])
def chunking(request, monkeypatch):
    """Run a test as is; with tiny chunks, a 5-row head and compact shared strings; and with
    rows read by the row pattern from the first row on (it waits for row 31 otherwise)."""
    if request.param == "chunked":
        monkeypatch.setattr(xlsx_stream, "CHUNK_BYTES", 97)
        monkeypatch.setattr(readers, "HEAD_ROWS", 5)
        monkeypatch.setattr(xlsx_stream, "COMPACT_STRINGS_BYTES", 0)
    if request.param == "patterned":
        monkeypatch.setattr(xlsx_stream._RowPattern, "LEARN_AFTER_ROW", 0)
    return request.param


@pytest.fixture
def pattern_counts(monkeypatch):
    """The rows the row pattern matched and missed, over every sheet read in the test."""
    counts = {"matched": 0, "missed": 0}
    tally = xlsx_stream._RowPattern.tally

    def counting(self, matched, missed):
        counts["matched"] += matched
        counts["missed"] += missed
        tally(self, matched, missed)

    monkeypatch.setattr(xlsx_stream._RowPattern, "tally", counting)
    return counts


def counted_again(tmp_path: Path, counts: dict) -> dict:
    """`counts` for one more read of ds.xlsx by open_table alone (read_table streams the sheet
    too, to check its extent before python-calamine reads it)."""
    counts["matched"] = counts["missed"] = 0
    with open_table(tmp_path / "ds.xlsx") as table:
        list(table)
    return counts


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = f"{RELS}/worksheet"  # calamine recognises a workbook by its relationship types


def hand_xlsx(
    sheet_data: str,
    *,
    shared: str | None = None,
    styles: str | None = None,
    date1904: bool = False,
    prefix: str = "",
    after: str = "",
    sheets: str = '<sheet name="S" sheetId="1" r:id="rId1"/>',
) -> bytes:
    """A workbook with hand-written sheet XML, for markup xlsxwriter never writes."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    flag = ' date1904="1"' if date1904 else ""
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
        f"<workbookPr{flag}/><sheets>{sheets}</sheets></workbook>"
    )
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
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{SHEET}" Target="worksheets/sheet1'
            f'.xml"/><Relationship Id="rId2" Type="{SHEET}" Target="worksheets/sheet2.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {xmlns}>'
            f'<{p}dimension ref="A1:Z9"/><{p}sheetData>{sheet_data}</{p}sheetData>{after}'
            f"</{p}worksheet>",
        )
        archive.writestr(
            "xl/worksheets/sheet2.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1">'
            "<v>2</v></c></row></sheetData></worksheet>",
        )
        if shared is not None:
            archive.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">{shared}</sst>',
            )
        if styles is not None:
            archive.writestr(
                "xl/styles.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">{styles}'
                "</styleSheet>",
            )
    return out.getvalue()


def write_government_list(book, rows: int = 40, title_merge: str = "A1:H1"):
    """A BHXH-style list: title block, merged two-row header, data of every type, totals."""
    sheet = book.add_worksheet("Danh sách")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    month = book.add_format({"num_format": "mm/yyyy"})
    stamp = book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
    builtin = book.add_format({"num_format": 15})  # d-mmm-yy
    money = book.add_format({"num_format": "#,##0"})
    hours = book.add_format({"num_format": "[h]:mm"})
    clock = book.add_format({"num_format": "hh:mm"})
    sheet.merge_range(title_merge, "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN")
    sheet.merge_range("A2:C2", "BẢO HIỂM XÃ HỘI TỈNH BẮC NINH")
    sheet.merge_range("A4:A5", "STT")
    sheet.merge_range("B4:B5", "Họ và tên")
    sheet.merge_range("C4:D4", "Ngày sinh")
    sheet.write_row("C5", ["Nam", "Nữ"])
    sheet.merge_range("E4:F4", "Địa chỉ")
    sheet.write_row("E5", ["Thôn", "Xã"])
    sheet.write_row("G4", ["Mã số BHXH", "Đóng đến tháng", "Số tiền", "Có", "Ghi chú"])
    for i in range(rows):
        r = 5 + i
        sheet.write_number(r, 0, i + 1)
        sheet.write_string(r, 1, f"Nguyễn Văn {chr(65 + i % 26)} & <{i}>")
        sheet.write_datetime(r, 2 + i % 2, datetime(1960 + i % 40, 1 + i % 12, 1 + i % 28), day)
        if i % 5:
            sheet.write_string(r, 4, f"Thôn {i % 7}")
        sheet.write_string(r, 5, "Xã Yên Phong" if i % 3 else "  ")
        if i % 4 == 0:
            sheet.write_number(r, 6, 2412345678 + i)
        else:
            sheet.write_string(r, 6, f"{2412345678 + i:010d}")
        if i % 3 == 0:
            sheet.write_datetime(r, 7, datetime(2026, 1 + i % 12, 1), month)
        elif i % 3 == 1:
            sheet.write_string(r, 7, f"{1 + i % 12:02d}/2026")
        else:
            sheet.write_datetime(r, 7, datetime(2026, 3, 4, 5, 6, 7), stamp)
        sheet.write_number(r, 8, 1_125_000.5 if i % 9 == 0 else 1_125_000 + i, money)
        sheet.write_boolean(r, 9, i % 2 == 0)
        if i % 6 == 0:
            sheet.write_number(r, 10, 1.75, hours)
        elif i % 6 == 1:
            sheet.write_number(r, 10, 0.5, clock)
        elif i % 6 == 2:
            sheet.write_datetime(r, 10, datetime(2025, 12, 31), builtin)
        elif i % 6 == 3:
            sheet.write_formula(r, 10, f"=I{r + 1}*2", None, (1_125_000 + i) * 2)
        elif i % 6 == 4:
            sheet.write_string(r, 10, "")
    end = 5 + rows
    sheet.merge_range(end, 0, end, 1, "Tổng cộng")
    sheet.write_formula(end, 8, f"=SUM(I6:I{end})", money, 123)
    sheet.write_string(end + 2, 1, "Người lập biểu")


# --- xlsx written by xlsxwriter ----------------------------------------------------------------


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared", "inline"])
def test_a_government_list_reads_the_same(tmp_path, chunking, constant_memory):
    data = make_xlsx(write_government_list, constant_memory=constant_memory)
    rows = assert_same(tmp_path, data)
    assert rows[0][:8] == ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN"] * 8  # merge filled
    assert rows[3][:2] == ["STT", "Họ và tên"] and rows[4][:2] == ["STT", "Họ và tên"]
    assert rows[5][1] == "Nguyễn Văn A & <0>" and rows[5][2] == date(1960, 1, 1)


def test_1904_dates_and_every_kind_of_number(tmp_path, chunking):
    def write(book):
        sheet = book.add_worksheet()
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        values = [0, 0.25, 1, 59, 60, 61, 45000, 45000.5, 45000.9999999, -1, 3_000_000, 1e20]
        for column, value in enumerate(values):
            sheet.write_number(0, column, value, day)
            sheet.write_number(1, column, value)
        sheet.write_number(2, 0, 12345678901234567890)
        sheet.write_number(2, 1, -0.0)
        sheet.write_number(2, 2, 1.5e-9)

    for date_1904 in (False, True):
        assert_same(tmp_path, make_xlsx(write, date_1904=date_1904))


def test_the_first_visible_sheet_and_the_other_names(tmp_path, chunking):
    def write(book):
        book.add_worksheet("Tham số").write("A1", "hidden helper")
        visible = book.add_worksheet("Danh sách")
        visible.write("B2", "Họ và tên")
        book.add_worksheet("Ghi chú").write("A1", 1)
        visible.activate()
        book.worksheets()[0].hide()

    path = tmp_path / "ds.xlsx"
    path.write_bytes(make_xlsx(write))
    with open_table(path) as table:
        assert table.sheet_name == "Danh sách"
        assert table.other_sheets == ["Tham số", "Ghi chú"]
        assert list(table) == [[None, None], [None, "Họ và tên"]]


def test_a_long_sheet_across_the_head_and_many_chunks(tmp_path, monkeypatch):
    """Merges that start in the head and end in the rest, blank rows, a wider row after the head
    (padded to the head's width here, to the sheet's in read_table: the one difference)."""
    monkeypatch.setattr(readers, "HEAD_ROWS", 50)
    monkeypatch.setattr(xlsx_stream, "CHUNK_BYTES", 4096)

    def write(book):
        sheet = book.add_worksheet()
        sheet.merge_range("A1:F1", "TITLE")
        for r in range(1, 400):
            if r % 37 == 0:
                continue  # a blank row
            sheet.write_row(r, 0, [r, f"tên {r}", r * 1.5, r % 2 == 1])
        sheet.merge_range("E45:E60", "household")  # across the end of the head
        sheet.merge_range("C300:D302", "late")
        sheet.write_string(450, 0, "Người lập biểu")
        sheet.write_string(451, 7, "wider than the head")

    expected, got = read_both(tmp_path, make_xlsx(write))
    assert len(got) == len(expected) == 452
    # Every row here is a prefix of read_table's: the head is 5 cells wide (A–E), read_table's
    # rows 8 (H, from the last row); past the head only that last row keeps its own width.
    assert all(g == e[: len(g)] for g, e in zip(got, expected, strict=True))
    assert len(got[0]) == 5 and len(expected[0]) == 8 and got[-1] == expected[-1]
    extra = [e[len(g) :] for g, e in zip(got[:-1], expected[:-1], strict=True)]
    assert extra[0] == ["TITLE", None, None]  # the title merge reaches F, past the head's width
    assert all(cells == [None, None, None] for cells in extra[1:])
    assert got[46][4] == "household" and got[59][4] == "household" and got[60][4] is None
    assert got[301][2:4] == ["late", "late"] and got[37] == [None] * 5


cells = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["Nguyễn Thị Ánh", "  ", "0912345678", "x_x0041_y", "a\nb", "&<>\"'"]),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grid=st.lists(st.lists(cells, max_size=8), max_size=12),
    constant_memory=st.booleans(),
    merge=st.one_of(st.none(), st.tuples(st.integers(0, 6), st.integers(0, 4))),
    learn_after=st.sampled_from([0, 30]),
)
def test_any_grid_reads_the_same(tmp_path, grid, constant_memory, merge, learn_after):
    def write(book):
        sheet = book.add_worksheet()
        day = book.add_format({"num_format": "dd/mm/yyyy"})
        stamp = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write(r, c, value)
        if merge is not None and not constant_memory:
            top, left = merge
            sheet.merge_range(top, left, top + 1, left + 2, "merged")

    learnt_after = xlsx_stream._RowPattern.LEARN_AFTER_ROW
    xlsx_stream._RowPattern.LEARN_AFTER_ROW = learn_after  # 0: every row through the pattern
    try:
        assert_same(tmp_path, make_xlsx(write, constant_memory=constant_memory))
    finally:
        xlsx_stream._RowPattern.LEARN_AFTER_ROW = learnt_after


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared", "inline"])
def test_rows_laid_out_alike_are_read_by_the_row_pattern(
    tmp_path, monkeypatch, pattern_counts, constant_memory
):
    """A long list whose rows vary the way real ones do: a missing cell, a column that is text
    in some rows and a number in others, another style, an empty text, a date, a row of styled
    blanks, and now and then a row the pattern cannot take (a formula, a boolean). Each reads
    as calamine reads it, and most rows go through the pattern (this fails if none do)."""
    monkeypatch.setattr(xlsx_stream, "CHUNK_BYTES", 8192)  # many chunks, rows cut across them

    def write(book):
        sheet = book.add_worksheet()
        day = book.add_format({"num_format": "dd/mm/yyyy"})
        bold = book.add_format({"bold": True})
        sheet.merge_range("A1:F1", "DANH SÁCH")
        sheet.write_row(2, 0, ["STT", "Họ và tên", "Ngày sinh", "Số điện thoại", "Xã", "Kỳ"])
        for r in range(3, 900):
            sheet.write_number(r, 0, r - 2)
            sheet.write_string(r, 1, f"Nguyễn Văn {r}", bold if r % 11 == 0 else None)
            sheet.write_datetime(r, 2, datetime(1960 + r % 40, 1 + r % 12, 1 + r % 28), day)
            if r % 7:
                sheet.write_string(r, 3, f"09{r:08d}" if r % 13 else "")
            sheet.write_string(r, 4, "Xã Yên Phong")
            if r % 3:
                sheet.write_string(r, 5, "12 tháng")
            else:
                sheet.write_number(r, 5, r % 4)
            if r % 101 == 0:
                sheet.write_formula(r, 6, f"=A{r + 1}*2", None, (r - 2) * 2)
            elif r % 97 == 0:
                sheet.write_boolean(r, 6, True)
            elif r % 89 == 0:
                sheet.write_blank(r, 7, None, bold)
        sheet.write_string(901, 1, "Người lập biểu")

    assert_same(tmp_path, make_xlsx(write, constant_memory=constant_memory))
    counted_again(tmp_path, pattern_counts)
    assert pattern_counts["matched"] > 800 and pattern_counts["missed"] < 60, pattern_counts


def test_rows_the_pattern_keeps_missing_go_back_to_whole_chunks(tmp_path, pattern_counts):
    """Pretty-printed XML (a line break before every row) never matches the pattern: past a few
    hundred misses the sheet is read chunk by chunk as before, and still as calamine reads it."""
    rows = "".join(
        f'\n  <row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="inlineStr"><is><t>tên {r}'
        f"</t></is></c></row>"
        for r in range(1, 2001)
    )
    got = assert_same(tmp_path, hand_xlsx(rows))
    assert len(got) == 2000 and got[-1] == [2000, "tên 2000"]
    counted_again(tmp_path, pattern_counts)
    assert pattern_counts["missed"] <= xlsx_stream._RowPattern.GIVE_UP_AFTER + 100
    assert pattern_counts["matched"] == 0


# --- markup xlsxwriter does not write ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sheet_data", "options"),
    [
        pytest.param(
            '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v>'
            '</c><c r="F1" t="s"><v> 1</v></c></row>',
            {
                "shared": "<si><t>a</t></si><si/><si><r><t>b</t></r><r><rPr><b/></rPr>"
                '<t xml:space="preserve"> c</t></r></si><si><t>d</t><rPh sb="0" eb="1">'
                "<t>PH</t></rPh></si><si><t>é&amp;_x0041_\r\n</t></si>"
            },
            id="shared strings: rich, phonetic, empty, escaped",
        ),
        pytest.param(
            '<row r="1"><c r="A1" t="inlineStr"><is><r><t>x</t></r><r><t> y</t></r></is></c>'
            '<c r="B1" t="inlineStr"><is><t><![CDATA[a<b]]></t></is></c>'
            '<c r="C1" t="inlineStr"><v>ignored</v></c><c r="D1" t="inlineStr"><is></is></c>'
            '<c r="E1" t="inlineStr"><is><t/></is></c></row><row r="2"><c r="B2"><v>1</v></c>'
            "</row>",
            {},
            id="inline strings: rich, CDATA, empty",
        ),
        pytest.param(
            '<row><c><v>1</v></c><c><v>2</v></c></row><row><c t="inlineStr"><is><t>x</t></is>'
            '</c><c r="D2"><v>4</v></c><c><v>5</v></c></row><row r="5"><c><v>6</v></c></row>'
            "<row><c><v>7</v></c></row>",
            {},
            id="rows and cells without addresses",
        ),
        pytest.param(
            '<x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>p</x:t></x:is></x:c>'
            '<x:c r="C2"><x:v>3</x:v></x:c></x:row>',
            {"prefix": "x"},
            id="prefixed tags",
        ),
        pytest.param(
            '\n  <row r="1">\n    <c r="A1" t="inlineStr">\n      <is><t>a</t></is>\n    </c>\n'
            '    <c r="B1"><v>2</v></c>\n  </row>\n  <row r="3"><c r="C3"><v>3</v></c>'
            '<!-- <c r="D3"><v>9</v></c> --></row>\n',
            {},
            id="pretty-printed, with a comment",
        ),
        pytest.param(
            '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f>1+1</f></c>'
            '<c r="C1" t="str"><f>"a"</f><v>a&amp;b</v></c><c r="D1" t="str"><v></v></c>'
            '<c r="E1" t="e"><v>#N/A</v></c><c r="F1" t="b"><v>true</v></c>'
            '<c r="G1" t="d"><v>2024-03-05</v></c><c r="H1" t="d"><v>2024-03-05T10:20:30.5</v>'
            '</c><c r="I1" t="d"><v>10:20:30</v></c><c r="J1" t="d"><v>soon</v></c>'
            '<c r="K1"><v> 12 </v></c><c r="L1"><v>1E3</v></c><c r="M1"><v>abc</v></c>'
            '<c r="N1" s="1"><v>45000</v></c><c r="O1" s="9"><v>45000</v></c>'
            '<c r="P1" t="b"><v></v></c><c r="Q1" t="e"><v>#REF!</v></c></row>',
            {"styles": '<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'},
            id="formulas, errors, booleans, ISO dates, odd numbers, styles",
        ),
        pytest.param(
            '<row r="1" spans="1:3"><c r="A1" s="1"><v>1.5</v></c><c r="B1" s="1"><v>0.5</v>'
            '</c><c r="C1" s="1"><v>45000</v></c></row>',
            {
                "styles": '<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>',
                "date1904": True,
            },
            id="1904 date system",
        ),
        pytest.param("", {}, id="empty sheet"),
        pytest.param(
            '<row r="1"><c r="A1" t="inlineStr"><is><t> trimmed </t></is></c><c r="B1" '
            't="inlineStr"><is><t xml:space="preserve"> kept </t></is></c><c r="C1" '
            't="inlineStr"><is><t>&#9;a&#32;</t></is></c><c r="D1" t="inlineStr"><is><t>'
            '\u00a0nbsp\u00a0</t></is></c><c r="E1" t="s"><v>0</v></c></row>',
            {"shared": "<si><t>\n a\tb \r\n</t></si>"},
            id="white space trimmed as calamine trims it",
        ),
        pytest.param(
            '<row r="1"><c r="A1" t="inlineStr"><is><t>top</t></is></c></row>'
            '<row r="2"><c r="C2"><v>1</v></c></row><row r="4"><c r="A4"><v>2</v></c></row>',
            {
                "after": '<mergeCells count="2"><mergeCell ref="A1:C3"/><mergeCell ref="A4:A9"/>'
                "</mergeCells><pageMargins/>"
            },
            id="merged range over blank rows",
        ),
    ],
)
def test_markup_other_writers_use(tmp_path, chunking, sheet_data, options):
    assert_same(tmp_path, hand_xlsx(sheet_data, **options))


@pytest.mark.parametrize(
    "sheet_data",
    [
        '<row r="1"><c r="A1" t="zz"><v>1</v></c></row>',
        '<row r="1"><c r="A1" t="n"><v>abc</v></c></row>',
        '<row r="1"><c r="A1" t="b"><v>2</v></c></row>',
        '<row r="1"><c r="A1" t="e"><v>#SPILL!</v></c></row>',
        '<row r="1"><c r="A1" t="s"><v>7</v></c></row>',
        '<row r="1"><c r="A1"><v>1</v><extLst/></c></row>',
    ],
)
def test_what_calamine_refuses_is_refused(tmp_path, chunking, sheet_data):
    expected, got = read_both(tmp_path, hand_xlsx(sheet_data, shared="<si><t>a</t></si>"))
    assert isinstance(expected, str) and expected == got


def test_a_hidden_sheet_first(tmp_path):
    sheets = (
        '<sheet name="Ẩn" sheetId="1" state="hidden" r:id="rId1"/>'
        '<sheet name="Hiện" sheetId="2" r:id="rId2"/>'
    )
    data = hand_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>', sheets=sheets)
    assert assert_same(tmp_path, data) == [[2]]


FORMATS = [
    "dd/mm/yyyy", "mm/yyyy", "[h]:mm", "h:mm AM/PM", "0.00", "#,##0", '"Ngày "0', "General",
    "@", "[$-42A]dd/mm/yyyy", 'yyyy"年"m"月"', "0;[Red]-0", "[Red]0.00", "#,##0*y",
    "_(* #,##0_)", "mmm", "A", "AM/PM", "[mm]", "d", "\\d0", "0.0E+00", "ss.0",
    "[>=100][Magenta][s].00", "[s]", "[$€-2] #,##0", "[DBNum1]General", "m/d/yy;@", "a/p",
    "0 \"m\"", "*-yyyy", "#,##0;[Red]dd", "[h", "h]", "[Blue]\\+[h]:mm", "0%", "# ?/?", "am",
]  # fmt: skip


def test_number_formats_mean_what_calamine_says(tmp_path):
    """Dates, durations and numbers by style, for custom and built-in formats alike."""
    numfmts = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode="{f.replace(chr(34), "&quot;")}"/>'
        for i, f in enumerate(FORMATS)
    )
    ids = [164 + i for i in range(len(FORMATS))] + list(range(60))
    xfs = '<xf numFmtId="0"/>' + "".join(f'<xf numFmtId="{n}"/>' for n in ids)
    cells = "".join(
        f'<c r="{xlsx_cell(i)}" s="{i + 1}"><v>45000.5</v></c>' for i in range(len(ids))
    )
    styles = f"<numFmts>{numfmts}</numFmts><cellXfs>{xfs}</cellXfs>"
    rows = assert_same(tmp_path, hand_xlsx(f'<row r="1">{cells}</row>', styles=styles))
    kinds = [
        xlsx_stream._DATETIME
        if isinstance(v, datetime)
        else xlsx_stream._DURATION
        if isinstance(v, str)
        else xlsx_stream._NUMBER
        for v in rows[0]
    ]
    assert kinds[: len(FORMATS)] == [number_format_kind(f) for f in FORMATS]


def xlsx_cell(index: int, row: int = 1) -> str:
    letters, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


# --- bad files ---------------------------------------------------------------------------------


def valid_xlsx() -> bytes:
    return make_xlsx(lambda book: book.add_worksheet().write("A1", "Họ và tên"))


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 20_000_000)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"%PDF-1.4 ...", "ds.pdf"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "ds.xlsx"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "ds.xls"),
        (b"\x00\x01\x02 garbage", "ds.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "ds.xls"),
        (b"PK\x03\x04" + b"\x00" * 100, "ds.xlsx"),
        (b"Ho ten,Ma\n\x00\x01\x02", "ds.csv"),
        (b"Ho ten\n\x81\x8d\x8f", "ds.csv"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + b"\x00" * 200
            + "EncryptedPackage".encode("utf-16-le")
            + b"\x00" * 200,
            "ds.xlsx",
        ),
        (zip_bomb(), "ds.xlsx"),
        (b"Ho ten\n" + b"a" * 200_000 + b"\n", "ds.csv"),
        (valid_xlsx()[: len(valid_xlsx()) // 2], "ds.xlsx"),
        (valid_xlsx(), "ds.xls"),
    ],
)
def test_bad_files_get_the_same_message(tmp_path, data, filename):
    expected, got = read_both(tmp_path, data, filename)
    assert expected == got


def test_an_empty_file(tmp_path):
    for name in ("ds.xlsx", "ds.csv"):
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(ImportFileError, match="tệp rỗng"):
            open_table(path)


def test_a_damaged_zip_entry_is_refused(tmp_path):
    def write(book):
        sheet = book.add_worksheet()
        for r in range(3000):
            sheet.write_row(r, 0, [r, f"tên {r}"])

    data = bytearray(make_xlsx(write))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size * 3 // 4
    data[middle : middle + 64] = bytes(64)  # deflate data damaged near the end
    expected, got = read_both(tmp_path, bytes(data))
    assert "tệp hỏng" in expected and got == expected


def test_a_deflated_member_reads_as_zipfile_reads_it_and_is_checked_the_same_way(tmp_path):
    """`open_member` (ISA-L) gives the bytes `zipfile` gives, in pieces of any size, and refuses
    what `zipfile` refuses: a wrong CRC, a local header naming another member, a cut archive."""
    body = b"".join(
        f'<row r="{r}"><c r="A{r}"><v>{r * 7919 % 10007}</v></c></row>'.encode()
        for r in range(60_000)
    )
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", body)
        archive.writestr("b.xml", b"stored", compress_type=zipfile.ZIP_STORED)

    def read_all(data: bytes, name: str, size: int) -> bytes:
        path.write_bytes(data)
        with (
            zipfile.ZipFile(path) as archive,
            xlsx_stream.open_member(archive, archive.getinfo(name)) as raw,
        ):
            out = []
            while piece := raw.read(size):
                out.append(piece)
            return b"".join(out)

    good = path.read_bytes()
    for size in (97, 65_536, 1 << 20):
        assert read_all(good, "a.xml", size) == body
    assert read_all(good, "b.xml", 5) == b"stored"
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("a.xml")
    bad_crc = bytearray(good)
    central = good.index(b"PK\x01\x02")  # the directory's entry for a.xml, the first
    bad_crc[central + 16] ^= 0xFF  # the CRC-32 the directory gives
    with pytest.raises(zipfile.BadZipFile):
        read_all(bytes(bad_crc), "a.xml", 4096)
    renamed = bytearray(good)
    renamed[info.header_offset + 30] = ord("z")  # the local header names "z.xml"
    with pytest.raises(zipfile.BadZipFile):
        read_all(bytes(renamed), "a.xml", 4096)
    start = info.header_offset + 30 + len(info.filename)
    cut = good[: start + info.compress_size // 2]
    path.write_bytes(good)
    with zipfile.ZipFile(path) as archive:
        member = xlsx_stream.open_member(archive, archive.getinfo("a.xml"))
    path.write_bytes(cut)  # the archive cut short after it was opened
    with member, pytest.raises((EOFError, zipfile.BadZipFile)):
        while member.read(65_536):
            pass


def test_a_fault_past_the_head_is_reported_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "HEAD_ROWS", 5)
    monkeypatch.setattr(xlsx_stream, "CHUNK_BYTES", 4096)  # the fault in a later chunk
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 3000))
    path = tmp_path / "ds.xlsx"
    path.write_bytes(hand_xlsx(rows + '<row r="3000"><c r="A3000" t="zz"><v>1</v></c></row>'))
    with open_table(path) as table:
        assert table.head[4] == [5]
        with pytest.raises(ImportFileError, match="tệp hỏng"):
            list(table)


# --- csv, xls, ods -----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_csv_in_every_encoding_and_delimiter(tmp_path, chunking, encoding, delimiter):
    data = ENCODINGS[encoding](csv_text(ROWS * 3, delimiter))
    path = tmp_path / "ds.csv"
    path.write_bytes(data)
    with open_table(path) as table:
        assert list(table) == EXPECTED * 3
        assert table.delimiter == delimiter
        assert table.encoding == encoding.removesuffix("-precomposed")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3"])
def test_a_long_csv_with_a_sep_line_and_quoted_line_breaks(tmp_path, monkeypatch, encoding):
    from outreach.imports.reading.tcvn3 import unicode_to_tcvn3

    from .test_readers import cp1258

    monkeypatch.setattr(readers, "_SNIFF_BYTES", 4096)
    lines = ["sep=;"] + [f'{i};"Trần Thị Ánh\r\ndòng {i}";Xóm Bãi;"1.125.000"' for i in range(3000)]
    text = "\r\n".join(lines) + "\r\n"
    data = {
        "utf-8": lambda: text.encode(),
        "utf-8-sig": lambda: text.encode("utf-8-sig"),
        "utf-16": lambda: text.encode("utf-16"),
        "cp1258": lambda: cp1258(text, precomposed=False),
        "tcvn3": lambda: unicode_to_tcvn3(text).encode("latin-1"),
    }[encoding]()
    assert_same(tmp_path, data, "ds.csv")


def test_an_xls_and_an_ods_are_read_whole_and_handed_over_the_same_way(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "HEAD_ROWS", 3)
    data = (FIXTURES / "tcvn3_participants.xls").read_bytes()
    assert assert_same(tmp_path, data, "tcvn3.xls")
    from .test_readers import MANIFEST

    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="DS"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Họ và tên</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", MANIFEST)
        archive.writestr("content.xml", content)
    assert assert_same(tmp_path, out.getvalue(), "ds.ods") == [["Họ và tên"]]


# --- through the parser ------------------------------------------------------------------------


def parsed(sheet):
    return (
        sheet.header_row,
        sheet.header.cells,
        sheet.skipped_rows,
        sheet.tcvn3_columns,
        [(row.row_number, row.values) for row in sheet.rows],
        [(e.row_number, e.column_header, e.message) for e in sheet.errors],
    )


def test_the_benchmark_list_parses_the_same_and_without_errors(tmp_path, monkeypatch):
    from benchmarks.imports_file import make_participants_xlsx

    monkeypatch.setattr(readers, "HEAD_ROWS", 100)
    path = make_participants_xlsx(tmp_path / "ds.xlsx", rows=600, seed=3)
    expected = parse_rows(read_table(path.read_bytes(), path.name), "participants")
    with open_table(path) as table:
        got = parse_rows(table, "participants")
    assert parsed(got) == parsed(expected)
    assert len(got.rows) == 600 and got.errors == [] and got.header_row == 7
    assert got.skipped_rows == 3  # the totals row, the blank row after it, the signatures


def test_tcvn3_xls_and_a_late_header_through_stream_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "HEAD_ROWS", 2)  # the header is found all the same
    data = (FIXTURES / "tcvn3_participants.xls").read_bytes()
    path = tmp_path / "tcvn3.xls"
    path.write_bytes(data)
    expected = parse_rows(read_table(data, path.name), "participants")
    with open_table(path) as table:
        sheet, rows = stream_rows(table, "participants")
        sheet.rows.extend(rows)
    assert parsed(sheet) == parsed(expected)
    with open_table(path) as table:  # an admin's header choice beyond the head
        assert parsed(parse_rows(table, "participants", header_index=5)) == parsed(
            parse_rows(read_table(data, path.name), "participants", header_index=5)
        )


def test_a_tcvn3_column_is_sampled_from_rows_beyond_the_head(tmp_path, monkeypatch):
    from outreach.imports.reading.tcvn3 import unicode_to_tcvn3

    monkeypatch.setattr(readers, "HEAD_ROWS", 3)

    def write(book):
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng"])
        for r in range(1, 30):
            name = unicode_to_tcvn3("Nguyễn Văn Hùng") if r > 10 else "NGUYEN VAN HUNG"
            sheet.write_row(r, 0, [name, f"24{r:08d}", "Xã Yên Phong", "11/2026"])

    data = make_xlsx(write)
    path = tmp_path / "ds.xlsx"
    path.write_bytes(data)
    expected = parse_rows(read_table(data, path.name), "participants")
    with open_table(path) as table:
        got = parse_rows(table, "participants")
    assert parsed(got) == parsed(expected) and 0 in got.tcvn3_columns


def test_a_stream_table_is_read_once_and_closes(tmp_path):
    path = tmp_path / "ds.xlsx"
    path.write_bytes(valid_xlsx())
    table = open_table(path)
    assert isinstance(table, StreamTable) and table.row_estimate == 1
    assert list(table) == [["Họ và tên"]]
    with pytest.raises(RuntimeError):
        list(table)
    with open_table(path) as table:
        table.extend_head(10)
        assert table.head == [["Họ và tên"]] and list(table.rest) == []


def test_times_and_durations_read_as_text(tmp_path):
    def write(book):
        sheet = book.add_worksheet()
        sheet.write_datetime(0, 0, time(7, 30), book.add_format({"num_format": "hh:mm"}))
        sheet.write_number(0, 1, 2.25, book.add_format({"num_format": "[h]:mm:ss"}))

    assert assert_same(tmp_path, make_xlsx(write)) == [["07:30:00", "2 days, 6:00:00"]]
