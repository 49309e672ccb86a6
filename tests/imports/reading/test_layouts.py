"""Real list layouts (docs/sources.md, L1–L6), with invented people, read end to end."""

import io

import xlsxwriter

from outreach.imports.reading.headers import match_headers, read_header
from outreach.imports.reading.readers import read_table
from outreach.imports.reading.rows import parse_rows
from tests.imports.corpus import TK1_CODES, TK1_NAMES


def make_xlsx(write) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    write(book.add_worksheet("Dữ Liệu"))
    book.close()
    return out.getvalue()


def reasons(sheet) -> dict[int, str]:
    return dict(sheet.skipped)


# L5: the VNPT "D03-TK1" receipts file: notes, Vietnamese names, field codes, then data.
def test_the_vnpt_tk1_receipts_file():
    def write(sheet):
        sheet.write_row(0, 0, ["Ghi chú: cột có dấu * là bắt buộc; Giới tính Nam:1, Nữ:0"])
        sheet.write_row(1, 0, TK1_NAMES)
        sheet.write_row(2, 0, TK1_CODES)
        sheet.write_row(3, 0, [
            1, "Nguyễn Văn An", "2412345678", "ON", "05/11/2026", "0001201", "1.500.000",
            "990000", "01/11/2026", "Xã Yên Phong", 3, "1978", 1, "0912345678", "03 tháng",
            "001078012345",
        ])  # fmt: skip
        sheet.write_row(4, 0, [
            2, "Lê Thị Bình", "2412345679", "TM", "06/11/2026", "0001202", "1.500.000",
            "3960000", "01/11/2026", "Xã Yên Phong", 12, "02/03/1985", 0, None, "1 năm",
        ])  # fmt: skip
        sheet.write_row(5, 0, [
            3, "Trần Văn Cường", "2412345670", "GH", "07/11/2026", "0001203", "1.500.000",
            "39600000", "01/11/2026", "Xã Yên Phong", 120, "1970", 1, None, "VS",
        ])  # fmt: skip

    table = read_table(make_xlsx(write), "tk1.xlsx")
    sheet = parse_rows(table, "payments")
    assert sheet.header_row == 2
    assert sheet.match.ok
    columns = sheet.match.columns
    assert columns["commune"] == 9  # "Xã đang sinh sống", never "Phương án"
    assert columns["income_basis"] == 6
    assert "plan_code" not in columns
    assert sheet.errors == []
    assert [row.row_number for row in sheet.rows] == [4, 5, 6]
    assert reasons(sheet) == {3: "Dòng tên cột hoặc mã trường (không phải người tham gia)"}
    first, second, third = (row.values for row in sheet.rows)
    assert (first["payment_frequency"], second["payment_frequency"]) == (3, 12)
    assert third["payment_frequency"] is None  # "VS": paid for years ahead, no period
    assert first["birth_year_only"] is True


# L1: Mẫu D05-TS, two-row header with a numbering row under it.
def test_the_d05_ts_header():
    top = [
        "STT", "Họ và tên", "Mã số BHXH", "Mức tiền làm căn cứ đóng", "Phương thức đóng",
        "Phương thức đóng", "Số tiền đóng", "Số tiền đóng", "Số tiền đóng", "Ghi chú",
    ]  # fmt: skip
    sub = [
        None, None, None, None, "Số tháng đóng", "Từ tháng/năm", "Tổng số",
        "Người tham gia đóng", "NSNN hỗ trợ", None,
    ]  # fmt: skip
    numbers = ["A", "B", "C", "1", "2", "3", "4=5+6", "5", "6", "7"]
    header = read_header([top, sub, numbers, [1, "Nguyễn Văn An", "2412345678"]], 0)
    assert header.first_data_index == 3
    match = match_headers(header.cells, "participants")
    assert match.columns["income_basis"] == 3
    assert "commune" not in match.columns


# A district's due list: Xã, thị trấn / Huyện/TX/TP, group rows, sections, totals, signatures.
DUE_HEADER = [
    "STT", "Họ và tên", "Mã số BHXH", "Ngày sinh", "Xã, thị trấn", "Huyện/TX/TP",
    "Đóng đến tháng", "Phương thức đóng", "Mức tiền đóng",
]  # fmt: skip


