"""Bulk writes for the demo province and large imports (COPY on PostgreSQL), and upserts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import Index, Table, bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import TextClause


@lru_cache(maxsize=1024)  # a bulk insert stamps thousands of rows with the same moment
def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# Dates and times sent straight to the SQLite driver bind as the text SQLAlchemy itself writes,
# so rows inserted in bulk read back through the ORM unchanged (booleans bind as 1 and 0
# already). The driver calls these from C: converting each value in Python first cost ~3 s of
# a million-row import. (SQLAlchemy converts its own parameters, so they never get here.)
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(datetime, _sqlite_datetime)


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """Insert rows (tuples in `columns` order) inside the connection's transaction; returns the count."""
    cols = ", ".join(columns)
    dbapi = conn.connection.driver_connection
    count = 0
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    cur = dbapi.cursor()
    cur.executemany(
        f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join('?' * len(columns))})", rows
    )
    return max(cur.rowcount, 0)


def next_id(conn: Connection, table: Table) -> int:
    """The first free primary key, for rows whose ids we assign ourselves."""
    return (conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar() or 0) + 1


def reset_sequence(conn: Connection, table: Table) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


def upsert_statement(
    table: Table, keys: Sequence[str], update: str = "", where: str = ""
) -> TextClause:
    """INSERT of every column … ON CONFLICT (keys) DO UPDATE SET `update` [WHERE `where`], as text
    built once and run with each row's values (a list of rows: one `executemany`).

    `update` defaults to every other column taking the new value; it and `where` are SQL that
    may name the stored row by the table's name and the new one as `excluded` (the same on
    SQLite and PostgreSQL). One statement, so two requests doing it at once never fail on the
    unique key. Text, because SQLAlchemy gives a dialect's ON CONFLICT insert no cache key: built
    per call, it was compiled anew every time (15 of the 25 ms of CPU a sync of two visits took).
    """
    columns = [c.name for c in table.columns]
    update = update or ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}"
    )
    if where:
        sql += f" WHERE {where}"
    # Typed parameters, so dates and times are written exactly as the ORM writes them.
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in table.columns))


@contextmanager
def sqlite_bulk_settings(conn: Connection, cache_kilobytes: int) -> Iterator[None]:
    """SQLite tuned for a bulk job, then put back (a no-op elsewhere): a larger page cache, and
    temporary storage in memory.

    With foreign keys on, each insert into a table with several indexes keeps a statement
    journal; on disk it made bulk inserts 2.5x slower (20 vs 8 us a row). Only here: for the
    summaries' grouped queries in-memory temporary storage was slower (510-600 vs 270-370 ms).
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    temp = conn.exec_driver_sql("PRAGMA temp_store").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(cache_kilobytes)}")
    _temp_store(conn, 2)
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
        _temp_store(conn, int(temp))


def _temp_store(conn: Connection, value: int) -> None:
    # SQLite refuses to change it inside a transaction that already used temporary storage;
    # then the job just runs with what the connection has.
    with suppress(OperationalError):
        conn.exec_driver_sql(f"PRAGMA temp_store={value}")


# Set in a pooled connection's `info` while it does not check foreign keys (see `db.py`).
FOREIGN_KEYS_OFF = "foreign_keys_off"


def begin_trusted_load(conn: Connection) -> None:
    """SQLite: take the write lock now and check no foreign keys until the connection goes back
    to the pool (`db.py` turns the checks on again there); elsewhere, nothing.

    For a load whose every reference is a row it read itself (places, households, canvassers)
    or made in the same transaction: the lock, taken before it reads them, keeps anyone from
    removing one underneath. The checks cost ~3 us a row (3 s of a million-row load, measured).
    SQLite ignores the pragma inside a transaction: in one already, the load runs checked.
    """
    if conn.dialect.name != "sqlite" or conn.connection.driver_connection.in_transaction:
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.connection.info[FOREIGN_KEYS_OFF] = True
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def indexes_deferred(conn: Connection, indexes: Sequence[Index]) -> Iterator[None]:
    """Drop `indexes` for the duration of a bulk load and create them again at its end.

    Both happen in the caller's transaction: if the load fails and is rolled back, the indexes
    come back with everything else, and until the commit other connections see them as they were.
    """
    driver = conn.connection.driver_connection
    if indexes and conn.dialect.name == "sqlite" and not driver.in_transaction:
        # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE: a DROP INDEX
        # sent first would be committed at once, and a failed load would leave it dropped.
        conn.exec_driver_sql("BEGIN")
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)
