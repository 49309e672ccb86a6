"""Who visits which household: leaders assign villages or households to canvassers and move work.

The worklist reads `Household.assigned_canvasser_id` directly, so an assignment shows on the new
canvasser's list on their next request. Priority scores belong to the household, not to the
canvasser, so an assignment leaves them valid and needs no recomputation: `worklist_for` refreshes
the communes of the canvasser's scope (or, for a wide scope, of the households now assigned to
them) when their scores are not from today, so households that were never scored are scored on
that request rather than hidden with a score of 0.

The workload table counts the work by who did it: households in charge and on the list follow
the current owner (`Household.assigned_canvasser_id`); visits this half-month follow the visitor
(`Visit.canvasser_id`, through `tallies.figures.canvasser_visits`), so an assignment moves
households from one line to another and never a visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import case, func, update
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.i18n import _
from outreach.core.periods import period_containing
from outreach.core.scope import Scope, apply_scope, scope_for
from outreach.core.text import person_key
from outreach.models import GeoUnit, Household, User, Visit
from outreach.models.base import utcnow
from outreach.models.codes import Role, UnitKind
from outreach.tallies.figures import canvasser_visits
from outreach.worklist.service import ensure_fresh

# One request assigns at most this many hand-picked households (a village has a few hundred).
MAX_SELECTED = 2000


class AssignmentError(DomainError):
    """An assignment that cannot be made (the message says why); nothing was changed."""


@dataclass(frozen=True)
class CanvasserLoad:
    """One canvasser's workload within a leader's scope."""

    user: User
    commune_name: str
    assigned: int  # households assigned, in the leader's scope
    on_list: int  # of those, households on the worklist (priority_score > 0)
    visits_this_period: int  # visits the canvasser made this half-month, in the leader's scope
    households_visited_this_period: int  # distinct households of those visits
    last_visit_at: datetime | None  # the canvasser's own latest visit, anywhere
    is_active: bool


def canvassers_in_scope(session: Session, *, scope: Scope, active_only: bool = False) -> list[User]:
    """Canvassers whose own scope unit lies in the leader's scope, by name."""
    stmt = (
        select(User)
        .join(GeoUnit, GeoUnit.id == User.scope_unit_id)
        .where(User.role == Role.CANVASSER)
        .where((GeoUnit.province_id == scope.province_id) | (GeoUnit.id == scope.province_id))
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(User.scope_unit_id.in_(sorted(scope.commune_ids)))
    if active_only:
        stmt = stmt.where(User.is_active)
    return sorted(session.exec(stmt).all(), key=lambda u: (person_key(u.full_name), u.username))


def workload(session: Session, *, scope: Scope, today: date) -> list[CanvasserLoad]:
    """Per canvasser in scope: households assigned and on the list (the owner's), visits and
    households visited this half-month (the visitor's), and their last visit."""
    users = canvassers_in_scope(session, scope=scope)
    if not users:
        return []
    if scope.commune_ids is not None:
        # "On the list" must be today's scores; a province-wide scope relies on the nightly
        # `outreach refresh-priorities` instead of recomputing a whole province on one page.
        ensure_fresh(session, commune_ids=scope.commune_ids, today=today)
    ids = [u.id for u in users]
    on_list = func.sum(case((Household.priority_score > 0, 1), else_=0))
    counts = {
        cid: (int(n), int(listed or 0))
        for cid, n, listed in session.exec(
            apply_scope(
                select(Household.assigned_canvasser_id, func.count(), on_list), Household, scope
            )
            .where(Household.assigned_canvasser_id.in_(ids))
            .group_by(Household.assigned_canvasser_id)
        ).all()
    }
    period = period_containing(today)
    visited = canvasser_visits(
        session, scope=scope, canvasser_ids=ids, first=period.starts_on, last=today
    )
    last = dict(
        session.exec(
            select(Visit.canvasser_id, func.max(Visit.visited_at))
            .where(Visit.canvasser_id.in_(ids))
            .group_by(Visit.canvasser_id)
        ).all()
    )
    names = dict(
        session.exec(
            select(GeoUnit.id, GeoUnit.name).where(GeoUnit.id.in_({u.scope_unit_id for u in users}))
        ).all()
    )
    return [
        CanvasserLoad(
            user=u,
            commune_name=names.get(u.scope_unit_id, ""),
            assigned=counts.get(u.id, (0, 0))[0],
            on_list=counts.get(u.id, (0, 0))[1],
            visits_this_period=visited.get(u.id, (0, 0))[0],
            households_visited_this_period=visited.get(u.id, (0, 0))[1],
            last_visit_at=_aware(last.get(u.id)),
            is_active=u.is_active,
        )
        for u in users
    ]


def _aware(moment: datetime | None) -> datetime | None:
    """Stored timestamps are UTC; SQLite hands them back naive."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def villages_in_scope(session: Session, *, scope: Scope) -> list[tuple[GeoUnit, str]]:
    """(village, commune name) pairs in the leader's scope, by commune then village name."""
    commune = GeoUnit.__table__.alias("commune")
    stmt = (
        select(GeoUnit, commune.c.name)
        .join(commune, commune.c.id == GeoUnit.parent_id)
        .where(GeoUnit.kind == UnitKind.VILLAGE, commune.c.province_id == scope.province_id)
    )
    if scope.commune_ids is not None:
        stmt = stmt.where(GeoUnit.parent_id.in_(sorted(scope.commune_ids)))
    rows = session.exec(stmt.order_by(commune.c.name_key, GeoUnit.code)).all()
    return [(village, name) for village, name in rows]


def _canvasser(
    session: Session, *, scope: Scope, canvasser_id: int | None, active: bool = True
) -> User:
    """A canvasser of the leader's scope (an active one to hand work to), or a refusal."""
    user = session.get(User, canvasser_id) if canvasser_id else None
    if user is None or user.role != Role.CANVASSER:
        raise AssignmentError(_("Không tìm thấy cán bộ vận động này."))
    unit = session.get(GeoUnit, user.scope_unit_id)
    if unit is None or (unit.province_id or unit.id) != scope.province_id:
        raise AssignmentError(_("Cán bộ này không thuộc phạm vi của bạn."))
    if scope.commune_ids is not None and user.scope_unit_id not in scope.commune_ids:
        raise AssignmentError(_("Cán bộ này không thuộc phạm vi của bạn."))
    if active and not user.is_active:
        raise AssignmentError(
            _(
                "Tài khoản của %(name)s đang bị khóa: không thể giao thêm việc.",
                name=user.full_name,
            )
        )
    return user


def _check_communes(
    session: Session, *, canvasser: User, commune_ids: Iterable[int]
) -> frozenset[int]:
    """Refuse when the canvasser's own scope does not cover every commune of the households."""
    communes = frozenset(commune_ids)
    theirs = scope_for(session, canvasser)
    outside = [c for c in communes if not theirs.covers_commune(c)]
    if outside:
        name = session.get(GeoUnit, outside[0])
        raise AssignmentError(
            _(
                "%(name)s không phụ trách %(commune)s: hãy chọn cán bộ của xã đó.",
                name=canvasser.full_name,
                commune=name.name if name else _("xã này"),
            )
        )
    return communes


def _reassign(
    session: Session,
    *,
    scope: Scope,
    condition,
    canvasser: User,
    communes: frozenset[int],
    by_user: User,
    detail: dict,
) -> int:
    """Point the matching households in scope at the canvasser, audit it, commit; the count moved."""
    ids = list(session.exec(apply_scope(select(Household.id), Household, scope).where(condition)))
    if ids:
        session.execute(
            update(Household)
            .where(Household.id.in_(ids))
            .values(assigned_canvasser_id=canvasser.id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    record_event(
        session,
        action="assign",
        user_id=by_user.id,
        username=by_user.username,
        object_type=detail.pop("object_type"),
        object_id=detail.pop("object_id"),
        detail={
            **detail,
            "to_canvasser_id": canvasser.id,
            "communes": sorted(communes),
            "households": len(ids),
        },
    )
    session.flush()
    return len(ids)


def assign_village(
    session: Session,
    *,
    scope: Scope,
    village_id: int | None,
    canvasser_id: int | None,
    by_user: User,
) -> int:
    """Give every household of a village in scope to an active canvasser; returns how many."""
    village = session.get(GeoUnit, village_id) if village_id else None
    if (
        village is None
        or village.kind != UnitKind.VILLAGE
        or village.province_id != scope.province_id
        or not scope.covers_commune(village.parent_id)
    ):
        raise AssignmentError(_("Thôn, tổ dân phố này không thuộc phạm vi của bạn."))
    canvasser = _canvasser(session, scope=scope, canvasser_id=canvasser_id)
    communes = _check_communes(session, canvasser=canvasser, commune_ids=[village.parent_id])
    return _reassign(
        session,
        scope=scope,
        condition=Household.village_id == village.id,
        canvasser=canvasser,
        communes=communes,
        by_user=by_user,
        detail={"object_type": "village", "object_id": village.id},
    )


def assign_households(
    session: Session,
    *,
    scope: Scope,
    household_ids: Iterable[int],
    canvasser_id: int | None,
    by_user: User,
) -> int:
    """Give hand-picked households in scope to an active canvasser, all or none; returns how many."""
    ids = sorted(set(household_ids))
    if not ids:
        raise AssignmentError(_("Hãy chọn ít nhất một hộ."))
    if len(ids) > MAX_SELECTED:
        most = f"{MAX_SELECTED:,}".replace(",", ".")
        raise AssignmentError(_("Mỗi lần chỉ giao được tối đa %(count)s hộ.", count=most))
    found = session.exec(
        apply_scope(select(Household.id, Household.commune_id), Household, scope).where(
            Household.id.in_(ids)
        )
    ).all()
    if len(found) != len(ids):
        raise AssignmentError(_("Có hộ không thuộc phạm vi của bạn; chưa giao hộ nào."))
    canvasser = _canvasser(session, scope=scope, canvasser_id=canvasser_id)
    communes = _check_communes(session, canvasser=canvasser, commune_ids=[c for _, c in found])
    return _reassign(
        session,
        scope=scope,
        condition=Household.id.in_(ids),
        canvasser=canvasser,
        communes=communes,
        by_user=by_user,
        detail={"object_type": "households", "object_id": len(ids), "household_ids": ids[:200]},
    )


def move_work(
    session: Session,
    *,
    scope: Scope,
    from_canvasser_id: int | None,
    to_canvasser_id: int | None,
    by_user: User,
) -> int:
    """Hand all of one canvasser's households in scope (say, one who left) to another; how many."""
    source = _canvasser(session, scope=scope, canvasser_id=from_canvasser_id, active=False)
    if from_canvasser_id == to_canvasser_id:
        raise AssignmentError(_("Hãy chọn hai cán bộ khác nhau."))
    canvasser = _canvasser(session, scope=scope, canvasser_id=to_canvasser_id)
    mine = apply_scope(select(Household.commune_id), Household, scope).where(
        Household.assigned_canvasser_id == source.id
    )
    communes = _check_communes(
        session, canvasser=canvasser, commune_ids=session.exec(mine.distinct()).all()
    )
    return _reassign(
        session,
        scope=scope,
        condition=Household.assigned_canvasser_id == source.id,
        canvasser=canvasser,
        communes=communes,
        by_user=by_user,
        detail={"object_type": "canvasser", "object_id": source.id},
    )


def households_of_village(
    session: Session, *, scope: Scope, village_id: int, limit: int = 500
) -> list[tuple[Household, str]]:
    """A village's households in scope with their canvasser's name, for picking some to assign."""
    stmt = (
        apply_scope(select(Household, User.full_name), Household, scope)
        .outerjoin(User, User.id == Household.assigned_canvasser_id)
        .where(Household.village_id == village_id)
        .order_by(Household.address, Household.id)
        .limit(limit)
    )
    return [(h, name or "") for h, name in session.exec(stmt).all()]
