"""Advisory teams: canvassers of one commune who canvass as one (issue 24).

A team's households are those assigned to any of its members: they are on every member's
worklist (`teammates`), so a visit by one member shows to the others at once (it updates the
household itself). A canvasser is in one team at most. Leaders follow the teams on a scoreboard
counted by the read model (`tallies.figures.canvasser_counts`, grouped by team) against each
team's own targets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.formatting import format_number
from outreach.core.i18n import _
from outreach.core.scope import Scope, commune_condition, within_scope
from outreach.core.text import person_key, place_key, vietnamese_key
from outreach.models import GeoUnit, Team, TeamMember, User, Visit, VisitOutcome
from outreach.models.codes import Outcome, Role, UnitKind
from outreach.tallies.figures import canvasser_counts, visited_between
from outreach.worklist.service import promise_kept

MAX_NAME = 120
MAX_TARGET = 1_000_000


class TeamError(DomainError):
    """A team that cannot be saved as asked (the message says why, in Vietnamese)."""


@dataclass(frozen=True)
class Member:
    """A team member as the pages show them."""

    id: int
    name: str
    username: str


@dataclass(frozen=True)
class TeamView:
    """A team with its commune and members, for the leaders' pages."""

    id: int
    name: str
    commune_id: int
    commune_name: str
    target_new: int
    target_renewals: int
    members: tuple[Member, ...]


@dataclass(frozen=True)
class TeamScore:
    """One team's line on the scoreboard (figures as docs/figures.md defines them)."""

    team: TeamView
    visits: int
    households: int
    new: int
    renewals: int
    promises: int
    promises_kept: int

    @property
    def target(self) -> int:
        """New participants and renewals the team should reach (0: no target set)."""
        return self.team.target_new + self.team.target_renewals

    @property
    def progress(self) -> float | None:
        """(new + renewals) / target, or None without a target."""
        return (self.new + self.renewals) / self.target if self.target else None


def _commune_in_scope(session: Session, *, scope: Scope, commune_id: int | None) -> GeoUnit:
    unit = session.get(GeoUnit, commune_id) if commune_id else None
    if (
        unit is None
        or unit.kind != UnitKind.COMMUNE
        or unit.province_id != scope.province_id
        or not scope.covers_commune(unit.id)
    ):
        raise TeamError(_("Hãy chọn một xã, phường trong phạm vi của bạn."))
    return unit


def team_in_scope(session: Session, *, scope: Scope, team_id: int) -> Team | None:
    """The team, if its commune is in the scope; None otherwise (the page answers 404)."""
    team = session.get(Team, team_id)
    if team is None:
        return None
    unit = session.get(GeoUnit, team.commune_id)
    if unit is None or unit.province_id != scope.province_id:
        return None
    return team if scope.covers_commune(team.commune_id) else None


