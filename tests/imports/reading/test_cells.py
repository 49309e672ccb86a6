"""Cell parsers: every form a real list uses, and a Vietnamese message for everything else."""

from datetime import date, datetime

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.imports.reading.cells import (
    OLD_MOBILE_PREFIXES,
    CellError,
    is_mark,
    parse_amount,
    parse_bhxh,
    parse_birth_date,
    parse_bool,
    parse_citizen_id,
    parse_date,
    parse_int,
    parse_month,
    parse_name,
    parse_new_enrollment,
    parse_payment_frequency,
    parse_phone,
    parse_sex,
    parse_support_group,
    parse_text,
)
from outreach.models.codes import Sex, SupportGroup


def error_of(parse, value) -> str:
    with pytest.raises(CellError) as caught:
        parse(value)
    return caught.value.message


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Nguyễn Văn A", "Nguyễn Văn A"),
        ("  Trần   Thị\u00a0Bình ", "Trần Thị Bình"),
        ("NGUYỄN VĂN AN", "Nguyễn Văn An"),
        ("đặng thị hồng", "Đặng Thị Hồng"),
        ("Nguyê\u0303n Văn A", "Nguyễn Văn A"),  # decomposed (NFD-ish) input comes out NFC
        ("H'Hen Niê", "H'Hen Niê"),  # mixed case is kept as typed
        ("Nguyễn Thị Ngọc-Anh", "Nguyễn Thị Ngọc-Anh"),
    ],
)
def test_parse_name(raw, name):
    assert parse_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Thiếu họ tên"),
        ("   ", "Thiếu họ tên"),
        ("Nguyễn Văn 2", "Họ tên có ký tự không hợp lệ: Nguyễn Văn 2"),
        ("a@b.c", "Họ tên có ký tự không hợp lệ: a@b.c"),
        ("...", "Họ tên có ký tự không hợp lệ: ..."),
        (12345, "Họ tên không hợp lệ: 12345"),
        ("A" * 201, "Họ tên quá dài (tối đa 200 ký tự)"),
    ],
)
def test_parse_name_rejects(raw, message):
    assert error_of(parse_name, raw) == message


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("  Thôn   Đông ", "Thôn Đông"),
        (12, "12"),
        (12.0, "12"),
        (1.5, "1.5"),
        (date(2024, 1, 2), "02/01/2024"),
    ],
)
def test_parse_text(raw, text):
    assert parse_text(raw) == text


def test_parse_text_limits_length():
    assert error_of(lambda v: parse_text(v, 5), "Thôn Đông") == "Nội dung quá dài (tối đa 5 ký tự)"
    assert error_of(parse_text, True) == "Giá trị không hợp lệ: True"


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("03/02/1980", date(1980, 2, 3)),
        ("3/2/1980", date(1980, 2, 3)),
        (" 03/02/1980 ", date(1980, 2, 3)),
        ("1980-02-03", date(1980, 2, 3)),
        ("1980/02/03", date(1980, 2, 3)),
        ("03-02-1980", date(1980, 2, 3)),
        ("03.02.1980", date(1980, 2, 3)),
        ("03/02/1980 00:00:00", date(1980, 2, 3)),  # csv exports of datetime cells
        ("1980-02-03T00:00:00", date(1980, 2, 3)),
        ("19800203", date(1980, 2, 3)),  # BHXH's own exports
        (29254, date(1980, 2, 3)),  # Excel serial
        (29254.75, date(1980, 2, 3)),  # serial with a time of day
        ("29254", date(1980, 2, 3)),  # serial that went through a csv
        (19800203, date(1980, 2, 3)),
        (date(1980, 2, 3), date(1980, 2, 3)),
        (datetime(1980, 2, 3, 14, 30), date(1980, 2, 3)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_parse_date(raw, day):
    assert parse_date(raw) == day


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("31/02/2026", "Ngày không hợp lệ: 31/02/2026"),
        ("29/02/2025", "Ngày không hợp lệ: 29/02/2025"),
        ("00/01/2026", "Ngày không hợp lệ: 00/01/2026"),
        ("12/13/2026", "Ngày không hợp lệ: 12/13/2026"),
        ("2026-02-30", "Ngày không hợp lệ: 2026-02-30"),
        ("03/02/80", "Năm phải đủ 4 chữ số: 03/02/80"),
        ("03/02/1880", "Năm ngoài khoảng 1900–2100: 03/02/1880"),
        ("1980", "Thiếu ngày và tháng: 1980"),
        ("0000", "Năm ngoài khoảng 1900–2100: 0000"),
        (1980, "Thiếu ngày và tháng: 1980"),
        ("hôm qua", "Ngày không hợp lệ: hôm qua (cần dạng ngày/tháng/năm)"),
        (-5, "Ngày không hợp lệ: -5"),
        (10_000_000, "Ngày không hợp lệ: 10000000"),
        (float("nan"), "Ngày không hợp lệ: nan"),
        (True, "Ngày không hợp lệ: True"),
    ],
)
def test_parse_date_rejects(raw, message):
    assert error_of(parse_date, raw) == message


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        ("1975", (date(1975, 1, 1), True)),
        (1975, (date(1975, 1, 1), True)),
        (1975.0, (date(1975, 1, 1), True)),
        ("12/03/1975", (date(1975, 3, 12), False)),
        (date(1975, 3, 12), (date(1975, 3, 12), False)),
    ],
)
def test_parse_birth_date_accepts_a_year_alone(raw, result):
    assert parse_birth_date(raw) == result


