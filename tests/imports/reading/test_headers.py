"""Finding the header of a government sheet and matching its columns to fields."""

import pytest

from outreach.imports.reading.headers import (
    FIELD_ALIASES,
    KIND_FIELDS,
    REQUIRED,
    field_for,
    find_header_row,
    is_number_row,
    match_headers,
    read_header,
)
from outreach.imports.reading.rows import PARSERS, STORES
from outreach.imports.reading.tcvn3 import unicode_to_tcvn3
from outreach.models.codes import ImportKind

TITLE = [
    ["BẢO HIỂM XÃ HỘI TỈNH BẮC NINH", None, None, None, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
    [None, None, None, None, "Độc lập - Tự do - Hạnh phúc"],
    [None] * 5,
    ["DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN"] * 5,  # merged across, filled by the reader
    ["(Kèm theo Công văn số 123/BHXH-QLT ngày 01/11/2026)", None, None, None, None],
]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Họ và tên", "full_name"),
        ("HỌ VÀ TÊN", "full_name"),
        ("Họ tên", "full_name"),
        ("HO_TEN", "full_name"),
        ("Ho ten", "full_name"),
        ("ho_va_ten", "full_name"),
        ("Họ và tên người tham gia", "full_name"),  # longer header, known start
        ("Họ tên (*)", "full_name"),
        ("Mã số BHXH", "bhxh_number"),
        ("Mã BHXH", "bhxh_number"),
        ("Số sổ BHXH", "bhxh_number"),
        ("MA_SO_BHXH", "bhxh_number"),
        ("Mã số BHXH (10 số)", "bhxh_number"),
        ("Số CCCD", "citizen_id"),
        ("CCCD/CMND", "citizen_id"),
        ("Số định danh cá nhân", "citizen_id"),
        ("Số CMND/CCCD", "citizen_id"),
        ("Ngày tháng năm sinh", "date_of_birth"),
        ("Ngày, tháng, năm sinh", "date_of_birth"),
        ("Năm sinh", "date_of_birth"),
        ("Giới tính", "sex"),
        ("SĐT", "phone"),
        ("Số điện thoại liên hệ", "phone"),
        ("Địa chỉ thường trú", "address"),
        ("Thôn/Tổ dân phố", "village"),
        ("Xã/Phường/Thị trấn", "commune"),
        ("Quận/Huyện", "old_district"),
        ("Mã hộ gia đình", "household_code"),
        ("Đã đóng đến tháng", "paid_through"),
        ("Phương thức đóng", "payment_frequency"),
        ("Mức thu nhập làm căn cứ đóng", "income_basis"),
        ("Ngày bắt đầu hưởng", "benefit_start"),
        ("Ngày kết thúc hưởng", "benefit_end"),
        ("Số tháng bảo lưu", "reserved_months"),
        ("Đối tượng", "support_group"),
        ("Ngày nộp tiền", "paid_on"),
        ("Số tiền", "amount"),
        ("Số tháng", "months"),
        ("Số biên lai", "receipt_number"),
        ("Tham gia mới", "is_new_enrollment"),
        ("STT", "row_index"),
        ("Tên đơn vị", None),
        ("", None),
    ],
)
def test_aliases_ignore_case_diacritics_spaces_and_punctuation(header, name):
    assert field_for(header) == name


def test_every_field_the_brief_names_has_aliases_and_a_parser():
    brief = {
        "full_name", "bhxh_number", "citizen_id", "date_of_birth", "sex", "phone", "address",
        "village", "commune", "old_district", "household_code", "paid_through",
        "payment_frequency", "income_basis", "benefit_start", "benefit_end", "reserved_months",
        "support_group", "paid_on", "amount", "months", "receipt_number", "is_new_enrollment",
    }  # fmt: skip
    assert brief <= set(FIELD_ALIASES)
    assert set(FIELD_ALIASES) - {"row_index", "plan_code"} == set(PARSERS) | set(STORES)


def test_no_alias_means_two_fields():
    from outreach.core.text import compact_key

    seen: dict[str, str] = {}
    for name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            assert seen.setdefault(compact_key(alias), name) == name, alias


def test_required_fields_exist_for_their_kind():
    for kind, groups in REQUIRED.items():
        for group in groups:
            assert set(group) <= KIND_FIELDS[kind]


def test_a_word_can_mean_one_thing_in_one_kind_of_list():
    assert field_for("Số tháng", ImportKind.PAYMENTS) == "months"
    assert field_for("Số tháng", ImportKind.RESERVED) == "reserved_months"
    assert field_for("Ngày", ImportKind.PAYMENTS) == "paid_on"
    assert field_for("Ngày", ImportKind.PARTICIPANTS) is None


def test_header_below_title_rows():
    rows = [
        *TITLE,
        ["STT", "Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng"],
        [1, "Nguyễn Văn A", "2412345678", "Xã Yên Phong", "11/2026"],
    ]
    assert find_header_row(rows) == 5
    header = read_header(rows)
    assert header.cells == ["STT", "Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng"]
    assert header.first_data_index == 6


