"""Households' priority, precomputed from the engine so a worklist page is one indexed query.

A household's score depends on "today", so scores are stamped with the day they were written
(`priority_on`), and each commune's refresh with its day (`priority_refresh`). A commune is
refreshed when a page of it is first asked for on a new day (or nightly by
`outreach refresh-priorities`), and one household whenever a visit to it is recorded. A commune
refreshed on an earlier day scores again only the households whose `priority_until` has come
and raises the rising scores of the others (`priority_origin`); a stale one is scored whole. Anything
that changes persons' facts in bulk (an import, a payments list among them) calls `mark_stale`
for the communes it touched.

A promise is kept (`promise_kept`) once a payment by the person dated on or after the day the
promise was made is known: the worklist (no follow-up due), the leaders' overdue follow-ups
(`dashboard.service.overdue_filter`) and the promises page (`leaders.followthrough`) all read
that one condition. It lives here, in the lowest of the three features' layers, so each of them
may import it (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import Date, Row, bindparam, case, delete, false, func, or_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, select

from outreach.core.bulk import upsert_statement
from outreach.core.clock import VIETNAM
from outreach.core.formatting import format_phone
from outreach.core.scope import Scope, apply_scope
from outreach.core.spool import is_locked
from outreach.core.text import fold
from outreach.models import (
    Campaign,
    GeoUnit,
    Household,
    Payment,
    Person,
    PriorityRefresh,
    User,
    VisitOutcome,
)
from outreach.models.codes import FOLLOW_UP_OUTCOMES
from outreach.worklist.priority import (
    PastOutcome,
    PersonFacts,
    Priority,
    Reason,
    ReasonLine,
    counted_from_date,
    days_of,
    household_priority,
    list_categories,
    person_priority,
    weights_for,
)

DUE_TODAY_LIMIT = 30  # today's appointments shown apart, above the list


class vietnam_day(FunctionElement):  # noqa: N801 (used like a SQL function)
    """SQL for the Vietnamese calendar day of a UTC timestamp column (UTC+7, no daylight saving)."""

    type = Date()
    name = "vietnam_day"
    inherit_cache = True


@compiles(vietnam_day)
def _vietnam_day_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


@compiles(vietnam_day, "postgresql")
def _vietnam_day_postgresql(element, compiler, **kw) -> str:
    return f"CAST(timezone('Asia/Ho_Chi_Minh', {compiler.process(element.clauses, **kw)}) AS DATE)"


def promise_kept(person_id, visited_at):
    """The one definition of a kept promise, as a SQL condition on a promise's (or a
    "considering"'s) person and visit time: an imported payment by that person dated on or after
    the Vietnamese day of the visit, however late (a payment closes the follow-up whenever it
    comes). Correlated: pass the columns of the row that holds the promise (`VisitOutcome` or
    `LatestOutcome`); answered from the payment index on (person, day paid)."""
    return (
        select(Payment.id)
        .where(Payment.person_id == person_id, Payment.paid_on >= vietnam_day(visited_at))
        .exists()
    )


OUTCOME_COLUMNS = (
    VisitOutcome.person_id,
    VisitOutcome.visited_at,
    VisitOutcome.outcome,
    VisitOutcome.follow_up_on,
    # Asked only of follow-ups (a CASE evaluates its branch lazily): is it kept?
    case(
        (
            VisitOutcome.outcome.in_(sorted(FOLLOW_UP_OUTCOMES)),
            promise_kept(VisitOutcome.person_id, VisitOutcome.visited_at),
        ),
        else_=false(),
    ).label("kept"),
)


# What a worklist row shows and its readers use: plain rows rather than Household objects, whose
# loading cost 0.65 ms of CPU for a page of 31 (1.5 ms against 0.86 ms for the whole query).
ROW_COLUMNS = (
    Household.id,
    Household.village_id,
    Household.head_name,
    Household.address,
    Household.last_visit_at,
    Household.priority_score,
    Household.priority_top,
    Household.priority_reasons,
    Household.assigned_canvasser_id,
)


# Queries run on every visit or worklist page, built once with parameters: building and keying a
# statement again each time cost more CPU than running it.
_ACTIVE_WEIGHTS = (
    select(Campaign.priority_weights)
    .where(Campaign.province_id == bindparam("province_id"), Campaign.is_active)
    .order_by(Campaign.ends_on.desc())
)
# In the order they happened: the engine sorts a history by day only, so two outcomes of one
# day (a promise, then "not at home") keep this order, and the later one is the last, whichever
# way the rows were read (unordered, two plans of one query told them apart differently).
_OUTCOME_ORDER = (VisitOutcome.visited_at, VisitOutcome.id)
_OUTCOMES_OF = (
    select(*OUTCOME_COLUMNS)
    .where(VisitOutcome.person_id.in_(bindparam("person_ids", expanding=True)))
    .order_by(*_OUTCOME_ORDER)
)
_FRESH_COMMUNES = select(PriorityRefresh.commune_id).where(
    PriorityRefresh.commune_id.in_(bindparam("commune_ids", expanding=True)),
    PriorityRefresh.refreshed_on == bindparam("today"),
)


def facts_of(person: Person) -> PersonFacts:
    """The engine's view of a person (an ORM object or a row with the same column names)."""
    return PersonFacts(
        is_participant=person.is_participant,
        paid_through=person.paid_through,
        payment_frequency=person.payment_frequency,
        benefit_start=person.benefit_start,
        benefit_end=person.benefit_end,
        reserved_months=person.reserved_months,
        is_potential=person.is_potential,
        facts_updated_on=person.updated_at.astimezone(VIETNAM).date()
        if person.updated_at
        else None,
    )


