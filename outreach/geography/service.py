"""Provinces and communes of the post-2025 map from `vietnamadminunits`, and old → new conversion.

The package (MIT) ships the official NSO list for both maps in an SQLite file, the converter table
of old (province, district, ward) keys to new wards, and the alias keys its own `convert_address`
recognises old units by (a district dissolved on 1/1/2025, wards merged in 12/2024, a former type
or spelling). We read those data files directly rather than importing the package, whose top level
pulls in geopy and shapely for geocoding we never do. `legacy_map` is the old map with those
aliases; `places.PlaceIndex` matches the names typed in lists against it, strictly.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.text import compact_key
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind

NATION_CODE = "VN"
NATION_NAME = "Việt Nam"


class GeographyError(DomainError):
    """A geography request the official list cannot answer (an unknown province code)."""


@dataclass(frozen=True)
class OfficialCommune:
    """A commune, ward or special zone as the official list has it."""

    code: str
    name: str
    type_name: str
    key: str  # the package's key with type prefix, e.g. "phuongbacgiang"
    latitude: float | None
    longitude: float | None
    keywords: tuple[str, ...] = ()  # the package's keys for it, aliases included


@dataclass(frozen=True)
class LegacyDistrict:
    """A district of the map before July 2025, or a name the package keeps for one that is gone.

    `keywords` are the package's keys (no tone marks), with and without the type word, aliases
    included ("huyenyendung" for the dissolved Yên Dũng under Thành phố Bắc Giang). A row naming the
    district may be in any of the districts `searched_in` (itself, and those it was divided into).
    """

    key: str  # "huyenyenthe"
    name: str  # "Huyện Yên Thế"; "" for a district known only by its keys
    type_name: str  # "Huyện"
    short_name: str  # "Yên Thế"
    keywords: tuple[str, ...]
    searched_in: tuple[str, ...]


@dataclass(frozen=True)
class LegacyCommune:
    """A commune of the map before July 2025, the package's keys for it and where it went."""

    district_key: str
    key: str  # "thitranphuongson"
    code: str  # the old NSO code
    name: str  # "Thị trấn Phương Sơn"
    type_name: str  # "Thị trấn"
    short_name: str  # "Phương Sơn"
    district_name: str  # "Huyện Lục Nam"
    district_type: str  # "Huyện"
    district_short: str  # "Lục Nam"
    province_name: str  # "Tỉnh Bắc Giang"
    # The package's keys (no tone marks), aliases included: a unit merged into this one before
    # 2025 ("xanhamson" under Phường Nham Biền), a former type ("xasongmai"), a spelling.
    keywords: tuple[str, ...]
    new_commune_codes: tuple[str, ...]  # empty: now outside the province; several: split


@dataclass(frozen=True)
class LegacyMap:
    """The old districts and communes that make up a province of the new map."""

    province_names: tuple[str, ...]  # "Tỉnh Bắc Giang", "Tỉnh Bắc Ninh"
    districts: tuple[LegacyDistrict, ...]
    communes: tuple[LegacyCommune, ...]


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
def official_provinces() -> tuple[tuple[str, str], ...]:
    """The 34 provinces of the post-2025 official list: (code, name), by code."""
    rows = _rows("SELECT DISTINCT provinceCode, province FROM admin_units ORDER BY provinceCode")
    return tuple((r["provinceCode"], r["province"]) for r in rows)


@cache
def official_communes(province_code: str) -> tuple[OfficialCommune, ...]:
    """Every commune, ward and special zone of a province in the post-2025 official list."""
    rows = _rows(
        "SELECT ward, wardCode, wardType, wardKey, wardLat, wardLon, wardKeywords FROM admin_units "
        "WHERE provinceCode = ? ORDER BY wardCode",
        province_code,
    )
    return tuple(
        OfficialCommune(
            r["wardCode"],
            r["ward"],
            r["wardType"],
            r["wardKey"],
            r["wardLat"],
            r["wardLon"],
            _keywords(r["wardKeywords"]),
        )
        for r in rows
    )


