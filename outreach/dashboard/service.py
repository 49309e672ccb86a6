"""The leader's dashboard: a campaign's progress against targets within the leader's scope.

Definitions (all for the campaign so far: its first day to today, or to its deadline if that
has passed, in Vietnamese calendar days):

- visits: visits recorded; new participants, renewals, promises: outcomes with those codes;
- households reached: distinct households visited (per commune from `campaign_reach`);
- persons met: outcomes recorded for a person, every outcome but `not_home` (a person met on
  two visits counts twice), from the same tallies (`figures`' "met");
- conversion: (new participants + renewals) / persons met: a share of the same outcomes, so
  never above 100% (households reached counts households, not people: it is no denominator);
- target: the unit's Target row; a commune without one takes the sum of its villages' targets,
  a group or province without one the sum of its communes'. Villages without a target and
  canvassers get an estimate: the commune's target shared by the households in their village or
  in their charge (marked as an estimate);
- behind: done (new + renewals) below the target times the share of the campaign elapsed;
- forecast at the current pace: done / days elapsed × days in the campaign, as % of target,
  on the deadline;
- households never visited: households in scope whose `last_visit_at` is empty (ever, not just
  in the campaign);
- follow-ups overdue: persons whose latest outcome is `promised` or `considering` with a
  follow-up date before today (no outcome recorded for them since) and not kept (no payment
  by them dated on or after that visit's day: `worklist.service.promise_kept`, the condition the
  worklist and the promises page use too), read from `latest_outcome`, kept with every visit
  like the tallies.

Per-commune figures come from the running tallies (like the media summaries, so the numbers
match). Village and canvasser rows are counted from the raw visits (the tallies are per commune),
so they are offered only for a single commune, where indexed queries on (commune_id, visited_at)
stay small (measured at province scale: benchmarks/dashboard.py). A visit counts in the village
its household was in when it was made (`Visit.village_id`): work done in a village stays there
when a household moves; merging villages carries it over.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.i18n import _
from outreach.core.periods import Period
from outreach.core.scope import Scope, communes_in, personal_rows, within_scope
from outreach.core.text import place_key
from outreach.models import (
    Campaign,
    GeoUnit,
    Household,
    LatestOutcome,
    Person,
    User,
)
from outreach.models.codes import RefusalReason, Role, UnitKind
from outreach.tallies import figures
from outreach.tallies.service import REFUSED_PREFIX
from outreach.teams.service import team_names_of
from outreach.worklist.service import promise_kept

GROUPINGS = ("commune", "village", "canvasser")
SORTS = ("name", "visits", "households", "promises", "new", "renewals", "conversion", "ratio")
# Village and canvasser rows are counted from raw visits: only for one commune at a time.
DETAIL_MAX_COMMUNES = 1


@dataclass
class Row:
    """One line of the table (or the scope's totals): counts, target and progress."""

    kind: str  # "commune", "village", "canvasser" or "total"
    id: int | None
    name: str
    team: str = ""  # a canvasser's advisory team (teams/), if any
    visits: int = 0
    households: int = 0
    promises: int = 0
    new: int = 0
    renewals: int = 0
    met: int = 0  # persons met: outcomes other than not_home
    target_new: int = 0
    target_renewals: int = 0
    target_is_estimate: bool = False
    behind: bool = False

    @property
    def done(self) -> int:
        """New participants and renewals together."""
        return self.new + self.renewals

    @property
    def target(self) -> int:
        """The target for new participants and renewals together."""
        return self.target_new + self.target_renewals

    @property
    def ratio(self) -> float | None:
        """Share of the target reached (None without a target)."""
        return self.done / self.target if self.target else None

    @property
    def ratio_new(self) -> float | None:
        """Share of the new-participant target reached."""
        return self.new / self.target_new if self.target_new else None

    @property
    def ratio_renewals(self) -> float | None:
        """Share of the renewal target reached."""
        return self.renewals / self.target_renewals if self.target_renewals else None

    @property
    def conversion(self) -> float | None:
        """New participants and renewals among the persons met (at most 1: each is one of them)."""
        return self.done / self.met if self.met else None


@dataclass(frozen=True)
class Forecast:
    """Where the current pace ends on the deadline."""

    on: date
    new: int
    renewals: int
    ratio: float | None  # of the combined target
    ratio_new: float | None
    ratio_renewals: float | None


@dataclass(frozen=True)
class TrendPoint:
    """One half-month of the campaign."""

    period: Period
    new: int
    renewals: int
    visits: int


@dataclass
class Dashboard:
    """Everything the dashboard page shows for one scope and campaign."""

    campaign: Campaign
    unit: GeoUnit
    scope: Scope
    first_day: date
    as_of: date
    days_elapsed: int
    days_total: int
    totals: Row
    forecast: Forecast | None
    group_by: str
    groupings: tuple[str, ...]
    rows: list[Row]
    sort: str
    descending: bool
    trend: list[TrendPoint]
    refusals: list[tuple[str, int]]
    never_visited: int
    overdue: int

    @property
    def elapsed_share(self) -> float:
        """Share of the campaign's days gone by (0 before it starts, 1 after its deadline)."""
        return self.days_elapsed / self.days_total if self.days_total else 0.0


# --- scope --------------------------------------------------------------------------------


def _village_id(scope: Scope) -> int | None:
    return scope.unit_id if scope.unit_kind == UnitKind.VILLAGE else None


# --- counts -------------------------------------------------------------------------------


def _trend(session: Session, scope: Scope, first: date, last: date) -> list[TrendPoint]:
    """New participants, renewals and visits per half-month (tallies.figures.half_months)."""
    return [
        TrendPoint(period, counts["new"], counts["renewals"], counts["visits"])
        for period, counts in figures.half_months(session, scope=scope, first=first, last=last)
    ]


def _refusals(tallied: dict[int, Counter]) -> Counter:
    """Refusals by reason over the scope's communes."""
    out: Counter = Counter()
    for counts in tallied.values():
        for metric, n in counts.items():
            if metric.startswith(REFUSED_PREFIX):
                out[metric.removeprefix(REFUSED_PREFIX)] += n
    return out


COUNTED = ("visits", "households", "promises", "new", "renewals", "met")


def _fill(row: Row, counts: Counter) -> Row:
    for name in COUNTED:
        setattr(row, name, int(counts.get(name, 0)))
    return row


# --- targets ------------------------------------------------------------------------------


def _share(total: tuple[int, int], part: int, whole: int) -> tuple[int, int]:
    """A target shared in proportion to households (an estimate for rows without a target)."""
    if not whole:
        return (0, 0)
    return (round(total[0] * part / whole), round(total[1] * part / whole))


def mark_behind(row: Row, elapsed_share: float) -> Row:
    """Flag a row with fewer results than its target prorated to the days gone by."""
    # Behind: fewer results than the target prorated to the days gone by.
    row.behind = row.target > 0 and row.done < row.target * elapsed_share
    return row


# --- the pieces ---------------------------------------------------------------------------


def _commune_rows(
    communes: list[GeoUnit], tallied: dict, reached: dict, targets: dict
) -> list[Row]:
    rows = []
    for c in communes:
        row = _fill(Row("commune", c.id, c.name), tallied.get(c.id, Counter()))
        row.households = reached.get(c.id, 0)
        row.target_new, row.target_renewals = targets.get(c.id, (0, 0))
        rows.append(row)
    return rows


def _households_by(session: Session, scope: Scope, column) -> dict:
    stmt = select(column, func.count()).where(
        *within_scope(Household, scope),
    )
    return dict(session.execute(stmt.group_by(column)).all())


def _village_rows(
    session: Session,
    scope: Scope,
    campaign_id: int,
    window: tuple[date, date],
    commune_target: tuple[int, int],
) -> list[Row]:
    first, last = window
    counts = figures.village_counts(session, scope=scope, first=first, last=last)
    sizes = _households_by(session, scope, Household.village_id)
    villages = session.exec(
        select(GeoUnit).where(
            GeoUnit.kind == UnitKind.VILLAGE,
            GeoUnit.parent_id.in_(sorted(scope.commune_ids or ())),
        )
    ).all()
    all_targets = figures.own_targets(session, session.get(Campaign, campaign_id))
    own = {v.id: all_targets[v.id] for v in villages if v.id in all_targets}
    # Visits to households now in a village of another commune, or in none: one "other" row.
    known = {v.id for v in villages}
    for key in [k for k in counts if k is not None and k not in known]:
        counts[None] = counts.get(None, Counter()) + counts.pop(key)
    whole = sum(sizes.values())
    rows = []
    for v in sorted(villages, key=lambda u: place_key(u.name, u.type_name)):
        row = _fill(Row("village", v.id, v.name), counts.get(v.id, Counter()))
        if v.id in own:
            row.target_new, row.target_renewals = own[v.id]
        else:
            row.target_new, row.target_renewals = _share(commune_target, sizes.get(v.id, 0), whole)
            row.target_is_estimate = True
        rows.append(row)
    if None in counts or None in sizes:
        row = _fill(
            Row("village", None, "Chưa rõ thôn, tổ dân phố hoặc đã chuyển đi"),
            counts.get(None, Counter()),
        )
        row.target_new, row.target_renewals = _share(commune_target, sizes.get(None, 0), whole)
        row.target_is_estimate = True
        rows.append(row)
    return rows


def _canvasser_rows(
    session: Session, scope: Scope, first: date, last: date, commune_target: tuple[int, int]
) -> list[Row]:
    counts = figures.canvasser_counts(session, scope=scope, first=first, last=last)
    in_charge = _households_by(session, scope, Household.assigned_canvasser_id)
    ids = set(counts) | {k for k in in_charge if k is not None}
    ids |= set(
        session.exec(
            select(User.id).where(
                User.role == Role.CANVASSER,
                User.is_active,
                User.scope_unit_id.in_(sorted(scope.commune_ids or ())),
            )
        ).all()
    )
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(sorted(ids) or [0])))}
    whole = sum(in_charge.values())
    team_of = team_names_of(session, user_ids=sorted(ids))
    rows = []
    for uid in ids:
        user = users.get(uid)
        row = _fill(Row("canvasser", uid, user.full_name if user else str(uid)), counts[uid])
        row.team = team_of.get(uid, "")
        row.target_new, row.target_renewals = _share(commune_target, in_charge.get(uid, 0), whole)
        row.target_is_estimate = True
        rows.append(row)
    return rows


