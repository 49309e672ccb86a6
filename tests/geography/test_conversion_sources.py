"""The old → new table the app uses, checked commune by commune against independent sources.

The app converts with `vietnamadminunits` (its data files, read as data). Two checks:

- a second, independent source: `vn-address-converter` 0.1.3 (MIT), its `ward_mapping.json`, whose
  rows for the old provinces Bắc Giang and Bắc Ninh are vendored in
  tests/fixtures/geography/vn_address_converter_bac_giang_bac_ninh.json (docs/sources.md: the
  package itself also installs a top-level `tests` package, so it is not a test dependency);
- the package's own `convert_address` (imported here only: it pulls in geopy and shapely), for
  every old commune and every alias key it recognises old units by.
"""

import json
from pathlib import Path

import pytest

from outreach.geography.places import PlaceError
from outreach.geography.service import legacy_map, official_communes

FIXTURE = (
    Path(__file__).parents[1] / "fixtures/geography/vn_address_converter_bac_giang_bac_ninh.json"
)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def test_the_second_source_agrees_for_every_old_commune_of_bac_giang_and_bac_ninh(bac_ninh):
    source = json.loads(FIXTURE.read_text(encoding="utf-8"))
    theirs = {
        (_key(province), _key(district), _key(commune)): new
        for province, district, commune, new in source["rows"]
    }
    old = legacy_map("24")
    assert len(theirs) == len(old.communes) == 313
    new_names = {c.code: c.name for c in official_communes("24")}
    disagreements, missing = [], []
    for c in old.communes:
        key = (_key(c.province_name), _key(c.district_name), _key(c.name))
        if key not in theirs:
            missing.append(key)
            continue
        (table,) = c.new_commune_codes
        placed = bac_ninh.lookup(c.name, c.district_name).place.commune  # the app's conversion
        if not (new_names[table] == placed.name == theirs[key]):
            disagreements.append(
                f"{c.name}, {c.district_name}: app {placed.name} (table {new_names[table]}), "
                f"vn-address-converter {theirs[key]}"
            )
    assert not missing, f"old communes the second source does not list: {missing}"
    assert not disagreements, "\n".join(disagreements)


@pytest.fixture(scope="module")
def convert_address():
    package = pytest.importorskip("vietnamadminunits")
    return package.convert_address


def test_the_packages_own_convert_address_agrees(bac_ninh, convert_address):
    disagreements, compared = [], 0
    communes = legacy_map("24").communes
    for c in communes:
        province = c.province_name
        theirs = convert_address(f"{c.name}, {c.district_name}, {province}").ward_code
        ours = bac_ninh.lookup(c.name, c.district_name).place.commune.code
        if ours != theirs:
            disagreements.append(f"{c.name}, {c.district_name}: {ours} ≠ {theirs}")
        # Every alias key too (a unit merged away, a former type, a spelling), as plain letters
        # with a space after the type word ("xa nhamson").
        for key in c.keywords:
            written = _spaced(key, c.keywords)
            theirs = convert_address(f"{written}, {c.district_short}, {province}").ward_code
            try:
                ours = bac_ninh.lookup(written, c.district_short).place.commune.code
            except PlaceError:
                continue  # refused: never a disagreement
            compared += 1
            if ours != theirs:
                disagreements.append(f"{written}, {c.district_short}: {ours} ≠ {theirs}")
    assert not disagreements, "\n".join(disagreements)
    assert compared >= 0.95 * sum(len(c.keywords) for c in communes)  # placed, not refused


def _spaced(key: str, keys: tuple[str, ...]) -> str:
    for prefix in ("thitran", "phuong", "xa", "tt"):
        if key.startswith(prefix) and key[len(prefix) :] in keys:
            return f"{prefix} {key[len(prefix) :]}"
    return key