def person_categories(person: Person, day: date) -> set:
    """The BHXH list categories a person is in on a day (`priority.list_categories`)."""
    return list_categories(today=day, **asdict(facts_of(person)))


def _encode_line(r: ReasonLine) -> list:
    """One reason as stored: its day count only when no date gives it (`priority.days_of`)."""
    days = None if counted_from_date(r.reason, r.on) else r.days
    return [r.reason.value, r.on.isoformat() if r.on else None, days, r.outcome]


def encode_reasons(reasons: Iterable[ReasonLine]) -> str:
    """Reasons as compact JSON for the household row, without the day counts their dates give
    (so a night changes the row only when the reasons do)."""
    return json.dumps([_encode_line(r) for r in reasons], separators=(",", ":"))


def top_code(priority: Priority) -> str:
    """The code of the strongest reason, or "" for a household off the list."""
    return priority.reasons[0].reason.value if priority.reasons and priority.score > 0 else ""


def decode_reasons(text: str, *, today: date) -> list[ReasonLine]:
    """The reasons stored on a household row, their day counts as on `today`."""
    if not text:
        return []
    lines = []
    for code, on, days, outcome in json.loads(text):
        reason, day = Reason(code), date.fromisoformat(on) if on else None
        counted = days_of(reason, day, today)
        lines.append(ReasonLine(reason, day, days if counted is None else counted, outcome))
    return lines


def _histories(outcomes: Iterable[VisitOutcome]) -> dict[int, list[PastOutcome]]:
    """Past outcomes per person, dated by the Vietnamese calendar day of the visit."""
    history: dict[int, list[PastOutcome]] = defaultdict(list)
    for o in outcomes:
        history[o.person_id].append(
            PastOutcome(
                o.visited_at.astimezone(VIETNAM).date(), o.outcome, o.follow_up_on, bool(o.kept)
            )
        )
    return history


def _score_households(
    members: Iterable[tuple[int, int, PersonFacts]],
    history: Mapping[int, list[PastOutcome]],
    *,
    today: date,
    weights: Mapping[str, int] | None,
) -> dict[int, Priority]:
    """Each household's priority from its members' (person id, household id, facts) and their
    past outcomes: the engine's two functions, whichever way the rows were read."""
    by_household: dict[int, list[Priority]] = defaultdict(list)
    for person_id, household_id, facts in members:
        by_household[household_id].append(
            person_priority(facts, history.get(person_id, ()), today=today, weights=weights)
        )
    return {
        hid: household_priority(members, today=today, weights=weights)
        for hid, members in by_household.items()
    }


def _priorities(
    persons: Iterable[Person],
    outcomes: Iterable[VisitOutcome],
    *,
    today: date,
    weights: Mapping[str, int] | None,
) -> dict[int, Priority]:
    return _score_households(
        ((p.id, p.household_id, facts_of(p)) for p in persons),
        _histories(outcomes),
        today=today,
        weights=weights,
    )


