"""Place names typed in BHXH lists, matched to the geography tree, never guessed.

Lists write "Xã Tân An", "TT. Nếnh", "phuong bac giang" or, before July 2025, an old district and an
old commune. The rules (docs/imports.md, "Places"):

- **Tone marks count.** Names are compared with their tone marks; case, spacing and where the mark
  sits ("Hoà" / "Hòa") are folded. A name with no tone mark at all is compared without them (so
  "Phương Sơn" may also be "Phượng Sơn" typed without marks), and a plain-ASCII one ("phuong son")
  by its letters alone: either matches only if one place reads so.
- **Type words count.** "Thị trấn", "Phường", "Xã", "Đặc khu", "TT.", "P.", "X." (the dot and the
  space after it optional) limit the match to units of that type, or that had it before (the
  package keeps "Xã Song Mai" for Phường Song Mai). A type word typed without its marks ("Phuong
  Son") is read both ways: as a type, and as part of the name.
- **One place or none.** Without a district, a name must name exactly one unit, new or old, of the
  province (several old units that all went into the same new commune count as one); otherwise
  the row gets a message naming the candidates. One exception: a new commune's official name,
  type word and marks exactly as the 2025 list writes them, is that commune (an old unit of the
  same name is placed with its old district).
- **Old district + commune** go through the package's old map with its aliases (a district dissolved
  on 1/1/2025, wards merged in 12/2024, a former type or spelling), only within that district:
  a given district is never dropped for a province-wide match. A unit the package knows only by an
  alias key (no tone marks) is matched by its letters, and only when that names one unit. An old
  commune split between several new ones is an error a person must resolve.
- **A district hint** (from the title block or an address column) is used when the row gives none:
  the commune is looked for in that district and in the whole province, the two must not name
  different communes, and `PlaceIndex.lookup(..., district_hint=...)` says whether the hint placed
  the row.

Villages (thôn, tổ dân phố) have no national list: an unknown one is created under its commune the
first time a list names it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from sqlmodel import Session, select

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.text import compact_key
from outreach.geography.service import LegacyMap, legacy_map, official_communes
from outreach.geography.spelling import (
    _COMMUNE_KEY_PREFIXES,
    _COMMUNE_PATTERNS,
    _DISTRICT_KEY_PREFIXES,
    _DISTRICT_PATTERNS,
    Spelling,
    _readings,
    _type_key,
    spell,
    village_key,
)
from outreach.models import GeoUnit
from outreach.models.codes import UnitKind

MAX_CACHED_PLACES = 50_000


# --- The names a place may be written by -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Target:
    """What a name may mean: a commune of the new map, or an old one and where it went."""

    codes: tuple[str, ...]  # the new communes' codes
    name: str  # "Thị trấn Phương Sơn"
    district: str = ""  # an old unit's district, as messages write it: "huyện Lục Nam"

    @property
    def is_old(self) -> bool:
        return bool(self.district)

    def label(self, alias: str = "") -> str:
        if not self.district:
            return self.name
        if alias:
            return _(
                "%(commune)s (%(district)s cũ; đã gộp “%(name)s”)",
                commune=self.name,
                district=self.district,
                name=alias,
            )
        return _("%(commune)s (%(district)s cũ)", commune=self.name, district=self.district)


@dataclass(frozen=True)
class _Entry:
    """One way of writing a place: its own name, a former type, or an alias known by its key."""

    kind: str | None  # folded type word; None for a key without one ("nhamson")
    spelling: Spelling | None  # None for an alias known only by its key (no tone marks)
    folded: str
    target: _Target
    own: bool = False  # the unit's own official name and type


class _Names:
    """Names of places, looked up by spelling; tone marks and types count."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self.marked: dict[str, list[_Entry]] = defaultdict(list)
        self.toneless: dict[str, list[_Entry]] = defaultdict(list)
        self.folded: dict[str, list[_Entry]] = defaultdict(list)  # every entry, for suggestions
        self.aliases: dict[str, list[_Entry]] = defaultdict(list)
        # New communes by their official type and name, marks and all.
        self.official: dict[tuple[str | None, str], _Target | None] = {}
        for entry in entries:
            self.folded[entry.folded].append(entry)
            if entry.spelling is None:
                self.aliases[entry.folded].append(entry)
            else:
                self.marked[entry.spelling.marked].append(entry)
                self.toneless[entry.spelling.toneless].append(entry)
                if entry.own and not entry.target.is_old:
                    key = (entry.kind, entry.spelling.marked)
                    # Two new communes of one name (none in a province so far) are no answer.
                    self.official[key] = None if key in self.official else entry.target

    def match(self, readings: list[tuple[str | None, str]]) -> dict[_Target, str]:
        """The places the readings may name, each with the alias it was found by ("" if none)."""
        found: dict[_Target, str] = {}
        for kind, name in readings:
            written = spell(name)
            if not written.folded:
                continue
            if written.has_tones:
                own = self.marked.get(written.marked, [])
            elif not written.is_ascii:
                own = self.toneless.get(written.toneless, [])
            else:  # plain ASCII: every name with these letters, whatever its marks
                own = [e for e in self.folded.get(written.folded, []) if e.spelling is not None]
            # Aliases known only by their keys (no marks) are compared by letters in every case.
            for entry in own:
                if kind is None or entry.kind == kind:
                    found[entry.target] = ""
            for entry in self.aliases.get(written.folded, []):
                if (kind is None or entry.kind == kind) and entry.target not in found:
                    found[entry.target] = name
        return found

    def official_name(self, readings: list[tuple[str | None, str]]) -> _Target | None:
        """The new commune a name written exactly as the 2025 list has it names, if it is one.

        Exactly means its type word (not a type word missing its marks, which reads two ways) and
        its name with the same marks.
        """
        if len(readings) != 1 or readings[0][0] is None:
            return None
        kind, name = readings[0]
        return self.official.get((kind, spell(name).marked))

    def near(self, readings: list[tuple[str | None, str]]) -> list[_Target]:
        """Places whose names have the same letters, whatever their type and tone marks."""
        found: dict[_Target, None] = {}
        for _kind, name in readings:
            for entry in self.folded.get(compact_key(name), []):
                found[entry.target] = None
        return list(found)


