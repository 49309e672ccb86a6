from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.core.formatting import (
    format_day,
    format_number,
    format_phone,
    format_ratio,
    mask_identifier,
)
from outreach.core.text import compact_key, fold


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Nguyễn Văn A", "nguyen van a"),
        ("  ĐẶNG   Thị  Hồng ", "dang thi hong"),
        ("Phường Đa Mai", "phuong da mai"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_ignores_case_diacritics_and_spacing(raw, folded):
    assert fold(raw) == folded


def test_compact_key_drops_punctuation_and_spaces():
    assert compact_key("Phường Thọ Xương") == "phuongthoxuong"
    assert compact_key("TT. Tân-An") == "tttanan"


def test_vietnamese_number_percent_and_date_formats():
    assert format_number(1125000) == "1.125.000"
    assert format_ratio(0.9394) == "93,94%"
    assert format_day(date(2026, 11, 15)) == "15/11/2026"
    assert format_number(1125000, "en") == "1,125,000"
    assert format_number(None) == "—"


def test_datetime_is_shown_as_the_vietnamese_calendar_day():
    # 20:00 UTC on the 15th is 03:00 on the 16th in Hà Nội.
    assert format_day(datetime(2026, 11, 15, 20, 0, tzinfo=UTC)) == "16/11/2026"


def test_identifiers_are_masked_but_for_the_last_four_digits():
    assert mask_identifier("001234567890") == "••••••••7890"
    assert mask_identifier(None) == "—"


def test_phones_are_shown_in_national_format():
    assert format_phone("+84912345678") == "0912 345 678"
    assert format_phone(None) == ""


def test_fold_fast_path_equals_full_decomposition():
    """The precomposed-letter table gives what NFD + dropping marks gives, letter by letter."""
    import unicodedata

    def slow(text):
        decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
        bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return " ".join(bare.lower().split())

    letters = [chr(code) for code in range(0x20, 0x2000) if chr(code).isprintable()]
    for letter in letters:
        assert fold(f"a{letter}b") == slow(f"a{letter}b"), hex(ord(letter))
    assert fold("Nguye\u0302\u0303n Thi\u0323") == "nguyen thi"  # marks typed separately


_MIXED = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("Nguyễn Thị Đức  Thôn 5, xã Tân-An ĐẶNG\t")),
        st.characters(max_codepoint=0x2100),
    ),
    max_size=16,
)


@given(_MIXED)
def test_fold_and_compact_key_by_table_equal_the_full_decomposition(text):
    """The one-`translate` tables give what NFD + dropping marks + lowercase + spaces gives,
    whatever the string: Greek final sigma, non-ASCII spaces and marks typed apart included."""
    import re
    import unicodedata

    def slow(value):
        decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "d"))
        bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return re.sub(r"\s+", " ", bare.lower()).strip()

    assert fold(text) == slow(text)
    assert compact_key(text) == re.sub(r"[^a-z0-9]+", "", slow(text))


# --- Vietnamese alphabetical order ------------------------------------------------------------


def test_vietnamese_order_of_letters_tones_and_numbers():
    from outreach.core.text import vietnamese_key

    expected = [
        "An",
        "Ăn",
        "Ân",
        "Bảo",
        "Bắc",
        "Dung",
        "Dùng",
        "Dủng",
        "Dũng",
        "Dúng",
        "Dụng",
        "Dương",
        "Đa Mai",
        "Đồng Kỳ",
        "Tân An",
        "Trạm Lộ",
        "Yên Dũng",
    ]
    shuffled = list(reversed(expected))
    assert sorted(shuffled, key=vietnamese_key) == expected
    assert sorted(["số 10", "số 2", "Số 1"], key=vietnamese_key) == ["Số 1", "số 2", "số 10"]
    assert vietnamese_key("TÂN an") == vietnamese_key("Tân An")


def test_places_sort_by_their_own_name_and_people_by_given_name():
    from outreach.core.text import person_key, place_key

    places = ["Phường Đa Mai", "Xã Bảo Đài", "Phường Bắc Giang", "Thị trấn Ăn", "Xã An Lạc"]
    assert sorted(places, key=place_key) == [
        "Xã An Lạc",
        "Thị trấn Ăn",
        "Xã Bảo Đài",
        "Phường Bắc Giang",
        "Phường Đa Mai",
    ]
    assert place_key("Phường Bắc Giang", "Phường") == place_key("Phường Bắc Giang")
    people = ["Lê Thị Bình", "Trần Văn An", "Nguyễn Văn Đức", "Phạm Thị Dung"]
    assert sorted(people, key=person_key) == [
        "Trần Văn An",
        "Lê Thị Bình",
        "Phạm Thị Dung",
        "Nguyễn Văn Đức",
    ]


def test_every_page_lists_communes_in_vietnamese_order(session):
    from sqlmodel import select

    from outreach.core.scope import communes_in, scope_for
    from outreach.core.text import place_key
    from outreach.models import User

    admin = session.exec(select(User).where(User.username == "admin")).one()
    communes = communes_in(session, scope_for(session, admin))
    keys = [place_key(c.name, c.type_name) for c in communes]
    assert keys == sorted(keys) and len(communes) == 99
    types = [c.type_name for c in communes]
    # Wards and communes side by side, not all "Phường" first.
    assert {"Phường", "Xã"} <= set(types[:20])