@pytest.mark.parametrize(
    ("raw", "last_day"),
    [
        ("11/2026", date(2026, 11, 30)),
        ("2/2024", date(2024, 2, 29)),
        ("02/2025", date(2025, 2, 28)),
        ("12-2026", date(2026, 12, 31)),
        ("11.2026", date(2026, 11, 30)),
        ("2026-11", date(2026, 11, 30)),
        ("2026/11", date(2026, 11, 30)),
        ("T11/2026", date(2026, 11, 30)),
        ("Tháng 11/2026", date(2026, 11, 30)),
        ("tháng 11 năm 2026", date(2026, 11, 30)),
        ("01/11/2026", date(2026, 11, 30)),  # a full date means its month
        (date(2026, 11, 1), date(2026, 11, 30)),  # Excel turned "11/2026" into 1 Nov
        (datetime(2026, 11, 1, 0, 0), date(2026, 11, 30)),
        (46327, date(2026, 11, 30)),  # serial of 1 Nov 2026
    ],
)
def test_parse_month_gives_the_last_day(raw, last_day):
    assert parse_month(raw) == last_day


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("13/2026", "Tháng không hợp lệ: 13/2026"),
        ("0/2026", "Tháng không hợp lệ: 0/2026"),
        ("11/1800", "Năm ngoài khoảng 1900–2100: 11/1800"),
        ("2026", "Thiếu tháng: 2026 (cần dạng tháng/năm, ví dụ 11/2026)"),
        ("tháng sau", "Ngày không hợp lệ: tháng sau (cần dạng ngày/tháng/năm)"),
    ],
)
def test_parse_month_rejects(raw, message):
    assert error_of(parse_month, raw) == message


# --- identifiers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("2412345678", "2412345678"),
        (2412345678, "2412345678"),
        (2412345678.0, "2412345678"),  # Excel keeps numbers as floats
        ("2412345678.0", "2412345678"),  # …and some tools write them out so
        (" 24 1234 5678 ", "2412345678"),
        ("24-1234-5678", "2412345678"),
        ("'0112345678", "0112345678"),  # Excel's text apostrophe
        (112345678, "0112345678"),  # a number cell dropped the leading zero
        (112345678.0, "0112345678"),
    ],
)
def test_parse_bhxh(raw, number):
    assert parse_bhxh(raw) == number


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("241234567", "Mã số BHXH phải có 10 chữ số (ô có 9): 241234567."),
        ("24123456789", "Mã số BHXH phải có 10 chữ số (ô có 11): 24123456789."),
        (24123456789, "Mã số BHXH phải có 10 chữ số (ô có 11): 24123456789."),
        ("24123A5678", "Mã số BHXH chỉ được gồm chữ số: 24123A5678"),
        ("２４１２３４５６７８", "Mã số BHXH chỉ được gồm chữ số: ２４１２３４５６７８"),
        (2412345678.5, "Mã số BHXH không hợp lệ: 2412345678.5"),
        (-2412345678, "Mã số BHXH không hợp lệ: -2412345678"),
        (True, "Mã số BHXH không hợp lệ: True"),
    ],
)
def test_parse_bhxh_rejects(raw, message):
    assert error_of(parse_bhxh, raw).startswith(message)