def _entries(
    target: _Target,
    kind: str,
    short_name: str,
    keywords: Iterable[str],
    prefixes: dict[str, str],
) -> list[_Entry]:
    """A unit's own name, and the package's keys for it that say something else."""
    own = spell(short_name)
    entries = [_Entry(kind, own, own.folded, target, own=True)]
    seen = {(kind, own.folded), (None, own.folded)}
    for key_kind, name in _split_keys(keywords, prefixes):
        if (key_kind, name) in seen or not name:
            continue
        seen.add((key_kind, name))
        # A former type of the same name keeps the name's tone marks; another name has none.
        entries.append(_Entry(key_kind, own if name == own.folded else None, name, target))
    return entries


def _split_keys(keys: Iterable[str], prefixes: dict[str, str]) -> list[tuple[str | None, str]]:
    """The package's keys as (type, name): "xanhamson" → ("xa", "nhamson") when "nhamson" is a
    key of the same unit too, else (None, key): "phuongson" is a name, not Phường "son"."""
    keys = {compact_key(k) for k in keys}
    out = []
    for key in sorted(keys):
        for prefix in sorted(prefixes, key=len, reverse=True):
            if key.startswith(prefix) and key[len(prefix) :] in keys:
                out.append((prefixes[prefix], key[len(prefix) :]))
                break
        else:
            out.append((None, key))
    return out


def _district_label(type_name: str, short_name: str) -> str:
    return f"{type_name.lower()} {short_name}".strip()


@dataclass(frozen=True)
class _OldMap:
    """The old map of a province as names: districts, and communes by district."""

    map: LegacyMap
    districts: _Names
    communes_by_district: dict[str, list[_Entry]]

    @classmethod
    def build(cls, old: LegacyMap) -> _OldMap:
        districts = []
        for d in old.districts:
            name = f"{d.type_name} {d.short_name}" if d.name else d.key
            target = _Target(d.searched_in, name)  # its "codes" are the districts searched
            kind = _type_key(d.type_name)
            if d.name:
                districts += _entries(
                    target, kind, d.short_name, d.keywords, _DISTRICT_KEY_PREFIXES
                )
            else:  # known only by the package's keys
                districts += [
                    _Entry(k, None, n, target)
                    for k, n in _split_keys(d.keywords, _DISTRICT_KEY_PREFIXES)
                ]
        by_district: dict[str, list[_Entry]] = defaultdict(list)
        for c in old.communes:
            target = _Target(
                c.new_commune_codes, c.name, _district_label(c.district_type, c.district_short)
            )
            by_district[c.district_key] += _entries(
                target, _type_key(c.type_name), c.short_name, c.keywords, _COMMUNE_KEY_PREFIXES
            )
        return cls(old, _Names(districts), dict(by_district))


