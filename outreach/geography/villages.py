"""Villages (thôn, tổ dân phố) as admins maintain them: rename, merge, move to another commune.

Villages have no national code list (brief §3): they come from the imported lists, so the same
place may arrive under two spellings, or a village may belong to a commune the list got wrong.
Each change here is one transaction and audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.text import place_key
from outreach.geography.spelling import village_key
from outreach.models import GeoUnit, Household, Person, Target, User, Visit, VisitOutcome
from outreach.models.base import utcnow
from outreach.models.codes import UnitKind
from outreach.worklist.service import mark_stale

# The words a village name starts with, longest first ("Tổ dân phố" before "Tổ").
VILLAGE_TYPES = ("Tổ dân phố", "Khu phố", "Thôn", "Xóm", "Bản", "Buôn", "Làng", "Ấp", "Khu", "Tổ")


def _type_name(name: str) -> str:
    folded = name.casefold()
    return next((t for t in VILLAGE_TYPES if folded.startswith(t.casefold() + " ")), "")


class VillageError(DomainError):
    """A village change was refused; the message is in the user's language and shown as is."""


@dataclass(frozen=True)
class VillageRow:
    """A village of a commune with how many households live in it."""

    village: GeoUnit
    households: int


def _province_of(unit: GeoUnit) -> int:
    return unit.province_id or unit.id


def _village(session: Session, village_id: int, province_id: int) -> GeoUnit:
    unit = session.get(GeoUnit, village_id)
    if unit is None or unit.kind != UnitKind.VILLAGE or _province_of(unit) != province_id:
        raise VillageError(_("Không tìm thấy thôn, tổ dân phố."))
    return unit


def _commune(session: Session, commune_id: int, province_id: int) -> GeoUnit:
    unit = session.get(GeoUnit, commune_id)
    if unit is None or unit.kind != UnitKind.COMMUNE or _province_of(unit) != province_id:
        raise VillageError(_("Không tìm thấy xã, phường, đặc khu."))
    return unit


def _same_key_sibling(
    session: Session, *, commune_id: int, key: str, except_ids: Iterable[int]
) -> GeoUnit | None:
    """Another village of the commune that imports would confuse with this name."""
    return session.exec(
        select(GeoUnit).where(
            GeoUnit.parent_id == commune_id,
            GeoUnit.kind == UnitKind.VILLAGE,
            GeoUnit.name_key == key,
            GeoUnit.id.not_in(list(except_ids)),
        )
    ).first()


def _audit(session: Session, by_user: User | None, action: str, unit: GeoUnit, detail: dict):
    record_event(
        session,
        action=action,
        user_id=by_user.id if by_user else None,
        username=by_user.username if by_user else "",
        object_type="village",
        object_id=unit.id,
        detail=detail,
    )


def villages_of(session: Session, *, commune_id: int) -> list[VillageRow]:
    """A commune's villages by name, with their household counts."""
    counts = dict(
        session.exec(
            select(Household.village_id, func.count())
            .where(Household.commune_id == commune_id, Household.village_id.is_not(None))
            .group_by(Household.village_id)
        ).all()
    )
    villages = session.exec(
        select(GeoUnit).where(GeoUnit.parent_id == commune_id, GeoUnit.kind == UnitKind.VILLAGE)
    ).all()
    villages = sorted(villages, key=lambda v: place_key(v.name, v.type_name))
    return [VillageRow(v, counts.get(v.id, 0)) for v in villages]


def rename_village(
    session: Session, *, village_id: int, name: str, province_id: int, by_user: User | None = None
) -> GeoUnit:
    """Give a village a new name (and the matching key imports look it up by)."""
    village = _village(session, village_id, province_id)
    name = " ".join(name.split())
    if not name:
        raise VillageError(_("Hãy nhập tên thôn, tổ dân phố."))
    if len(name) > 200:
        raise VillageError(_("Tên thôn, tổ dân phố tối đa 200 ký tự."))
    key = village_key(name)
    if not key:
        raise VillageError(_("Tên thôn, tổ dân phố cần có chữ hoặc số."))
    twin = _same_key_sibling(
        session, commune_id=village.parent_id, key=key, except_ids=[village.id]
    )
    if twin is not None:
        raise VillageError(
            _(
                "Xã đã có “%(name)s” trùng tên này; hãy gộp hai thôn thay vì đổi tên.",
                name=twin.name,
            )
        )
    old = village.name
    if old != name:
        village.name = name
        village.name_key = key
        village.type_name = _type_name(name)
        session.add(village)
        _audit(session, by_user, "village_renamed", village, {"from": old, "to": name})
    session.flush()
    return village