def never_visited_filter(scope: Scope) -> list:
    """Conditions for households in scope never visited."""
    conditions = [
        *within_scope(Household, scope),
        Household.last_visit_at.is_(None),
    ]
    if _village_id(scope) is not None:
        conditions.append(Household.village_id == _village_id(scope))
    return conditions


def overdue_filter(scope: Scope, today: date) -> list:
    """Conditions for persons whose latest outcome set a follow-up date before today and who
    have not kept it (paid since: `promise_kept`)."""
    conditions = [
        *within_scope(LatestOutcome, scope),
        LatestOutcome.follow_up_on < today,  # set only by a promise or "considering"
        ~promise_kept(LatestOutcome.person_id, LatestOutcome.visited_at),
        # Nobody off every list is followed up (an objection to being contacted, a move, a death).
        LatestOutcome.person_id.not_in(select(Person.id).where(Person.off_list > "")),
    ]
    if _village_id(scope) is not None:
        conditions.append(
            LatestOutcome.person_id.in_(
                select(Person.id)
                .join(Household, Household.id == Person.household_id)
                .where(Household.village_id == _village_id(scope))
            )
        )
    return conditions


def count_never_visited(session: Session, *, scope: Scope) -> int:
    """Households in scope never visited."""
    stmt = select(func.count()).select_from(Household).where(*never_visited_filter(scope))
    return session.exec(stmt).one()


