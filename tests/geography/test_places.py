"""Commune and village names as lists write them, matched to the new map (and the old one)."""

import pytest
from sqlmodel import select

from outreach.geography.places import PlaceError, PlaceIndex, commune_key, village_key
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


@pytest.fixture
def places(session):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    return PlaceIndex.load(session, province_id=province.id)


@pytest.mark.parametrize(
    "typed",
    ["Phường Bắc Giang", "P. Bắc Giang", "phuong bac giang", "BẮC GIANG", "  Bac Giang "],
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
    assert commune_key("TT. Nếnh") == commune_key("Nếnh") == "nenh"
    assert village_key("Thôn Đông") == village_key("thon dong") == "dong"