def test_header_on_the_first_row():
    rows = [["HO_TEN", "MA_SO_BHXH", "XA"], ["Nguyễn Văn A", "2412345678", "Xã X"]]
    assert find_header_row(rows) == 0
    assert read_header(rows).first_data_index == 1


@pytest.mark.parametrize(
    "numbers",
    [
        ["(1)", "(2)", "(3)", "(4)", "(5)"],
        [1, 2, 3, 4, 5],
        ["A", "B", "1", "2", "3"],
        ["(1)", "(2)", "(3)", "(4)", "(5)=(3)+(4)"],
    ],
)
def test_the_row_of_column_numbers_is_skipped(numbers):
    rows = [
        *TITLE,
        ["STT", "Họ và tên", "Mã số BHXH", "Xã", "Đóng đến tháng"],
        numbers,
        [1, "Nguyễn Văn A", "2412345678", "Xã Yên Phong", "11/2026"],
    ]
    assert is_number_row(numbers)
    assert read_header(rows).first_data_index == 7


def test_a_data_row_is_not_a_number_row():
    assert not is_number_row([1, "Nguyễn Văn A", 2412345678])
    assert not is_number_row([1, 2412345678])
    assert not is_number_row(["(1)"])


def test_two_row_header_from_a_workbook_with_merged_cells_filled():
    rows = [
        *TITLE,
        ["STT", "Họ và tên", "Ngày sinh", "Ngày sinh", "Địa chỉ", "Địa chỉ", "Địa chỉ", "SĐT"],
        ["STT", "Họ và tên", "Nam", "Nữ", "Số nhà", "Thôn", "Xã", "SĐT"],
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"],
        [1, "Nguyễn Văn A", "03/02/1980", None, "Số 5", "Thôn 1", "Xã X", "0912345678"],
    ]
    assert find_header_row(rows) == 5
    header = read_header(rows)
    assert header.cells == [
        "STT", "Họ và tên", "Ngày sinh Nam", "Ngày sinh Nữ", "Số nhà", "Thôn", "Xã", "SĐT",
    ]  # fmt: skip
    assert header.first_data_index == 8
    match = match_headers(header.cells, "potential")
    assert match.columns == {
        "full_name": 1, "sex_male": 2, "sex_female": 3, "address": 4, "village": 5,
        "commune": 6, "phone": 7,
    }  # fmt: skip


def test_two_row_header_from_a_csv_with_the_parent_written_once():
    rows = [
        ["STT", "Họ và tên", "Giới tính", "", "Địa chỉ", ""],
        ["", "", "Nam", "Nữ", "Thôn", "Xã"],
        ["1", "Nguyễn Văn A", "x", "", "Thôn 1", "Xã X"],
    ]
    header = read_header(rows)
    assert header.cells == ["STT", "Họ và tên", "Giới tính Nam", "Giới tính Nữ", "Thôn", "Xã"]
    assert header.first_data_index == 2


def test_a_data_row_under_a_plain_header_is_not_a_sub_header():
    rows = [
        ["Họ và tên", "Giới tính", "Thôn", "Xã", None, None],
        ["Nguyễn Văn A", "Nam", "Thôn 1", "Xã X", None, None],
    ]
    assert read_header(rows).first_data_index == 1


def test_tcvn3_headers_are_read():
    rows = [[unicode_to_tcvn3(c) for c in ["STT", "Họ và tên", "Mã số BHXH", "Xã"]]]
    assert read_header(rows).cells == ["STT", "Họ và tên", "Mã số BHXH", "Xã"]


def test_no_recognisable_header_picks_the_widest_text_row():
    rows = [["Báo cáo"], ["Cột một", "Cột hai", "Cột ba"], ["a", "b", "c"], ["d", "e", "f"]]
    assert find_header_row(rows) == 1
    match = match_headers(read_header(rows).cells, "participants")
    assert not match.ok
    assert match.unrecognised == [0, 1, 2]


def test_empty_sheet():
    assert find_header_row([]) == 0
    assert read_header([]).cells == []


def test_missing_and_unrecognised_columns():
    match = match_headers(
        ["STT", "Họ và tên", "Ngày sinh", "Ghi chú khác", "Cột lạ"], "participants"
    )
    assert match.columns == {"full_name": 1, "date_of_birth": 2, "note": 3}
    assert match.missing == [
        ("bhxh_number", "citizen_id"),
        ("paid_through", "start_month"),
        ("commune", "start_month"),
    ]
    assert match.missing_labels() == ["Mã số BHXH hoặc Số CCCD", "Đóng đến tháng", "Xã"]
    assert match.unrecognised == [4]
    assert not match.ok


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("participants", ["Họ tên", "Mã BHXH", "Đóng đến tháng", "Xã"]),
        ("participants", ["Họ tên", "Số CCCD", "Đóng đến tháng", "Xã"]),
        ("unemployment", ["Họ tên", "Mã BHXH", "Từ ngày", "Đến ngày", "Xã"]),
        ("reserved", ["Họ tên", "CCCD", "Số tháng", "Xã"]),
        ("potential", ["Họ tên", "Xã"]),
        ("payments", ["Mã số BHXH", "Ngày nộp", "Số tiền", "Số tháng"]),
    ],
)
def test_required_fields_per_kind(kind, headers):
    assert match_headers(headers, kind).ok