def test_parse_bhxh_hints_at_excel_for_nine_digit_text():
    assert "định dạng cột là Văn bản" in error_of(parse_bhxh, "112345678")


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        ("001123456789", ("001123456789", False)),
        ("024 123 456 789", ("024123456789", False)),
        (1123456789, ("001123456789", False)),  # two leading zeros lost in a number cell
        (24123456789.0, ("024123456789", False)),
        ("123456789", ("123456789", True)),  # legacy CMND, flagged
        (12345678, ("012345678", True)),  # Hà Nội CMND typed into a number cell
    ],
)
def test_parse_citizen_id(raw, result):
    assert parse_citizen_id(raw) == result


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12345", "Số CCCD phải có 12 chữ số (CMND cũ: 9 chữ số), ô có 5: 12345"),
        ("0011234567890", "Số CCCD phải có 12 chữ số (CMND cũ: 9 chữ số), ô có 13"),
        ("123456789012", "Số CCCD không hợp lệ (3 chữ số đầu là mã tỉnh 001–096): 123456789012"),
        ("000123456789", "Số CCCD không hợp lệ (3 chữ số đầu là mã tỉnh 001–096)"),
        ("CCCD 0011", "Số CCCD chỉ được gồm chữ số: CCCD 0011"),
    ],
)
def test_parse_citizen_id_rejects(raw, message):
    assert error_of(parse_citizen_id, raw).startswith(message)


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("(+84) 912 345 678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        (912345678, "+84912345678"),  # a number cell dropped the 0
        (912345678.0, "+84912345678"),
        ("0912345678 - 0987654321", "+84912345678"),  # two numbers: the first
        ("0912345678/0987654321", "+84912345678"),
        ("0912345678; 0987654321", "+84912345678"),
        ("0912345678 hoặc 0987654321", "+84912345678"),
        # Old 11-digit mobiles, renumbered in 2018 (last 7 digits kept).
        ("01662345678", "+84362345678"),
        ("0166 234 5678", "+84362345678"),
        (1662345678, "+84362345678"),
        ("01202345678", "+84702345678"),
        ("01232345678", "+84832345678"),
        ("01862345678", "+84562345678"),
        ("01992345678", "+84592345678"),
        ("+841662345678", "+84362345678"),
        # Landlines (new 2017 area codes) go through phonenumbers.
        ("0204 3854 123", "+842043854123"),
        ("024 3825 1234", "+842438251234"),
    ],
)
def test_parse_phone(raw, e164):
    assert parse_phone(raw) == e164


@pytest.mark.parametrize(("old", "new"), sorted(OLD_MOBILE_PREFIXES.items()))
def test_every_old_mobile_prefix_becomes_a_valid_number(old, new):
    assert parse_phone(f"{old}2345678") == f"+84{new[1:]}2345678"


def test_the_2018_table_matches_the_design():
    assert OLD_MOBILE_PREFIXES == {
        "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
        "0167": "037", "0168": "038", "0169": "039",
        "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
        "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
        "0186": "056", "0188": "058", "0199": "059",
    }  # fmt: skip


@pytest.mark.parametrize(
    "raw", ["12345", "0912", "abc", "0521234567", "0912345678901", "+1 202 555 0123", "", True]
)
def test_parse_phone_rejects(raw):
    assert error_of(parse_phone, raw).startswith("Số điện thoại không hợp lệ")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True))
