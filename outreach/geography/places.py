"""Place names typed in BHXH lists, matched to the geography tree.

Lists write "Xã Tân An", "TT. Nếnh", "phuong bac giang" or, before July 2025, an old district and
an old commune. Communes are matched on their name without the type word, ignoring case and
diacritics; an old district + commune goes through the old→new conversion table of
`vietnamadminunits`, and an old commune split between several new ones is an error a person must
resolve. Villages (thôn, tổ dân phố) have no national list: an unknown one is created under its
commune the first time a list names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from sqlmodel import Session, select

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.text import compact_key
from outreach.geography.service import convert_legacy_commune
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind

# Type words written before commune and village names, longest first so "thị trấn" wins over "t".
MAX_CACHED_PLACES = 50_000
_COMMUNE_TYPES = re.compile(
    r"^\s*(?:thị\s*trấn|thi\s*tran|đặc\s*khu|dac\s*khu|phường|phuong|xã|xa|tt|p|x)\s*[.:\-]?\s+",
    re.IGNORECASE,
)
_COMMUNE_TYPES_DOTTED = re.compile(r"^\s*(?:tt|p|x)\s*\.\s*", re.IGNORECASE)
_VILLAGE_TYPES = re.compile(
    r"^\s*(?:tổ\s*dân\s*phố|to\s*dan\s*pho|tdp|thôn|thon|xóm|xom|khu\s*phố|khu\s*pho|khu|ấp|ap|"
    r"bản|ban|làng|lang|tổ|to)\s*[.:\-]?\s*",
    re.IGNORECASE,
)
_DISTRICT_TYPES = re.compile(
    r"^\s*(?:huyện|huyen|thị\s*xã|thi\s*xa|thành\s*phố|thanh\s*pho|quận|quan|h|tx|tp|q)\s*[.:\-]?\s+",
    re.IGNORECASE,
)


def _strip(pattern: re.Pattern, text: str) -> str:
    stripped = _COMMUNE_TYPES_DOTTED.sub("", text) if pattern is _COMMUNE_TYPES else text
    return pattern.sub("", stripped, count=1)


def commune_key(text: str) -> str:
    """A commune name reduced to what `GeoUnit.name_key` holds: no type word, case or marks."""
    return compact_key(_strip(_COMMUNE_TYPES, text or ""))


@lru_cache(maxsize=65536)  # a list repeats the same few hundred village names
def village_key(text: str) -> str:
    """A village name without "Thôn", "Xóm", "Tổ dân phố"…, case or diacritics."""
    key = compact_key(_strip(_VILLAGE_TYPES, text or ""))
    return key or compact_key(text or "")


class PlaceError(DomainError):
    """A place that cannot be matched, with the message for the row."""


@dataclass
class Place:
    """Where a row lives: its commune, and its village if the row names one."""

    commune: GeoUnit
    village_name: str = ""
    village_key: str = ""
    converted_from: str = ""  # "Xã Tân An, huyện Yên Dũng" when found through the old map
    # The commune's id as a plain int: read for every row, where an ORM attribute costs more.
    commune_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.commune_id = self.commune.id


@dataclass
class PlaceIndex:
    """The communes and villages of one province, loaded once per import."""

    province: GeoUnit
    communes_by_key: dict[str, list[GeoUnit]]
    communes_by_code: dict[str, GeoUnit]
    villages: dict[tuple[int, str], GeoUnit]
    _cache: dict[tuple[str, str], Place | PlaceError] = field(default_factory=dict)
    _places: dict[tuple[int, str], Place] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, province_id: int) -> PlaceIndex:
        """Read the province's communes and villages."""
        units = session.exec(select(GeoUnit).where(GeoUnit.province_id == province_id)).all()
        province = session.get(GeoUnit, province_id)
        by_key: dict[str, list[GeoUnit]] = {}
        villages = {}
        for unit in units:
            if unit.kind == UnitKind.COMMUNE:
                by_key.setdefault(unit.name_key, []).append(unit)
            elif unit.kind == UnitKind.VILLAGE:
                villages[(unit.parent_id, unit.name_key or village_key(unit.name))] = unit
        codes = {u.code: u for units_ in by_key.values() for u in units_}
        return cls(province, by_key, codes, villages)

    def find(self, commune: str, old_district: str = "", village: str = "") -> Place:
        """The place of a row; raises PlaceError with a message for the admin."""
        commune, old_district = (commune or "").strip(), (old_district or "").strip()
        cached = self._cache.get((commune, old_district))
        if cached is None:
            try:
                cached = self._find_commune(commune, old_district)
            except PlaceError as error:
                cached = error
            self._cache[(commune, old_district)] = cached
        if isinstance(cached, PlaceError):
            raise cached
        name = (village or "").strip()
        # A list names a few thousand villages over and over: their keys are made once.
        key = (id(cached), name)  # the commune's Place lives in `_cache` as long as this does
        place = self._places.get(key)
        if place is None:
            folded = village_key(name) if name else ""
            place = Place(cached.commune, name, folded, cached.converted_from)
            if len(self._places) < MAX_CACHED_PLACES:  # a file of junk names stays bounded
                self._places[key] = place
        return place

    def _find_commune(self, commune: str, old_district: str) -> Place:
        if not commune:
            raise PlaceError(_("Thiếu tên xã, phường."))
        if old_district:
            match = convert_legacy_commune(
                self.province.code, _strip(_DISTRICT_TYPES, old_district), _strip_commune(commune)
            )
            if match is not None:
                return self._from_legacy(commune, old_district, match.new_commune_codes)
        found = self._by_name(commune)
        if found is not None:
            return Place(found)
        if old_district:
            raise PlaceError(
                _(
                    "Không tìm thấy xã, phường “%(commune)s” (huyện cũ %(district)s) "
                    "trong %(province)s.",
                    commune=commune,
                    district=old_district,
                    province=self.province.name,
                )
            )
        raise PlaceError(
            _(
                "Không tìm thấy xã, phường “%(commune)s” trong %(province)s; nếu là địa chỉ "
                "trước 01/7/2025, hãy ghi kèm huyện cũ.",
                commune=commune,
                province=self.province.name,
            )
        )

    def _by_name(self, commune: str) -> GeoUnit | None:
        candidates = self.communes_by_key.get(commune_key(commune), [])
        if len(candidates) == 1:
            return candidates[0]
        typed = [c for c in candidates if compact_key(c.name) == compact_key(commune)]
        return typed[0] if len(typed) == 1 else None

    def _from_legacy(self, commune: str, old_district: str, codes: tuple[str, ...]) -> Place:
        units = [self.communes_by_code[c] for c in codes if c in self.communes_by_code]
        old = f"{commune}, {old_district}"
        if len(units) == 1:
            return Place(units[0], converted_from=old)
        if not units:
            raise PlaceError(
                _(
                    "%(old)s (địa chỉ cũ) nay không thuộc %(province)s.",
                    old=old,
                    province=self.province.name,
                )
            )
        names = ", ".join(u.name for u in units)
        raise PlaceError(
            _(
                "%(old)s (địa chỉ cũ) nay được chia cho nhiều xã, phường (%(names)s); "
                "không xác định được xã mới, hãy ghi tên xã, phường mới.",
                old=old,
                names=names,
            )
        )


def _strip_commune(text: str) -> str:
    return _strip(_COMMUNE_TYPES, text)
