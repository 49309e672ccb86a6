"""The units a steering-committee member follows (issue 24): chosen by an admin, read by the scope.

"Thành viên Ban chỉ đạo bám sát các đơn vị được phân công phụ trách": a leader may follow a set
of communes and old-district groups anywhere in their province; their scope is then exactly the
communes under those units (`core.scope.scope_for`), on every page, list and export.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, delete, select

from outreach.accounts.service import AccountError, _admin_province, _audit, _managed_user
from outreach.core.i18n import _
from outreach.core.text import place_key
from outreach.models import FollowedUnit, GeoUnit, User
from outreach.models.codes import Role, UnitKind

FOLLOWABLE = (UnitKind.GROUP, UnitKind.COMMUNE)
MAX_FOLLOWED = 200


def followable_units(session: Session, *, province_id: int) -> list[GeoUnit]:
    """The province's old-district groups, then its communes, each in Vietnamese order."""
    units = session.exec(
        select(GeoUnit).where(GeoUnit.province_id == province_id, GeoUnit.kind.in_(FOLLOWABLE))
    ).all()
    return sorted(units, key=lambda u: (u.kind != UnitKind.GROUP, place_key(u.name, u.type_name)))


def followed_units(session: Session, *, user_id: int) -> list[GeoUnit]:
    """The units a user follows, in Vietnamese order (none: their scope unit alone counts)."""
    units = session.exec(
        select(GeoUnit)
        .join(FollowedUnit, FollowedUnit.unit_id == GeoUnit.id)
        .where(FollowedUnit.user_id == user_id)
    ).all()
    return sorted(units, key=lambda u: (u.kind != UnitKind.GROUP, place_key(u.name, u.type_name)))


def set_followed_units(
    session: Session, *, user_id: int, unit_ids: Sequence[int], by_user: User
) -> list[GeoUnit]:
    """Set the units a leader of the admin's province follows (an empty list: none). Audited."""
    user: User = _managed_user(session, user_id=user_id, by_user=by_user)
    wanted = sorted(set(unit_ids))
    if wanted and user.role != Role.LEADER:
        raise AccountError(_("Chỉ lãnh đạo mới theo dõi được một nhóm đơn vị."))
    if len(wanted) > MAX_FOLLOWED:
        raise AccountError(_("Chọn tối đa %(n)s đơn vị.", n=MAX_FOLLOWED))
    province_id = _admin_province(session, by_user)
    units = session.exec(select(GeoUnit).where(GeoUnit.id.in_(wanted))).all() if wanted else []
    if len(units) != len(wanted) or any(
        u.province_id != province_id or u.kind not in FOLLOWABLE for u in units
    ):
        raise AccountError(_("Chỉ chọn được xã, phường hoặc cụm của tỉnh mình."))
    session.exec(delete(FollowedUnit).where(FollowedUnit.user_id == user.id))
    for unit_id in wanted:
        session.add(FollowedUnit(user_id=user.id, unit_id=unit_id))
    _audit(session, by_user, "followed_units_changed", user, {"units": wanted})
    session.flush()
    return followed_units(session, user_id=user.id)
