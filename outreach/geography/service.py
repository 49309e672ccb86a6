"""Provinces and communes of the post-2025 map from `vietnamadminunits`, and old → new conversion.

The package (MIT) ships the official NSO list for both maps in an SQLite file and a converter table
of old (province, district, ward) keys to new wards. We read those data files directly rather than
importing the package, whose top level pulls in geopy and shapely for geocoding we never do.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from sqlmodel import Session, select

from outreach.core.text import compact_key
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind


@dataclass(frozen=True)
class OfficialCommune:
    """A commune, ward or special zone as the official list has it."""

    code: str
    name: str
    type_name: str
    key: str  # the package's key with type prefix, e.g. "phuongbacgiang"
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class LegacyMatch:
    """Where an old (pre-July-2025) commune went: one new commune, or several when it was split."""

    new_commune_codes: tuple[str, ...]

    @property
    def is_split(self) -> bool:
        """True when the old commune was divided and a row cannot be placed from its name alone."""
        return len(self.new_commune_codes) > 1


def _data_dir() -> Path:
    spec = find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("vietnamadminunits is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _rows(sql: str, *params) -> list[sqlite3.Row]:
    uri = f"file:{_data_dir() / 'dataset.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()


@cache
def province_name(province_code: str) -> str:
    """The official name of a province of the new map, e.g. "Tỉnh Bắc Ninh" for "24"."""
    rows = _rows("SELECT DISTINCT province FROM admin_units WHERE provinceCode = ?", province_code)
    if not rows:
        raise ValueError(f"Không có tỉnh mã {province_code} trong danh mục 2025")
    return rows[0]["province"]


@cache
def official_communes(province_code: str) -> tuple[OfficialCommune, ...]:
    """Every commune, ward and special zone of a province in the post-2025 official list."""
    rows = _rows(
        "SELECT ward, wardCode, wardType, wardKey, wardLat, wardLon FROM admin_units "
        "WHERE provinceCode = ? ORDER BY wardCode",
        province_code,
    )
    return tuple(
        OfficialCommune(
            r["wardCode"], r["ward"], r["wardType"], r["wardKey"], r["wardLat"], r["wardLon"]
        )
        for r in rows
    )


@cache
def _converter() -> dict:
    return json.loads((_data_dir() / "converter_2025.json").read_text(encoding="utf-8"))


@cache
def _new_province_key(province_code: str) -> str:
    return compact_key(province_name(province_code))


def _legacy_province_keys(province_code: str) -> list[str]:
    return _converter()["DICT_PROVINCE"][_new_province_key(province_code)]


@cache
def legacy_districts(province_code: str) -> dict[str, str]:
    """Old districts of the provinces merged into this one: key → name ("huyenyendung" → "Huyện Yên Dũng")."""
    keys = _legacy_province_keys(province_code)
    marks = ",".join("?" * len(keys))
    rows = _rows(
        f"SELECT DISTINCT districtKey, district FROM admin_units_legacy WHERE provinceKey IN ({marks})",
        *keys,
    )
    return {r["districtKey"]: r["district"] for r in rows}


@cache
def _legacy_index(province_code: str) -> dict[str, LegacyMatch]:
    """Map "oldprovince_olddistrict_oldward" keys to the new communes' codes."""
    key_to_code = {c.key: c.code for c in official_communes(province_code)}
    new_key = _new_province_key(province_code)
    index: dict[str, LegacyMatch] = {}
    for new_ward_key, old_keys in (
        _converter()["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_key, {}).items()
    ):
        for old in old_keys:
            index[old] = LegacyMatch((key_to_code[new_ward_key],))
    for old, candidates in _converter()["DICT_PROVINCE_WARD_DIVIDED"].get(new_key, {}).items():
        codes = tuple(key_to_code[c["newWardKey"]] for c in candidates)
        index[old] = LegacyMatch(codes)
    return index


def convert_legacy_commune(
    province_code: str, old_district: str, old_commune: str
) -> LegacyMatch | None:
    """Find where an old district + commune went on the new map; None when it is unknown.

    Names may come with or without their type ("Huyện Yên Dũng" / "Yên Dũng", "Xã Tân An" /
    "Tân An"), in any case and with or without diacritics.
    """
    district, commune = compact_key(old_district), compact_key(old_commune)
    keys = _legacy_province_keys(province_code)
    marks = ",".join("?" * len(keys))
    rows = _rows(
        f"SELECT DISTINCT provinceKey, districtKey, wardKey FROM admin_units_legacy "
        f"WHERE provinceKey IN ({marks}) AND (districtKey = ? OR districtShortKey = ?) "
        f"AND (wardKey = ? OR wardShortKey = ?)",
        *keys,
        district,
        district,
        commune,
        commune,
    )
    index = _legacy_index(province_code)
    matches = {index.get(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}") for r in rows}
    matches.discard(None)
    if not matches:
        return None
    # Ambiguous short names across old units count as a split: the row needs a human to place it.
    return LegacyMatch(tuple(sorted({code for m in matches for code in m.new_commune_codes})))


def _main_old_district(province_code: str) -> dict[str, str]:
    """For each new commune code, the old district most of its old wards came from."""
    votes: dict[str, Counter] = {}
    for old_key, match in _legacy_index(province_code).items():
        district_key = old_key.split("_")[1]
        for code in match.new_commune_codes:
            votes.setdefault(code, Counter())[district_key] += 1
    return {code: counter.most_common(1)[0][0] for code, counter in votes.items()}


def load_province(
    session: Session, *, province_code: str, with_old_districts: bool = False
) -> GeoUnit:
    """Create or refresh a province and its official communes in the geography tree (idempotent).

    With `with_old_districts`, communes are grouped under the old district most of their territory
    came from, for provinces that still report that way.
    """
    province = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == province_code)
    ).first()
    if province is None:
        name = province_name(province_code)
        province = GeoUnit(
            kind=UnitKind.PROVINCE,
            code=province_code,
            name=name,
            type_name=name.split(" ")[0],
            name_key=compact_key(name),
        )
        session.add(province)
        session.flush()
        province.province_id = province.id

    groups: dict[str, GeoUnit] = {}
    district_of = _main_old_district(province_code) if with_old_districts else {}
    if with_old_districts:
        for key, name in legacy_districts(province_code).items():
            if key not in set(district_of.values()):
                continue
            code = f"{province_code}-{key}"
            group = session.exec(
                select(GeoUnit).where(GeoUnit.kind == UnitKind.GROUP, GeoUnit.code == code)
            ).first() or GeoUnit(
                kind=UnitKind.GROUP,
                code=code,
                name=name,
                type_name=name.split(" ")[0],
                name_key=compact_key(name),
                parent_id=province.id,
                province_id=province.id,
            )
            session.add(group)
            groups[key] = group
        session.flush()

    existing = {
        u.code: u
        for u in session.exec(
            select(GeoUnit).where(
                GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == province.id
            )
        )
    }
    for c in official_communes(province_code):
        unit = existing.get(c.code) or GeoUnit(kind=UnitKind.COMMUNE, code=c.code)
        unit.name = c.name
        unit.type_name = c.type_name
        unit.name_key = compact_key(c.name.removeprefix(c.type_name))
        unit.is_island = c.type_name == "Đặc khu"
        unit.province_id = province.id
        group = groups.get(district_of.get(c.code, ""))
        unit.parent_id = group.id if group else province.id
        session.add(unit)
    session.flush()
    return province
