"""Districts and communes named inside longer text: a title block, an address."""

import pytest
from sqlmodel import select

from outreach.geography.places import PlaceIndex
from outreach.geography.spelling import commune_in_text, district_in_text, village_type
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


@pytest.mark.parametrize(
    ("text", "district", "commune"),
    [
        ("Thôn Hạ, xã Đồng Kỳ, huyện Yên Thế, tỉnh Bắc Giang", "huyện Yên Thế", "xã Đồng Kỳ"),
        ("UBND XÃ ĐỒNG KỲ HUYỆN YÊN THẾ", "HUYỆN YÊN THẾ", "XÃ ĐỒNG KỲ"),
        ("BẢO HIỂM XÃ HỘI HUYỆN LỤC NAM", "HUYỆN LỤC NAM", ""),  # "xã hội" is no commune
        ("DANH SÁCH THAM GIA THỊ XÃ CHŨ NĂM 2024", "THỊ XÃ CHŨ", ""),  # nor the "xã" of "thị xã"
        ("Phường Ninh Xá thị xã Thuận Thành", "thị xã Thuận Thành", "Phường Ninh Xá"),
        ("Số 5, TT.Neo, H.Yên Dũng", "H.Yên Dũng", "TT.Neo"),
        ("Tổ dân phố số 2, phường Thọ Xương, TP.Bắc Giang", "TP.Bắc Giang", "phường Thọ Xương"),
        ("Thôn 3", "", ""),
        ("", "", ""),
    ],
)
def test_a_district_and_a_commune_read_off_running_text(text, district, commune):
    assert district_in_text(text) == district
    assert commune_in_text(text) == commune


def test_village_parts_of_an_address():
    assert village_type("Thôn Hạ") and village_type(" Tổ dân phố số 2")
    assert not village_type("Thôn") and not village_type("xã Đồng Kỳ")


def test_a_hint_is_looked_for_only_where_it_could_change_the_place(session):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    places = PlaceIndex.load(session, province_id=province.id)
    assert not places.hint_matters("Phường Bắc Giang")  # one place, no namesake elsewhere
    assert places.hint_matters("Xã Đồng Tiến")  # Yên Thế's or Hiệp Hòa's
    assert places.hint_matters("Phường Ninh Xá")  # Thuận Thành's, or Bắc Ninh city's old one
    assert places.hint_matters("Xã Không Có")
