"""The one read model of every figure: what the dashboard, rankings, bulletins and tallies count.

Every page, sheet, PDF and JSON export reads its numbers through these functions, with one
metric map and one village rule (docs/figures.md), so two places can never disagree:

- per commune, from the daily tallies kept with every visit (`commune_counts`, `half_months`);
- households reached in a campaign, distinct across it (`campaign_households`);
- per village, in the village the household was in when it was visited (`village_counts`),
  from the visits themselves: one commune at a time, from covering indexes;
- per canvasser, the one who made the visit, whoever owns the household now
  (`canvasser_counts`, `canvasser_tally`).

Counts are `Counter`s keyed by figure name: "visits", "households", "new", "renewals",
"promises", "refusals", "met" (persons met: every outcome but `not_home`, counted from the
outcome metrics) and "refused:<reason>" (refusals by reason).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.periods import Period, half_month_start, local_midnight, period_containing
from outreach.core.scope import Scope, commune_condition, within_scope
from outreach.models import (
    Campaign,
    CampaignReach,
    DailyTally,
    GeoUnit,
    Target,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import Outcome, Role, UnitKind
from outreach.tallies.service import HOUSEHOLDS, REFUSED_PREFIX, VISITS

# The tally metric of each figure. A refusal also counts under "refused:<reason>".
METRIC_NAMES = {
    VISITS: "visits",
    HOUSEHOLDS: "households",
    Outcome.ENROLLED_NEW.value: "new",
    Outcome.RENEWED.value: "renewals",
    Outcome.PROMISED.value: "promises",
    Outcome.REFUSED.value: "refusals",
}
FIGURES = ("visits", "households", "new", "renewals", "promises", "refusals", "met")
# Persons met: an outcome recorded for a person who was there, whatever it was; everything but
# "not at home". The denominator of conversion, so (new + renewals) / met never passes 100%.
MET = "met"
MET_OUTCOMES = frozenset(o.value for o in Outcome if o != Outcome.NOT_HOME)
# Outcomes counted from the raw rows (villages, canvassers): the metric map's and the met ones.
_OUTCOMES = sorted({m for m in METRIC_NAMES if m not in (VISITS, HOUSEHOLDS)} | MET_OUTCOMES)


def _figure(metric: str) -> str | None:
    """The figure a tally metric counts towards (refusals by reason keep their metric)."""
    if metric.startswith(REFUSED_PREFIX):
        return metric
    return METRIC_NAMES.get(metric)


def _add_metric(counts: Counter, metric: str, n: int) -> None:
    """Add a tally metric's count to the figures it makes: its own, and persons met."""
    name = _figure(metric)
    if name is not None:
        counts[name] += n
    if metric in MET_OUTCOMES:
        counts[MET] += n


def visited_between(model: type, first: date, last: date) -> tuple:
    """Conditions keeping a row's visited_at within the Vietnamese calendar days [first, last]."""
    return (
        model.visited_at >= local_midnight(first),
        model.visited_at < local_midnight(last + timedelta(days=1)),
    )


def _vietnam_day(moment: datetime) -> date:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite's are naive UTC
    return moment.astimezone(VIETNAM).date()


def _as_day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _late_moves(
    conn, scope: Scope, first: date, last: date
) -> list[tuple[int, int | None, int, int, int]]:
    """The late visits the raw rows put on the wrong side of the days [first, last].

    A late visit counts on the day it arrived (`Visit.counted_on`, tallies/service.py), as the
    tallies count it; the raw-row queries select by `visited_at` from covering indexes. These
    few (`counted_on` is rarely set, and indexed) set them right: (visit, village, household,
    canvasser, +1 to count it / -1 to take it away).
    """
    rows = conn.execute(
        select(
            Visit.id,
            Visit.village_id,
            Visit.household_id,
            Visit.canvasser_id,
            Visit.visited_at,
            Visit.counted_on,
        ).where(
            *within_scope(Visit, scope),
            Visit.counted_on.is_not(None),
            or_(and_(*visited_between(Visit, first, last)), Visit.counted_on.between(first, last)),
        )
    ).all()
    moves = []
    for visit_id, village, household, canvasser, at, counted_on in rows:
        dated = first <= _vietnam_day(at) <= last
        counted = first <= _as_day(counted_on) <= last
        if dated != counted:
            moves.append((visit_id, village, household, canvasser, 1 if counted else -1))
    return moves


