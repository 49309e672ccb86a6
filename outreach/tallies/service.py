"""Keep the running counts (daily tallies, campaign reach, latest outcomes) in step with the visits.

`count_visit` adds one new visit in the caller's transaction; `rebuild_tallies` recomputes a
province from the raw visits (after the demo build, a migration, or a campaign's dates changing).

A visit counts on its own Vietnamese day, unless it is late (issue 19 #15): it arrived more than
the offline window after it happened (`OFFLINE_WINDOW_DAYS`, `OUTREACH_OFFLINE_WINDOW_DAYS` for the
sync), or its half-month already has a published bulletin for its province. A late visit counts on
the day it arrived, kept in `Visit.counted_on` so a rebuild counts it there too: a published
period is never rewritten, and a visit dated years back never lands in years past.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Date as SQLDate
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session

from outreach.core.bulk import upsert_statement
from outreach.core.clock import VIETNAM
from outreach.core.periods import local_midnight, period_containing
from outreach.models import (
    Campaign,
    CampaignReach,
    DailyTally,
    Household,
    LatestOutcome,
    ReportPeriod,
    Summary,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import FOLLOW_UP_OUTCOMES, SummaryStatus

VISITS = "visits"
# A household's first visit in a half-month (so a period's sum is its households reached).
HOUSEHOLDS = "households"
REFUSED_PREFIX = "refused:"
_ONE_DAY = timedelta(days=1)
# How long after it happened a visit may reach the server and still count on its own day (the
# default of OUTREACH_OFFLINE_WINDOW_DAYS; the sync sets the configured one, `offline_window`).
OFFLINE_WINDOW_DAYS = 14
_WINDOW_KEY = "outreach.offline_window"


def refusal_metric(reason: str) -> str:
    """The tally metric of one refusal reason."""
    return f"{REFUSED_PREFIX}{reason}"


def _metrics(outcomes: Iterable[VisitOutcome]) -> Counter:
    counts: Counter = Counter({VISITS: 1})
    for o in outcomes:
        counts[o.outcome] += 1
        if o.refusal_reason:
            counts[refusal_metric(o.refusal_reason)] += 1
    return counts


# The queries each recorded visit makes, built once with parameters: building and keying a
# statement again on every visit cost more CPU than running it.
_HOUSEHOLD_ID, _VISIT_ID = bindparam("household_id"), bindparam("visit_id")
# The household's other visits counted in a half-month: the earliest counted on its own day (by
# its time), and the earliest of those counted on another day (late ones).
_EARLIEST_OTHER_VISIT = select(
    select(func.min(Visit.visited_at))
    .where(
        Visit.household_id == _HOUSEHOLD_ID,
        Visit.visited_at >= bindparam("starts_at"),
        Visit.visited_at < bindparam("ends_before"),
        Visit.counted_on.is_(None),
        Visit.id != _VISIT_ID,
    )
    .scalar_subquery(),
    select(func.min(Visit.counted_on))
    .where(
        Visit.household_id == _HOUSEHOLD_ID,
        Visit.counted_on >= bindparam("first_day"),
        Visit.counted_on <= bindparam("last_day"),
        Visit.id != _VISIT_ID,
    )
    .scalar_subquery(),
)
# A published bulletin of the province for the half-month starting on a day, if any.
_PUBLISHED = (
    select(Summary.id)
    .join(ReportPeriod, ReportPeriod.id == Summary.period_id)
    .where(
        Summary.province_id == bindparam("province_id"),
        Summary.status == SummaryStatus.PUBLISHED,
        ReportPeriod.starts_on == bindparam("starts_on"),
    )
    .limit(1)
)
# The household's row, locked until the visit's transaction ends. FOR NO KEY UPDATE (what a plain
# UPDATE of the row takes), not FOR UPDATE: each transaction already holds the KEY SHARE lock its
# visit's foreign key took, and FOR UPDATE waits for those, so two syncs would deadlock.
_LOCK_HOUSEHOLD = (
    select(Household.id)
    .where(Household.id == bindparam("household_id"))
    .with_for_update(key_share=True)
)
_CAMPAIGNS_ON = select(Campaign.id).where(
    Campaign.province_id == bindparam("province_id"),
    Campaign.starts_on <= bindparam("day"),
    Campaign.ends_on >= bindparam("day"),
)


def _households_move(session: Session, visit: Visit, day: date) -> date | None:
    """Where this household's "first visit in the half-month" count sits now, if it must move.

    Returns the day to take the count from when this visit is now the earliest of its
    half-month (visits synced late can be earlier than ones already counted); None when this
    visit changes nothing. `count_visit` adds the count on the new visit's day.

    Two visits to one household stored at once must not both find "no earlier visit": each would
    count the household (issue 19 #11). On PostgreSQL the household's row is locked first, so the
    second waits for the first to commit, and its look-up, a new statement under READ COMMITTED,
    then sees the first visit. SQLite lets one writer in at a time already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_HOUSEHOLD, {"household_id": visit.household_id})
    period = period_containing(day)
    earliest_at, earliest_counted = session.execute(
        _EARLIEST_OTHER_VISIT,
        {
            "household_id": visit.household_id,
            "starts_at": period.starts_at,
            "ends_before": period.ends_before,
            "first_day": period.starts_on,
            "last_day": period.ends_on,
            "visit_id": visit.id,
        },
    ).one()
    days = [d for d in (earliest_counted, earliest_at and _local(earliest_at)) if d is not None]
    if not days:
        return day  # the first one: nothing to take away, the count goes on `day`
    earlier_day = min(days)
    return earlier_day if earlier_day > day else None