def test_fields_of_another_kind_are_unrecognised():
    match = match_headers(["Họ tên", "Mã BHXH", "Xã", "Số tiền"], "potential")
    assert match.unrecognised == [3]


def test_exact_matches_win_over_longer_headers_and_the_first_column_wins():
    match = match_headers(
        ["Họ và tên chủ hộ", "Họ và tên", "SĐT", "Số điện thoại 2", "Xã"], "potential"
    )
    assert match.columns["full_name"] == 1
    assert match.columns["phone"] == 2
    assert sorted(match.duplicates) == [0, 3]


def test_a_saved_mapping_wins_over_aliases_and_can_ignore_a_column():
    headers = ["Tên người nộp", "Mã số BHXH", "Cột 7", "Xã", "Họ và tên"]
    mapping = {"TÊN NGƯỜI NỘP": "full_name", "cot 7": "paid_through", "Họ và tên": None}
    match = match_headers(headers, "participants", mapping)
    assert match.columns == {"full_name": 0, "bhxh_number": 1, "paid_through": 2, "commune": 3}
    assert match.ok
    assert match.unrecognised == [] and match.duplicates == []


def test_a_stale_mapping_leaves_the_column_to_the_aliases():
    match = match_headers(["Họ tên", "Xã"], "potential", {"Họ tên": "no_such_field"})
    assert match.columns == {"full_name": 0, "commune": 1}


@pytest.mark.parametrize(
    ("header", "kind", "name"),
    [
        ("Phương án", "payments", None),  # ON / TM / DC / GH, never "Phường"
        ("Loại phương án", "participants", None),
        ("Xã, thị trấn", "participants", "commune"),
        ("Xã đang sinh sống", "payments", "commune"),
        ("Huyện/TX/TP", "participants", "old_district"),
        ("Mức tiền đóng", "participants", "income_basis"),
        ("Mức tiền làm căn cứ đóng", "participants", "income_basis"),
        ("Năm", "participants", None),  # years, not "Nam" (male)
        # The years and the months of a reserved time, added up as months; never "Nam".
        ("Tổng thời gian đóng BHXH Năm", "reserved", "reserved_years"),
        ("Thời gian đóng BHXH Tháng", "reserved", "reserved_months"),
        ("Tổng thời gian đóng BHXH Năm", "participants", None),  # a part, not the whole
        ("Ngày sinh Năm", "participants", None),
        ("Ngày sinh Nam", "participants", "sex_male"),
        ("Phườngxyz", "participants", None),  # whole words only
    ],
)
def test_headers_are_matched_by_whole_words(header, kind, name):
    assert match_headers([header], kind).columns == ({name: 0} if name else {})


def test_the_plan_code_column_is_dropped_not_read_as_a_commune():
    match = match_headers(["Họ tên", "Mã số BHXH", "Phương án", "Xã đang sinh sống"], "reserved")
    assert match.columns == {"full_name": 0, "bhxh_number": 1, "commune": 3}
    assert match.unrecognised == []


def test_years_and_months_under_a_merged_heading_are_the_reserved_time_never_a_sex():
    top = ["STT", "Họ và tên", "Mã số BHXH", "Tổng thời gian đóng BHXH", "", "Xã"]
    sub = ["", "", "", "Năm", "Tháng", ""]
    header = read_header([top, sub, [1, "Nguyễn Văn An", "2412345678", 5, 4, "Xã Yên Phong"]])
    assert header.first_data_index == 2
    match = match_headers(header.cells, "reserved")
    assert match.columns == {
        "full_name": 1,
        "bhxh_number": 2,
        "reserved_years": 3,
        "reserved_months": 4,
        "commune": 5,
    }
    # In another kind of list the parts stay unread, never a sex or the whole.
    assert match_headers(header.cells, "participants").unrecognised == [3, 4]


@pytest.mark.parametrize("parent", ["Ngày sinh", "Sinh ngày", "Ngày/tháng/năm sinh", "Giới tính"])
def test_male_and_female_columns_under_a_birth_or_sex_heading(parent):
    header = read_header([["STT", "Họ và tên", parent, parent], ["", "", "Nam", "Nữ"]])
    match = match_headers(header.cells, "potential")
    assert (match.columns["sex_male"], match.columns["sex_female"]) == (2, 3)