def _outcomes_of(conn, visit_ids) -> list[tuple[int, int | None, str]]:
    """(visit, village, outcome) of these visits' outcomes that make a figure."""
    if not visit_ids:
        return []
    return conn.execute(
        select(VisitOutcome.visit_id, VisitOutcome.village_id, VisitOutcome.outcome).where(
            VisitOutcome.visit_id.in_(sorted(visit_ids)), VisitOutcome.outcome.in_(_OUTCOMES)
        )
    ).all()


def commune_counts(
    session: Session, *, scope: Scope, first: date, last: date
) -> dict[int, Counter]:
    """Per commune of the scope: every figure on the Vietnamese days [first, last].

    "households" here is the sum over the half-months of households visited in each: distinct
    within a half-month, not across several (see `campaign_households` for that).
    """
    out: dict[int, Counter] = defaultdict(Counter)
    if last < first:
        return out
    rows = session.execute(
        select(DailyTally.commune_id, DailyTally.metric, func.sum(DailyTally.count))
        .where(*within_scope(DailyTally, scope), DailyTally.day >= first, DailyTally.day <= last)
        .group_by(DailyTally.commune_id, DailyTally.metric)
    ).all()
    for commune_id, metric, n in rows:
        _add_metric(out[commune_id], metric, int(n))
    return out


def campaign_households(
    session: Session, *, scope: Scope, campaign: Campaign, last: date
) -> dict[int, int]:
    """Households reached per commune from the campaign's start to the end of `last`: each
    household once however often it was visited."""
    return dict(
        session.execute(
            select(CampaignReach.commune_id, func.count())
            .where(
                CampaignReach.campaign_id == campaign.id,
                CampaignReach.first_visit_at < local_midnight(last + timedelta(days=1)),
                *commune_condition(CampaignReach.commune_id, scope),
            )
            .group_by(CampaignReach.commune_id)
        ).all()
    )


def half_months(
    session: Session, *, scope: Scope, first: date, last: date
) -> list[tuple[Period, Counter]]:
    """Every half-month from the one holding `first` to the one holding `last`, with its figures
    (counted from `first` to `last` only)."""
    rows = session.execute(
        select(DailyTally.day, DailyTally.metric, func.sum(DailyTally.count))
        .where(*within_scope(DailyTally, scope), DailyTally.day >= first, DailyTally.day <= last)
        .group_by(DailyTally.day, DailyTally.metric)
    ).all()
    buckets: dict[date, Counter] = defaultdict(Counter)
    for day, metric, n in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        _add_metric(buckets[period_containing(day).starts_on], metric, int(n))
    out: list[tuple[Period, Counter]] = []
    p = period_containing(first)
    while p.starts_on <= last:
        out.append((p, buckets[p.starts_on]))
        p = period_containing(p.ends_on + timedelta(days=1))
    return out


def village_counts(
    session: Session, *, scope: Scope, first: date, last: date
) -> dict[int | None, Counter]:
    """Per village: visits, households visited and outcomes, each in the village its household
    was in at the visit (a household's later move leaves its past work where it was done), on
    the days they count on (a late visit on the day it arrived, as in the tallies).

    Both queries read covering indexes only: visits by (commune, time, village, household) and
    outcomes by (commune, outcome, time, village); the few late visits are set right after
    (`_late_moves`). For one commune (or a few) at a time.
    """
    out: dict[int | None, Counter] = defaultdict(Counter)
    if last < first:
        return out
    conn = session.connection()
    visits = conn.execute(
        select(Visit.village_id, Visit.household_id, func.count())
        .where(*within_scope(Visit, scope), *visited_between(Visit, first, last))
        .group_by(Visit.village_id, Visit.household_id)
    )
    per_household = Counter({(village, household): int(n) for village, household, n in visits})
    moves = _late_moves(conn, scope, first, last)
    for _visit, village, household, _canvasser, sign in moves:
        per_household[(village, household)] += sign
    for (village, _household), n in per_household.items():
        if n > 0:
            out[village]["visits"] += n
            out[village]["households"] += 1
    outcomes = conn.execute(
        select(VisitOutcome.village_id, VisitOutcome.outcome, func.count())
        .where(
            *within_scope(VisitOutcome, scope),
            VisitOutcome.outcome.in_(_OUTCOMES),
            *visited_between(VisitOutcome, first, last),
        )
        .group_by(VisitOutcome.village_id, VisitOutcome.outcome)
    )
    for village, outcome, n in outcomes:
        _add_metric(out[village], outcome, int(n))
    sign = {move[0]: move[4] for move in moves}
    for visit_id, village, outcome in _outcomes_of(conn, sign):
        _add_metric(out[village], outcome, sign[visit_id])
    return out


