"""How an imported row finds the person it names, and what a first load knows without asking.

A row is matched by BHXH number, then CCCD, then name + date of birth + commune (docs/imports.md,
"Matching"); `matching_rows` looks many keys up in one statement, `FirstLoad` lets a first load
insert rows sure to be new without any lookup.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from itertools import chain
from typing import IO

from sqlalchemy import Table, select
from sqlmodel import Session

from outreach.core.text import compact_key, fold
from outreach.geography.places import Place
from outreach.imports.reading import ParsedRow
from outreach.imports.reading.worker import decode_row, encode_row, read_frame, write_frame
from outreach.models import Person


class ImportRow:
    """One valid row on its way in: where it lives, whom it names, and its keys for matching.

    The keys are made here, not in the parsing child: that half of a large import is the
    slower one now, and folding a million names and addresses takes ~3 s.
    """

    __slots__ = ("parsed", "place", "person", "name_key", "address_key")

    def __init__(self, parsed: ParsedRow, place: Place | None) -> None:
        self.parsed, self.place = parsed, place
        self.person: dict | None = None  # the matched person's current columns, when known
        values = parsed.values
        self.name_key = fold(values.get("full_name"))  # "nguyen van a"
        self.address_key = compact_key(values.get("address"))  # "so5ngo2thonmoilap"


CONFLICT = object()


class FirstLoad:
    """What a first load knows without asking the database: the numbers and name keys of
    everyone stored, and the name keys of the rows met so far.

    A row none of whose keys is among them names someone new for sure (the parser already
    rejects a BHXH number or CCCD repeated within the file), so it is inserted as it comes,
    with no lookup. The others (someone stored, a namesake born the same day in the same
    commune) are set aside on disk, in file order, and matched the usual way once the indexes
    are back. Name keys are kept as hashes, 8 bytes each: a collision only sets a row aside.
    """

    def __init__(self, conn) -> None:
        table = Person.__table__
        self.bhxh: set[str] = set()
        self.citizen_ids: set[str] = set()
        self.names: set[int] = set()
        stored = conn.execute(
            select(
                table.c.bhxh_number,
                table.c.citizen_id,
                table.c.commune_id,
                table.c.name_key,
                table.c.date_of_birth,
            )
        )
        for bhxh, citizen_id, commune_id, name_key, born in stored:
            if bhxh:
                self.bhxh.add(bhxh)
            if citizen_id:
                self.citizen_ids.add(citizen_id)
            if name_key and born:
                self.names.add(hash((commune_id, name_key, born)))
        self.file: IO[bytes] | None = None  # made when a first row is set aside
        self.frames = 0

    def is_new(self, row: ImportRow) -> bool:
        """True when no one stored or met so far shares a key with the row (remembered)."""
        values = row.parsed.values
        new = (
            values.get("bhxh_number") not in self.bhxh
            and values.get("citizen_id") not in self.citizen_ids
        )
        born = values.get("date_of_birth")
        if born and row.place is not None and row.name_key:  # as `row_name_key` has one
            key = hash((row.place.commune_id, row.name_key, born))
            if key in self.names:
                return False
            self.names.add(key)
        return new

    def set_aside(self, rows: list[ImportRow]) -> None:
        """Keep rows on disk (as the parsing child sends them) until the indexes are back."""
        if not rows:
            return
        if self.file is None:  # kept across chunks, closed by `close` (import_rows sees to it)
            self.file = tempfile.TemporaryFile(prefix="outreach-import-")  # noqa: SIM115
        write_frame(self.file, "rows", [encode_row(row.parsed) for row in rows])
        self.frames += 1

    def set_aside_rows(self) -> Iterator[list[ParsedRow]]:
        """The rows set aside, a chunk at a time, in file order."""
        if self.file is None:
            return
        self.file.seek(0)
        for _frame in range(self.frames):
            _tag, payload = read_frame(self.file)
            yield [decode_row(data) for data in payload]

    def close(self) -> None:
        """Drop the file of rows set aside."""
        if self.file is not None:
            self.file.close()


def matching_rows(
    session: Session, table: Table, columns: Sequence[str], keys: tuple[str, ...], wanted: set
) -> list[dict]:
    """Rows of `table` whose `keys` columns equal one of the `wanted` tuples, typed as the ORM
    reads them.

    A VALUES list joined on the index, sent straight to the driver: one statement per chunk (a
    row-value IN makes SQLite scan the whole index; a query per commune costs a round trip each;
    SQLAlchemy's bound-parameter machinery costs more than the query, 4,000 at a time).
    """
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    names = [f"k{i}" for i in range(len(keys))]
    one = "(" + ", ".join([mark] * len(keys)) + ")"
    on = " AND ".join(f"t.{key} = wanted.{name}" for key, name in zip(keys, names, strict=True))
    selected = ", ".join(f"t.{c}" for c in columns)
    found = f"{table.name} t ON {on}"
    if dialect.name == "postgresql":
        # PostgreSQL would hash-join a seq scan of the whole table, chunk after chunk (quadratic
        # over a large file); a lateral subquery it cannot flatten (OFFSET 0) probes the index.
        found = f"LATERAL (SELECT {selected} FROM {table.name} t WHERE {on} OFFSET 0) t ON true"
    sql = (
        f"WITH wanted({', '.join(names)}) AS (VALUES {', '.join([one] * len(wanted))}) "
        f"SELECT {selected} FROM wanted JOIN {found}"
    )
    processors = [_processor(table.c[c], dialect, "result") for c in columns]
    binds = [_processor(table.c[key], dialect, "bind") for key in keys]
    if any(binds):  # a date in the key (SQLite keeps it as text): converted where it sits
        wanted = [
            tuple(bind(v) if bind else v for bind, v in zip(binds, values, strict=True))
            for values in wanted
        ]
    params = tuple(chain.from_iterable(wanted))
    rows = conn.exec_driver_sql(sql, params).all()
    return [
        {c: (p(v) if p else v) for c, p, v in zip(columns, processors, row, strict=True)}
        for row in rows
    ]


def _processor(column, dialect, way: str):
    """How SQLAlchemy turns a value into the driver's and back (SQLite keeps dates as text)."""
    kind = column.type.dialect_impl(dialect)
    return kind.result_processor(dialect, None) if way == "result" else kind.bind_processor(dialect)


def row_name_key(row: ImportRow) -> str:
    """The row's key for matching by name, birth date and commune ("" when it lacks one)."""
    values = row.parsed.values
    if row.place is None or not row.name_key or not values.get("date_of_birth"):
        return ""
    return name_key_of(row.place.commune_id, row.name_key, values["date_of_birth"])


def numbers_differ(values: dict, person: dict) -> bool:
    """True when the row and the person both have a BHXH number, or both a CCCD, and they
    differ: a BHXH number is a person's for life, so the name and birth date are a coincidence."""
    return any(
        values.get(name) and person[name] and values[name] != person[name]
        for name in ("bhxh_number", "citizen_id")
    )


def name_key_of(commune_id: int, name_key: str, born: date | None) -> str:
    """The key of a name, birth date and commune, as the person lookups store it."""
    return f"n:{commune_id}:{name_key}:{born.isoformat() if born else ''}"
