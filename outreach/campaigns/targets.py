"""Campaign targets (chỉ tiêu) per commune and village: set in a form, or imported from a sheet.

A target is two whole numbers for one unit and campaign: new participants and renewals. A
commune without a target of its own takes the sum of its villages' targets where any village has
one ("effective" target); a village has only its own. Every change is checked against the
leader's scope, and a sheet is written all-or-nothing: one bad row and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.scope import Scope
from outreach.core.text import compact_key, place_key
from outreach.geography.places import PlaceError, PlaceIndex
from outreach.geography.spelling import village_key
from outreach.imports.reading import ImportFileError
from outreach.imports.reading.readers import open_table
from outreach.models import Campaign, GeoUnit, Target
from outreach.models.codes import UnitKind

# Far above any commune's caseload, and well inside the INTEGER column on PostgreSQL.
MAX_TARGET = 10_000_000
# "1200", "1.200" or "1 200" as typed in Vietnam; "1,5" or "-3" are not whole counts.
_WHOLE = re.compile(r"^\d{1,3}(?:[. ]\d{3})+$|^\d+$")
HEADER_SCAN_ROWS = 20  # a title and notes may sit above the header
# A province has a few thousand communes and villages: a longer sheet is not a targets sheet (and
# is not read on, whatever it holds further down).
MAX_SHEET_ROWS = 20_000
COLUMNS = {
    "code": ("madonvi", "ma"),
    "commune": ("xaphuong", "xa", "phuong", "xaphuongdackhu"),
    "village": ("thon", "thontodanpho", "todanpho"),
    "new": ("chitieuthamgiamoi",),
    "renewals": ("chitieudongtiep",),
}


class TargetError(DomainError):
    """A target that cannot be set, with a message for the leader (in their language)."""


class OutOfScope(LookupError):
    """The unit does not exist for this user (another commune, another province): answer 404."""


class TargetImportError(DomainError):
    """A sheet that cannot be imported; `errors` lists every problem by row."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Numbers:
    """A target's two numbers."""

    new_participants: int
    renewals: int

    @property
    def total(self) -> int:
        """New participants and renewals together (the ranking's denominator)."""
        return self.new_participants + self.renewals


@dataclass
class TargetLine:
    """One unit on the targets page: its own target, its villages' sum, and what counts."""

    unit: GeoUnit
    own: Numbers | None
    villages: Numbers | None  # communes only: the sum over villages that have a target
    villages_set: int  # how many villages have a target

    @property
    def effective(self) -> Numbers | None:
        """The unit's own target, else (communes) its villages' sum."""
        return self.own if self.own is not None else self.villages


def parse_count(value: object, label: str) -> int:
    """A non-negative whole number from a form field or a sheet cell; TargetError otherwise.

    `label` names the field in the messages (already translated, or a lazy `_l` text).
    """
    if isinstance(value, bool):
        raise TargetError(_("%(label)s phải là số nguyên không âm.", label=label))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = ("" if value is None else str(value)).strip()
        if not text:
            raise TargetError(_("Chưa nhập %(label)s.", label=str(label).lower()))
        if not _WHOLE.match(text):
            raise TargetError(
                _(
                    "%(label)s phải là số nguyên không âm (nhận được “%(text)s”).",
                    label=label,
                    text=text,
                )
            )
        number = int(text.replace(".", "").replace(" ", ""))
    if number < 0:
        raise TargetError(
            _(
                "%(label)s phải là số nguyên không âm (nhận được “%(text)s”).",
                label=label,
                text=value,
            )
        )
    if number > MAX_TARGET:
        most = f"{MAX_TARGET:,}".replace(",", ".")
        raise TargetError(_("%(label)s quá lớn (tối đa %(max)s).", label=label, max=most))
    return number


def _commune_of(unit: GeoUnit) -> int:
    return unit.parent_id if unit.kind == UnitKind.VILLAGE else unit.id


def check_unit(*, campaign: Campaign, unit: GeoUnit | None, scope: Scope) -> GeoUnit:
    """The unit, if a target may be set on it by this scope; OutOfScope or TargetError otherwise."""
    # Units of another province or outside the leader's communes are "not found", never "forbidden",
    # so a guessed id says nothing about what exists.
    if (
        unit is None
        or scope.province_id != campaign.province_id
        or unit.province_id != campaign.province_id
    ):
        raise OutOfScope("unit outside the campaign's province")
    if unit.kind not in (UnitKind.COMMUNE, UnitKind.VILLAGE):
        raise TargetError(_("Chỉ đặt chỉ tiêu cho xã, phường hoặc thôn, tổ dân phố."))
    if not scope.covers_commune(_commune_of(unit)):
        raise OutOfScope("unit outside the user's scope")
    return unit


def _own_targets(session: Session, campaign_id: int, unit_ids: list[int]) -> dict[int, Target]:
    if not unit_ids:
        return {}
    rows = session.exec(
        select(Target)
        .where(Target.campaign_id == campaign_id, Target.unit_id.in_(unit_ids))
        .order_by(Target.id)
    ).all()
    out: dict[int, Target] = {}
    for row in rows:
        out.setdefault(row.unit_id, row)  # the first row wins, as everywhere else
    return out


