"""Bulk writes for the demo province and large imports (COPY on PostgreSQL), and upserts."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from functools import lru_cache

from psycopg import sql
from sqlalchemy import Index, Table, bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
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
    """The first free primary key of a table nobody else writes meanwhile (the demo's load into
    an empty database). An import takes its ids from an `IdSource`."""
    return (conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar() or 0) + 1


class IdSource:
    """Primary keys for the rows a bulk load inserts with ids of its own, from the database.

    On PostgreSQL, from the table's sequence, a block of `nextval` at a time: another import (or
    any insert) running meanwhile takes its own values, never one of ours, and nothing needs
    resetting after the load. On SQLite, by SQLite's own rule for a new rowid (one past the
    largest), read once under the write lock the load holds (`hold_write_lock`): no other
    connection can insert until it commits. A dry run (`reserve=False`) numbers its rows from
    the same start but reserves nothing.
    """

    FIRST_BLOCK, LARGEST_BLOCK = 256, 65_536

    def __init__(self, conn: Connection, table: Table, *, reserve: bool = True):
        self.conn, self.table = conn, table
        self.from_sequence = reserve and conn.dialect.name == "postgresql"
        self.block: list[int] = []
        self.taken = 0
        self.size = self.FIRST_BLOCK
        self.sequence: str | None = None
        if not self.from_sequence:
            self.following = (
                conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar() or 0
            ) + 1

    def take(self) -> int:
        """The next id for a row of this table."""
        if not self.from_sequence:
            self.following += 1
            return self.following - 1
        if self.taken == len(self.block):
            self._reserve()
        self.taken += 1
        return self.block[self.taken - 1]

    def _reserve(self) -> None:
        # The sequence named once, as a constant: `nextval(pg_get_serial_sequence(…))` looked
        # it up in the catalog for every value (8 us each against 1, measured). Straight to the
        # driver: SQLAlchemy's result rows cost more than the nextval themselves.
        with self.conn.connection.driver_connection.cursor() as cur:
            if self.sequence is None:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", (self.table.name,))
                self.sequence = cur.fetchone()[0]
            sequence = sql.Literal(self.sequence)  # a literal: a parameter is cast every row
            cur.execute(
                sql.SQL("SELECT nextval({}::regclass) FROM generate_series(1, %s)").format(
                    sequence
                ),
                (self.size,),
            )
            self.block = [row[0] for row in cur.fetchall()]
        self.taken = 0
        self.size = min(self.size * 4, self.LARGEST_BLOCK)  # few round trips for a large file


def hold_write_lock(conn: Connection, *, retry_for_seconds: float = 3600) -> None:
    """SQLite: take the database's write lock now (BEGIN IMMEDIATE), waiting for another long
    writer (an import) to finish rather than failing after the busy timeout; elsewhere nothing."""
    driver = conn.connection.driver_connection
    if conn.dialect.name != "sqlite" or driver.in_transaction:
        return
    deadline = time.monotonic() + retry_for_seconds
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if "locked" not in str(error).lower() or time.monotonic() > deadline:
                raise


def lock_province_for_import(conn: Connection, province_id: int) -> None:
    """PostgreSQL: one import at a time writes into a province (a second waits for the first's
    commit, then matches against what it wrote); imports into other provinces run meanwhile.
    Released with the transaction. SQLite has one writer anyway (`hold_write_lock`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, :province)"),
            {"space": IMPORT_LOCK_SPACE, "province": province_id},
        )


IMPORT_LOCK_SPACE = 23  # the advisory locks' first key: "an import into province N"


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


class _NotAlone(Exception):
    """Raised inside `tables_to_itself`'s savepoint to give the lock back."""


