"""A first load on PostgreSQL (issue 23): with the tables to itself it drops their indexes, locks
them until its commit and builds the indexes again at its end; otherwise it keeps them. Either
way it is all of its file or nothing."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import create_engine, func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from outreach.geography.service import load_province
from outreach.imports import writer as importing
from outreach.models import GeoUnit, Household, Person
from outreach.models.codes import UnitKind
from tests.crash.test_kill9 import participants_csv
from tests.imports.test_writer import ROWS, _csv, _first_load, _index_names, load_list


@pytest.fixture(autouse=True)
def _postgresql_first_loads(session, monkeypatch):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer and readers keep their snapshot")
    monkeypatch.setattr(importing, "FIRST_LOAD_FROM", 1)


@pytest.fixture
def other(app):
    """A second connection to the same database, as a web request or another worker has."""
    engine = create_engine(app.extensions["engine"].url)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _reads_person(conn) -> bool:
    """Whether `conn` can read the person table within a tenth of a second (False: locked)."""
    try:
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
            conn.exec_driver_sql("SELECT 1 FROM person LIMIT 1").all()
        return True
    except OperationalError:
        return False


def _stored(session, numbers) -> int:
    return session.exec(
        select(func.count()).select_from(Person).where(Person.bhxh_number.in_(numbers))
    ).one()


def _province(session, code: str) -> GeoUnit:
    return session.exec(
        select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE, GeoUnit.code == code)
    ).one()


NUMBERS = ("2499000001", "2499000002", "2499000003")  # the three valid rows of ROWS


def test_alone_it_locks_the_tables_and_a_failure_midway_leaves_nothing_and_no_lock(
    session, other, monkeypatch
):
    """A row the database refuses in the second chunk's COPY (a CHECK constraint stands for any
    error the server raises) rolls the whole load back: no person, every index, the tables free
    again."""
    monkeypatch.setattr(importing, "CHUNK", 2)  # rows 1-2, then 3 (refused) and 4
    session.connection().exec_driver_sql(
        "ALTER TABLE person ADD CONSTRAINT refuse CHECK (bhxh_number <> '2499000003')"
    )
    session.commit()
    all_indexes, persons = _index_names(session), session.exec(select(func.count(Person.id))).one()
    during = []

    def look(done):
        during.append((_reads_person(other), _index_names(session)))

    with pytest.raises(psycopg.errors.CheckViolation):
        _first_load(session, ROWS, look)
    session.rollback()

    assert during == [(False, set())]  # locked against readers, indexes set aside
    assert _reads_person(other)
    assert _index_names(session) == all_indexes
    assert session.exec(select(func.count(Person.id))).one() == persons
    assert _stored(session, NUMBERS) == 0


def test_alone_it_lands_whole_and_the_same_list_again_changes_nothing(session, other):
    all_indexes = _index_names(session)
    report = _first_load(session, ROWS, lambda done: None)
    session.commit()
    assert (report.inserted, report.rejected) == (3, 2)
    assert _index_names(session) == all_indexes and _reads_person(other)
    assert _stored(session, NUMBERS) == 3

    for expected_rows in (None, 10**9):  # the usual way, then as a first load again
        again = load_list(
            session, _csv(ROWS), _province(session, "24"), expected_rows=expected_rows
        )
        session.commit()
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert _stored(session, NUMBERS) == 3
    assert _index_names(session) == all_indexes


def test_with_a_reader_on_the_tables_it_keeps_the_indexes_and_never_waits(session, other):
    """A connection in the middle of reading people holds its lock until it ends: the load does
    not wait for it (nor make later readers queue behind it), it keeps the indexes."""
    all_indexes = _index_names(session)
    reading = other.begin()
    other.exec_driver_sql("SELECT 1 FROM person LIMIT 1").all()
    during = []

    report = _first_load(session, ROWS, lambda done: during.append(_index_names(session)))
    session.commit()
    reading.rollback()

    assert report.inserted == 3 and during == [all_indexes]
    assert _stored(session, NUMBERS) == 3


def _ha_noi_with_people_list(session) -> tuple[GeoUnit, bytes]:
    """Hà Nội loaded beside the demo's Bắc Ninh, and a list of five new people there."""
    load_province(session, province_code="01")
    session.commit()
    data, _ = participants_csv(5, province_code="01", first_number=2_460_000_000)
    return _province(session, "01"), data


def test_with_another_provinces_people_it_keeps_the_indexes(app, session):
    """Dropping an index would lock every province's pages until the commit: a first load does
    it only while the tables hold no one else's people."""
    ha_noi, data = _ha_noi_with_people_list(session)
    with Session(app.extensions["engine"]) as elsewhere:
        load_list(elsewhere, data, ha_noi, expected_rows=None)
        elsewhere.commit()
    all_indexes = _index_names(session)
    during = []

    progress = lambda done: during.append(_index_names(session))  # noqa: E731
    report = load_list(session, _csv(ROWS), _province(session, "24"), progress=progress)
    session.commit()

    assert report.inserted == 3 and during == [all_indexes]
    assert session.exec(select(func.count(Household.id))).one() > 0
    in_ha_noi = text("SELECT count(*) FROM person WHERE province_id = :p")
    assert session.execute(in_ha_noi, {"p": ha_noi.id}).scalar() == 5


def test_an_import_into_another_province_waits_for_a_load_holding_the_tables(app, session):
    """While a first load holds the tables, an import into another province waits (it does not
    fail), then lands once the load has committed."""
    ha_noi, data = _ha_noi_with_people_list(session)
    outcome: dict[str, object] = {}

    def import_ha_noi() -> None:
        with Session(app.extensions["engine"]) as elsewhere:
            report = load_list(elsewhere, data, ha_noi, expected_rows=None)
            elsewhere.commit()
        outcome["inserted"] = report.inserted

    other_import = threading.Thread(target=import_ha_noi)

    def meanwhile(done):
        other_import.start()
        other_import.join(timeout=2)
        outcome["waited"] = other_import.is_alive()

    report = load_list(session, _csv(ROWS), _province(session, "24"), progress=meanwhile)
    session.commit()
    other_import.join(timeout=60)

    assert report.inserted == 3
    assert outcome == {"waited": True, "inserted": 5}


def test_the_loaded_tables_have_no_trigger_a_trusted_load_would_skip(session):
    """A first load holding the tables turns the row-by-row checks off with
    `session_replication_role`, which skips every trigger: none but the foreign keys' may be
    there (a trigger added to these tables must be run by the load some other way)."""
    found = session.execute(
        text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
            "('person'::regclass, 'household'::regclass, 'geo_unit'::regclass)"
        )
    ).all()
    assert found == []