def weights_in_force(session: Session, *, province_id: int) -> dict[str, int]:
    """The priority weights of the province's active campaign (ending last), else the defaults."""
    overrides = session.exec(_ACTIVE_WEIGHTS, params={"province_id": province_id}).first()
    return weights_for(overrides or None)


# A whole commune's rows, read as the engine's inputs: each row is labelled like the fields of
# `PersonFacts` or `PastOutcome` and handed to the engine as it is (building a dataclass per row
# cost a third of the refresh), and the database gives the Vietnamese day of each time
# (`vietnam_day`), so a province's million rows need no time-zone conversion in Python
# (`facts_of` and `_histories` do the same for one household's rows).
_COMMUNE_FACTS = select(
    Person.id,
    Person.household_id,
    Person.is_participant,
    Person.paid_through,
    Person.payment_frequency,
    Person.benefit_start,
    Person.benefit_end,
    Person.reserved_months,
    Person.is_potential,
    vietnam_day(Person.updated_at).label("facts_updated_on"),
).where(Person.commune_id == bindparam("commune_id"), Person.off_list == "")
# Members in the order of their ids, as `refresh_household` puts them: of two members with the
# same score the first is the household's best, whichever way the rows were read.
_COMMUNE_FACTS = _COMMUNE_FACTS.order_by(Person.id)
_COMMUNE_OUTCOMES = (
    select(
        VisitOutcome.person_id,
        vietnam_day(VisitOutcome.visited_at).label("on"),
        *OUTCOME_COLUMNS[2:],  # outcome, follow_up_on, kept
    )
    .where(VisitOutcome.commune_id == bindparam("commune_id"))
    .order_by(*_OUTCOME_ORDER)
)
_COMMUNE_STORED = select(
    Household.id,
    Household.priority_score,
    Household.priority_reasons,
    Household.priority_top,
    Household.priority_until,
    Household.priority_origin,
).where(Household.commune_id == bindparam("commune_id"))
# The households whose priority the day may have changed (Priority.until), with their members
# and outcomes: a night's refresh of a commune scored yesterday reads just these.
_DUE = Household.priority_until <= bindparam("today")
_DUE_HOUSEHOLDS = select(Household.id).where(Household.commune_id == bindparam("commune_id"), _DUE)
_DUE_MEMBERS = select(Person.id).where(Person.household_id.in_(_DUE_HOUSEHOLDS))
_DUE_FACTS = _COMMUNE_FACTS.where(Person.household_id.in_(_DUE_HOUSEHOLDS))
_DUE_OUTCOMES = _COMMUNE_OUTCOMES.where(VisitOutcome.person_id.in_(_DUE_MEMBERS))
_DUE_STORED = _COMMUNE_STORED.where(_DUE)
# The others whose score rises one a day (Priority.rises): today's score is the day's number
# less their origin, set in one statement.
_RISEN = Household.__table__.c
_RAISE = (
    update(Household.__table__)
    .where(
        _RISEN.commune_id == bindparam("commune"),
        _RISEN.priority_origin.is_not(None),
        _RISEN.priority_until > bindparam("day"),
        _RISEN.priority_score != bindparam("day_number") - _RISEN.priority_origin,
    )
    .values(
        priority_score=bindparam("day_number") - _RISEN.priority_origin,
        priority_on=bindparam("day"),
    )
)
_LAST_REFRESH = select(PriorityRefresh.refreshed_on).where(
    PriorityRefresh.commune_id == bindparam("commune_id")
)
_OFF_LIST = Priority(score=0, off_list=True)


def _commune_priorities(
    session: Session, *, commune_id: int, today: date, weights: Mapping[str, int], due_only: bool
) -> dict[int, Priority]:
    """Every household's priority in a commune (or only the due ones'), from plain rows of the
    engine's inputs."""
    conn, params = session.connection(), {"commune_id": commune_id, "today": today}
    facts, outcomes = (
        (_DUE_FACTS, _DUE_OUTCOMES) if due_only else (_COMMUNE_FACTS, _COMMUNE_OUTCOMES)
    )
    # `.all()`: one fetch of every row (iterating the result fetched them one by one, at a
    # third of the refresh's time). A person off every list (an objection to being contacted,
    # a move or death a leader approved) gives their household no reason to be visited.
    members = conn.execute(facts, params).all()
    history: dict[int, list[PastOutcome]] = defaultdict(list)
    for outcome in conn.execute(outcomes, params).all():
        history[outcome.person_id].append(outcome)
    return _score_households(
        ((m.id, m.household_id, m) for m in members), history, today=today, weights=weights
    )