def set_target(
    session: Session,
    *,
    campaign: Campaign,
    unit: GeoUnit | None,
    new_participants: object,
    renewals: object,
    scope: Scope,
) -> Target:
    """Create or change a unit's target (flushed; the caller commits)."""
    unit = check_unit(campaign=campaign, unit=unit, scope=scope)
    new = parse_count(new_participants, _("Chỉ tiêu tham gia mới"))
    renew = parse_count(renewals, _("Chỉ tiêu đóng tiếp"))
    target = _own_targets(session, campaign.id, [unit.id]).get(unit.id)
    if target is None:
        target = Target(campaign_id=campaign.id, unit_id=unit.id)
    target.new_participants, target.renewals = new, renew
    session.add(target)
    session.flush()
    return target


def clear_target(
    session: Session, *, campaign: Campaign, unit: GeoUnit | None, scope: Scope
) -> bool:
    """Remove a unit's own target (a commune then falls back to its villages'); flushed."""
    unit = check_unit(campaign=campaign, unit=unit, scope=scope)
    rows = session.exec(
        select(Target).where(Target.campaign_id == campaign.id, Target.unit_id == unit.id)
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return bool(rows)


def _numbers(target: Target | None) -> Numbers | None:
    return None if target is None else Numbers(target.new_participants, target.renewals)


def effective_targets(
    session: Session, *, campaign: Campaign, units: list[GeoUnit]
) -> dict[int, Numbers]:
    """The effective target of each commune or village that has one (see `effective_target`)."""
    return {
        line.unit.id: line.effective
        for line in _lines(session, campaign, units)
        if line.effective is not None
    }


def effective_target(session: Session, *, campaign: Campaign, unit: GeoUnit) -> Numbers | None:
    """A unit's own target; for a commune without one, the sum of its villages' where set."""
    return effective_targets(session, campaign=campaign, units=[unit]).get(unit.id)


def targets_for(
    session: Session, *, campaign: Campaign, scope: Scope, commune_id: int | None = None
) -> list[TargetLine]:
    """The lines of the targets page: a commune and its villages, or the communes of the scope."""
    if scope.commune_ids is not None and len(scope.commune_ids) == 1 and commune_id is None:
        commune_id = next(iter(scope.commune_ids))
    if commune_id is not None:
        commune = session.get(GeoUnit, commune_id)
        check_unit(campaign=campaign, unit=commune, scope=scope)
        if commune.kind != UnitKind.COMMUNE:
            raise OutOfScope("not a commune")
        children = session.exec(
            select(GeoUnit).where(GeoUnit.parent_id == commune.id, GeoUnit.kind == UnitKind.VILLAGE)
        ).all()
        units = [commune, *sorted(children, key=lambda u: place_key(u.name, u.type_name))]
    else:
        stmt = select(GeoUnit).where(
            GeoUnit.province_id == campaign.province_id, GeoUnit.kind == UnitKind.COMMUNE
        )
        if scope.commune_ids is not None:
            stmt = stmt.where(GeoUnit.id.in_(sorted(scope.commune_ids)))
        units = sorted(session.exec(stmt).all(), key=lambda u: place_key(u.name, u.type_name))
    return _lines(session, campaign, units)


def _lines(session: Session, campaign: Campaign, units: list[GeoUnit]) -> list[TargetLine]:
    communes = [u.id for u in units if u.kind == UnitKind.COMMUNE]
    villages = (
        session.exec(
            select(GeoUnit.id, GeoUnit.parent_id).where(
                GeoUnit.parent_id.in_(communes), GeoUnit.kind == UnitKind.VILLAGE
            )
        ).all()
        if communes
        else []
    )
    own = _own_targets(session, campaign.id, [u.id for u in units] + [v for v, _ in villages])
    sums: dict[int, list[int]] = {}
    for village_id, commune_id in villages:
        if village_id in own:
            total = sums.setdefault(commune_id, [0, 0, 0])
            total[0] += own[village_id].new_participants
            total[1] += own[village_id].renewals
            total[2] += 1
    lines = []
    for unit in units:
        summed = sums.get(unit.id)
        lines.append(
            TargetLine(
                unit=unit,
                own=_numbers(own.get(unit.id)),
                villages=Numbers(summed[0], summed[1]) if summed else None,
                villages_set=summed[2] if summed else 0,
            )
        )
    return lines


# --- the sheet ----------------------------------------------------------------------------------


def _header_columns(row: list) -> dict[str, int]:
    keys = [compact_key(str(cell)) if cell is not None else "" for cell in row]
    columns: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for index, key in enumerate(keys):
            if key in aliases and name not in columns:
                columns[name] = index
    return columns


def _find_header(rows: list[list]) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns = _header_columns(list(row))
        has_unit = "code" in columns or "commune" in columns
        if has_unit and "new" in columns and "renewals" in columns:
            return index, columns
    raise TargetImportError(
        [
            _(
                "Không tìm thấy dòng tiêu đề: tệp cần các cột “Mã đơn vị” (hoặc “Xã, phường” và "
                "“Thôn”), “Chỉ tiêu tham gia mới” và “Chỉ tiêu đóng tiếp”."
            )
        ]
    )


def _cell(row: list, index: int | None) -> object:
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value.strip() if isinstance(value, str) else value


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number: 7210.0 → "7210"
    return str(value).strip()


class _Units:
    """The campaign province's communes and villages, to find a sheet row's unit."""

    def __init__(self, session: Session, campaign: Campaign) -> None:
        self.places = PlaceIndex.load(session, province_id=campaign.province_id)
        units = session.exec(
            select(GeoUnit).where(
                GeoUnit.province_id == campaign.province_id,
                GeoUnit.kind.in_([UnitKind.COMMUNE, UnitKind.VILLAGE]),
            )
        ).all()
        self.by_code: dict[str, list[GeoUnit]] = {}
        for unit in units:
            self.by_code.setdefault(unit.code, []).append(unit)

    def find(self, code: str, commune: str, village: str) -> GeoUnit:
        if code:
            # Commune codes are national (5 digits); "7210" from a number cell is "07210".
            found = self.by_code.get(code) or self.by_code.get(code.zfill(5)) or []
            if len(found) != 1:
                raise TargetError(_("Không tìm thấy đơn vị có mã “%(code)s”.", code=code))
            return found[0]
        try:
            place = self.places.find(commune, village=village)
        except PlaceError as error:
            raise TargetError(str(error)) from None
        if not village:
            return place.commune
        unit = self.places.villages.get((place.commune.id, village_key(village)))
        if unit is None:
            raise TargetError(
                _(
                    "Không tìm thấy thôn, tổ dân phố “%(village)s” thuộc %(commune)s.",
                    village=village,
                    commune=place.commune.name,
                )
            )
        return unit


def import_targets(
    session: Session, *, campaign: Campaign, data: bytes, filename: str, scope: Scope
) -> int:
    """Set the targets a sheet lists, all or nothing (flushed; the caller commits): rows written.

    The sheet is read row by row by the imports' bounded reader (`open_table`): nothing in it is
    expanded past the limits of `imports/reading/cells.py` (a value at XFD1048576 is refused, not
    allocated), and no more than `MAX_SHEET_ROWS` rows are read."""
    errors: list[str] = []
    wanted: dict[int, tuple[GeoUnit, int, int, int]] = {}
    try:
        with open_table(data, filename) as table:
            table.extend_head(HEADER_SCAN_ROWS)
            header_index, columns = _find_header(table.head)
            units = _Units(session, campaign)
            for index, row in enumerate(table):
                number = index + 1  # the row number the spreadsheet shows
                if number > MAX_SHEET_ROWS:
                    most = f"{MAX_SHEET_ROWS:,}".replace(",", ".")
                    raise TargetImportError(
                        [
                            _(
                                "Tệp quá dài (hơn %(max)s dòng): đây không phải bảng chỉ tiêu.",
                                max=most,
                            )
                        ]
                    )
                if index > header_index:
                    _target_row(row, number, columns, units, campaign, scope, wanted, errors)
    except ImportFileError as error:
        raise TargetImportError([error.message]) from None
    if errors:
        raise TargetImportError(errors)
    if not wanted:
        raise TargetImportError([_("Tệp không có dòng chỉ tiêu nào.")])
    own = _own_targets(session, campaign.id, list(wanted))
    for unit_id, (_unit, new, renew, _number) in wanted.items():
        target = own.get(unit_id) or Target(campaign_id=campaign.id, unit_id=unit_id)
        target.new_participants, target.renewals = new, renew
        session.add(target)
    session.flush()
    return len(wanted)


def _target_row(
    row: list,
    number: int,
    columns: dict[str, int],
    units: _Units,
    campaign: Campaign,
    scope: Scope,
    wanted: dict[int, tuple[GeoUnit, int, int, int]],
    errors: list[str],
) -> None:
    """One row of the sheet into `wanted`, or its problem into `errors`."""
    code = _text(_cell(row, columns.get("code")))
    commune = _text(_cell(row, columns.get("commune")))
    village = _text(_cell(row, columns.get("village")))
    new, renew = _cell(row, columns["new"]), _cell(row, columns["renewals"])
    if not (code or commune or village) and new in (None, "") and renew in (None, ""):
        return  # a blank line between blocks
    try:
        unit = units.find(code, commune, village)
        try:
            check_unit(campaign=campaign, unit=unit, scope=scope)
        except OutOfScope:
            raise TargetError(
                _("%(unit)s nằm ngoài phạm vi bạn quản lý.", unit=unit.name)
            ) from None
        if unit.id in wanted:
            raise TargetError(
                _("%(unit)s đã có ở dòng %(row)s.", unit=unit.name, row=wanted[unit.id][3])
            )
        wanted[unit.id] = (
            unit,
            parse_count(new, _("Chỉ tiêu tham gia mới")),
            parse_count(renew, _("Chỉ tiêu đóng tiếp")),
            number,
        )
    except TargetError as error:
        errors.append(_("Dòng %(row)s: %(error)s", row=number, error=error))