def test_a_district_due_list_with_group_rows():
    rows = [
        ["BẢO HIỂM XÃ HỘI TỈNH BẮC NINH"] + [None] * 8,
        ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN ĐẾN HẠN ĐÓNG"] * 9,
        DUE_HEADER,
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)", "(9)"],
        ["I", "Tăng"] + [None] * 7,
        ["I.1 Người tham gia"] * 9,
        ["Huyện Yên Thế"] * 9,  # merged across the table, filled by the reader
        [1, "Nguyễn Văn An", "2412345678", "1978", "Thị trấn Bố Hạ", "Huyện Yên Thế",
         "11/2026", "3T", "1.500.000"],
        ["Xã Đồng Kỳ", None, None, None, None, None, None, None, None],
        [2, "Lê Thị Bình", "2412345679", "02/03/1985", "Xã Đồng Kỳ", "Huyện Yên Thế",
         "12/2026", "Quý", "2.000.000"],
        ["Cộng tăng", None, None, None, None, None, None, None, None],
        ["II", "Giảm"] + [None] * 7,
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)", "(9)"],
        [3, "Trần Văn Cường", "2412345670", "1970", "Xã Đồng Kỳ", "Huyện Yên Thế",
         "10/2026", "06 tháng", "1.500.000"],
        ["Tổng số: 3 lao động"] + [None] * 8,
        [None, None, None, None, None, "Yên Thế, ngày … tháng … năm 2026", None, None, None],
        [None, "Người lập biểu", None, None, None, "Cán bộ thu", None, None, None],
        [None, "Nguyễn Thị Hoa", None, None, None, "Phạm Văn Sơn", None, None, None],
    ]  # fmt: skip
    sheet = parse_rows(rows, "participants")
    assert sheet.match.ok
    assert sheet.match.columns["commune"] == 4
    assert sheet.match.columns["old_district"] == 5
    assert sheet.match.columns["income_basis"] == 8
    assert sheet.errors == []
    assert [row.row_number for row in sheet.rows] == [8, 10, 14]
    assert [row.values["payment_frequency"] for row in sheet.rows] == [3, 3, 6]
    skipped = reasons(sheet)
    assert set(skipped) == {5, 6, 7, 9, 11, 12, 13, 15, 16}
    assert skipped[5] == skipped[6] == skipped[12] == "Dòng mục (tăng, giảm)"
    assert skipped[7] == "Dòng nhóm: Huyện Yên Thế"
    assert skipped[9] == "Dòng nhóm: Xã Đồng Kỳ"
    assert skipped[13] == "Dòng đánh số cột"
    assert skipped[11] == skipped[15] == "Dòng cộng, tổng cộng"
    assert skipped[16] == "Phần ký tên cuối danh sách"
    assert sheet.skipped_rows == 11  # and the two rows of names under the signatures


# A reserved list: "Tổng thời gian đóng BHXH" merged over "Năm | Tháng".
def test_reserved_time_in_years_and_months_is_never_misread():
    def write(sheet):
        sheet.merge_range("A1:A2", "STT")
        sheet.merge_range("B1:B2", "Họ và tên")
        sheet.merge_range("C1:C2", "Mã số BHXH")
        sheet.merge_range("D1:E1", "Tổng thời gian đóng BHXH")
        sheet.write_row(1, 3, ["Năm", "Tháng"])
        sheet.merge_range("F1:F2", "Xã")
        sheet.write_row(2, 0, [1, "Nguyễn Văn An", "2412345678", 5, 4, "Xã Yên Phong"])

        sheet.write_row(3, 0, [2, "Lê Thị Bình", "2412345679", None, 7, "Xã Yên Phong"])

    sheet = parse_rows(read_table(make_xlsx(write), "bl.xlsx"), "reserved")
    assert sheet.match.ok
    columns = sheet.match.columns
    assert not {"sex_male", "sex_female", "date_of_birth"} & set(columns)
    assert (columns["reserved_years"], columns["reserved_months"]) == (3, 4)
    assert sheet.errors == []
    assert [row.row_number for row in sheet.rows] == [3, 4]
    # 5 years and 4 months kept: 64 months; 7 months alone: 7.
    assert [row.values["reserved_months"] for row in sheet.rows] == [64, 7]
    assert all("reserved_years" not in row.values for row in sheet.rows)


def test_a_reserved_time_written_in_one_cell_as_years_and_months():
    rows = [
        ["Họ và tên", "Mã số BHXH", "Xã", "Thời gian bảo lưu"],
        ["Nguyễn Văn An", "2412345678", "Xã Yên Phong", "5 năm 3 tháng"],
        ["Lê Thị Bình", "2412345679", "Xã Yên Phong", "2 năm"],
        ["Trần Văn Cường", "2412345670", "Xã Yên Phong", "11 tháng"],
        ["Phạm Văn Dũng", "2412345671", "Xã Yên Phong", "5n3t"],
    ]
    sheet = parse_rows(rows, "reserved")
    assert sheet.errors == []
    assert [row.values["reserved_months"] for row in sheet.rows] == [63, 24, 11, 63]