def _canvassers_of(conn, scope: Scope, window: tuple, visit_ids: set[int]) -> dict[int, int]:
    """The canvasser of each of these visits (the scope's, in the window), by visit id.

    Read from the (canvasser, time) index of the commune's canvassers rather than from the visit
    rows, which lie scattered over a big table; the few left (a canvasser from elsewhere) are
    read by id.
    """
    owners = select(User.id).where(
        User.role == Role.CANVASSER, User.scope_unit_id.in_(sorted(scope.commune_ids or ()))
    )
    owner_ids = sorted(conn.execute(owners).scalars())
    found = (
        dict(
            conn.execute(
                select(Visit.id, Visit.canvasser_id).where(
                    Visit.canvasser_id.in_(owner_ids), *window
                )
            ).all()
        )
        if owner_ids
        else {}
    )
    keys = {vid: found[vid] for vid in visit_ids if vid in found}
    rest = sorted(visit_ids - keys.keys())
    for chunk in range(0, len(rest), 500):
        keys.update(
            conn.execute(
                select(Visit.id, Visit.canvasser_id).where(Visit.id.in_(rest[chunk : chunk + 500]))
            ).all()
        )
    return keys


def canvasser_counts(
    session: Session,
    *,
    scope: Scope,
    first: date,
    last: date,
    group_of: Mapping[int, int] | None = None,
) -> dict[int, Counter]:
    """Per canvasser who visited in the scope: visits, households visited and outcomes, counted
    for the one who made the visit, whoever the household is assigned to now, on the days they
    count on (a late visit on the day it arrived).

    With `group_of` (canvasser → group, e.g. their team), per group instead: a household visited
    by two members counts once for the group; canvassers outside the mapping are left out."""
    window = visited_between(Visit, first, last)
    conn = session.connection()  # plain rows: no ORM wrapping of tens of thousands of tuples
    # Each visit's household comes with its id from the (commune, time, village, household) index.
    households_of = dict(
        conn.execute(
            select(Visit.id, Visit.household_id).where(*within_scope(Visit, scope), *window)
        ).all()
    )
    moves = _late_moves(conn, scope, first, last)
    for visit_id, _village, household, _canvasser, sign in moves:
        if sign > 0:
            households_of[visit_id] = household
        else:
            households_of.pop(visit_id, None)
    canvasser_of = _canvassers_of(conn, scope, window, set(households_of))
    outcomes = conn.execute(
        select(VisitOutcome.visit_id, VisitOutcome.outcome).where(
            *within_scope(VisitOutcome, scope),
            VisitOutcome.outcome.in_(_OUTCOMES),
            *visited_between(VisitOutcome, first, last),
        )
    ).all()
    taken = {move[0] for move in moves if move[4] < 0}
    outcomes = [row for row in outcomes if row[0] not in taken]
    added = {move[0] for move in moves if move[4] > 0}
    outcomes += [(visit_id, outcome) for visit_id, _, outcome in _outcomes_of(conn, added)]
    if group_of is not None:
        canvasser_of = {
            visit: group_of[canvasser]
            for visit, canvasser in canvasser_of.items()
            if canvasser in group_of
        }
        households_of = {v: h for v, h in households_of.items() if v in canvasser_of}
        outcomes = [row for row in outcomes if row[0] in canvasser_of]
    out: dict[int, Counter] = defaultdict(Counter)
    reached: dict[int, set[int]] = defaultdict(set)
    for visit_id, household_id in households_of.items():
        canvasser = canvasser_of[visit_id]
        out[canvasser]["visits"] += 1
        reached[canvasser].add(household_id)
    for canvasser, households in reached.items():
        out[canvasser]["households"] = len(households)
    for visit_id, outcome in outcomes:
        # An outcome carries its visit's time and commune, so its visit is among these.
        _add_metric(out[canvasser_of[visit_id]], outcome, 1)
    return out


