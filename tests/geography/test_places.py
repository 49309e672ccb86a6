"""Commune and village names as lists write them, matched to the new map (and the old one).

A person is never placed by a guess (issue 20): tone marks and type words count, a given old
district is never dropped, a name that could be two places is refused with both named.
"""

import pytest
from sqlmodel import select

from outreach.geography.places import PlaceError, PlaceIndex
from outreach.geography.spelling import commune_key, spell, village_key
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind

from .conftest import index_of


@pytest.fixture
def places(session):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    return PlaceIndex.load(session, province_id=province.id)


def _name(index, commune, district=None, hint=None):
    return index.lookup(commune, district, hint).place.commune.name


@pytest.mark.parametrize(
    "typed",
    [
        "Phường Bắc Giang",
        "P. Bắc Giang",
        "P.Bắc Giang",
        "phuong bac giang",
        "BẮC GIANG",
        " Bac Giang ",
    ],
)
def test_new_communes_whatever_the_spelling(places, typed):
    assert places.find(typed).commune.name == "Phường Bắc Giang"


def test_old_district_and_commune_go_through_the_conversion_table(places):
    place = places.find("Phường Thọ Xương", old_district="Thành phố Bắc Giang")
    assert place.commune.code == "07210"
    assert place.converted_from == "Phường Thọ Xương, Thành phố Bắc Giang"
    assert places.find("thọ xương", old_district="TP. Bắc Giang").commune.code == "07210"


def test_unknown_places_say_what_to_do(places):
    with pytest.raises(PlaceError, match="Không tìm thấy xã, phường “Xã Không Có”.*huyện cũ"):
        places.find("Xã Không Có")
    with pytest.raises(PlaceError, match="Thiếu tên xã"):
        places.find("")


def test_villages_keep_their_name_and_a_key(places):
    place = places.find("Phường Bắc Giang", village="Tổ dân phố số 3")
    assert place.village_name == "Tổ dân phố số 3" and place.village_key == village_key("TDP số 3")


def test_keys_drop_type_words():
    assert commune_key("TT. Nếnh") == commune_key("TT.Nếnh") == commune_key("Nếnh") == "nenh"
    assert village_key("Thôn Đông") == village_key("thon dong") == "dong"


def test_spellings_keep_tone_marks_and_fold_the_rest():
    assert spell("Đồng Kỵ").marked != spell("Đồng Kỳ").marked
    assert spell("Đồng Kỵ").folded == spell("Đồng Kỳ").folded == "dongky"
    # Where the mark sits ("Hoà" / "Hòa"), case, spacing and composition are not the name.
    assert spell("Hiệp Hoà") == spell("hiệp hòa") == spell("HIỆP  HÒA") == spell("HiệpHòa")
    assert spell("Thuỵ Hoà").marked == spell("Thụy Hòa").marked
    decomposed = "Pho\u031b\u0300ng"  # "Phờng" typed with combining marks
    assert spell(decomposed) == spell("Phờng")
    assert not spell("Phương Sơn").has_tones and spell("Phượng Sơn").has_tones
    assert spell("Phuong Son").is_ascii and not spell("Phương Sơn").is_ascii


# --- issue 20: places guessed by name alone --------------------------------------------------------


def test_tone_marks_and_type_words_tell_units_apart(bac_ninh):
    # Thị trấn Phương Sơn (Lục Nam) is not Phường Phượng Sơn (Chũ).
    place = bac_ninh.find("Thị trấn Phương Sơn")
    assert place.commune.name == "Xã Lục Nam"
    assert place.converted_from == "Thị trấn Phương Sơn (huyện Lục Nam cũ)"
    assert _name(bac_ninh, "TT.Phương Sơn", "H.Lục Nam") == "Xã Lục Nam"
    assert _name(bac_ninh, "Phường Phượng Sơn") == "Phường Phượng Sơn"
    assert _name(bac_ninh, "Phượng Sơn") == "Phường Phượng Sơn"
    # Phường Đồng Kỵ (Từ Sơn) is not Xã Đồng Kỳ (Yên Thế).
    assert _name(bac_ninh, "Phường Đồng Kỵ") == "Phường Đồng Nguyên"
    assert _name(bac_ninh, "Đồng Kỵ") == "Phường Đồng Nguyên"
    assert _name(bac_ninh, "Xã Đồng Kỳ") == "Xã Đồng Kỳ"
    assert _name(bac_ninh, "Đồng Kỵ", "Thành phố Từ Sơn") == "Phường Đồng Nguyên"