def _local(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


@contextmanager
def offline_window(session: Session, days: int) -> Iterator[None]:
    """Inside the block, a visit counted by `count_visit` on this session is late when it
    happened more than `days` days before it arrived (the configured window; 14 otherwise)."""
    previous = session.info.get(_WINDOW_KEY)
    session.info[_WINDOW_KEY] = timedelta(days=days)
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(_WINDOW_KEY, None)
        else:
            session.info[_WINDOW_KEY] = previous


def counted_day(session: Session, visit: Visit) -> date:
    """The day a newly stored visit counts on: its own, or the day it arrived when it is late.

    Late: it happened more than the offline window before `received_at`, or its half-month
    (earlier than the one it arrived in) has a published bulletin for its province. The day is
    then kept in `visit.counted_on` (flushed by the caller), which also flags it for the leader.
    """
    if visit.counted_on is not None:
        return visit.counted_on
    own, arrived = _local(visit.visited_at), _local(visit.received_at)
    window = session.info.get(_WINDOW_KEY, timedelta(days=OFFLINE_WINDOW_DAYS))
    late = visit.visited_at < visit.received_at - window
    own_period = period_containing(own)
    if not late and own_period.starts_on < period_containing(arrived).starts_on:
        published = session.execute(
            _PUBLISHED, {"province_id": visit.province_id, "starts_on": own_period.starts_on}
        ).first()
        late = published is not None
    if not late:
        return own
    visit.counted_on = arrived
    session.add(visit)
    return arrived


def _counted_at(visit: Visit) -> datetime:
    """The moment a visit counts at: when it happened, or when it arrived for a late one."""
    return visit.received_at if visit.counted_on is not None else visit.visited_at


def count_visit(session: Session, *, visit: Visit, outcomes: list[VisitOutcome]) -> None:
    """Add a newly stored visit and its outcomes to the tallies (in the caller's transaction)."""
    conn = session.connection()
    day = counted_day(session, visit)
    metrics = _metrics(outcomes)
    moved_from = _households_move(session, visit, day)
    if moved_from is not None:
        metrics[HOUSEHOLDS] = 1
        if moved_from != day:
            _take_one(conn, visit, moved_from)
    conn.execute(
        _upserts(conn.dialect.name).tally,
        [
            {
                "commune_id": visit.commune_id,
                "day": day,
                "metric": metric,
                "province_id": visit.province_id,
                "count": n,
            }
            for metric, n in metrics.items()
        ],
    )
    _note_latest(conn, outcomes)
    campaigns = _campaigns_on(session, province_id=visit.province_id, day=day)
    if campaigns:
        conn.execute(
            _upserts(conn.dialect.name).reach,
            [
                {
                    "campaign_id": campaign_id,
                    "household_id": visit.household_id,
                    "province_id": visit.province_id,
                    "commune_id": visit.commune_id,
                    "first_visit_at": _counted_at(visit),
                }
                for campaign_id in campaigns
            ],
        )


@dataclass(frozen=True)
class _Upserts:
    """The three upserts a visit makes, as SQL whose values come at execution."""

    tally: TextClause  # adds the count to the day's row
    latest: TextClause  # replaces a person's latest outcome, unless the stored one is later
    reach: TextClause  # keeps the earliest first visit of a household in a campaign


@lru_cache(maxsize=4)
def _upserts(dialect: str) -> _Upserts:
    """The upserts for one dialect (only "the earlier of two times" is spelled differently)."""
    least = "least" if dialect == "postgresql" else "min"
    return _Upserts(
        tally=upsert_statement(
            DailyTally.__table__,
            ("commune_id", "day", "metric"),
            "count = daily_tally.count + excluded.count",
        ),
        latest=upsert_statement(
            LatestOutcome.__table__,
            ("person_id",),
            # Every column from the new outcome, but only a later visit (or a later outcome of
            # the same moment) replaces the row.
            where="excluded.visited_at > latest_outcome.visited_at OR "
            "(excluded.visited_at = latest_outcome.visited_at "
            "AND excluded.outcome_id > latest_outcome.outcome_id)",
        ),
        reach=upsert_statement(
            CampaignReach.__table__,
            ("campaign_id", "household_id"),
            f"first_visit_at = {least}(campaign_reach.first_visit_at, excluded.first_visit_at)",
        ),
    )


def _note_latest(conn: Connection, outcomes: list[VisitOutcome]) -> None:
    """Make each outcome its person's latest, unless a later one is known (an old visit synced
    late changes nothing)."""
    if not outcomes:
        return
    conn.execute(
        _upserts(conn.dialect.name).latest,
        [
            {
                "person_id": o.person_id,
                "province_id": o.province_id,
                "commune_id": o.commune_id,
                "visited_at": o.visited_at,
                "outcome_id": o.id,
                "outcome": o.outcome,
                "follow_up_on": o.follow_up_on if o.outcome in FOLLOW_UP_OUTCOMES else None,
            }
            for o in outcomes
        ],
    )


def _take_one(conn: Connection, visit: Visit, day: date) -> None:
    """Move a household's count off a later day (a row that reaches zero goes, as in a rebuild),
    in the commune of the visit that held it: a household that moved since counted there."""
    holder = conn.execute(
        select(Visit.commune_id)
        .where(
            Visit.household_id == visit.household_id,
            Visit.id != visit.id,
            counted_day_sql(conn, Visit.visited_at) == day,
        )
        .order_by(Visit.visited_at, Visit.id)
        .limit(1)
    ).scalar()
    tally = DailyTally.__table__
    key = and_(
        tally.c.commune_id == (holder if holder is not None else visit.commune_id),
        tally.c.day == day,
        tally.c.metric == HOUSEHOLDS,
    )
    conn.execute(update(tally).where(key).values(count=tally.c.count - 1))
    conn.execute(delete(tally).where(key, tally.c.count <= 0))


def _campaigns_on(session: Session, *, province_id: int, day: date) -> list[int]:
    return list(session.execute(_CAMPAIGNS_ON, {"province_id": province_id, "day": day}).scalars())


def local_day(conn: Connection, column):
    """SQL for the Vietnamese calendar day of a UTC timestamp column (UTC+7, no daylight saving)."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("Asia/Ho_Chi_Minh", column), SQLDate)
    return func.date(column, "+7 hours")


def counted_day_sql(conn: Connection, at_column):
    """SQL for the day a visit (or an outcome, with `visit` joined) counts on: `counted_on`, else
    the Vietnamese day of `at_column`."""
    return func.coalesce(Visit.counted_on, local_day(conn, at_column))


def half_month_start(conn: Connection, day):
    """SQL for the first day (1st or 16th) of the half-month of a date expression."""
    if conn.dialect.name == "postgresql":
        month = cast(func.date_trunc("month", day), SQLDate)
        return case((extract("day", day) <= 15, month), else_=month + 15)
    return case(
        (cast(func.strftime("%d", day), Integer) <= 15, func.date(day, "start of month")),
        else_=func.date(day, "start of month", "+15 days"),
    )


def rebuild_tallies(session: Session, *, province_id: int) -> None:
    """Recompute a province's daily tallies and campaign reach from its raw visits."""
    conn = session.connection()
    tally = DailyTally.__table__
    conn.execute(delete(tally).where(tally.c.province_id == province_id))
    columns = ["commune_id", "day", "metric", "province_id", "count"]
    day = counted_day_sql(conn, Visit.visited_at)
    conn.execute(
        insert(tally).from_select(
            columns,
            select(Visit.commune_id, day, literal(VISITS), Visit.province_id, func.count())
            .where(Visit.province_id == province_id)
            .group_by(Visit.commune_id, day, Visit.province_id),
        )
    )
    day = counted_day_sql(conn, VisitOutcome.visited_at)
    for metric, extra in (
        (VisitOutcome.outcome, ()),
        (
            literal(REFUSED_PREFIX) + VisitOutcome.refusal_reason,
            (VisitOutcome.refusal_reason.is_not(None),),
        ),
    ):
        conn.execute(
            insert(tally).from_select(
                columns,
                select(VisitOutcome.commune_id, day, metric, VisitOutcome.province_id, func.count())
                .join(Visit, Visit.id == VisitOutcome.visit_id)
                .where(VisitOutcome.province_id == province_id, *extra)
                .group_by(VisitOutcome.commune_id, day, metric, VisitOutcome.province_id),
            )
        )
    _rebuild_households(conn, tally, columns, province_id)
    rebuild_latest(conn, province_id=province_id)
    for campaign in session.execute(
        select(Campaign).where(Campaign.province_id == province_id)
    ).scalars():
        rebuild_reach(session, campaign=campaign)


def rebuild_latest(conn: Connection, *, province_id: int) -> None:
    """Recompute each of a province's visited persons' latest outcome from the raw outcomes."""
    table = LatestOutcome.__table__
    conn.execute(delete(table).where(table.c.province_id == province_id))
    o = VisitOutcome
    rank = func.row_number().over(
        partition_by=o.person_id, order_by=(o.visited_at.desc(), o.id.desc())
    )
    ranked = (
        select(
            o.person_id,
            o.province_id,
            o.commune_id,
            o.visited_at,
            o.id,
            o.outcome,
            case((o.outcome.in_(sorted(FOLLOW_UP_OUTCOMES)), o.follow_up_on)),
            rank.label("rank"),
        )
        .where(o.province_id == province_id)
        .subquery()
    )
    columns = [
        "person_id",
        "province_id",
        "commune_id",
        "visited_at",
        "outcome_id",
        "outcome",
        "follow_up_on",
    ]
    picked = [c for c in ranked.c if c.name != "rank"]
    conn.execute(insert(table).from_select(columns, select(*picked).where(ranked.c.rank == 1)))


def _rebuild_households(conn: Connection, tally, columns: list[str], province_id: int) -> None:
    """Each household's first visit day in every half-month it was visited, counted per day."""
    day = counted_day_sql(conn, Visit.visited_at)
    first_days = (
        select(
            func.min(Visit.commune_id).label("commune_id"),
            func.min(day).label("day"),
        )
        .where(Visit.province_id == province_id)
        .group_by(Visit.household_id, half_month_start(conn, day))
        .subquery()
    )
    conn.execute(
        insert(tally).from_select(
            columns,
            select(
                first_days.c.commune_id,
                first_days.c.day,
                literal(HOUSEHOLDS),
                literal(province_id),
                func.count(),
            ).group_by(first_days.c.commune_id, first_days.c.day),
        )
    )


def rebuild_reach(session: Session, *, campaign: Campaign) -> None:
    """Recompute which households a campaign reached, and when first, from the raw visits."""
    conn = session.connection()
    reach = CampaignReach.__table__
    conn.execute(delete(reach).where(reach.c.campaign_id == campaign.id))
    starts_at = local_midnight(campaign.starts_on)
    ends_before = local_midnight(campaign.ends_on + _ONE_DAY)
    # A late visit counts when it arrived (`_counted_at`).
    counted_at = case((Visit.counted_on.is_not(None), Visit.received_at), else_=Visit.visited_at)
    within = and_(
        Visit.province_id == campaign.province_id,
        or_(
            and_(
                Visit.counted_on.is_(None),
                Visit.visited_at >= starts_at,
                Visit.visited_at < ends_before,
            ),
            and_(
                Visit.counted_on.is_not(None),
                Visit.received_at >= starts_at,
                Visit.received_at < ends_before,
            ),
        ),
    )
    conn.execute(
        insert(reach).from_select(
            ["campaign_id", "household_id", "province_id", "commune_id", "first_visit_at"],
            select(
                literal(campaign.id),
                Visit.household_id,
                Visit.province_id,
                func.min(Visit.commune_id),
                func.min(counted_at),
            )
            .where(within)
            .group_by(Visit.household_id, Visit.province_id),
        )
    )
