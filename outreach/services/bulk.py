"""Bulk writes for the demo province and large imports (COPY on PostgreSQL), and upserts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def _sqlite_value(value):
    # The same text formats SQLAlchemy itself writes, so the ORM reads these rows back unchanged.
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


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
    marks = ", ".join("?" * len(columns))
    cur = dbapi.cursor()
    batch: list[tuple] = []
    for row in rows:
        batch.append(tuple(_sqlite_value(v) for v in row))
        if len(batch) >= 20_000:
            cur.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", batch)
            count += len(batch)
            batch.clear()
    if batch:
        cur.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", batch)
        count += len(batch)
    return count


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


def upsert(
    conn: Connection,
    table: Table,
    row: dict,
    *,
    keys: list[str],
    merge: Callable[[Table, Any], dict] | None = None,
) -> None:
    """Insert a row, or update the one with the same keys: by default to the new values, or
    to what `merge(table, excluded)` says (e.g. add a count, keep the earliest time).

    One statement, so two requests doing it at once never fail on the unique key.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**row)
    if merge is not None:
        changes = merge(table, stmt.excluded)
    else:
        changes = {name: stmt.excluded[name] for name in row if name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes))