def test_the_fast_path_agrees_with_phonenumbers(national):
    number = phonenumbers.parse(national, "VN")
    if phonenumbers.is_valid_number(number):
        assert parse_phone(national) == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )
    else:
        with pytest.raises(CellError):
            parse_phone(national)


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        (1125000, 1125000),
        (1125000.0, 1125000),
        ("1125000", 1125000),
        ("1.125.000", 1125000),
        ("1,125,000", 1125000),
        ("1 125 000", 1125000),
        ("1\u00a0125\u00a0000", 1125000),
        ("1.125.000 đ", 1125000),
        ("1.125.000đ", 1125000),
        ("1.125.000 đồng", 1125000),
        ("1.125.000 VNĐ", 1125000),
        ("1.125.000,00", 1125000),
        ("1,125,000.00", 1125000),
        ("1125000.0", 1125000),
        ("1.500", 1500),  # a dot before three digits groups thousands in Vietnamese
    ],
)
def test_parse_amount(raw, number):
    assert parse_amount(raw) == number


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1.5", "Số tiền không hợp lệ: 1.5"),
        ("1,125.000", "Số tiền không hợp lệ: 1,125.000"),  # mixed separators
        ("1.125.00", "Số tiền không hợp lệ: 1.125.00"),
        (1125000.5, "Số tiền phải là số nguyên: 1125000.5"),
        (0, "Số tiền phải từ 1 trở lên: 0"),
        ("-100", "Số tiền không hợp lệ: -100"),
        ("một triệu", "Số tiền không hợp lệ: một triệu"),
        (True, "Số tiền không hợp lệ: True"),
        (10**12, "Số tiền phải không quá 100000000000"),
    ],
)
def test_parse_amount_rejects(raw, message):
    assert error_of(parse_amount, raw).startswith(message)


@pytest.mark.parametrize(("raw", "number"), [(12, 12), ("12", 12), (12.0, 12), (" 7 ", 7)])
def test_parse_int(raw, number):
    assert parse_int(raw, minimum=1, maximum=60) == number


def test_parse_int_bounds_use_the_label():
    assert error_of(lambda v: parse_int(v, maximum=60, label="Số tháng"), 61) == (
        "Số tháng phải không quá 60: 61"
    )
    assert error_of(lambda v: parse_int(v, minimum=1, label="Số tháng"), "0") == (
        "Số tháng phải từ 1 trở lên: 0"
    )


# --- vocabularies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "months"),
    [
        (1, 1), (3, 3), (6, 6), (12, 12), (3.0, 3), ("3", 3), ("03", 3),
        ("hằng tháng", 1), ("Hàng tháng", 1), ("1 tháng", 1), ("HANG THANG", 1),
        ("3 tháng", 3), ("3 tháng/lần", 3), ("hằng quý", 3), ("Quý", 3), ("3T", 3),
        ("6 tháng", 6), ("6 tháng một lần", 6), ("Nửa năm", 6),
        ("12 tháng", 12), ("hằng năm", 12), ("Hàng năm", 12), ("1 năm", 12),
        ("Đóng 3 tháng", 3), ("Phương thức đóng hằng tháng", 1),
    ],
)  # fmt: skip
def test_parse_payment_frequency(raw, months):
    assert parse_payment_frequency(raw) == months


@pytest.mark.parametrize("raw", [2, 24, "2 tháng", "5 năm", "tuỳ", True, 0])
def test_parse_payment_frequency_rejects(raw):
    assert "chỉ nhận 1, 3, 6 hoặc 12 tháng" in error_of(parse_payment_frequency, raw)


@pytest.mark.parametrize(
    ("raw", "sex"),
    [
        ("Nam", Sex.MALE), ("NAM", Sex.MALE), ("nam", Sex.MALE), ("M", Sex.MALE), (1, Sex.MALE),
        ("1", Sex.MALE), ("Nữ", Sex.FEMALE), ("NỮ", Sex.FEMALE), ("nu", Sex.FEMALE),
        ("F", Sex.FEMALE), (0, Sex.FEMALE), (2, Sex.FEMALE), (2.0, Sex.FEMALE),
    ],
)  # fmt: skip
def test_parse_sex(raw, sex):
    assert parse_sex(raw) == sex