def count_overdue(session: Session, *, scope: Scope, today: date) -> int:
    """Persons in scope whose promise or revisit date has passed with no visit and no payment
    since."""
    stmt = select(func.count()).select_from(LatestOutcome).where(*overdue_filter(scope, today))
    return session.exec(stmt).one()


def list_never_visited(
    session: Session, *, scope: Scope, offset: int, limit: int
) -> list[tuple[Household, str | None]]:
    """A page of never-visited households in scope, with their village name."""
    stmt = (
        select(Household, GeoUnit.name)
        .outerjoin(GeoUnit, GeoUnit.id == Household.village_id)
        .where(*never_visited_filter(scope), *personal_rows(Household, scope))
        .order_by(Household.commune_id, Household.village_id, Household.id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def list_overdue(
    session: Session, *, scope: Scope, today: date, offset: int, limit: int
) -> list[tuple[LatestOutcome, Person]]:
    """A page of overdue follow-ups in scope (oldest date first), with the person."""
    stmt = (
        select(LatestOutcome, Person)
        .join(Person, Person.id == LatestOutcome.person_id)
        .where(*overdue_filter(scope, today), *personal_rows(Person, scope))
        .order_by(LatestOutcome.follow_up_on, LatestOutcome.person_id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def _sort(rows: list[Row], sort: str, descending: bool) -> list[Row]:
    if sort == "name":
        return sorted(rows, key=lambda r: place_key(r.name), reverse=descending)
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]
    present.sort(key=lambda r: (getattr(r, sort), place_key(r.name)), reverse=descending)
    return present + missing  # rows without a value (no target, no household) always last


def forecast_for(
    row: Row, *, first: date, ends_on: date, days_elapsed: int, days_total: int
) -> Forecast | None:
    """Linear forecast: done / days elapsed × days in the campaign, as a share of the target."""
    if days_elapsed <= 0 or days_total <= 0:
        return None
    new = round(row.new / days_elapsed * days_total)
    renewals = round(row.renewals / days_elapsed * days_total)
    target = row.target
    return Forecast(
        on=ends_on,
        new=new,
        renewals=renewals,
        ratio=(row.done / days_elapsed * days_total) / target if target else None,
        ratio_new=new / row.target_new if row.target_new else None,
        ratio_renewals=renewals / row.target_renewals if row.target_renewals else None,
    )


def groupings_for(scope: Scope) -> tuple[str, ...]:
    """Groupings offered: communes always; villages and canvassers for a single commune."""
    if scope.commune_ids is not None and len(scope.commune_ids) <= DETAIL_MAX_COMMUNES:
        return GROUPINGS
    return ("commune",)


def campaign_window(campaign: Campaign, today: date) -> tuple[date, date]:
    """The days the dashboard counts: the campaign's first day to today (or to its deadline)."""
    return campaign.starts_on, min(today, campaign.ends_on)


def campaign_days(campaign: Campaign, first: date, last: date) -> tuple[int, int, float]:
    """The campaign's days, the days counted so far and their share (what "behind" prorates by)."""
    days_total = (campaign.ends_on - campaign.starts_on).days + 1
    days_elapsed = max(0, (last - first).days + 1)
    return days_total, days_elapsed, days_elapsed / days_total if days_total else 0.0


def scope_totals(
    session: Session, *, scope: Scope, campaign: Campaign, unit: GeoUnit, first: date, last: date
) -> tuple[Row, list[Row], dict]:
    """A scope's totals row, its communes' rows and their tallies (tallies.figures), as of `last`.

    The one sum of a scope's figures: the dashboard's top and the national page's province rows.
    """
    communes = communes_in(session, scope)
    tallied = figures.commune_counts(session, scope=scope, first=first, last=last)
    reached = figures.campaign_households(session, scope=scope, campaign=campaign, last=last)
    targets = figures.commune_targets(
        session, campaign=campaign, commune_ids=[c.id for c in communes]
    )
    commune_rows = _commune_rows(communes, tallied, reached, targets)
    # A steering member's followed units have no name or target of their own: their totals.
    totals = Row("total", unit.id, _("Các đơn vị theo dõi") if scope.followed else unit.name)
    add_rows(totals, commune_rows)
    own = {} if scope.followed else figures.own_targets(session, campaign)
    if unit.kind == UnitKind.COMMUNE and not scope.followed:
        totals.target_new, totals.target_renewals = targets.get(unit.id, (0, 0))
    elif unit.id in own:
        totals.target_new, totals.target_renewals = own[unit.id]
    return totals, commune_rows, tallied


def add_rows(total: Row, rows: list[Row], *, targets: bool = True) -> Row:
    """Add rows' counts (and targets) into a total row."""
    for r in rows:
        for name in COUNTED:
            setattr(total, name, getattr(total, name) + getattr(r, name))
        if targets:
            total.target_new += r.target_new
            total.target_renewals += r.target_renewals
    return total


def dashboard_for(
    session: Session,
    *,
    scope: Scope,
    campaign: Campaign,
    today: date,
    group_by: str = "commune",
    sort: str = "name",
    descending: bool = False,
) -> Dashboard:
    """The dashboard of a campaign for a scope (a province, group, commune) as of today."""
    unit = session.get(GeoUnit, scope.unit_id)
    first, last = campaign_window(campaign, today)
    days_total, days_elapsed, share = campaign_days(campaign, first, last)
    totals, commune_rows, tallied = scope_totals(
        session, scope=scope, campaign=campaign, unit=unit, first=first, last=last
    )
    refusals = _refusals(tallied)
    mark_behind(totals, share)

    groupings = groupings_for(scope)
    if group_by not in groupings:
        group_by = "village" if "village" in groupings else "commune"
    if group_by == "village":
        rows = _village_rows(session, scope, campaign.id, (first, last), totals_target(totals))
    elif group_by == "canvasser":
        rows = _canvasser_rows(session, scope, first, last, totals_target(totals))
    else:
        rows = commune_rows
    for r in rows:
        mark_behind(r, share)
    sort = sort if sort in SORTS else "name"
    return Dashboard(
        campaign=campaign,
        unit=unit,
        scope=scope,
        first_day=first,
        as_of=last,
        days_elapsed=days_elapsed,
        days_total=days_total,
        totals=totals,
        forecast=forecast_for(
            totals,
            first=first,
            ends_on=campaign.ends_on,
            days_elapsed=days_elapsed,
            days_total=days_total,
        ),
        group_by=group_by,
        groupings=groupings,
        rows=_sort(rows, sort, descending),
        sort=sort,
        descending=descending,
        trend=_trend(session, scope, first, last) if days_elapsed else [],
        refusals=[(reason.value, refusals.get(reason.value, 0)) for reason in RefusalReason],
        never_visited=count_never_visited(session, scope=scope),
        overdue=count_overdue(session, scope=scope, today=today),
    )


def totals_target(row: Row) -> tuple[int, int]:
    """A row's (new participants, renewals) target."""
    return (row.target_new, row.target_renewals)