def _only_due(session: Session, *, commune_id: int, today: date) -> bool:
    """Whether the commune was last scored whole on an earlier day, nothing stale since: then
    only the households whose `priority_until` has come can differ today."""
    last = session.connection().execute(_LAST_REFRESH, {"commune_id": commune_id}).scalar()
    return last is not None and last < today


def refresh_commune(
    session: Session, *, commune_id: int, today: date, weights: Mapping[str, int] | None = None
) -> int:
    """Recompute a commune's households for `today`; returns how many were recomputed.

    A commune scored on an earlier day, with nothing marked stale since (`mark_stale`), has only
    its households whose day has come (`Priority.until`) recomputed; otherwise all of them. Only
    the households whose score, reasons, top reason or day changed are written (each written
    row costs its nine index entries on PostgreSQL); the commune's `priority_refresh` stamp says
    the rest are today's too. A household with nobody left on the list is off it, as
    `refresh_household` scores it. Without `weights`, those of the province's active campaign
    (`weights_in_force`).
    """
    if weights is None:
        commune = session.get(GeoUnit, commune_id)
        weights = weights_in_force(session, province_id=commune.province_id or commune.id)
    due_only = _only_due(session, commune_id=commune_id, today=today)
    scores = _commune_priorities(
        session, commune_id=commune_id, today=today, weights=weights, due_only=due_only
    )
    changed = []
    stored = (
        session.connection()
        .execute(
            _DUE_STORED if due_only else _COMMUNE_STORED, {"commune_id": commune_id, "today": today}
        )
        .all()
    )
    for household_id, *kept in stored:
        priority = scores.get(household_id, _OFF_LIST)
        fresh = (
            priority.score,
            encode_reasons(priority.reasons),
            top_code(priority),
            priority.until,
            origin_of(priority, today),
        )
        if fresh != tuple(kept):
            changed.append((household_id, *fresh))
    _stamp(session, commune_id=commune_id, today=today)
    _write_priorities(session, changed, today=today)
    if due_only:
        session.connection().execute(
            _RAISE, {"commune": commune_id, "day": today, "day_number": today.toordinal()}
        )
    return len(stored)


def origin_of(priority: Priority, today: date) -> int | None:
    """The day number a rising score counts from (`Household.priority_origin`), else None."""
    return today.toordinal() - priority.score if priority.rises else None


_SET_PRIORITY = (
    update(Household.__table__)
    .where(Household.__table__.c.id == bindparam("hid"))
    .values(
        priority_score=bindparam("score"),
        priority_reasons=bindparam("reasons"),
        priority_top=bindparam("top"),
        priority_until=bindparam("until"),
        priority_origin=bindparam("origin"),
        priority_on=bindparam("on"),
    )
)
# On PostgreSQL a commune's changed rows go in by COPY into a table of this transaction, then
# one UPDATE: an UPDATE per row (even pipelined), or arrays of JSON text as parameters, cost
# more than the scoring itself. Dropped at once, so several communes fit in one transaction
# (`ensure_fresh`); nothing outlives it (pgbouncer in transaction mode, docs/operations.md).
_NEW_PRIORITIES_PG = (  # one literal: tests/test_session_state.py reads it whole
    "CREATE TEMP TABLE new_priority (id int, score int, reasons text, top text, until date, origin int) ON COMMIT DROP"  # noqa: E501
)
_SET_PRIORITIES_PG = (
    "UPDATE household SET priority_score = n.score, priority_reasons = n.reasons,"
    " priority_top = n.top, priority_until = n.until, priority_origin = n.origin,"
    " priority_on = %s"
    " FROM new_priority AS n WHERE household.id = n.id"
)