def test_a_name_that_could_be_two_places_is_refused_naming_both(bac_ninh):
    both = r"Phường Phượng Sơn hoặc Thị trấn Phương Sơn \(huyện Lục Nam cũ\); hãy ghi rõ"
    # "Phương Sơn" has no tone mark, so it may be "Phượng Sơn" typed without them.
    with pytest.raises(PlaceError, match="“Phương Sơn” có thể là " + both):
        bac_ninh.find("Phương Sơn")
    with pytest.raises(PlaceError, match="“Phuong Son” có thể là " + both):
        bac_ninh.find("Phuong Son")
    with pytest.raises(
        PlaceError, match="Xã Đồng Kỳ hoặc Phường Đồng Kỵ \\(thành phố Từ Sơn cũ\\)"
    ):
        bac_ninh.find("dong ky")
    # Two old communes of one name: the old district says which.
    with pytest.raises(
        PlaceError, match="huyện Yên Thế cũ.*huyện Hiệp Hòa cũ|Hiệp Hòa cũ.*Yên Thế cũ"
    ):
        bac_ninh.find("Xã Đồng Tiến")
    assert _name(bac_ninh, "Xã Đồng Tiến", "Huyện Yên Thế") == "Xã Xuân Lương"
    assert _name(bac_ninh, "Xã Đồng Tiến", "Hiệp Hoà") == "Xã Hoàng Vân"


def test_a_type_word_matches_only_units_of_that_type(bac_ninh):
    with pytest.raises(PlaceError, match="Tên gần giống: Xã Đồng Kỳ, Phường Đồng Kỵ"):
        bac_ninh.find("Phường Đồng Kỳ")
    with pytest.raises(PlaceError, match="Không tìm thấy xã, phường “Xã Phương Sơn” thuộc"):
        bac_ninh.find("Xã Phương Sơn", "Huyện Lục Nam")
    # A former type the package keeps for the unit counts: Song Mai was a xã before a phường.
    assert bac_ninh.find("Xã Song Mai", "TP Bắc Giang").commune.code == (
        bac_ninh.find("Phường Song Mai", "TP Bắc Giang").commune.code
    )


def test_a_given_district_is_never_dropped_for_a_province_wide_match(bac_ninh):
    # Đồng Kỵ is in Từ Sơn: with Yên Thế given, it is not Yên Thế's Đồng Kỳ, nor found elsewhere.
    with pytest.raises(PlaceError) as refused:
        bac_ninh.find("Phường Đồng Kỵ", "Huyện Yên Thế")
    message = str(refused.value)
    assert "thuộc “Huyện Yên Thế”" in message and "Xã Đồng Kỳ" in message
    assert "hãy ghi kèm huyện cũ" not in message  # the row gave it
    # A new commune's name with an old district: say so instead of guessing either.
    with pytest.raises(PlaceError, match="tên xã, phường mới.*để trống cột huyện cũ"):
        bac_ninh.find("Phường Bắc Giang", "Thành phố Bắc Giang")
    with pytest.raises(
        PlaceError, match="Không tìm thấy huyện cũ “Huyện Không Có”.*Tỉnh Bắc Giang"
    ):
        bac_ninh.find("Xã Tân An", "Huyện Không Có")
    with pytest.raises(PlaceError, match="Tên gần giống: Thị xã Việt Yên"):
        bac_ninh.find("Phường Nếnh", "Huyện Việt Yên")  # a thị xã on the last old map


def test_units_gone_before_2025_are_converted_through_the_package_aliases(bac_ninh):
    # Huyện Yên Dũng was dissolved on 1/1/2025; its communes went to Thành phố Bắc Giang.
    place = bac_ninh.find("Xã Nham Sơn", "Huyện Yên Dũng")
    assert place.commune.name == "Phường Yên Dũng"
    assert place.converted_from == "Xã Nham Sơn, Huyện Yên Dũng"
    assert _name(bac_ninh, "TT Neo", "H. Yên Dũng") == "Phường Yên Dũng"
    assert _name(bac_ninh, "Xã Lão Hộ", "yen dung") == "Phường Tân An"
    # The wards of Bắc Ninh city merged into Tiền Ninh Vệ in 12/2024, not Thuận Thành's Ninh Xá.
    assert _name(bac_ninh, "Phường Ninh Xá", "Thành phố Bắc Ninh") == "Phường Kinh Bắc"
    assert _name(bac_ninh, "Phường Vệ An", "TP.Bắc Ninh") == "Phường Kinh Bắc"
    assert _name(bac_ninh, "Phường Ninh Xá", "TX. Thuận Thành") == "Phường Ninh Xá"
    # Thị xã Chũ was made from Lục Ngạn: either district finds its communes.
    assert _name(bac_ninh, "Thị trấn Chũ", "Huyện Lục Ngạn") == "Phường Chũ"
    assert _name(bac_ninh, "Thị trấn Chũ", "Thị xã Chũ") == "Phường Chũ"