def canvasser_visits(
    session: Session, *, scope: Scope, canvasser_ids: list[int], first: date, last: date
) -> dict[int, tuple[int, int]]:
    """(visits, households visited) per canvasser on the days [first, last], in the scope's
    communes: counted for the one who made the visit (`Visit.canvasser_id`), never for whoever
    owns the household now, so reassigning households or a village moves no visit; a late visit
    on the day it arrived. From the (canvasser, time) index, for a leader's workload table."""
    if not canvasser_ids or last < first:
        return {}
    wanted = set(canvasser_ids)
    rows = session.execute(
        select(Visit.canvasser_id, Visit.household_id, func.count())
        .where(
            Visit.canvasser_id.in_(sorted(wanted)),
            *visited_between(Visit, first, last),
            *within_scope(Visit, scope),
        )
        .group_by(Visit.canvasser_id, Visit.household_id)
    ).all()
    per_household = Counter({(canvasser, household): int(n) for canvasser, household, n in rows})
    for _visit, _village, household, canvasser, sign in _late_moves(
        session.connection(), scope, first, last
    ):
        if canvasser in wanted:
            per_household[(canvasser, household)] += sign
    out: dict[int, tuple[int, int]] = {}
    for (canvasser, _household), n in per_household.items():
        if n > 0:
            visits, households = out.get(canvasser, (0, 0))
            out[canvasser] = (visits + n, households + 1)
    return out


@dataclass(frozen=True)
class Tally:
    """A canvasser's own counts: visits, new participants, renewals, promises."""

    visits: int
    enrolled_new: int
    renewed: int
    promised: int


@dataclass(frozen=True)
class Tallies:
    """A canvasser's tally for today and for the current half-month period."""

    today: Tally
    period: Tally


# Built once with parameters (every worklist page runs them): building and keying the statement
# again on each page cost more CPU than running it.
_IS_TODAY = case((Visit.visited_at >= bindparam("day_start"), 1), else_=0)
_MINE_THIS_PERIOD = (
    Visit.canvasser_id == bindparam("canvasser_id"),
    Visit.visited_at >= bindparam("period_start"),
)
_VISIT_COUNTS = select(func.count(), func.coalesce(func.sum(_IS_TODAY), 0)).where(
    *_MINE_THIS_PERIOD
)
_OUTCOME_COUNTS = (
    select(VisitOutcome.outcome, func.count(), func.coalesce(func.sum(_IS_TODAY), 0))
    .join(Visit, Visit.id == VisitOutcome.visit_id)
    .where(*_MINE_THIS_PERIOD)
    .group_by(VisitOutcome.outcome)
)
# A late visit counts on the day it arrived (`Visit.counted_on`), as in the tallies: the few of
# the canvasser's counted from this half-month on, read from the counted_on index ("+ 0" keeps
# SQLite off the canvasser's index, which holds every visit of theirs).
_MINE_LATE = select(Visit.id, Visit.visited_at, Visit.counted_on).where(
    Visit.counted_on >= bindparam("period_first_day"),
    Visit.canvasser_id + 0 == bindparam("canvasser_id"),
)


