"""parse_rows: realistic sheets in, validated rows and Vietnamese errors by row and column out."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.imports.reading import rows as rows_module
from outreach.imports.reading.cells import CellError
from outreach.imports.reading.readers import Table
from outreach.imports.reading.rows import MAX_CELL_CHARS, PARSERS, parse_rows, stream_rows
from outreach.imports.reading.tcvn3 import unicode_to_tcvn3

HEADER = ["STT", "Họ và tên", "Mã số BHXH", "Số CCCD", "Xã", "Đóng đến tháng", "Phương thức đóng"]


def sheet_of(*data, header=HEADER, title=True):
    rows = []
    if title:
        rows += [
            ["BẢO HIỂM XÃ HỘI TỈNH BẮC NINH"] + [None] * 6,
            ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN"] * 7,
            [None] * 7,
        ]
    return rows + [header] + [list(row) for row in data]


def errors_of(sheet):
    return [(e.row_number, e.column_header, e.message) for e in sheet.errors]


def test_a_government_sheet():
    rows = sheet_of(
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
        [1, "Nguyễn Văn A", 2412345678, None, "Xã Yên Phong", "11/2026", "3 tháng"],
        [2, "TRẦN THỊ BÌNH", None, "001190012345", "Xã Yên Phong", date(2026, 10, 1), 12],
        [3, None, None, None, None, None, None],  # a template's pre-numbered spare row
        [None] * 7,
        ["Tổng cộng", None, None, None, None, None, None],
        [None, "Người lập biểu", None, None, "Giám đốc"],
        [None, "Nguyễn Thị Kế Toán", None, None, "Lê Văn Giám"],
    )
    sheet = parse_rows(Table(rows=rows), "participants")
    assert sheet.header_row == 4
    assert sheet.errors == []
    assert sheet.skipped_rows == 5
    assert [row.row_number for row in sheet.rows] == [6, 7]
    assert sheet.rows[0].values == {
        "full_name": "Nguyễn Văn A",
        "bhxh_number": "2412345678",
        "commune": "Xã Yên Phong",
        "paid_through": date(2026, 11, 30),
        "payment_frequency": 3,
    }
    assert sheet.rows[1].values == {
        "full_name": "Trần Thị Bình",
        "citizen_id": "001190012345",
        "citizen_id_is_legacy": False,
        "commune": "Xã Yên Phong",
        "paid_through": date(2026, 10, 31),
        "payment_frequency": 12,
    }
    assert [row.ok for row in sheet.valid_rows] == [True, True]


def test_errors_by_spreadsheet_row_and_column_header():
    rows = sheet_of(
        [1, "Nguyễn Văn 2", 241234567, "12345", "Xã X", "13/2026", "2 tháng"],
        [2, "Lê Văn C", "abc", None, None, "11/2026", None],
        [3, "Phạm Văn D", None, None, "Xã X", "11/2026", None],
        [4, "Vũ Thị E", "2412345678", "123456789", "Xã X", "31/02/2026", 1],
        title=False,
    )
    sheet = parse_rows(rows, "participants")
    assert errors_of(sheet) == [
        (2, "Họ và tên", "Họ tên có ký tự không hợp lệ: Nguyễn Văn 2"),
        (2, "Số CCCD", "Số CCCD phải có 12 chữ số (CMND cũ: 9 chữ số), ô có 5: 12345"),
        (2, "Đóng đến tháng", "Tháng không hợp lệ: 13/2026"),
        (2, "Phương thức đóng", "Phương thức đóng không hợp lệ: 2 tháng (chỉ nhận 1, 3, 6 hoặc 12 tháng)"),
        (3, "Mã số BHXH", "Mã số BHXH chỉ được gồm chữ số: abc"),
        (3, "Xã", "Thiếu Xã"),
        (4, "Mã số BHXH / Số CCCD", "Thiếu Mã số BHXH hoặc Số CCCD"),
        (5, "Đóng đến tháng", "Ngày không hợp lệ: 31/02/2026"),
    ]  # fmt: skip
    # 241234567 in a number cell is a BHXH number that lost its leading zero: fine.
    assert sheet.rows[0].values["bhxh_number"] == "0241234567"
    assert sheet.rows[3].values["citizen_id_is_legacy"] is True
    assert [row.ok for row in sheet.rows] == [False, False, False, False]
    assert sheet.valid_rows == []


def test_missing_columns_stop_before_the_rows():
    rows = sheet_of([1, "A", "2412345678"], header=["STT", "Họ và tên", "Số thẻ"], title=False)
    sheet = parse_rows(rows, "participants")
    assert sheet.match.missing_labels() == ["Mã số BHXH hoặc Số CCCD", "Đóng đến tháng", "Xã"]
    assert sheet.rows == [] and sheet.errors == []


def test_a_saved_mapping_lets_the_rows_through():
    header = ["TT", "Tên", "Sổ", "Đơn vị", "Hạn"]
    rows = [header, [1, "Nguyễn Văn A", "2412345678", "Xã X", "11/2026"]]
    mapping = {"Sổ": "bhxh_number", "Đơn vị": "commune", "Hạn": "paid_through"}
    sheet = parse_rows(rows, "participants", mapping)
    assert sheet.errors == []
    assert sheet.rows[0].values["paid_through"] == date(2026, 11, 30)


def test_header_index_override():
    rows = [["Họ và tên", "Xã"], ["Tên", "Đơn vị"], ["Nguyễn Văn A", "Xã X"]]
    sheet = parse_rows(rows, "potential", {"Tên": "full_name", "Đơn vị": "commune"}, 1)
    assert sheet.header_row == 2
    assert [row.values for row in sheet.rows] == [{"full_name": "Nguyễn Văn A", "commune": "Xã X"}]


def test_subtotals_are_skipped_and_data_after_them_is_kept():
    rows = sheet_of(
        [1, "Nguyễn Văn A", "2412345678", None, "Xã X", "11/2026", 1],
        ["Cộng xã X", None, None, None, None, None, None],
        [2, "Lê Văn B", "2412345679", None, "Xã Y", "11/2026", 1],
        ["TỔNG CỘNG:", None, None, None, None, None, None],
        [None, None, None, None, "Bắc Ninh, ngày 15 tháng 11 năm 2026"],
        title=False,
    )
    sheet = parse_rows(rows, "participants")
    assert [row.row_number for row in sheet.rows] == [2, 4]
    assert sheet.skipped_rows == 3
    assert sheet.errors == []


def test_a_person_listed_twice_is_reported_on_the_second_row():
    rows = sheet_of(
        [1, "Nguyễn Văn A", "2412345678", "001190012345", "Xã X", "11/2026", 1],
        [2, "Nguyễn Văn A", "2412345678", None, "Xã X", "11/2026", 1],
        [3, "Lê Văn B", None, "001190012345", "Xã X", "11/2026", 1],
        title=False,
    )
    assert errors_of(parse_rows(rows, "participants")) == [
        (3, "Mã số BHXH", "Trùng mã số BHXH với dòng 2"),
        (4, "Số CCCD", "Trùng số CCCD với dòng 2"),
    ]


def test_payments_may_repeat_a_person_but_not_a_receipt():
    header = ["Mã số BHXH", "Ngày nộp", "Số tiền", "Số tháng", "Số biên lai", "Tham gia mới"]
    rows = [
        header,
        ["2412345678", "05/11/2026", "1.125.000", 3, "BL001", "Mới"],
        ["2412345678", "05/12/2026", "1.125.000", 3, "BL002", "Đóng tiếp"],
        ["2412345679", "05/12/2026", "450,000", 1, "BL002", None],
        ["2412345670", "06/12/2026", 450000, 1, None, None],
        ["2412345670", "06/12/2026", 450000.0, "1", None, None],
    ]
    sheet = parse_rows(rows, "payments")
    assert errors_of(sheet) == [
        (4, "Số biên lai", "Trùng số biên lai với dòng 3"),
        (6, "Ngày nộp", "Trùng khoản nộp với dòng 5"),
    ]
    assert sheet.rows[0].values == {
        "bhxh_number": "2412345678",
        "paid_on": date(2026, 11, 5),
        "amount": 1125000,
        "months": 3,
        "receipt_number": "BL001",
        "is_new_enrollment": True,
    }
    assert sheet.rows[1].values["is_new_enrollment"] is False


def test_unemployment_benefit_dates_in_order():
    header = ["Họ tên", "Mã BHXH", "Xã", "Từ ngày", "Đến ngày"]
    rows = [
        header,
        ["Nguyễn Văn A", "2412345678", "Xã X", "01/06/2026", "30/11/2026"],
        ["Lê Văn B", "2412345679", "Xã X", "01/12/2026", "30/11/2026"],
    ]
    sheet = parse_rows(rows, "unemployment")
    assert sheet.rows[0].values["benefit_end"] == date(2026, 11, 30)
    assert errors_of(sheet) == [(3, "Đến ngày", "Ngày kết thúc hưởng trước ngày bắt đầu hưởng")]


def test_reserved_and_potential_lists():
    reserved = parse_rows(
        [["Họ tên", "Số CCCD", "Xã", "Số tháng"], ["Nguyễn Văn A", "001190012345", "Xã X", 84]],
        "reserved",
    )
    assert reserved.rows[0].values["reserved_months"] == 84
    potential = parse_rows(
        [
            ["Họ tên", "Xã", "Đối tượng", "SĐT"],
            ["Lê Thị B", "Xã X", "Hộ cận nghèo", "0166 234 5678"],
        ],
        "potential",
    )
    assert potential.errors == []
    assert potential.rows[0].values == {
        "full_name": "Lê Thị B",
        "commune": "Xã X",
        "support_group": "near_poor",
        "phone": "+84362345678",
    }


def test_nam_nu_columns_with_ticks_or_dates():
    header = ["Họ tên", "Nam", "Nữ", "Xã"]
    rows = [
        header,
        ["Nguyễn Văn A", "x", None, "Xã X"],
        ["Lê Thị B", None, "X", "Xã X"],
        ["Trần Văn C", "12/03/1975", None, "Xã X"],
        ["Vũ Thị D", None, 1980, "Xã X"],
        ["Hồ Văn E", "x", "x", "Xã X"],
    ]
    sheet = parse_rows(rows, "potential")
    values = [row.values for row in sheet.rows]
    assert values[0]["sex"] == "male" and "date_of_birth" not in values[0]
    assert values[1]["sex"] == "female"
    assert (values[2]["sex"], values[2]["date_of_birth"]) == ("male", date(1975, 3, 12))
    assert (values[3]["sex"], values[3]["date_of_birth"]) == ("female", date(1980, 1, 1))
    assert values[3]["birth_year_only"] is True
    assert errors_of(sheet) == [(6, "Nữ", "Chỉ điền một trong hai cột Nam và Nữ")]


def test_a_huge_cell_is_an_error_not_a_crash():
    rows = [["Họ tên", "Xã"], ["A" * 1_000_000, "Xã X"]]
    sheet = parse_rows(rows, "potential")
    assert errors_of(sheet) == [(2, "Họ tên", "Ô quá dài (1.000.000 ký tự)")]
    assert MAX_CELL_CHARS < 1_000_000


def test_a_tcvn3_sheet_is_converted_column_by_column():
    unicode_rows = sheet_of(
        [1, "Nguyễn Văn Hùng", "2412345678", None, "Xã Tân Dĩnh", "11/2026", "hằng tháng"],
        [2, "Vũ Thị Mỹ", "2412345679", None, "Xã Việt Lập", "11/2026", "3 tháng"],
        [3, "Võ Tú", "2412345670", None, "Xã Đồng Tâm", "11/2026", "Nửa năm"],
        ["Tổng cộng"],
    )
    rows = [[unicode_to_tcvn3(c) if isinstance(c, str) else c for c in row] for row in unicode_rows]
    sheet = parse_rows(rows, "participants")
    assert sheet.errors == []
    assert sheet.tcvn3_columns == [1, 4, 6]
    assert [row.values["full_name"] for row in sheet.rows] == [
        "Nguyễn Văn Hùng",
        "Vũ Thị Mỹ",
        "Võ Tú",  # "Vâ Tó" alone proves nothing; its column does
    ]
    assert [row.values["payment_frequency"] for row in sheet.rows] == [1, 3, 6]
    assert sheet.skipped_rows == 1  # "Tæng céng"


def test_unicode_columns_stay_as_they_are_next_to_a_tcvn3_one():
    rows = [
        ["Họ tên", "Xã", "Ghi chú"],
        [unicode_to_tcvn3("Nguyễn Văn Hùng"), "Xã Tân Dĩnh", "Võ Tú"],
        [unicode_to_tcvn3("Lê Thị Hà"), "Xã Việt Lập", "Đã đóng"],
    ]
    sheet = parse_rows(rows, "potential")
    assert sheet.tcvn3_columns == [0]
    assert [row.values for row in sheet.rows] == [
        {"full_name": "Nguyễn Văn Hùng", "commune": "Xã Tân Dĩnh", "note": "Võ Tú"},
        {"full_name": "Lê Thị Hà", "commune": "Xã Việt Lập", "note": "Đã đóng"},
    ]


def test_a_unicode_sheet_is_left_alone():
    rows = [["Họ tên", "Xã"], ["Lý Hà", "Xã Võ Tú"], ["Hồ Thị Ý", "Xã Ân Thi"]]
    sheet = parse_rows(rows, "potential")
    assert sheet.tcvn3_columns == []
    assert [row.values["full_name"] for row in sheet.rows] == ["Lý Hà", "Hồ Thị Ý"]


@pytest.mark.parametrize(
    "kind", ["participants", "unemployment", "reserved", "potential", "payments"]
)
def test_an_empty_sheet_has_nothing_to_say(kind):
    sheet = parse_rows([], kind)
    assert sheet.rows == [] and not sheet.match.ok


def test_stream_rows_yields_rows_without_keeping_them():
    rows = sheet_of(
        [1, "Nguyễn Văn A", "2412345678", None, "Xã X", "11/2026", 1],
        [2, "Lê Văn B", "bad", None, "Xã X", "11/2026", 1],
        [3, None, None, None, None, None, None],
        title=False,
    )
    sheet, parsed = stream_rows(rows, "participants")
    assert sheet.errors == [] and sheet.skipped_rows == 0
    assert [row.row_number for row in parsed] == [2, 3]
    assert sheet.rows == []
    assert errors_of(sheet) == [(3, "Mã số BHXH", "Mã số BHXH chỉ được gồm chữ số: bad")]
    assert sheet.skipped_rows == 1


cells = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["Tổng cộng", "Người lập biểu", "(1)", "x", "Nam", "11/2026", "Xã X"]),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(cells, max_size=9), max_size=12),
    st.sampled_from(["participants", "unemployment", "reserved", "potential", "payments"]),
)
def test_any_grid_under_a_header_gives_rows_or_errors_never_an_exception(grid, kind):
    header = ["STT", "Họ và tên", "Mã số BHXH", "Số CCCD", "Xã", "Đóng đến tháng", "Từ ngày"]
    header += ["Đến ngày", "Số tiền", "Ngày nộp", "Số tháng", "Nam", "Nữ"]
    sheet = parse_rows([header, *grid], kind)
    assert all(isinstance(error.message, str) for error in sheet.errors)
    assert len(sheet.rows) + sheet.skipped_rows <= len(grid)


def test_repeated_spellings_parse_the_same_and_a_wrong_one_is_reported_on_every_row(monkeypatch):
    """Vocabulary columns remember each spelling's value (a million rows repeat a few): every row
    still gets its own value, a wrong cell its own error, and a number is never taken for text."""
    monkeypatch.setattr(rows_module, "MAX_REMEMBERED", 2)  # forgetting is exercised too
    months = ["11/2026", "13/2026", "12/2026", "01/2027", "11/2026", "13/2026"]
    frequencies = ["3 tháng", 1, "1", True, "12 tháng", "3 tháng"]
    data = [
        [n, f"Người Số {n}", f"24000000{n:02d}", None, "Xã Yên Phong", month, frequency]
        for n, (month, frequency) in enumerate(zip(months * 3, frequencies * 3, strict=True), 1)
    ]
    sheet = parse_rows(Table(rows=sheet_of(*data)), "participants")
    by_number = {row.row_number: row for row in sheet.rows}
    for n, (month, frequency) in enumerate(zip(months * 3, frequencies * 3, strict=True), 1):
        row = by_number[n + 4]
        expected = {}
        for name, cell in (("paid_through", month), ("payment_frequency", frequency)):
            try:
                expected[name] = PARSERS[name](cell)
            except CellError as error:
                expected[name] = error.message
        got = {
            name: row.values.get(
                name, next((e.message for e in row.errors if e.column_header == header), None)
            )
            for name, header in (
                ("paid_through", "Đóng đến tháng"),
                ("payment_frequency", "Phương thức đóng"),
            )
        }
        assert got == expected, n
    assert sum(1 for e in sheet.errors if e.column_header == "Đóng đến tháng") == 6
    assert sum(1 for e in sheet.errors if e.column_header == "Phương thức đóng") == 3


def test_rows_that_are_not_people_are_skipped_with_a_reason():
    rows = sheet_of(
        ["STT", "HoTen", "MasoBHXH", "SoCCCD", "MaXa", "DenThang", "PhuongThuc"],  # field codes
        ["A", "B", "1", "2", "3", "4", "5"],
        ["I.1 Tăng mới"] * 7,
        ["Huyện Yên Thế"] * 7,
        [1, "Nguyễn Văn An", "2412345678", None, "Xã Yên Phong", "11/2026", "3T"],
        ["Cộng tăng", None, None, None, None, None, None],
        ["II", "Giảm", None, None, None, None, None],
        [2, "Lê Thị Bình", None, None, "Xã Yên Phong", "11/2026", 3],  # a real error
        ["Tổng cộng", None, None, None, None, None, None],
        [None, None, None, None, "Bắc Ninh, ngày … tháng … năm …", None, None],
    )
    sheet = parse_rows(rows, "participants")
    assert dict(sheet.skipped) == {
        5: "Dòng tên cột hoặc mã trường (không phải người tham gia)",
        6: "Dòng đánh số cột",
        7: "Dòng mục (tăng, giảm)",
        8: "Dòng nhóm: Huyện Yên Thế",
        10: "Dòng cộng, tổng cộng",
        11: "Dòng mục (tăng, giảm)",
        13: "Dòng cộng, tổng cộng",
        14: "Phần ký tên cuối danh sách",
    }
    assert [row.row_number for row in sheet.rows] == [9, 12]
    assert [e.row_number for e in sheet.errors] == [12]


def test_a_person_alone_with_a_name_is_still_an_error():
    sheet = parse_rows(sheet_of([1, "Nguyễn Văn An", None, None, None, None, None]), "potential")
    assert sheet.skipped == []
    assert [e.row_number for e in sheet.errors] == [5]


def test_a_person_whose_cells_look_like_headers_is_still_an_error():
    rows = sheet_of(
        [1, "Nguyễn Văn An", "24123", None, "Xã Yên Phong", "11/2026", "Hằng tháng"],
        header=["STT", "Họ và tên", "Mã số BHXH", "Số CCCD", "Xã", "Đóng đến tháng", "Phương thức"],
    )
    sheet = parse_rows(rows, "participants")
    assert sheet.skipped == []
    assert [e.row_number for e in sheet.errors] == [5]


def test_people_named_like_section_words_are_still_errors():
    rows = sheet_of(
        [None, "Tăng Thị Hoa", None, None, "Xã Yên Phong", None, None],
        [None, "VI VĂN AN", None, None, None, None, None],
    )
    sheet = parse_rows(rows, "participants")
    assert sheet.skipped == []
    assert {e.row_number for e in sheet.errors} == {5, 6}