def _keywords(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


@cache
def _converter() -> dict:
    return json.loads((_data_dir() / "converter_2025.json").read_text(encoding="utf-8"))


@cache
def _divided_districts() -> dict:
    """The package's districts whose communes went to several districts (or that share a name)."""
    data = json.loads((_data_dir() / "parser_legacy.json").read_text(encoding="utf-8"))
    return data["DICT_PROVINCE_DISTRICT_DIVIDED"]


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


@cache
def legacy_map(province_code: str) -> LegacyMap:
    """The old (pre-July-2025) districts and communes of a province, with the package's aliases."""
    keys = _legacy_province_keys(province_code)
    marks = ",".join("?" * len(keys))
    rows = _rows(
        f"SELECT provinceKey, province, districtKey, district, districtType, districtShort, "
        f"districtKeywords, wardKey, wardCode, ward, wardType, wardShort, wardKeywords "
        f"FROM admin_units_legacy WHERE provinceKey IN ({marks}) ORDER BY wardCode",
        *keys,
    )
    index = _legacy_index(province_code)
    districts: dict[str, LegacyDistrict] = {}
    communes = []
    for r in rows:
        if r["districtKey"] not in districts:
            districts[r["districtKey"]] = LegacyDistrict(
                key=r["districtKey"],
                name=r["district"],
                type_name=r["districtType"],
                short_name=r["districtShort"],
                keywords=_keywords(r["districtKeywords"]),
                searched_in=(r["districtKey"],),
            )
        if not r["ward"]:  # an island district without communes
            continue
        match = index.get(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}")
        communes.append(
            LegacyCommune(
                district_key=r["districtKey"],
                key=r["wardKey"],
                code=r["wardCode"],
                name=r["ward"],
                type_name=r["wardType"],
                short_name=r["wardShort"],
                district_name=r["district"],
                district_type=r["districtType"],
                district_short=r["districtShort"],
                province_name=r["province"],
                keywords=_keywords(r["wardKeywords"]),
                new_commune_codes=match.new_commune_codes if match else (),
            )
        )
    for province_key in keys:
        for key, divided in _divided_districts().get(province_key, {}).items():
            parts = tuple(sorted(set(divided["districts"]) | ({key} & districts.keys())))
            known = districts.get(key)
            words = tuple(divided["dividedDistrictKeywords"])
            districts[key] = LegacyDistrict(
                key=key,
                name=known.name if known else "",
                type_name=known.type_name if known else "",
                short_name=known.short_name if known else "",
                keywords=tuple(dict.fromkeys((known.keywords if known else ()) + words)),
                searched_in=parts,
            )
    names = tuple(dict.fromkeys(r["province"] for r in rows))
    return LegacyMap(names, tuple(districts.values()), tuple(communes))


def convert_legacy_commune(
    province_code: str, old_district: str, old_commune: str
) -> LegacyMatch | None:
    """Where an old district + commune went by the package's keys alone; None when unknown.

    The keys have no tone marks: this is the package's own matching, aliases included, for a
    quick look-up. Rows go through `places.PlaceIndex`, which also checks tone marks and types
    and refuses a name that could be two places.
    """
    district, commune = compact_key(old_district), compact_key(old_commune)
    old = legacy_map(province_code)
    searched = {part for d in old.districts if district in d.keywords for part in d.searched_in}
    codes = {
        code
        for c in old.communes
        if c.district_key in searched and commune in c.keywords
        for code in c.new_commune_codes
    }
    # Several new communes, from a split or from two old units: a person must place the row.
    return LegacyMatch(tuple(sorted(codes))) if codes else None


def _main_old_district(province_code: str) -> dict[str, str]:
    """For each new commune code, the old district most of its old wards came from."""
    votes: dict[str, Counter] = {}
    for old_key, match in _legacy_index(province_code).items():
        district_key = old_key.split("_")[1]
        for code in match.new_commune_codes:
            votes.setdefault(code, Counter())[district_key] += 1
    return {code: counter.most_common(1)[0][0] for code, counter in votes.items()}


def national_unit(session: Session) -> GeoUnit:
    """The country, above every province (created on first use; ids from the database)."""
    nation = session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.NATION, GeoUnit.code == NATION_CODE)
    ).first()
    if nation is None:
        nation = GeoUnit(
            kind=UnitKind.NATION,
            code=NATION_CODE,
            name=NATION_NAME,
            type_name="Quốc gia",
            name_key=compact_key(NATION_NAME),
        )
        session.add(nation)
        session.flush()
    return nation


def load_province(
    session: Session, *, province_code: str, with_old_districts: bool = False
) -> GeoUnit:
    """Create or refresh a province and its official communes in the geography tree (idempotent).

    With `with_old_districts`, communes are grouped under the old district most of their territory
    came from, for provinces that still report that way. The province hangs under the national
    unit, created after the communes so a first load numbers the communes from the province on.
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
    province.parent_id = national_unit(session).id
    session.add(province)
    session.flush()
    return province


@dataclass(frozen=True)
class LoadedProvince:
    """What `load_provinces` did to one province: its communes, and how many units were new."""

    code: str
    name: str
    communes: int
    created: int


def load_provinces(
    session: Session, *, province_codes: list[str], with_old_districts: bool = False
) -> list[LoadedProvince]:
    """Load several provinces of the official list (idempotent: a second run creates nothing).

    Refuses, before writing anything, a code the official list does not have.
    """
    known = dict(official_provinces())
    unknown = [code for code in province_codes if code not in known]
    if unknown:
        raise GeographyError(
            _("Không có tỉnh mã %(codes)s trong danh mục 2025.", codes=", ".join(unknown))
        )
    loaded = []
    for code in province_codes:
        before = _unit_count(session)
        province = load_province(session, province_code=code, with_old_districts=with_old_districts)
        communes = session.exec(
            select(func.count())
            .select_from(GeoUnit)
            .where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.province_id == province.id)
        ).one()
        loaded.append(LoadedProvince(code, province.name, communes, _unit_count(session) - before))
    return loaded


def _unit_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(GeoUnit)).one()
