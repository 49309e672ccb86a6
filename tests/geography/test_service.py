from sqlmodel import select

from outreach.geography import service as geography
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


def test_new_bac_ninh_has_its_99_official_communes():
    communes = geography.official_communes("24")
    assert geography.province_name("24") == "Tỉnh Bắc Ninh"
    assert len(communes) == 99
    assert len({c.code for c in communes}) == 99
    assert any(c.name == "Phường Bắc Giang" for c in communes)


def test_old_bac_giang_commune_maps_to_its_new_ward():
    new = geography.convert_legacy_commune("24", "Thành phố Bắc Giang", "Phường Thọ Xương")
    assert new is not None and not new.is_split
    (code,) = new.new_commune_codes
    assert {c.code: c.name for c in geography.official_communes("24")}[code] == "Phường Bắc Giang"
    # Without type prefixes or diacritics, the same answer.
    assert geography.convert_legacy_commune("24", "bac giang", "tho xuong") == new


def test_split_old_commune_is_reported_as_split():
    # Xã Tân Thạnh (Thới Lai, Cần Thơ) was divided between two new communes.
    match = geography.convert_legacy_commune("92", "Huyện Thới Lai", "Xã Tân Thạnh")
    assert match is not None and match.is_split and len(match.new_commune_codes) == 2


def test_units_gone_before_2025_convert_through_the_package_aliases():
    # Huyện Yên Dũng was dissolved on 1/1/2025: Xã Nham Sơn is under Phường Nham Biền since.
    match = geography.convert_legacy_commune("24", "Huyện Yên Dũng", "Xã Nham Sơn")
    assert match is not None and match.new_commune_codes == ("07681",)  # Phường Yên Dũng


def test_the_old_map_of_bac_ninh_is_bac_giang_and_bac_ninh():
    old = geography.legacy_map("24")
    assert old.province_names == ("Tỉnh Bắc Giang", "Tỉnh Bắc Ninh")
    assert len(old.communes) == 313
    assert sum(c.province_name == "Tỉnh Bắc Giang" for c in old.communes) == 192
    districts = {d.key: d for d in old.districts}
    assert "huyenyendung" in districts["thanhphobacgiang"].keywords  # dissolved 1/1/2025
    assert set(districts["huyenlucngan"].searched_in) == {"huyenlucngan", "thixachu"}
    tien_ninh_ve = next(c for c in old.communes if c.name == "Phường Tiền Ninh Vệ")
    assert {"phuongninhxa", "phuongvean", "phuongtienan"} <= set(tien_ninh_ve.keywords)


def test_unknown_old_commune_is_none():
    assert geography.convert_legacy_commune("24", "Huyện Không Có", "Xã Không Có") is None


def test_load_province_is_idempotent_and_groups_by_old_district(session):
    before = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).all()
    province = geography.load_province(session, province_code="24", with_old_districts=True)
    session.commit()
    after = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).all()
    assert len(before) == len(after) == 99
    groups = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.GROUP)).all()
    assert groups, "communes are grouped under their old districts"
    assert all(c.parent_id in {g.id for g in groups} | {province.id} for c in after)