def tables_to_itself(conn: Connection, tables: Sequence[Table], *, province_id: int) -> bool:
    """Whether a bulk load into a province may rebuild the indexes of `tables` at its end.

    SQLite: yes (the load holds the only write lock, and a reader keeps its snapshot, indexes
    included). PostgreSQL: dropping an index locks its whole table against every reader until
    the commit, so only when the tables hold no other province's rows and no one else is using
    them: then they are locked (ACCESS EXCLUSIVE) until the commit. NOWAIT, in a savepoint: a
    load never waits for the lock (nor makes readers queue behind it), and when it is refused,
    or another province's rows are there, the lock is given back and the load keeps the indexes.
    """
    if conn.dialect.name != "postgresql":
        return True
    names = ", ".join(table.name for table in tables)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE NOWAIT")
            for table in tables:
                others = text(f"SELECT 1 FROM {table.name} WHERE province_id <> :p LIMIT 1")
                if conn.execute(others, {"p": province_id}).first():
                    raise _NotAlone
    except (_NotAlone, OperationalError):  # OperationalError: the lock is not available
        return False
    return True


class BrokenReference(RuntimeError):
    """A bulk load wrote a reference to a row that is not there (the load is rolled back)."""


@contextmanager
def references_checked_once(
    conn: Connection, tables: Sequence[Table], *, held: Sequence[Table]
) -> Iterator[None]:
    """PostgreSQL, for a load into `tables` holding `held` to itself (`tables_to_itself`): no
    foreign key is checked row by row during the load, those of `tables` once at its end;
    elsewhere nothing.

    Row by row, a check is a query per reference (seven per new person with their household:
    ~12 s of the server's time for a million rows, measured). At the end, each referred row
    outside the tables is checked once and locked as the row-by-row checks lock it (FOR KEY
    SHARE), so that no one can remove it before the commit; a reference inside them is checked
    by one anti-join (nobody else can write there meanwhile). A missing row fails the load.
    Turning the checks off (`session_replication_role`) needs a superuser or `GRANT SET ON
    PARAMETER session_replication_role`: without it the load is checked row by row, as before.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError:  # not allowed: the checks stay on
        yield
        return
    yield
    conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
    inside = {table.name for table in held}
    for table in tables:
        for key in table.foreign_keys:
            column, referred = key.parent.name, key.column.table.name
            if referred in inside:
                _check_inside(conn, table.name, column, referred)
            else:
                _check_and_lock(conn, table.name, column, referred)


def _check_inside(conn: Connection, table: str, column: str, referred: str) -> None:
    missing = conn.exec_driver_sql(
        f"SELECT t.{column} FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {referred} r WHERE r.id = t.{column}) LIMIT 1"
    ).first()
    if missing:
        raise BrokenReference(f"{table}.{column} = {missing[0]}: no such {referred}")


def _check_and_lock(conn: Connection, table: str, column: str, referred: str) -> None:
    distinct = f"SELECT DISTINCT {column} v FROM {table}"  # hashed: array_agg(DISTINCT) sorts
    wanted = conn.exec_driver_sql(
        f"SELECT array_agg(v) FROM ({distinct}) d WHERE v IS NOT NULL"
    ).scalar()
    wanted = wanted or []
    found = conn.execute(
        text(f"SELECT id FROM {referred} WHERE id = ANY(:ids) FOR KEY SHARE"), {"ids": wanted}
    ).scalars()
    missing = set(wanted) - set(found)
    if missing:
        raise BrokenReference(f"{table}.{column} = {min(missing)}: no such {referred}")


# PostgreSQL's memory for building each deferred index, this transaction only (the default 64 MB
# spills a million rows' sort to disk).
INDEX_BUILD_MEMORY = "256MB"


@contextmanager
def indexes_deferred(conn: Connection, indexes: Sequence[Index]) -> Iterator[None]:
    """Drop `indexes` for the duration of a bulk load and create them again at its end.

    Both happen in the caller's transaction: if the load fails and is rolled back, the indexes
    come back with everything else, and until the commit other connections see them as they were
    (on PostgreSQL the caller holds the tables to itself: `tables_to_itself`).
    """
    driver = conn.connection.driver_connection
    if indexes and conn.dialect.name == "sqlite" and not driver.in_transaction:
        # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE: a DROP INDEX
        # sent first would be committed at once, and a failed load would leave it dropped.
        conn.exec_driver_sql("BEGIN")
    for index in indexes:
        index.drop(conn)
    yield
    if indexes and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
    for index in indexes:
        index.create(conn)