@lru_cache(maxsize=64)
def _old_map(province_code: str) -> _OldMap | None:
    try:
        return _OldMap.build(legacy_map(province_code))
    except (KeyError, ValueError):  # a province the package's old map does not cover
        return None


# --- Matching a row's place ----------------------------------------------------------------------


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


class Lookup(NamedTuple):
    """A row's place, and whether the district hint (title block, address column) placed it."""

    place: Place
    hint_used: bool


def _or(labels: list[str]) -> str:
    """ "A, B hoặc C"."""
    if len(labels) == 1:
        return labels[0]
    return _("%(names)s hoặc %(last)s", names=", ".join(labels[:-1]), last=labels[-1])


def _labels(found: dict[_Target, str]) -> list[str]:
    """The places names lead to, one per new commune (by its new name if one was matched)."""
    chosen: dict[tuple[str, ...], _Target] = {}
    for target in found:
        if target.codes not in chosen or (chosen[target.codes].is_old and not target.is_old):
            chosen[target.codes] = target
    labels = [t.label(found[t]) for t in chosen.values()]
    return sorted(labels, key=lambda label: "(" in label)  # new names first


def _candidates(found: dict[_Target, str]) -> str:
    return _or(_labels(found))


def _near(targets: list[_Target]) -> str:
    return ", ".join(_labels(dict.fromkeys(targets, ""))[:6])