@pytest.mark.parametrize("raw", ["x", "Khác", 3, True])
def test_parse_sex_rejects(raw):
    assert "cần Nam hoặc Nữ" in error_of(parse_sex, raw) or error_of(parse_sex, raw).startswith(
        "Giới tính không hợp lệ"
    )


@pytest.mark.parametrize(
    ("raw", "group"),
    [
        ("Hộ nghèo", SupportGroup.POOR),
        ("HỘ NGHÈO", SupportGroup.POOR),
        ("ho ngheo", SupportGroup.POOR),
        ("Nghèo", SupportGroup.POOR),
        ("Hộ cận nghèo", SupportGroup.NEAR_POOR),
        ("Cận nghèo", SupportGroup.NEAR_POOR),
        ("Dân tộc thiểu số", SupportGroup.ETHNIC_MINORITY),
        ("DTTS", SupportGroup.ETHNIC_MINORITY),
        ("Người dân tộc thiểu số", SupportGroup.ETHNIC_MINORITY),
        ("Khác", SupportGroup.OTHER),
        ("Đối tượng khác", SupportGroup.OTHER),
        ("near_poor", SupportGroup.NEAR_POOR),
    ],
)
def test_parse_support_group(raw, group):
    assert parse_support_group(raw) == group


@pytest.mark.parametrize("raw", ["Giàu", "1", 1])
def test_parse_support_group_rejects(raw):
    assert error_of(parse_support_group, raw).startswith("Nhóm đối tượng không hợp lệ")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True), (False, False), (1, True), (0, False), (1.0, True), ("x", True),
        ("X", True), ("✓", True), ("✔", True), ("Có", True), ("co", True), ("yes", True),
        ("TRUE", True), ("1", True), ("Đúng", True), ("Không", False), ("k", False),
        ("no", False), ("FALSE", False), ("0", False), ("-", False), ("✗", False),
    ],
)  # fmt: skip
def test_parse_bool(raw, value):
    assert parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["có lẽ", 2, date(2024, 1, 1)])
def test_parse_bool_rejects(raw):
    assert "cần Có hoặc Không" in error_of(parse_bool, raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [("Mới", True), ("Tham gia mới", True), ("x", True), ("Đóng tiếp", False), ("Tiếp", False)],
)
def test_parse_new_enrollment(raw, value):
    assert parse_new_enrollment(raw) is value


def test_is_mark():
    assert is_mark("x") and is_mark("X") and is_mark(1) and is_mark("✓")
    assert not is_mark("12/03/1975") and not is_mark(None) and not is_mark("")


# --- nothing but CellError ---------------------------------------------------------------------

PARSERS = [
    parse_name,
    parse_text,
    parse_date,
    parse_birth_date,
    parse_month,
    parse_bhxh,
    parse_citizen_id,
    parse_phone,
    parse_int,
    parse_amount,
    parse_payment_frequency,
    parse_sex,
    parse_support_group,
    parse_bool,
    parse_new_enrollment,
]
# Text that looks like the real thing often enough to reach the deep branches.
cell_text = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"[0-9 ./\-+,()T:]{0,25}", fullmatch=True),
    st.from_regex(r"(tháng |T)?[0-9]{1,3}[/.\-][0-9]{1,5}([/.\-][0-9]{1,5})?", fullmatch=True),
)
any_cell = st.one_of(
    cell_text,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.booleans(),
)


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=150, deadline=None)
@given(value=any_cell)
def test_parsers_raise_only_cell_errors(parse, value):
    try:
        parse(value)
    except CellError as error:
        assert error.message and isinstance(error.message, str)


@pytest.mark.parametrize(
    ("raw", "months"),
    [
        ("03 tháng", 3), ("3T", 3), ("Quý", 3), ("6 tháng", 6), ("06 tháng", 6), ("1 năm", 12),
        ("1 Năm", 12), ("12", 12), ("12 tháng", 12), (12, 12), ("01 tháng", 1),
        ("VS", None), ("TH", None), ("Về sau", None), ("Còn thiếu", None),
    ],
)  # fmt: skip
def test_parse_payment_frequency_in_every_spelling_seen(raw, months):
    assert parse_payment_frequency(raw) == months
