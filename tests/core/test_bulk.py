"""Bulk inserts write what the ORM itself would: the rows read back equal, byte for byte."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from outreach.core.bulk import (
    BrokenReference,
    bulk_insert,
    next_id,
    references_checked_once,
    sqlite_bulk_settings,
    tables_to_itself,
)
from outreach.models import GeoUnit, Household, Person
from outreach.models.codes import UnitKind


def test_bulk_rows_read_back_as_orm_rows(session):
    commune = session.execute(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).scalar()
    stamp = datetime(2026, 11, 22, 7, 0, 39, 452827, tzinfo=UTC)
    orm = Household(
        province_id=commune.parent_id or commune.id,
        commune_id=commune.id,
        address="Số 1",
        created_at=stamp,
        updated_at=stamp,
    )
    session.add(orm)
    session.flush()
    conn = session.connection()
    bulk_id = next_id(conn, Household.__table__)
    columns = ("id", "province_id", "commune_id", "address", "address_key", "head_name")
    columns += ("priority_score", "priority_reasons", "priority_top", "created_at", "updated_at")
    bulk_insert(
        conn,
        Household.__table__,
        columns,
        [(bulk_id, orm.province_id, commune.id, "Số 1", "so1", "", 0, "", "", stamp, stamp)],
    )
    raw = "SELECT created_at FROM household WHERE id IN (:a, :b) ORDER BY id"
    written = session.execute(text(raw), {"a": orm.id, "b": bulk_id}).scalars().all()
    assert written[0] == written[1]  # the same text (or timestamp) either way
    session.expire_all()
    assert session.get(Household, bulk_id).created_at.replace(tzinfo=UTC) == stamp


def test_bulk_settings_hold_only_for_the_job(session):
    """A bigger cache and in-memory temporary storage for an import, the defaults afterwards
    (in-memory temporary storage slowed the summaries' grouped queries)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        with sqlite_bulk_settings(conn, 1024):  # nothing to tune elsewhere, and no error
            return
    pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
    before = (pragma("cache_size"), pragma("temp_store"))
    with sqlite_bulk_settings(conn, 1024):
        assert (pragma("cache_size"), pragma("temp_store")) == (-1024, 2)
    assert (pragma("cache_size"), pragma("temp_store")) == before
    assert before[1] != 2  # connections keep SQLite's default otherwise


def _person_row(session, commune_id: int) -> dict:
    """A copy of a stored person's row with a new id, no numbers and the given commune."""
    row = dict(session.execute(text("SELECT * FROM person LIMIT 1")).mappings().one())
    row.update(id=10**8, bhxh_number=None, citizen_id=None, commune_id=commune_id)
    return row


def _insert(session, row: dict) -> None:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    session.execute(text(f"INSERT INTO person ({columns}) VALUES ({values})"), row)


def test_references_checked_once_catch_a_missing_row_and_leave_the_checks_on(session):
    """PostgreSQL: during the load a reference to nothing goes in unchecked; at its end it is
    found and the load fails (rolled back); after a load every insert is checked again."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's trusted load is `begin_trusted_load`")
    tables = (Person.__table__, Household.__table__)
    province = session.execute(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).scalar()
    assert tables_to_itself(session.connection(), tables, province_id=province.id)
    broken = _person_row(session, commune_id=10**8)  # no such unit
    checked_once = references_checked_once(session.connection(), tables, held=tables)
    with pytest.raises(BrokenReference, match="person.commune_id = 100000000"), checked_once:
        _insert(session, broken)  # not refused here
    session.rollback()
    assert session.execute(text("SELECT count(*) FROM person WHERE id = 100000000")).scalar() == 0

    commune = session.execute(select(GeoUnit).where(GeoUnit.kind == UnitKind.COMMUNE)).scalar()
    with references_checked_once(session.connection(), tables, held=tables):
        _insert(session, _person_row(session, commune_id=commune.id))
    with pytest.raises(IntegrityError):  # checked row by row again
        _insert(session, {**broken, "id": 10**8 + 1})
    session.rollback()