def _members_of(session: Session, team_ids: Sequence[int]) -> dict[int, list[Member]]:
    out: dict[int, list[Member]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return out
    rows = session.exec(
        select(TeamMember.team_id, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id.in_(list(team_ids)))
    ).all()
    for team_id, user in rows:
        out[team_id].append(Member(user.id, user.full_name or user.username, user.username))
    for members in out.values():
        members.sort(key=lambda m: person_key(m.name))
    return out


def teams_in(session: Session, *, scope: Scope) -> list[TeamView]:
    """The teams of the scope's communes, by commune then team name (Vietnamese order)."""
    rows = session.exec(
        select(Team, GeoUnit)
        .join(GeoUnit, GeoUnit.id == Team.commune_id)
        .where(GeoUnit.province_id == scope.province_id, *commune_condition(Team.commune_id, scope))
    ).all()
    members = _members_of(session, [team.id for team, _unit in rows])
    views = [
        TeamView(
            id=team.id,
            name=team.name,
            commune_id=unit.id,
            commune_name=f"{unit.type_name} {unit.name}".strip(),
            target_new=team.target_new,
            target_renewals=team.target_renewals,
            members=tuple(members[team.id]),
        )
        for team, unit in rows
    ]
    return sorted(views, key=lambda v: (place_key(v.commune_name), vietnamese_key(v.name), v.id))


def eligible_canvassers(
    session: Session, *, scope: Scope, commune_id: int, team_id: int | None = None
) -> list[User]:
    """Active canvassers of the commune who are in no other team (Vietnamese name order)."""
    _commune_in_scope(session, scope=scope, commune_id=commune_id)
    taken = select(TeamMember.user_id)
    if team_id is not None:
        taken = taken.where(TeamMember.team_id != team_id)
    users = session.exec(
        select(User).where(
            User.role == Role.CANVASSER,
            User.is_active,
            User.scope_unit_id == commune_id,
            User.id.not_in(taken),
        )
    ).all()
    return sorted(users, key=lambda u: person_key(u.full_name or u.username))


def _checked(
    session: Session,
    *,
    scope: Scope,
    commune_id: int,
    name: str,
    member_ids: Sequence[int],
    targets: tuple[int, int],
    team_id: int | None,
) -> tuple[str, list[int]]:
    name = " ".join((name or "").split())
    if not name:
        raise TeamError(_("Hãy đặt tên cho tổ."))
    if len(name) > MAX_NAME:
        raise TeamError(_("Tên tổ dài quá %(n)s ký tự.", n=MAX_NAME))
    if any(t < 0 or t > MAX_TARGET for t in targets):
        raise TeamError(_("Chỉ tiêu phải là số từ 0 đến %(n)s.", n=format_number(MAX_TARGET, "vi")))
    wanted = sorted(set(member_ids))
    allowed = {
        u.id
        for u in eligible_canvassers(session, scope=scope, commune_id=commune_id, team_id=team_id)
    }
    if len(wanted) < 2:
        raise TeamError(_("Một tổ cần ít nhất hai cán bộ thu."))
    if not set(wanted) <= allowed:
        raise TeamError(_("Chỉ chọn được cán bộ thu của xã, phường này chưa thuộc tổ nào khác."))
    clash = session.exec(
        select(Team.id).where(Team.commune_id == commune_id, Team.name == name)
    ).first()
    if clash is not None and clash != team_id:
        raise TeamError(_("Xã, phường này đã có tổ tên “%(name)s”.", name=name))
    return name, wanted


def save_team(
    session: Session,
    *,
    scope: Scope,
    by_user: User,
    commune_id: int | None,
    name: str,
    member_ids: Sequence[int],
    target_new: int = 0,
    target_renewals: int = 0,
    team_id: int | None = None,
) -> Team:
    """Create a team (no `team_id`) or change one: its name, members and targets. Audited."""
    if team_id is not None:
        team = team_in_scope(session, scope=scope, team_id=team_id)
        if team is None:
            raise TeamError(_("Không tìm thấy tổ."))
        commune_id = team.commune_id
    commune = _commune_in_scope(session, scope=scope, commune_id=commune_id)
    name, wanted = _checked(
        session,
        scope=scope,
        commune_id=commune.id,
        name=name,
        member_ids=member_ids,
        targets=(target_new, target_renewals),
        team_id=team_id,
    )
    if team_id is None:
        team = Team(commune_id=commune.id, name=name)
    team.name, team.target_new, team.target_renewals = name, target_new, target_renewals
    session.add(team)
    session.flush()
    current = {
        m.user_id: m for m in session.exec(select(TeamMember).where(TeamMember.team_id == team.id))
    }
    for user_id, membership in current.items():
        if user_id not in wanted:
            session.delete(membership)
    session.flush()  # a member moved out frees their one place before anyone is added
    for user_id in wanted:
        if user_id not in current:
            session.add(TeamMember(team_id=team.id, user_id=user_id))
    record_event(
        session,
        action="team_created" if team_id is None else "team_changed",
        user_id=by_user.id,
        username=by_user.username,
        object_type="team",
        object_id=team.id,
        detail={"name": name, "members": wanted, "targets": [target_new, target_renewals]},
    )
    session.flush()
    return team


def dissolve_team(session: Session, *, scope: Scope, by_user: User, team_id: int) -> None:
    """End a team: its members work alone again, their households stay theirs. Audited."""
    team = team_in_scope(session, scope=scope, team_id=team_id)
    if team is None:
        raise TeamError(_("Không tìm thấy tổ."))
    for membership in session.exec(select(TeamMember).where(TeamMember.team_id == team.id)):
        session.delete(membership)
    session.flush()
    record_event(
        session,
        action="team_dissolved",
        user_id=by_user.id,
        username=by_user.username,
        object_type="team",
        object_id=team.id,
        detail={"name": team.name},
    )
    session.delete(team)
    session.flush()


def team_names_of(session: Session, *, user_ids: Sequence[int]) -> dict[int, str]:
    """The team name of each of these canvassers who is in a team."""
    if not user_ids:
        return {}
    rows = session.exec(
        select(TeamMember.user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id.in_(sorted(user_ids)))
    ).all()
    return dict(rows)


def teammates(session: Session, *, canvasser_id: int) -> list[int]:
    """The other members of the canvasser's team (none when they work alone)."""
    team = select(TeamMember.team_id).where(TeamMember.user_id == canvasser_id).scalar_subquery()
    return list(
        session.exec(
            select(TeamMember.user_id).where(
                TeamMember.team_id == team, TeamMember.user_id != canvasser_id
            )
        ).all()
    )


def _promises(
    session: Session, *, scope: Scope, team_of: dict[int, int], first: date, last: date
) -> tuple[Counter, Counter]:
    """Promises made by each team's members in the days [first, last], and how many are kept
    (`worklist.service.promise_kept`: the one definition)."""
    kept_flag = case((promise_kept(VisitOutcome.person_id, VisitOutcome.visited_at), 1), else_=0)
    rows = session.execute(
        select(Visit.canvasser_id, func.count(), func.coalesce(func.sum(kept_flag), 0))
        .select_from(VisitOutcome)
        .join(Visit, Visit.id == VisitOutcome.visit_id)
        .where(
            VisitOutcome.outcome == Outcome.PROMISED,
            Visit.canvasser_id.in_(sorted(team_of)),
            *within_scope(VisitOutcome, scope),
            *visited_between(VisitOutcome, first, last),
        )
        .group_by(Visit.canvasser_id)
    ).all()
    made, kept = Counter(), Counter()
    for canvasser, n, k in rows:
        made[team_of[canvasser]] += int(n)
        kept[team_of[canvasser]] += int(k)
    return made, kept


def team_scoreboard(session: Session, *, scope: Scope, first: date, last: date) -> list[TeamScore]:
    """Each team of the scope with its figures over the days [first, last], best progress first
    (then most new participants and renewals, then name)."""
    teams = teams_in(session, scope=scope)
    team_of = {member.id: view.id for view in teams for member in view.members}
    counts = (
        canvasser_counts(session, scope=scope, first=first, last=last, group_of=team_of)
        if team_of
        else {}
    )
    made, kept = (
        _promises(session, scope=scope, team_of=team_of, first=first, last=last)
        if team_of
        else (Counter(), Counter())
    )
    scores = [
        TeamScore(
            team=view,
            visits=counts.get(view.id, Counter())["visits"],
            households=counts.get(view.id, Counter())["households"],
            new=counts.get(view.id, Counter())["new"],
            renewals=counts.get(view.id, Counter())["renewals"],
            promises=made[view.id],
            promises_kept=kept[view.id],
        )
        for view in teams
    ]
    return sorted(
        scores,
        key=lambda s: (
            -(s.progress if s.progress is not None else -1),
            -(s.new + s.renewals),
            vietnamese_key(s.team.name),
        ),
    )
