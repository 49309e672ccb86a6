"""SQLite with several writing processes: every write lands, nothing says "database is locked".

`make run` serves SQLite with two gunicorn workers (two processes, one file). SQLite takes one
writer at a time; `outreach/db.py` turns on WAL and a 30 s busy timeout so the others wait instead
of failing. These tests start real OS processes (forked, like gunicorn's workers) that record
visits through `services.visits.record_visit` on one file all at once, while another imports a
list and a third recomputes priorities and drafts the period's summary, and check that each write
succeeded and that the counts are exact.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
import uuid
from collections import Counter

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from outreach.core.audit import record_event
from outreach.core.periods import period_containing
from outreach.core.scope import scope_for
from outreach.db import make_engine
from outreach.imports.reading import read_table, stream_rows
from outreach.imports.writer import import_rows
from outreach.models import (
    AuditLog,
    Campaign,
    DailyTally,
    GeoUnit,
    Household,
    Person,
    Summary,
    User,
    Visit,
    VisitOutcome,
)
from outreach.models.codes import UnitKind
from outreach.summaries.service import draft_summary
from outreach.tallies.service import rebuild_tallies
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from outreach.worklist.service import refresh_commune
from tests.conftest import DEMO_TODAY, backend
from tests.imports.test_writer import HEADER, TITLE

pytestmark = pytest.mark.skipif(
    backend() != "sqlite", reason="SQLite's file locking; PostgreSQL has row locks"
)

WRITERS = 4
VISITS_EACH = 25
IMPORT_ROWS = 300
SUMMARY_DRAFTS = 3
TIMEOUT = 120  # seconds for the whole group; far more than a passing run needs
BARRIER_TIMEOUT = 60


def _failure() -> str:
    return traceback.format_exc(limit=3)


def _record_visits(url: str, username: str, count: int, start, results) -> None:
    """A process recording `count` visits as one canvasser, one transaction each, as a POST does."""
    stored, errors, began = 0, [], 0.0
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            me = session.exec(select(User).where(User.username == username)).one()
            scope = scope_for(session, me)
            targets = session.exec(
                select(Household.id, func.min(Person.id))
                .join(Person, Person.household_id == Household.id)
                .where(Household.assigned_canvasser_id == me.id)
                .group_by(Household.id)
                .order_by(Household.id)
            ).all()
            session.rollback()  # no snapshot held while waiting at the barrier
            start.wait(timeout=BARRIER_TIMEOUT)
            began = time.time()
            for i in range(count):
                household_id, person_id = targets[i % len(targets)]
                data = VisitInput(
                    client_uuid=str(uuid.uuid4()),
                    household_id=household_id,
                    channel="home",
                    outcomes=(OutcomeInput(person_id=person_id, outcome="not_home"),),
                )
                try:
                    record_visit(session, canvasser=me, scope=scope, data=data, today=DEMO_TODAY)
                    session.commit()
                    stored += 1
                except Exception:
                    session.rollback()
                    errors.append(_failure())
    except Exception:
        start.abort()  # the others stop waiting for this one
        errors.append(_failure())
    finally:
        engine.dispose()
    results.put(("visits", username, stored, errors, (began, time.time())))


def _import_csv(rows: int) -> bytes:
    """A participants list of `rows` new people, each in a household of their own."""
    lines = [
        f"{i},Nguyễn Văn An,01/01/1980,Nam,{2498000000 + i},,,Số {i} ngõ Thử Tải,"
        "Thôn Thử Tải,Phường Bắc Giang,,10/2026,1 tháng,"
        for i in range(1, rows + 1)
    ]
    return (TITLE + HEADER + "\n" + "\n".join(lines) + "\n").encode("utf-8")


def _import_list(url: str, rows: int, start, results) -> None:
    """A process importing a list in one transaction (its writes hold the lock the longest)."""
    inserted, errors, began = 0, [], 0.0
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            province_id = session.exec(
                select(GeoUnit.id).where(GeoUnit.kind == UnitKind.PROVINCE)
            ).one()
            _sheet, parsed = stream_rows(read_table(_import_csv(rows), "ds.csv"), "participants")
            session.rollback()
            start.wait(timeout=BARRIER_TIMEOUT)
            began = time.time()
            report = import_rows(
                session, rows=parsed, kind="participants", province_id=province_id, write=True
            )
            session.commit()
            inserted = report.inserted
            errors += [f"row {e.row_number}: {e.message}" for e in report.errors]
    except Exception:
        start.abort()  # the others stop waiting for this one
        errors.append(_failure())
    finally:
        engine.dispose()
    results.put(("import", "admin", inserted, errors, (began, time.time())))


def _refresh_and_summarize(url: str, drafts: int, start, results) -> None:
    """A process recomputing the busiest commune's priorities, then drafting the summary."""
    done, errors, began = 0, [], 0.0
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            admin = session.exec(select(User).where(User.username == "admin")).one()
            commune_id = session.exec(
                select(GeoUnit.id).where(GeoUnit.kind == UnitKind.COMMUNE, GeoUnit.code == "07210")
            ).one()
            campaign = session.exec(select(Campaign)).one()
            session.rollback()
            start.wait(timeout=BARRIER_TIMEOUT)
            began = time.time()
            for _ in range(drafts):
                try:
                    refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
                    session.commit()
                    draft_summary(
                        session,
                        campaign=campaign,
                        period=period_containing(DEMO_TODAY),
                        user_id=admin.id,
                    )
                    session.commit()
                    done += 1
                except Exception:
                    session.rollback()
                    errors.append(_failure())
    except Exception:
        start.abort()  # the others stop waiting for this one
        errors.append(_failure())
    finally:
        engine.dispose()
    results.put(("summary", "admin", done, errors, (began, time.time())))