def _write_priorities(
    session: Session, rows: list[tuple[int, int, str, str, date | None, int | None]], *, today: date
) -> None:
    """Store (household id, score, encoded reasons, top reason, until, origin) rows, stamped
    `today`."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(_NEW_PRIORITIES_PG)
            with cur.copy("COPY new_priority FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(_SET_PRIORITIES_PG, (today,))
            cur.execute("DROP TABLE new_priority")
        return
    conn.execute(
        _SET_PRIORITY,
        [
            {"hid": h, "score": s, "reasons": r, "top": t, "until": u, "origin": o, "on": today}
            for h, s, r, t, u, o in rows
        ],
    )


_STAMP = upsert_statement(PriorityRefresh.__table__, ("commune_id",))


def _stamp(session: Session, *, commune_id: int, today: date) -> None:
    """Record that the commune's scores are from `today` (in the caller's transaction)."""
    session.connection().execute(_STAMP, {"commune_id": commune_id, "refreshed_on": today})


def refresh_household(
    session: Session,
    *,
    household_id: int,
    today: date,
    weights: Mapping[str, int] | None = None,
    persons: list[Person] | None = None,
) -> Priority:
    """Recompute one household (after a visit to it) within the caller's transaction.

    `persons` are its members when the caller has just read them in this transaction.
    """
    if weights is None:
        province_id = session.get(Household, household_id).province_id
        weights = weights_in_force(session, province_id=province_id)
    if persons is None:
        persons = session.exec(select(Person).where(Person.household_id == household_id)).all()
    # As in refresh_commune: off-list members left out, the others in the order of their ids.
    persons = sorted((p for p in persons if not p.off_list), key=lambda p: p.id)
    # Just the columns the engine reads: whole outcome objects cost more than the scoring.
    outcomes = (
        session.execute(_OUTCOMES_OF, {"person_ids": [p.id for p in persons]}).all()
        if persons
        else []
    )
    priority = _priorities(persons, outcomes, today=today, weights=weights).get(
        household_id, Priority(score=0, off_list=True)
    )
    household = session.get(Household, household_id)
    household.priority_score = priority.score
    household.priority_reasons = encode_reasons(priority.reasons)
    household.priority_top = top_code(priority)
    household.priority_until = priority.until
    household.priority_origin = origin_of(priority, today)
    household.priority_on = today
    session.add(household)
    return priority


def stale_communes(session: Session, *, commune_ids: Iterable[int], today: date) -> list[int]:
    """Communes among these whose scores were not all computed for `today`."""
    ids = sorted(set(commune_ids))
    if not ids:
        return []
    fresh = set(session.exec(_FRESH_COMMUNES, params={"commune_ids": ids, "today": today}).all())
    return [i for i in ids if i not in fresh]


def mark_stale(session: Session, *, commune_ids: Iterable[int]) -> None:
    """Have these communes recomputed on their next request (after their persons changed)."""
    ids = sorted(set(commune_ids))
    if ids:
        session.execute(delete(PriorityRefresh).where(PriorityRefresh.commune_id.in_(ids)))


@dataclass(frozen=True)
class WorklistRow:
    """One household on a worklist: where, who, why, and when it was last visited."""

    household: Row  # the ROW_COLUMNS of the household, read as attributes like the model's
    village_name: str
    member_names: tuple[str, ...]
    reasons: tuple[ReasonLine, ...]
    # Whose household it is when not the list's canvasser (a search reaches colleagues'), or "".
    colleague: str = ""


@dataclass(frozen=True)
class Worklist:
    """A page of a canvasser's worklist, with the counts its filters show."""

    rows: list[WorklistRow]
    total: int
    by_reason: dict[str, int]
    by_village: list[tuple[int, str, int]]
    due_today: list[WorklistRow]
    has_more: bool
    searching: bool = False  # a search: every household the user may see, due or not


def ensure_fresh(session: Session, *, commune_ids: Iterable[int], today: date) -> None:
    """Recompute, once a day, the communes whose scores are from another day."""
    stale = stale_communes(session, commune_ids=commune_ids, today=today)
    if not stale:
        return
    try:
        for commune_id in stale:
            refresh_commune(session, commune_id=commune_id, today=today)
        session.commit()
    except OperationalError as error:
        if not is_locked(error):
            raise
        # An import holds SQLite's lock (core/spool.py): the list keeps yesterday's order for
        # now rather than wait, and the next page after the import refreshes it.
        session.rollback()


