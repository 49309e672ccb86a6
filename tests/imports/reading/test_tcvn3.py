"""TCVN3 (.VnTime) text: recognised, converted to Unicode NFC, and left alone when it is Unicode."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.imports.reading.headers import FIELD_ALIASES
from outreach.imports.reading.tcvn3 import (
    TCVN3_TO_UNICODE,
    VIETNAMESE_LETTERS,
    has_unicode_vietnamese,
    is_convertible,
    looks_like_tcvn3,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
)

LOWER_VOWELS = {
    "a": "àảãáạ", "ă": "ằẳẵắặ", "â": "ầẩẫấậ", "e": "èẻẽéẹ", "ê": "ềểễếệ", "i": "ìỉĩíị",
    "o": "òỏõóọ", "ô": "ồổỗốộ", "ơ": "ờởỡớợ", "u": "ùủũúụ", "ư": "ừửữứự", "y": "ỳỷỹýỵ",
}  # fmt: skip
LOWER = sorted({letter for toned in LOWER_VOWELS.values() for letter in toned} | set("ăâêôơưđ"))

SURNAMES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Vũ", "Võ", "Phan", "Trương", "Bùi",
    "Đặng", "Đỗ", "Ngô", "Hồ", "Dương", "Đinh", "Lý", "Lương", "Đào", "Mạc", "Tạ", "Thái",
    "Tống", "Ưng", "Âu", "Ông", "Ứng", "Quách", "Lưu", "Châu", "Triệu", "Khúc", "Nghiêm",
]  # fmt: skip
MIDDLES = ["Văn", "Thị", "Đức", "Hữu", "Ngọc", "Minh", "Quốc", "Thuỳ", "Xuân", "Khắc", "Bá", "Kỳ"]
GIVEN = [
    "An", "Ánh", "Ẩn", "Bình", "Cường", "Dũng", "Duyên", "Đạt", "Giang", "Hà", "Hằng", "Hiếu",
    "Hoà", "Huệ", "Hùng", "Hưởng", "Khuê", "Lan", "Loan", "Luỹ", "Mỹ", "Ngà", "Nguyệt", "Nhẫn",
    "Oanh", "Phượng", "Quế", "Quỳnh", "Sương", "Thảo", "Thuý", "Tuyết", "Uyên", "Ước", "Xoan",
    "Yến", "Ý", "Ổn", "Ễnh", "Ỷ", "Ửng", "Ất", "Ơn", "Ấu", "Ếch", "Ỏn", "Ụt", "Ỹ",
]  # fmt: skip
NAMES = [f"{s} {m} {g}" for s in SURNAMES for m in MIDDLES[:4] for g in GIVEN]
ADDRESSES = [
    "Thôn Đông, xã Tân Dĩnh, huyện Lạng Giang",
    "Số 12 ngõ 34 phố Nguyễn Khuyến, phường Văn Miếu",
    "Tổ dân phố Tiền Phong, thị trấn Chũ, huyện Lục Ngạn",
    "Xóm Bãi Sậy, xã Việt Lập, huyện Tân Yên, tỉnh Bắc Giang",
    "Khu phố 3, phường Đình Bảng, thành phố Từ Sơn",
    "Bản Khuổi Nậm, xã Tân Thạnh, huyện Thới Lai",
    "ấp Hòa Bình, xã Mỹ Hưng, huyện Thạnh Phú",
    "thôn Yên Thịnh, xã Nghĩa Hưng, huyện Lạng Giang",
    "số nhà 5, đường Hùng Vương, phường Ngô Quyền",
    "Làng Đồng Kỵ, phường Đồng Nguyên",
]
TITLES = [
    "DANH SÁCH NGƯỜI THAM GIA BHXH TỰ NGUYỆN",
    "BẢO HIỂM XÃ HỘI TỈNH BẮC NINH",
    "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "ĐỘC LẬP - TỰ DO - HẠNH PHÚC",
    "TỔNG CỘNG",
    "NGUYỄN THỊ Ý",
]


def test_the_table_has_74_codes_for_67_lowercase_and_7_capital_letters():
    assert len(TCVN3_TO_UNICODE) == 74
    letters = set(TCVN3_TO_UNICODE.values())
    assert set(LOWER) <= letters  # all 67 lowercase letters
    assert letters - set(LOWER) == set("ĂÂÊÔƠƯĐ")
    assert all("\xa1" <= code <= "\xfe" for code in TCVN3_TO_UNICODE)
    assert len(VIETNAMESE_LETTERS) == 134
    assert all(unicodedata.is_normalized("NFC", letter) for letter in VIETNAMESE_LETTERS)


@pytest.mark.parametrize(
    ("tcvn3", "unicode"),
    [
        ("NguyÔn V¨n A", "Nguyễn Văn A"),
        ("TrÇn ThÞ B×nh", "Trần Thị Bình"),
        ("Ph¹m §øc D\xad¬ng", "Phạm Đức Dương"),
        ("§ç Thu H»ng", "Đỗ Thu Hằng"),
        ("Vò Ngäc Mü", "Vũ Ngọc Mỹ"),
        ("B¶o Th¾ng", "Bảo Thắng"),
        ("M\xadêng Kh\xad¬ng", "Mường Khương"),
        ("Th«n §«ng, x· T©n DÜnh", "Thôn Đông, xã Tân Dĩnh"),
        ("Hä vµ tªn", "Họ và tên"),
        ("M· sè BHXH", "Mã số BHXH"),
        ("Tæng céng", "Tổng cộng"),
    ],
)
def test_known_mojibake(tcvn3, unicode):
    assert looks_like_tcvn3(tcvn3)
    assert tcvn3_to_unicode(tcvn3) == unicode


@pytest.mark.parametrize(
    ("tcvn3", "unicode"),
    [
        # Capitals with tones have no code: the .VnTimeH font drew the lowercase code as a capital.
        ("DANH S¸CH NG¦êI THAM GIA", "DANH SÁCH NGƯỜI THAM GIA"),
        ("NGUYÔN THÞ ¸", "NGUYỄN THỊ Á"),
        ("Hå V¡N A", "HỒ VĂN A"),
        # In a title-case name a lowercase toned initial was a capital too.
        ("TrÇn ThÞ ¸nh", "Trần Thị Ánh"),
        # A lone word keeps the case the bytes give: nobody can tell.
        ("¸nh", "ánh"),
        ("x· ¢n Thi", "xã Ân Thi"),  # Â has a capital code of its own
        # Mixed-case text: a toned capital after a lowercase word is lost for good.
        ("Xãm B·i æi, x· ViÖt LËp", "Xóm Bãi ổi, xã Việt Lập"),
    ],
)
def test_case_comes_back_from_the_words_around(tcvn3, unicode):
    assert tcvn3_to_unicode(tcvn3) == unicode


def test_names_round_trip():
    assert [name for name in NAMES if tcvn3_to_unicode(unicode_to_tcvn3(name)) != name] == []


@pytest.mark.parametrize("text", ADDRESSES + TITLES + [a.lower() for a in ADDRESSES])
def test_addresses_and_titles_round_trip(text):
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text


@pytest.mark.parametrize("letter", LOWER)
def test_every_letter_round_trips_in_every_case(letter):
    lower = f"x{letter}n"
    assert tcvn3_to_unicode(unicode_to_tcvn3(lower)) == lower
    upper = f"BHXH X{letter.upper()}N"
    assert tcvn3_to_unicode(unicode_to_tcvn3(upper)) == upper
    title = f"Nguyễn {letter.upper()}nh"
    assert tcvn3_to_unicode(unicode_to_tcvn3(title)) == title


def test_most_single_names_are_recognised_and_columns_always_are():
    encoded = [unicode_to_tcvn3(name) for name in NAMES]
    hits = sum(looks_like_tcvn3(name) for name in encoded)
    # "Vò Ngäc ¸nh" is obvious; "Vâ Hµ" less so: a few short names carry no tell-tale sign.
    assert hits / len(encoded) > 0.95
    assert looks_like_tcvn3("\n".join(encoded))
    assert looks_like_tcvn3("\n".join(unicode_to_tcvn3(a) for a in ADDRESSES))


UNICODE_SAMPLES = (
    NAMES
    + ADDRESSES
    + TITLES
    + [alias for aliases in FIELD_ALIASES.values() for alias in aliases]
    + ["Lý Hà", "Võ Tú", "Hồ Chí Minh", "Café ® 12 · 3", "12 ½ 3", "© 2024", "Ông Ích Khiêm"]
)


def test_unicode_vietnamese_is_never_taken_for_tcvn3():
    assert [text for text in UNICODE_SAMPLES if looks_like_tcvn3(text)] == []


@pytest.mark.parametrize("text", ["", "Nguyen Van A", "HO_TEN", "0912345678", "Thon 1, xa Yen"])
def test_ascii_is_never_tcvn3(text):
    assert not looks_like_tcvn3(text)
    assert tcvn3_to_unicode(text) == text


def test_a_stray_symbol_does_not_hide_a_tcvn3_column():
    column = "\n".join(unicode_to_tcvn3(name) for name in NAMES[:50]) + "\n30°C"
    assert looks_like_tcvn3(column)


def test_convertible_and_unicode_markers():
    assert is_convertible("NguyÔn V¨n A")
    assert not is_convertible("Nguyễn Văn A")  # would be mangled
    assert not is_convertible("Nguyen")  # nothing to do
    assert has_unicode_vietnamese("Trần") and not has_unicode_vietnamese("TrÇn")


vietnamese_lower = st.text(
    alphabet=st.sampled_from(LOWER + list("abcdeghiklmnopqrstuvxy") + list(" ,.-0123456789")),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(vietnamese_lower)
def test_round_trip_of_lowercase_text(text):
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text


@settings(max_examples=300, deadline=None)
@given(vietnamese_lower)
def test_round_trip_of_capitals(text):
    # One word of plain capitals tells the converter the text is in capitals.
    text = "BHXH " + text.upper()
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text


words = st.text(alphabet=st.sampled_from(LOWER + list("aeioubcdghklmnpqrstvxy")), min_size=1)


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=4))
def test_round_trip_of_title_case_names(parts):
    name = "Nguyễn " + " ".join(part[0].upper() + part[1:] for part in parts)
    assert tcvn3_to_unicode(unicode_to_tcvn3(name)) == name


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=5), st.sampled_from(["lower", "title", "upper"]))
def test_natural_unicode_text_is_not_taken_for_tcvn3(parts, case):
    text = " ".join(
        part.lower() if case == "lower" else part.upper() if case == "upper" else part.title()
        for part in parts
    )
    assert not looks_like_tcvn3(text)