@pytest.mark.parametrize(
    "district",
    [
        "TP.Bắc Giang",
        "TP. Bắc Giang",
        "Tp Bắc Giang",
        "T.P Bắc Giang",
        "Thành phố Bắc Giang",
        "thanh pho bac giang",
        "Bắc Giang",
        "BAC GIANG",
    ],
)
def test_district_abbreviations_with_or_without_a_space(bac_ninh, district):
    assert _name(bac_ninh, "P.Thọ Xương", district) == "Phường Bắc Giang"


@pytest.mark.parametrize("district", ["H.Yên Thế", "H. Yên Thế", "H Yên Thế", "huyen yen the"])
def test_huyen_abbreviations(bac_ninh, district):
    assert _name(bac_ninh, "X.Đồng Kỳ", district) == "Xã Đồng Kỳ"


def test_an_exact_new_name_is_the_new_commune(bac_ninh):
    # Thuận Thành's Phường Ninh Xá kept its name in 2025; Bắc Ninh city's was merged away in
    # 12/2024 and is known only by the package's key. The official new name is the new ward; the
    # old one needs its district (row, column or title).
    assert _name(bac_ninh, "Phường Ninh Xá") == "Phường Ninh Xá"
    with pytest.raises(PlaceError, match="Phường Ninh Xá hoặc Phường Tiền Ninh Vệ"):
        bac_ninh.find("phuong ninh xa")  # without marks, it may be either


# --- a district from the title block or an address column -----------------------------------------


def test_a_district_hint_places_a_row_that_gives_none(bac_ninh):
    found = bac_ninh.lookup("Xã Đồng Tiến", district_hint="Huyện Yên Thế")
    assert found.place.commune.name == "Xã Xuân Lương" and found.hint_used
    assert found.place.converted_from == "Xã Đồng Tiến, Huyện Yên Thế"
    place, hint_used = bac_ninh.lookup("Xã Đồng Tiến", district_hint="H.Hiệp Hòa")
    assert place.commune.name == "Xã Hoàng Vân" and hint_used


def test_a_hint_is_not_needed_when_the_name_says_it_all(bac_ninh):
    found = bac_ninh.lookup("Phường Bắc Giang", district_hint="Huyện Yên Thế")
    assert found.place.commune.name == "Phường Bắc Giang" and not found.hint_used
    found = bac_ninh.lookup("Xã Đồng Kỳ", district_hint="Huyện Yên Thế")
    assert found.place.commune.name == "Xã Đồng Kỳ" and not found.hint_used


def test_the_rows_own_district_wins_over_the_hint(bac_ninh):
    found = bac_ninh.lookup("Xã Đồng Tiến", "Hiệp Hòa", "Huyện Yên Thế")
    assert found.place.commune.name == "Xã Hoàng Vân" and not found.hint_used


def test_a_hint_that_disagrees_with_the_name_is_refused(bac_ninh):
    # The new Phường Ninh Xá, or Bắc Ninh city's old one: the title says Bắc Ninh city.
    with pytest.raises(PlaceError, match="“Phường Ninh Xá” là Phường Ninh Xá, nhưng trong"):
        bac_ninh.lookup("Phường Ninh Xá", district_hint="Thành phố Bắc Ninh")


def test_an_unknown_hint_changes_nothing(bac_ninh):
    assert not bac_ninh.lookup("Phường Bắc Giang", district_hint="Quận 1").hint_used
    with pytest.raises(PlaceError, match="có thể là"):
        bac_ninh.lookup("Xã Đồng Tiến", district_hint="Huyện Không Có")


# --- other provinces ---------------------------------------------------------------------------------


def test_an_old_commune_split_between_new_ones_is_for_a_person_to_place():
    can_tho = index_of("92")  # Xã Tân Thạnh (Thới Lai) was divided between two new communes
    with pytest.raises(PlaceError, match="nay được chia cho nhiều xã, phường"):
        can_tho.find("Xã Tân Thạnh", "Huyện Thới Lai")