def _count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _tallies(session: Session) -> Counter:
    rows = session.exec(
        select(DailyTally.commune_id, DailyTally.day, DailyTally.metric, DailyTally.count)
    )
    return Counter({(c, d, m): n for c, d, m, n in rows})


def _canvassers(session: Session) -> list[str]:
    """The canvassers with the most households (the demo leaves some with none)."""
    return list(
        session.exec(
            select(User.username)
            .join(Household, Household.assigned_canvasser_id == User.id)
            .group_by(User.username)
            .order_by(func.count().desc(), User.username)
            .limit(WRITERS)
        )
    )


def test_concurrent_writers_all_succeed_and_counts_are_exact(db_url):
    engine = make_engine(db_url)
    with Session(engine) as session:
        before = {model: _count(session, model) for model in (Visit, VisitOutcome, Person)}
        canvassers = _canvassers(session)
    engine.dispose()

    # Forked, as gunicorn forks its workers; each opens its own engine after the fork.
    ctx = multiprocessing.get_context("fork")
    jobs = [(_record_visits, (db_url, name, VISITS_EACH)) for name in canvassers]
    jobs += [
        (_import_list, (db_url, IMPORT_ROWS)),
        (_refresh_and_summarize, (db_url, SUMMARY_DRAFTS)),
    ]
    start, results = ctx.Barrier(len(jobs)), ctx.Queue()
    processes = [
        ctx.Process(target=f, args=(*args, start, results), daemon=True) for f, args in jobs
    ]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=TIMEOUT) for _ in processes]
    for p in processes:
        p.join(timeout=30)
        assert p.exitcode == 0

    errors = [e for _, _, _, errs, _ in outcomes for e in errs]
    assert not [e for e in errors if "database is locked" in e]
    assert errors == []
    done = {(kind, who): n for kind, who, n, _, _ in outcomes}
    # They really ran at the same time: the last to start began before the first to finish ended.
    windows = [window for *_, window in outcomes]
    assert max(b for b, _ in windows) < min(e for _, e in windows)
    assert all(done[("visits", name)] == VISITS_EACH for name in canvassers)
    assert done[("import", "admin")] == IMPORT_ROWS
    assert done[("summary", "admin")] == SUMMARY_DRAFTS

    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            visits = len(canvassers) * VISITS_EACH
            assert _count(session, Visit) == before[Visit] + visits
            assert _count(session, VisitOutcome) == before[VisitOutcome] + visits
            assert _count(session, Person) == before[Person] + IMPORT_ROWS
            assert _count(session, Summary) >= 1
            # Tallies counted visit by visit under contention equal a recount from the visits.
            incremental = _tallies(session)
            province_id = session.exec(
                select(GeoUnit.id).where(GeoUnit.kind == UnitKind.PROVINCE)
            ).one()
            rebuild_tallies(session, province_id=province_id)
            session.commit()
            assert _tallies(session) == incremental
    finally:
        engine.dispose()


def test_a_session_that_read_first_can_still_write_after_another_commit(db_url):
    """record_visit reads (the UUID, the household) before it writes, while others commit.

    In WAL mode a transaction that has read can only become the writer if nobody committed since
    its snapshot; otherwise SQLite refuses at once with "database is locked", whatever the busy
    timeout. Our sessions are safe because Python's sqlite3 opens the transaction at the first
    INSERT/UPDATE/DELETE, not at the first SELECT: this fails if that changes (an explicit
    deferred BEGIN on every transaction, say), which would then need BEGIN IMMEDIATE for writes.
    """
    engine = make_engine(db_url)
    try:
        with Session(engine) as first, Session(engine) as second:
            user = first.exec(select(User).where(User.username == "admin")).one()
            seen = first.exec(select(func.count()).select_from(Visit)).one()
            record_event(second, action="login", username="other", user_id=user.id)
            second.commit()
            record_event(first, action="login", username="first", user_id=user.id)
            first.commit()  # no "database is locked"
            assert first.exec(select(func.count()).select_from(Visit)).one() == seen
            names = first.exec(
                select(AuditLog.username).where(AuditLog.username.in_(["first", "other"]))
            ).all()
            assert sorted(names) == ["first", "other"]
    finally:
        engine.dispose()