def _search_filter(stmt, *, scope: Scope, query: str):
    """Households with a member whose name (diacritics ignored), phone or BHXH number matches."""
    digits = re.sub(r"\D", "", query)
    people = apply_scope(select(Person.household_id), Person, scope)
    if digits and len(digits) >= 4 and digits == query.replace(" ", "").replace("+", ""):
        tail = digits[1:] if digits.startswith("0") else digits
        people = people.where(
            or_(
                Person.bhxh_number == digits,
                Person.citizen_id == digits,
                Person.phone.like(f"%{tail}"),
            )
        )
        return stmt.where(or_(Household.id.in_(people), Household.phone.like(f"%{tail}")))
    return stmt.where(Household.id.in_(people.where(Person.name_key.like(f"%{fold(query)}%"))))


def _due_today_line(today: date) -> str:
    """How an appointment for today begins among a household's stored reasons (encode_reasons)."""
    line = encode_reasons([ReasonLine(Reason.FOLLOW_UP_DUE, today, 0)])
    return line[1:].rsplit(",", 1)[0] + ","  # without the outcome: promised or considering


def worklist_for(
    session: Session,
    *,
    scope: Scope,
    canvasser_id: int,
    today: date,
    village_id: int | None = None,
    reason: str | None = None,
    query: str = "",
    offset: int = 0,
    limit: int = 30,
    teammate_ids: Sequence[int] = (),
) -> Worklist:
    """A canvasser's households on the list, best first, filtered and paged, all in the database.

    Unfiltered, the appointments of today come apart ("Hẹn hôm nay", overdue ones stay in the
    list by their score) and the list leaves them out, so no household is shown twice. With
    `teammate_ids`, the team's households are on the list too (teams.service.teammates). A search
    (`query`) looks through every household the user may see, due or not, the colleagues' too.
    """
    ensure_fresh(session, commune_ids=_scope_communes(session, scope, canvasser_id), today=today)
    searching = bool(query.strip())
    if searching:
        base = _search_filter(
            apply_scope(select(Household), Household, scope), scope=scope, query=query.strip()
        )
    else:
        owners = (
            Household.assigned_canvasser_id.in_([canvasser_id, *teammate_ids])
            if teammate_ids
            else Household.assigned_canvasser_id == canvasser_id
        )
        base = apply_scope(
            select(Household).where(owners, Household.priority_score > 0), Household, scope
        )
    # One grouped count gives the reason chips, the village chips and the total.
    counts = session.execute(
        base.with_only_columns(Household.village_id, Household.priority_top, func.count()).group_by(
            Household.village_id, Household.priority_top
        )
    ).all()
    by_reason: dict[str, int] = defaultdict(int)
    per_village: dict[int, int] = defaultdict(int)
    for village, top, n in counts:
        per_village[village] += n
        if not village_id or village == village_id:
            by_reason[top] += n
    if village_id:
        base = base.where(Household.village_id == village_id)
    filtered = base.where(Household.priority_top == reason) if reason else base
    total = by_reason.get(reason, 0) if reason else sum(by_reason.values())
    due: list[Row] = []
    if not (searching or reason or village_id):
        due = session.execute(
            base.with_only_columns(*ROW_COLUMNS)
            .where(Household.priority_reasons.contains(_due_today_line(today), autoescape=True))
            .order_by(Household.priority_score.desc(), Household.id)
            .limit(DUE_TODAY_LIMIT)
        ).all()
        if due:
            filtered = filtered.where(Household.id.not_in([h.id for h in due]))
    page = session.execute(
        filtered.with_only_columns(*ROW_COLUMNS)
        .order_by(Household.priority_score.desc(), Household.id)
        .offset(offset)
        .limit(limit + 1)
    ).all()
    names = dict(
        session.exec(
            select(GeoUnit.id, GeoUnit.name).where(GeoUnit.id.in_([v for v in per_village if v]))
        ).all()
    )
    shown_due = due if offset == 0 else []
    rows = _rows(
        session,
        list(page[:limit]) + list(shown_due),
        names,
        canvasser_id=canvasser_id,
        today=today,
    )
    return Worklist(
        rows=rows[: min(len(page), limit)],
        total=total,
        by_reason=dict(by_reason),
        by_village=sorted(
            ((v, names.get(v, ""), n) for v, n in per_village.items() if v), key=lambda t: t[1]
        ),
        due_today=rows[min(len(page), limit) :],
        has_more=len(page) > limit,
        searching=searching,
    )