def canvasser_tally(session: Session, *, canvasser_id: int, today: date) -> Tallies:
    """What a canvasser recorded today and this half-month (the visitor's own work; a late visit
    on the day it arrived), in two grouped queries and one for the few late visits."""
    params = {
        "canvasser_id": canvasser_id,
        "period_start": local_midnight(half_month_start(today)),
        "period_first_day": half_month_start(today),
        "day_start": local_midnight(today),
    }
    visits_period, visits_today = session.execute(_VISIT_COUNTS, params).one()
    counts = session.execute(_OUTCOME_COUNTS, params).all()
    period = Counter({outcome: n for outcome, n, _ in counts})
    day = Counter({outcome: n for outcome, _, n in counts})
    # Late visits made before the half-month (or before today) count in it (or today) too.
    earlier, before_today = set(), set()
    for visit_id, at, counted_on in session.execute(_MINE_LATE, params).all():
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if at < params["period_start"]:
            earlier.add(visit_id)
        if _as_day(counted_on) >= today and at < params["day_start"]:
            before_today.add(visit_id)
    visits_period += len(earlier)
    visits_today += len(before_today)
    for visit_id, _village, outcome in _outcomes_of(session.connection(), earlier | before_today):
        period[outcome] += visit_id in earlier
        day[outcome] += visit_id in before_today

    def tally(visits: int, by_outcome: dict[str, int]) -> Tally:
        return Tally(
            int(visits),
            int(by_outcome.get(Outcome.ENROLLED_NEW, 0)),
            int(by_outcome.get(Outcome.RENEWED, 0)),
            int(by_outcome.get(Outcome.PROMISED, 0)),
        )

    return Tallies(today=tally(visits_today, day), period=tally(visits_period, period))


RANKED = 3  # units praised at the top and criticised at the bottom
PRAISE, CRITICISM = "praise", "criticism"


def ranks_and_marks(ratios: dict, *, ranked: int = RANKED) -> dict:
    """Competition ranks (ties share: 1, 2, 2, 4) by ratio, highest first, and the marks a review
    meeting and the bulletin give: the top `ranked` ranks praised, the bottom `ranked` criticised,
    with fewer than 2 × `ranked` units half of them each way; every unit tied at a boundary is
    marked alike, and a tie reaching across both ends marks nobody in it. Units with no ratio
    (no target) are neither ranked nor marked. Returns {key: (rank, mark or None)}."""
    present = {key: ratio for key, ratio in ratios.items() if ratio is not None}
    order = sorted(present.values(), reverse=True)
    count = min(ranked, len(order) // 2)
    out = {}
    for key, ratio in present.items():
        rank = 1 + sum(1 for other in order if other > ratio)
        from_bottom = 1 + sum(1 for other in order if other < ratio)
        top, bottom = rank <= count, from_bottom <= count
        mark = PRAISE if top and not bottom else CRITICISM if bottom and not top else None
        out[key] = (rank, mark)
    return out


# --- targets --------------------------------------------------------------------------------


def own_targets(session: Session, campaign: Campaign) -> dict[int, tuple[int, int]]:
    """Each unit's own target row of the campaign: {unit id: (new participants, renewals)}."""
    # Plain columns, not Target objects: a province has a target row per commune and village.
    rows = session.execute(
        select(Target.unit_id, Target.new_participants, Target.renewals).where(
            Target.campaign_id == campaign.id
        )
    ).all()
    return {unit_id: (new, renewals) for unit_id, new, renewals in rows}


def commune_targets(
    session: Session, *, campaign: Campaign, commune_ids: list[int]
) -> dict[int, tuple[int, int]]:
    """Each commune's target: its own row, else the sum of its villages' targets (else 0, 0)."""
    targets = own_targets(session, campaign)
    villages: dict[int, list[int]] = defaultdict(list)
    if commune_ids:
        for vid, parent in session.exec(
            select(GeoUnit.id, GeoUnit.parent_id).where(
                GeoUnit.kind == UnitKind.VILLAGE, GeoUnit.parent_id.in_(commune_ids)
            )
        ).all():
            villages[parent].append(vid)
    out = {}
    for cid in commune_ids:
        if cid in targets:
            out[cid] = targets[cid]
        else:
            parts = [targets[v] for v in villages[cid] if v in targets]
            out[cid] = (sum(p[0] for p in parts), sum(p[1] for p in parts))
    return out
