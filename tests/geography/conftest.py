"""The demo province's places without a database: the new communes as the official list has them."""

import pytest

from outreach.core.text import compact_key
from outreach.geography.places import PlaceIndex
from outreach.geography.service import official_communes, province_name
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


def index_of(province_code: str) -> PlaceIndex:
    """A PlaceIndex of the province's new communes, built in memory as `load_province` stores them."""
    name = province_name(province_code)
    province = GeoUnit(id=1, kind=UnitKind.PROVINCE, code=province_code, name=name)
    units = [
        GeoUnit(
            id=n,
            kind=UnitKind.COMMUNE,
            code=c.code,
            name=c.name,
            type_name=c.type_name,
            name_key=compact_key(c.name.removeprefix(c.type_name)),
            province_id=1,
        )
        for n, c in enumerate(official_communes(province_code), start=2)
    ]
    return PlaceIndex.build(province, units)


@pytest.fixture(scope="session")
def bac_ninh():
    """Tỉnh Bắc Ninh (24): 99 new communes, and the 313 old ones of Bắc Giang and Bắc Ninh."""
    return index_of("24")