def _scope_communes(session: Session, scope: Scope, canvasser_id: int) -> list[int]:
    """The communes whose scores a worklist needs: the canvasser's assigned households' communes."""
    if scope.commune_ids is not None and len(scope.commune_ids) <= 5:
        return sorted(scope.commune_ids)
    return list(
        session.exec(
            select(Household.commune_id)
            .where(Household.assigned_canvasser_id == canvasser_id)
            .distinct()
        ).all()
    )


def _rows(
    session: Session,
    households: list[Row],
    village_names: dict[int, str],
    *,
    canvasser_id: int,
    today: date,
) -> list[WorklistRow]:
    ids = [h.id for h in households]
    members: dict[int, list[str]] = defaultdict(list)
    if ids:
        for hid, name in session.exec(
            select(Person.household_id, Person.full_name)
            .where(Person.household_id.in_(ids), Person.off_list == "")
            .order_by(Person.id)
        ).all():
            members[hid].append(name)
    others = {h.assigned_canvasser_id for h in households} - {canvasser_id, None}
    colleagues = (
        dict(session.exec(select(User.id, User.full_name).where(User.id.in_(others))).all())
        if others
        else {}
    )
    return [
        WorklistRow(
            h,
            village_names.get(h.village_id, ""),
            tuple(members[h.id]),
            tuple(decode_reasons(h.priority_reasons, today=today)),
            colleagues.get(h.assigned_canvasser_id, ""),
        )
        for h in households
    ]


def member_priorities(
    session: Session, *, members: list[Person], today: date
) -> dict[int, Priority]:
    """Each member's own priority and reasons, for the household page."""
    ids = [p.id for p in members]
    outcomes = session.execute(_OUTCOMES_OF, {"person_ids": ids}).all() if ids else []
    history = _histories(outcomes)
    return {
        # Off every list (an objection, an approved move or death): no reason to visit them.
        p.id: Priority(score=0, off_list=True)
        if p.off_list
        else person_priority(facts_of(p), history[p.id], today=today)
        for p in members
    }


def offline_key(value: str) -> str:
    """A BHXH or CCCD number as the offline search keeps it on the phone: hashed, never in clear
    (static/js/offline.js hashes what is typed the same way and compares)."""
    return hashlib.sha256(f"outreach-offline:{value}".encode()).hexdigest()


def offline_search_keys(
    session: Session, *, scope: Scope, household_ids: list[int]
) -> dict[int, dict[str, str]]:
    """What finds each household without signal, as space-separated words: its members' names
    folded ("names"), the phones as typed nationally ("digits"), hashed identifiers ("ids")."""
    keys: dict[int, dict[str, set[str]]] = {
        i: {"names": set(), "digits": set(), "ids": set()} for i in household_ids
    }
    if not household_ids:
        return {}
    people = session.execute(
        apply_scope(
            select(
                Person.household_id,
                Person.name_key,
                Person.phone,
                Person.bhxh_number,
                Person.citizen_id,
            ).where(Person.household_id.in_(household_ids)),
            Person,
            scope,
        )
    ).all()
    phones = session.execute(
        select(Household.id, Household.phone).where(Household.id.in_(household_ids))
    ).all()
    for household_id, name_key, phone, bhxh, citizen in people:
        entry = keys[household_id]
        entry["names"].add(name_key or "")
        entry["digits"].update(_national_digits(p) for p in (phone,) if p)
        entry["ids"].update(offline_key(v) for v in (bhxh, citizen) if v)
    for household_id, phone in phones:
        if phone:
            keys[household_id]["digits"].add(_national_digits(phone))
    return {i: {k: " ".join(sorted(v)) for k, v in entry.items()} for i, entry in keys.items()}


def _national_digits(phone: str) -> str:
    """A stored phone as people type it: +84912345678 → 0912345678."""
    return re.sub(r"\D", "", format_phone(phone))