def merge_villages(
    session: Session,
    *,
    into_id: int,
    from_ids: Iterable[int],
    province_id: int,
    by_user: User | None = None,
) -> int:
    """Move the households of `from_ids` into `into_id` and remove those villages.

    Only villages of the same commune merge. Returns how many households moved.
    """
    into = _village(session, into_id, province_id)
    ids = sorted({int(i) for i in from_ids} - {into.id})
    if not ids:
        raise VillageError(_("Hãy chọn ít nhất một thôn khác để gộp vào."))
    merged = [_village(session, i, province_id) for i in ids]
    if any(v.parent_id != into.parent_id for v in merged):
        raise VillageError(_("Chỉ gộp được các thôn, tổ dân phố trong cùng một xã."))
    if session.exec(select(User.id).where(User.scope_unit_id.in_(ids))).first() is not None:
        raise VillageError(
            _("Có người dùng đang có phạm vi là thôn bị gộp; hãy đổi phạm vi trước.")
        )
    moved = session.execute(
        update(Household)
        .where(Household.village_id.in_(ids))
        .values(village_id=into.id, updated_at=utcnow())
    ).rowcount
    # Past visits counted in a merged village count in the surviving one (the dashboard's rows).
    for model in (Visit, VisitOutcome):
        session.execute(update(model).where(model.village_id.in_(ids)).values(village_id=into.id))
    _merge_targets(session, into=into, ids=ids)
    for village in merged:
        session.delete(village)
    _audit(
        session,
        by_user,
        "villages_merged",
        into,
        {"into": into.name, "from": [v.name for v in merged], "households": moved},
    )
    session.flush()
    return moved


def _merge_targets(session: Session, *, into: GeoUnit, ids: list[int]) -> None:
    """Targets set on merged villages (if a leader set any) add up on the surviving one."""
    rows = session.exec(select(Target).where(Target.unit_id.in_(ids))).all()
    for row in rows:
        survivor = session.exec(
            select(Target).where(Target.campaign_id == row.campaign_id, Target.unit_id == into.id)
        ).first()
        if survivor is None:
            survivor = Target(campaign_id=row.campaign_id, unit_id=into.id)
            survivor.new_participants = survivor.renewals = 0
        survivor.new_participants += row.new_participants
        survivor.renewals += row.renewals
        session.add(survivor)
        session.delete(row)
        session.flush()


def move_village(
    session: Session,
    *,
    village_id: int,
    to_commune_id: int,
    province_id: int,
    by_user: User | None = None,
) -> int:
    """Move a village, its households and their persons to another commune of the province.

    Visits and payments keep the commune they were recorded in (history does not move). The
    households lose their canvasser, who works in the old commune; both communes' worklists are
    recomputed on their next request. Returns how many households moved.
    """
    village = _village(session, village_id, province_id)
    to_commune = _commune(session, to_commune_id, province_id)
    from_commune_id = village.parent_id
    if to_commune.id == from_commune_id:
        raise VillageError(_("Thôn này đã thuộc xã được chọn."))
    twin = _same_key_sibling(
        session,
        commune_id=to_commune.id,
        key=village.name_key or village_key(village.name),
        except_ids=[village.id],
    )
    if twin is not None:
        raise VillageError(
            _(
                "%(commune)s đã có “%(name)s”; hãy đổi tên trước khi chuyển.",
                commune=to_commune.name,
                name=twin.name,
            )
        )
    household_ids = select(Household.id).where(Household.village_id == village.id)
    session.execute(
        update(Person)
        .where(Person.household_id.in_(household_ids))
        # updated_at stays: it says when the lists last changed the person's facts (priority).
        .values(commune_id=to_commune.id)
    )
    moved = session.execute(
        update(Household)
        .where(Household.village_id == village.id)
        .values(commune_id=to_commune.id, assigned_canvasser_id=None, updated_at=utcnow())
    ).rowcount
    village.parent_id = to_commune.id
    # Codes read "<commune code>-…"; the id keeps the new code unique in the tree.
    village.code = f"{to_commune.code}-v{village.id}"
    session.add(village)
    mark_stale(session, commune_ids=[from_commune_id, to_commune.id])
    from_commune = session.get(GeoUnit, from_commune_id)
    _audit(
        session,
        by_user,
        "village_moved",
        village,
        {
            "village": village.name,
            "from": from_commune.name if from_commune else from_commune_id,
            "to": to_commune.name,
            "households": moved,
        },
    )
    session.flush()
    return moved