@dataclass
class PlaceIndex:
    """The communes and villages of one province, loaded once per import."""

    province: GeoUnit
    communes_by_key: dict[str, list[GeoUnit]]
    communes_by_code: dict[str, GeoUnit]
    villages: dict[tuple[int, str], GeoUnit]
    _cache: dict[tuple[str, str, str, str], tuple[Place | PlaceError, bool]] = field(
        default_factory=dict
    )
    _places: dict[tuple[int, str], Place] = field(default_factory=dict)
    _names: _Names | None = None
    _district_names: dict[tuple[str, ...], _Names] = field(default_factory=dict)
    _hint_matters: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, province_id: int) -> PlaceIndex:
        """Read the province's communes and villages."""
        units = session.exec(select(GeoUnit).where(GeoUnit.province_id == province_id)).all()
        return cls.build(session.get(GeoUnit, province_id), units)

    @classmethod
    def build(cls, province: GeoUnit, units: Iterable[GeoUnit]) -> PlaceIndex:
        """The index of a province's communes and villages, already read."""
        by_key: dict[str, list[GeoUnit]] = {}
        villages = {}
        for unit in units:
            if unit.kind == UnitKind.COMMUNE:
                by_key.setdefault(unit.name_key, []).append(unit)
            elif unit.kind == UnitKind.VILLAGE:
                villages[(unit.parent_id, unit.name_key or village_key(unit.name))] = unit
        codes = {u.code: u for units_ in by_key.values() for u in units_}
        return cls(province, by_key, codes, villages)

    # The names, made on first use.

    @property
    def _old(self) -> _OldMap | None:
        return _old_map(self.province.code)

    def _province_names(self) -> _Names:
        if self._names is None:
            try:
                keywords = {c.code: c.keywords for c in official_communes(self.province.code)}
            except ValueError:
                keywords = {}
            entries = []
            for unit in self.communes_by_code.values():
                short = unit.name
                if unit.type_name and short.lower().startswith(unit.type_name.lower() + " "):
                    short = short[len(unit.type_name) + 1 :]
                entries += _entries(
                    _Target((unit.code,), unit.name),
                    _type_key(unit.type_name),
                    short,
                    keywords.get(unit.code, ()),
                    _COMMUNE_KEY_PREFIXES,
                )
            if self._old is not None:
                for district_entries in self._old.communes_by_district.values():
                    entries += district_entries
            self._names = _Names(entries)
        return self._names

    def _names_in(self, districts: tuple[str, ...]) -> _Names:
        names = self._district_names.get(districts)
        if names is None:
            by_district = self._old.communes_by_district if self._old else {}
            names = _Names(e for d in districts for e in by_district.get(d, []))
            self._district_names[districts] = names
        return names

    # Looking places up.

    def find(self, commune: str, old_district: str = "", village: str = "") -> Place:
        """The place of a row; raises PlaceError with a message for the admin."""
        return self.lookup(commune, old_district, village=village).place

    def lookup(
        self,
        commune: str,
        district: str | None = None,
        district_hint: str | None = None,
        *,
        village: str = "",
        hint_from: str = "title",
    ) -> Lookup:
        """The place of a row, and whether `district_hint` was used to find it.

        `district` is the row's own old district: the commune is then looked for in it only.
        `district_hint` is an old district found elsewhere in the file (the title block, an
        address column), used only when the row gives none: the commune is looked for in it and
        in the whole province, and the two must not disagree. `hint_from` ("title" or "address")
        says where the hint was found, for the message. Raises PlaceError.
        """
        commune, district = (commune or "").strip(), (district or "").strip()
        hint = "" if district else (district_hint or "").strip()
        key = (commune, district, hint, hint_from if hint else "")
        cached = self._cache.get(key)
        if cached is None:
            try:
                cached = self._find_commune(commune, district, hint, hint_from)
            except PlaceError as error:
                cached = (error, False)
            self._cache[key] = cached
        found, hint_used = cached
        if isinstance(found, PlaceError):
            raise found
        name = (village or "").strip()
        # A list names a few thousand villages over and over: their keys are made once.
        place_key = (id(found), name)  # the commune's Place lives in `_cache` as long as this does
        place = self._places.get(place_key)
        if place is None:
            folded = village_key(name) if name else ""
            place = Place(found.commune, name, folded, found.converted_from)
            if len(self._places) < MAX_CACHED_PLACES:  # a file of junk names stays bounded
                self._places[place_key] = place
        return Lookup(place, hint_used)

    def hint_matters(self, commune: str) -> bool:
        """Whether a district hint could change where `commune` is placed (the name alone places
        no one, or an old district holds a namesake that went elsewhere); once per spelling, so
        that only such rows look for a hint in their address."""
        answer = self._hint_matters.get(commune)
        if answer is None:
            answer = self._hint_matters[commune] = self._could_differ((commune or "").strip())
        return answer

    def _could_differ(self, commune: str) -> bool:
        try:
            anywhere = self._in_province(commune)
        except PlaceError:
            return True
        if self._old is None:
            return False
        readings = _readings(commune, _COMMUNE_PATTERNS)
        for district in self._old.communes_by_district:
            found = self._names_in((district,)).match(readings)
            if any(code != anywhere.commune.code for t in found for code in t.codes):
                return True
        return False

    def _find_commune(
        self, commune: str, district: str, hint: str, hint_from: str = "title"
    ) -> tuple[Place, bool]:
        if not commune:
            raise PlaceError(_("Thiếu tên xã, phường."))
        if district:
            return self._in_district(commune, district), False
        if not hint:
            return self._in_province(commune), False
        try:
            hinted = self._in_district(commune, hint)
        except PlaceError:
            return self._in_province(commune), False
        try:
            anywhere = self._in_province(commune)
        except PlaceError:
            return hinted, True
        if anywhere.commune.id == hinted.commune.id:
            return anywhere, False
        where = (
            _("huyện cũ ghi trong địa chỉ") if hint_from == "address" else
            _("huyện cũ ghi ở đầu danh sách")
        )  # fmt: skip
        raise PlaceError(
            _(
                "“%(commune)s” là %(anywhere)s, nhưng trong “%(hint)s” (%(where)s) lại là "
                "%(hinted)s; hãy ghi rõ huyện cũ của dòng này hoặc tên xã, phường mới.",
                commune=commune,
                anywhere=anywhere.commune.name,
                hint=hint,
                where=where,
                hinted=hinted.commune.name,
            )
        )

    def _in_province(self, commune: str) -> Place:
        readings = _readings(commune, _COMMUNE_PATTERNS)
        names = self._province_names()
        official = names.official_name(readings)
        # A new commune's official name, type word and marks as the 2025 list writes them, is
        # that commune: an old unit of the same name is placed with its old district.
        found = {official: ""} if official is not None else names.match(readings)
        if not found:
            near = names.near(readings)
            if near:
                raise PlaceError(
                    _(
                        "Không tìm thấy xã, phường “%(commune)s” trong %(province)s. Tên gần "
                        "giống: %(names)s; hãy ghi đúng tên, loại (xã, phường, thị trấn) và dấu.",
                        commune=commune,
                        province=self.province.name,
                        names=_near(near),
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
        place = self._one(commune, found, district="")
        if place is None:
            raise PlaceError(
                _(
                    "“%(commune)s” có thể là %(candidates)s; hãy ghi rõ loại (xã, phường, thị "
                    "trấn), tên có dấu, hoặc huyện cũ.",
                    commune=commune,
                    candidates=_candidates(found),
                )
            )
        return place

    def _in_district(self, commune: str, district: str) -> Place:
        old = self._old
        provinces = ", ".join(old.map.province_names) if old else self.province.name
        readings = _readings(district, _DISTRICT_PATTERNS)
        targets = old.districts.match(readings) if old else {}
        if not targets:
            near = old.districts.near(readings) if old else []
            if near:
                raise PlaceError(
                    _(
                        "Không tìm thấy huyện cũ “%(district)s” trong %(provinces)s (địa giới "
                        "trước 01/7/2025). Tên gần giống: %(names)s; hãy ghi đúng tên, loại "
                        "(huyện, thị xã, thành phố) và dấu.",
                        district=district,
                        provinces=provinces,
                        names=_near(near),
                    )
                )
            raise PlaceError(
                _(
                    "Không tìm thấy huyện cũ “%(district)s” trong %(provinces)s (địa giới trước "
                    "01/7/2025).",
                    district=district,
                    provinces=provinces,
                )
            )
        searched = tuple(sorted({d for t in targets for d in t.codes}))
        readings = _readings(commune, _COMMUNE_PATTERNS)
        names = self._names_in(searched)
        found = names.match(readings)
        if not found:
            new = self._province_names().match(readings)
            if new and all(not t.is_old for t in new):
                raise PlaceError(
                    _(
                        "“%(commune)s” là tên xã, phường mới (từ 01/7/2025), không có trong "
                        "“%(district)s” cũ: với tên mới, hãy để trống cột huyện cũ.",
                        commune=commune,
                        district=district,
                    )
                )
            near = names.near(readings)
            if near:
                raise PlaceError(
                    _(
                        "Không tìm thấy xã, phường “%(commune)s” thuộc “%(district)s” (địa giới "
                        "trước 01/7/2025). Tên gần giống ở đó: %(names)s; hãy ghi đúng tên, loại "
                        "và dấu.",
                        commune=commune,
                        district=district,
                        names=_near(near),
                    )
                )
            raise PlaceError(
                _(
                    "Không tìm thấy xã, phường “%(commune)s” thuộc “%(district)s” (địa giới trước "
                    "01/7/2025); hãy kiểm tra tên xã và huyện cũ.",
                    commune=commune,
                    district=district,
                )
            )
        place = self._one(commune, found, district=district)
        if place is None:
            raise PlaceError(
                _(
                    "“%(commune)s” thuộc “%(district)s” có thể là %(candidates)s; hãy ghi rõ loại "
                    "(xã, phường, thị trấn) và tên có dấu.",
                    commune=commune,
                    district=district,
                    candidates=_candidates(found),
                )
            )
        return place

    def _one(self, commune: str, found: dict[_Target, str], *, district: str) -> Place | None:
        """The one new commune the matched names lead to; None when they lead to several."""
        codes = sorted({code for target in found for code in target.codes})
        if len(found) > 1 and len(codes) != 1:
            return None
        # One place, or several names (old and new) of the same new commune.
        new = [t for t in found if not t.is_old]
        if new:
            old = ""  # named by its new name: nothing was converted
        else:
            target = next(iter(found))
            old = f"{commune}, {district}" if district else target.label(found[target])
        units = [self.communes_by_code[c] for c in codes if c in self.communes_by_code]
        if not units:
            raise PlaceError(
                _(
                    "%(old)s (địa chỉ cũ) nay không thuộc %(province)s.",
                    old=old or commune,
                    province=self.province.name,
                )
            )
        if len(codes) > 1:
            raise PlaceError(
                _(
                    "%(old)s (địa chỉ cũ) nay được chia cho nhiều xã, phường (%(names)s); "
                    "không xác định được xã mới, hãy ghi tên xã, phường mới.",
                    old=old or commune,
                    names=", ".join(u.name for u in units),
                )
            )
        return Place(units[0], converted_from=old)
