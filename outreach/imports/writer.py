"""Parsed BHXH list rows into the database: places, people, households and payments.

`import_rows` walks the parsed rows in chunks. For each chunk it matches places
(`geography/places.py`) and people already known (by BHXH number, then CCCD, then name + date of
birth + commune), decides for every row whether it is new, updated, unchanged or rejected, and —
when asked to write — inserts and updates in bulk. It never commits: the caller wraps a whole file
in one transaction, so a file lands whole or not at all. A dry run goes through the same steps
without writing, which is what the preview shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, nullcontext
from datetime import date, datetime, timedelta
from itertools import islice

from sqlalchemy import Index, bindparam, func, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from outreach.core.bulk import (
    IdSource,
    begin_trusted_load,
    bulk_insert,
    hold_write_lock,
    indexes_deferred,
    lock_province_for_import,
    references_checked_once,
    sqlite_bulk_settings,
    tables_to_itself,
)
from outreach.core.clock import add_months_end, month_end
from outreach.core.i18n import _
from outreach.core.memory import gc_paused
from outreach.core.text import fold
from outreach.geography.places import Place, PlaceError, PlaceIndex
from outreach.geography.spelling import district_in_text
from outreach.imports.households import VILLAGE_COLUMNS, HouseholdPlacement
from outreach.imports.matching import (
    CONFLICT,
    FirstLoad,
    ImportRow,
    matching_rows,
    name_key_of,
    numbers_differ,
    row_name_key,
)
from outreach.imports.reading import ParsedRow, RowError
from outreach.imports.report import NOTES_KEPT, ImportReport, group_note, unconfirmed_village
from outreach.models import GeoUnit, Household, Payment, Person
from outreach.models.base import utcnow
from outreach.models.codes import ImportKind
from outreach.worklist.service import mark_stale

CHUNK = 2000
# SQLite's page cache during an import: the default 2 MB holds little of the indexes a million
# new people touch at random; 256 MB made the inserts 3x faster (26 -> 8 us a row, measured).
IMPORT_CACHE_KB = 256 * 1024
# A "first load": a file of at least this many rows into a database holding no more people than
# the file has rows. Its rows are matched in memory and appended (see `FirstLoad`).
FIRST_LOAD_FROM = 100_000
# On SQLite a first load drops these and builds them again at its end, with every index of the
# household table. Their keys are spread at random (numbers, names, addresses): measured at a
# million people, building one after the load takes 0.7-2.3 s, keeping it up to date row by row
# 3-6 s. The household indexes put each new row at the end of one of a few hundred ranges (a
# commune, a canvasser), yet the eight of them cost ~10 s of a million-row load kept up to date
# against ~3 s built at the end. The two person indexes left (a commune's benefit end, a
# province's communes) are cheaper kept: most new rows go at the end of one range.
REBUILT_AFTER_FIRST_LOAD = {
    "uq_person_bhxh",
    "uq_person_citizen_id",
    "ix_person_commune_name",
    "ix_person_commune_paid_through",
    "ix_person_household",
    *(index.name for index in Household.__table__.indexes),
}
# Its page cache is smaller: with those indexes set aside there is little to keep, the commit
# then writes less at once and the builds sort in less (a million rows: 61-69 s against 72-78 s
# with 256 MB, runs taken in turn).
FIRST_LOAD_CACHE_KB = 48 * 1024
# The list facts each kind of list carries; other columns of a person are left as they are.
KIND_FACTS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.PARTICIPANTS: ("paid_through", "payment_frequency", "income_basis"),
    ImportKind.UNEMPLOYMENT: ("benefit_start", "benefit_end"),
    ImportKind.RESERVED: ("reserved_months",),
    ImportKind.POTENTIAL: (),
    ImportKind.PAYMENTS: ("paid_through", "payment_frequency", "income_basis"),
}
# What being on a list of each kind says of a person.
_KIND_FLAGS: dict[ImportKind, dict[str, bool]] = {
    ImportKind.PARTICIPANTS: {"is_participant": True},
    ImportKind.UNEMPLOYMENT: {},
    ImportKind.RESERVED: {},
    ImportKind.POTENTIAL: {"is_potential": True},
    ImportKind.PAYMENTS: {"is_participant": True},
}
IDENTITY = (
    "full_name",
    "date_of_birth",
    "birth_year_only",
    "sex",
    "bhxh_number",
    "citizen_id",
    "phone",
)
# The values a row of each kind may set on a person (joined once: `_facts` runs for every row).
_FACT_NAMES = {kind: (*IDENTITY, *facts, "support_group") for kind, facts in KIND_FACTS.items()}
# Every person column, in the table's order (new people's rows are laid out in it).
PERSON_COLUMNS = tuple(Person.__table__.columns.keys())
_PERSON_INDEX = {name: index for index, name in enumerate(PERSON_COLUMNS)}
# A new person's columns before the row's facts: nothing known, no flag set.
_NEW_PERSON = {
    **dict.fromkeys(PERSON_COLUMNS),
    "is_participant": False,
    "is_potential": False,
    "citizen_id_is_legacy": False,
    "off_list": "",  # on the lists until a correction says otherwise (corrections/)
    "birth_year_only": False,
}
HOUSEHOLD_COLUMNS = (
    "id",
    "province_id",
    "commune_id",
    "village_id",
    "code",
    "address",
    "address_key",
    "head_name",
    "phone",
    "assigned_canvasser_id",
    "created_at",
    "updated_at",
)
PAYMENT_COLUMNS = (
    "id",
    "person_id",
    "province_id",
    "commune_id",
    "paid_on",
    "amount",
    "months",
    "is_new_enrollment",
    "receipt_number",
    "batch_id",
)
COMMUNE_HEADER = "Xã, phường"
VILLAGE_HEADER = "Thôn, tổ dân phố"


Progress = Callable[[int], None]


def import_rows(
    session: Session,
    *,
    rows: Iterable[ParsedRow],
    kind: ImportKind | str,
    province_id: int,
    write: bool,
    batch_id: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    expected_rows: int | None = None,
    district_hint: str = "",
    create_villages: bool = True,
) -> ImportReport:
    """Classify every row (new / updated / unchanged / rejected) and, if `write`, apply them.

    Rows with errors are never written; the caller decides whether a file with rejected rows may
    be imported at all (the admin chooses to skip them). Nothing is committed here.
    `expected_rows` (the file's own estimate) lets a large first load match in memory and
    append (`FirstLoad`). `district_hint` is the old district the file's title block names, for
    rows that give none (nor an address naming one). Without `create_villages` a new person in a
    village the database does not know is refused (the admin confirms new villages first).
    """
    kind = ImportKind(kind)
    conn = session.connection()
    if write:  # before anything is read: a second import into the province waits here
        lock_province_for_import(conn, province_id)
    first_load = write and _is_first_load(conn, kind, expected_rows)
    if first_load:  # before the writer reads the places, households and canvassers it refers to
        begin_trusted_load(conn)
    elif write:  # SQLite: the ids are read under the lock (`IdSource`)
        hold_write_lock(conn)
    rebuilt = []
    if first_load and tables_to_itself(conn, _LOADED_TABLES, province_id=province_id):
        rebuilt = _rebuilt_indexes(conn.dialect.name)
    writer = _Writer(session, kind, province_id, write, batch_id, now or utcnow(), first_load)
    writer.district_hint, writer.create_villages = district_hint, create_villages
    cache = FIRST_LOAD_CACHE_KB if first_load else IMPORT_CACHE_KB
    with sqlite_bulk_settings(conn, cache), gc_paused(), closing(writer):
        trusted = nullcontext()
        if rebuilt:  # villages too: they are written during the load
            written = (*_LOADED_TABLES, GeoUnit.__table__)
            trusted = references_checked_once(conn, written, held=_LOADED_TABLES)
        with indexes_deferred(conn, rebuilt), trusted:
            for chunk in _chunks(rows, CHUNK):
                writer.chunk(chunk)
                if progress:
                    progress(writer.report.read)
        writer.settle_set_aside()
        writer.finish()
    return writer.report


def _is_first_load(conn, kind: ImportKind, expected_rows: int | None) -> bool:
    """A large file next to what the database holds (receipts excepted: they are matched to
    people already stored, and a file may repeat a payer)."""
    if kind == ImportKind.PAYMENTS or (expected_rows or 0) < FIRST_LOAD_FROM:
        return False
    persons = conn.execute(select(func.max(Person.id))).scalar() or 0
    return expected_rows >= persons


_LOADED_TABLES = (Person.__table__, Household.__table__)


def _rebuilt_indexes(dialect: str) -> list[Index]:
    """The indexes a first load builds once at its end rather than row by row.

    On SQLite those of `REBUILT_AFTER_FIRST_LOAD`; on PostgreSQL every one but the primary keys
    (which the foreign keys need): kept up to date they cost ~25 us a person (the nine of
    `person`, measured), ~50 s for a million people with their households; built at the end,
    0.5-3 s each, ~16 s in all (on a loaded machine).
    """
    return [
        index
        for table in _LOADED_TABLES
        for index in table.indexes
        if dialect == "postgresql" or index.name in REBUILT_AFTER_FIRST_LOAD
    ]


def _chunks(rows: Iterable[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Writer(HouseholdPlacement):
    """State kept across the chunks of one file: places, households and canvassers by commune."""

    def __init__(self, session, kind, province_id, write, batch_id, now, first_load=False):
        self.session, self.kind, self.write, self.batch_id, self.now = (
            session,
            kind,
            write,
            batch_id,
            now,
        )
        self.province_id = province_id
        self.places = PlaceIndex.load(session, province_id=province_id)
        self.report = ImportReport()
        self.conn = session.connection()
        self.ids = {  # from the database: imports into other provinces run at the same time
            name: IdSource(self.conn, table.__table__, reserve=write)
            for name, table in (
                ("person", Person),
                ("household", Household),
                ("payment", Payment),
                ("village", GeoUnit),
            )
        }
        self.village_ids: dict[tuple[int, str], int] = {}
        self.district_hint, self.create_villages = "", True
        self.new_villages: list[tuple] = []  # made by this chunk, inserted before its households
        # Households of this file (new, or found in the database), by (commune, "code:…"/"addr:…").
        self.new_households: dict[tuple[int, str], int] = {}
        self.load: dict[int, list[tuple[int, int]]] = {}  # commune -> heap of (households, user)
        self.village_canvassers: dict[int, int] = {}  # village -> its canvasser
        self.analyze_at = CHUNK  # rows inserted when PostgreSQL's statistics are next refreshed
        self.first_load = FirstLoad(self.conn) if first_load else None
        self.new_person = self._new_person_layout()
        if first_load:  # every household a new person could join is known from the start
            self._load_households()
            self._load_canvassers()

    def _keep_statistics(self) -> None:
        """Refresh PostgreSQL's statistics of people and households as the import grows them.

        Its planner otherwise keeps costing lookups for the tables as they were before the file
        (200 rows, say) and picks a wrong index: 0.6 ms instead of 0.02 ms a household at 90,000
        rows, measured. ANALYZE inside the transaction counts the rows it inserted; doubling the
        interval keeps it to ~10 runs for a million rows.
        """
        if not self.write or self.conn.dialect.name != "postgresql":
            return
        if self.report.inserted >= self.analyze_at:
            try:  # in a savepoint: an import into another province may be analyzing too
                with self.conn.begin_nested():
                    self.conn.exec_driver_sql("ANALYZE person, household")
            except DBAPIError:  # "tuple concurrently updated": its statistics serve us both
                pass
            self.analyze_at = 2 * max(self.analyze_at, self.report.inserted)

    # -- one chunk ----------------------------------------------------------------------------

    def chunk(self, chunk: list[ParsedRow]) -> None:
        self.report.read += len(chunk)
        rows = self._placed(chunk)
        if self.first_load is None:
            self._keep_statistics()
            self._apply(rows)
            return
        # A first load looks nothing up until its rows set aside: statistics are read then.
        new, later = [], []
        for row in rows:
            (new if self.first_load.is_new(row) else later).append(row)
        self.first_load.set_aside(later)
        self._insert_people(new)

    def settle_set_aside(self) -> None:
        """Match and apply the rows a first load set aside, now that every index is back."""
        if self.first_load is None:
            return
        for parsed in self.first_load.set_aside_rows():
            self._keep_statistics()
            self._apply([ImportRow(p, self._place_of(p.values)) for p in parsed])

    def close(self) -> None:
        """Let go of what the import kept on disk."""
        if self.first_load is not None:
            self.first_load.close()

    def _apply(self, rows: list[ImportRow]) -> None:
        """Match placed rows to the people stored, then insert, update or leave each one, as if
        one row at a time: a row naming someone the same rows are adding waits until they are in."""
        while rows:
            rows = self._apply_once(rows)

    def _apply_once(self, rows: list[ImportRow]) -> list[ImportRow]:
        known = self._known_people(rows)
        new_people, changes, payments, later = [], [], [], []
        adding: set[str] = set()  # name keys of the people this pass inserts
        for row in rows:
            match = self._match(row, known)
            if match is CONFLICT:
                continue
            if match is None:
                if row.place is None:
                    self._reject(
                        row.parsed,
                        "Mã số BHXH",
                        _(
                            "Không tìm thấy người này; để thêm người mới hãy ghi họ tên và "
                            "xã, phường."
                        ),
                    )
                    self.report.rejected += 1
                    continue
                key = row_name_key(row)
                if key in adding:  # matched (or not) once the earlier row's person is stored
                    later.append(row)
                    continue
                if key:
                    adding.add(key)
                new_people.append(row)
                continue
            row.person = match
            self.report.communes.add(match["commune_id"])
            if self.kind == ImportKind.PAYMENTS:
                payments.append(row)  # what changes depends on whether the receipt is new
                continue
            change = self._changes(row)
            if change:
                changes.append((match["id"], change))
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        self._prefetch_households(new_people)
        self._insert_people(new_people)
        if self.kind == ImportKind.PAYMENTS:
            changes += self._new_receipts(payments, [r for r in new_people if r.person])
        self._update_people(changes)
        return later

    def _reject(self, parsed: ParsedRow, column: str, message: str) -> None:
        parsed.errors.append(RowError(parsed.row_number, column, message))
        self.report.errors.append(parsed.errors[-1])

    def _placed(self, chunk: list[ParsedRow]) -> list[ImportRow]:
        rows = []
        for parsed in chunk:
            if parsed.errors:
                self.report.errors.extend(parsed.errors)
                self.report.rejected += 1
                continue
            values = parsed.values
            if "support_group_note" in values and len(self.report.notes) < NOTES_KEPT:
                self.report.notes.append(group_note(parsed))
            if not values.get("commune") and (
                values.get("bhxh_number") or values.get("citizen_id")
            ):
                # Placed by the person it names (a receipt, a D05-TS without addresses).
                rows.append(ImportRow(parsed, None))
                continue
            try:
                place, hinted = self._lookup(values)
            except PlaceError as error:
                self._reject(parsed, COMMUNE_HEADER, str(error))
                self.report.rejected += 1
                continue
            if hinted == "title":
                self.report.title_hinted += 1
            elif hinted == "address":
                self.report.address_hinted += 1
            if place.converted_from:
                self.report.converted_addresses += 1
            rows.append(ImportRow(parsed, place))
        return rows

    def _lookup(self, values: dict) -> tuple[Place, str]:
        """The row's place, and where its old district came from when not from the row itself:
        "address" (a district named in its address), "title" (the title block) or ""."""
        district = values.get("old_district", "")
        hint, source = "", ""
        if not district and self.places.hint_matters(values.get("commune", "")):
            address = values.get("address")
            if address and (hint := district_in_text(address)):
                source = "address"
            elif self.district_hint:
                hint, source = self.district_hint, "title"
        found = self.places.lookup(
            values.get("commune", ""),
            district,
            hint,
            village=values.get("village", ""),
            hint_from=source or "title",
        )
        return found.place, source if found.hint_used else ""

    def _place_of(self, values: dict) -> Place:
        return self._lookup(values)[0]

    def _known_people(self, rows: list[ImportRow]) -> dict[str, dict]:
        """People of the province this chunk names, by "b:<bhxh>", "c:<cccd>" and "n:<name>".

        One indexed query per way of matching (an OR across them makes SQLite scan the table),
        and names only for the rows their numbers did not find.
        """
        found: dict[str, dict] = {}
        bhxh = {r.parsed.values["bhxh_number"] for r in rows if r.parsed.values.get("bhxh_number")}
        if bhxh:
            self._remember(found, ("bhxh_number",), {(b,) for b in bhxh})
        # A CCCD is looked up unless its row's BHXH number found someone with that very CCCD
        # (unique, so it names no one else): on a re-import most rows are settled that way,
        # and a CCCD belonging to someone else is a conflict `_match` must see.
        cids = set()
        for r in rows:
            cid = r.parsed.values.get("citizen_id")
            by_bhxh = found.get(f"b:{r.parsed.values.get('bhxh_number')}")
            if cid and (by_bhxh is None or by_bhxh["citizen_id"] != cid):
                cids.add(cid)
        if cids:
            self._remember(found, ("citizen_id",), {(c,) for c in cids})
        pending = [
            r
            for r in rows
            if r.place
            and r.name_key
            and f"b:{r.parsed.values.get('bhxh_number')}" not in found
            and f"c:{r.parsed.values.get('citizen_id')}" not in found
        ]
        wanted = {  # a name alone is not enough to match: the date of birth must be there too
            (r.place.commune_id, r.name_key, r.parsed.values["date_of_birth"])
            for r in pending
            if r.parsed.values.get("date_of_birth")
        }
        if wanted:  # the date in the join too: common names would bring back their namesakes
            self._remember(found, ("commune_id", "name_key", "date_of_birth"), wanted)
        return found

    def _remember(self, found: dict[str, dict], keys: tuple[str, ...], wanted: set) -> None:
        result = matching_rows(self.session, Person.__table__, PERSON_COLUMNS, keys, wanted)
        for row in result:
            person = found.get(f"b:{row['bhxh_number']}") or found.get(f"c:{row['citizen_id']}")
            if person is None or person["id"] != row["id"]:
                person = dict(row)
            if person["bhxh_number"]:
                found[f"b:{person['bhxh_number']}"] = person
            if person["citizen_id"]:
                found[f"c:{person['citizen_id']}"] = person
            found.setdefault(
                name_key_of(person["commune_id"], person["name_key"], person["date_of_birth"]),
                person,
            )

    def _match(self, row: ImportRow, known: dict[str, dict]):
        values = row.parsed.values
        by_bhxh = known.get(f"b:{values['bhxh_number']}") if values.get("bhxh_number") else None
        by_cid = known.get(f"c:{values['citizen_id']}") if values.get("citizen_id") else None
        if by_bhxh and by_cid and by_bhxh["id"] != by_cid["id"]:
            self._reject(
                row.parsed,
                "Mã số BHXH",
                _("Mã số BHXH và số CCCD này thuộc hai người khác nhau đã có trong hệ thống."),
            )
            self.report.rejected += 1
            return CONFLICT
        person = by_bhxh or by_cid
        if person is None and (key := row_name_key(row)):
            person = known.get(key)
            if person is not None and numbers_differ(values, person):
                person = None  # a namesake born the same day, but someone else
        if person is not None and row.place is None:
            row.place = Place(self.session.get(GeoUnit, person["commune_id"]))
        return person

    # -- what changes -------------------------------------------------------------------------

    def _facts(self, values: dict, person: dict | None, name_key: str = "") -> dict:
        """The person's columns this row sets (blank cells never erase what is known)."""
        out: dict = {}
        for name in _FACT_NAMES[self.kind]:
            if values.get(name) not in (None, ""):
                out[name] = values[name]
        if "citizen_id" in out:
            out["citizen_id_is_legacy"] = bool(values.get("citizen_id_is_legacy"))
        if "full_name" in out:
            out["name_key"] = name_key or fold(out["full_name"])
        out.update(_KIND_FLAGS[self.kind])
        if self.kind == ImportKind.PAYMENTS and "paid_through" not in values:
            out["paid_through"] = _paid_through_after(values, person)
        return out

    def _new_person_layout(self) -> Callable[..., list]:
        """`new_person(values, name_key, id, household_id, commune_id)`: a new person's row in
        `PERSON_COLUMNS` order, as `_facts` would set it on a blank person, laid out without a
        dict per person (a million new people in a first load; `test_importing` holds it equal)."""
        blank = {**_NEW_PERSON, **_KIND_FLAGS[self.kind], "province_id": self.province_id}
        blank["created_at"] = blank["updated_at"] = self.now
        layout = [blank[c] for c in PERSON_COLUMNS]
        facts = [(_PERSON_INDEX[name], name) for name in _FACT_NAMES[self.kind]]
        receipts = self.kind == ImportKind.PAYMENTS
        legacy, name_key_at = _PERSON_INDEX["citizen_id_is_legacy"], _PERSON_INDEX["name_key"]
        id_at, household_at = _PERSON_INDEX["id"], _PERSON_INDEX["household_id"]
        commune_at, paid_at = _PERSON_INDEX["commune_id"], _PERSON_INDEX["paid_through"]

        def new_person(values, name_key, person_id, household_id, commune_id) -> list:
            person = layout.copy()
            get = values.get
            for index, name in facts:
                value = get(name)
                if value is not None and value != "":  # blank cells set nothing
                    person[index] = value
            if get("citizen_id"):
                person[legacy] = bool(get("citizen_id_is_legacy"))
            person[name_key_at] = name_key or fold(values["full_name"])
            if receipts and "paid_through" not in values:
                person[paid_at] = _paid_through_after(values, None)
            person[id_at], person[household_at], person[commune_at] = (
                person_id,
                household_id,
                commune_id,
            )
            return person

        return new_person

    def _changes(self, row: ImportRow) -> dict:
        facts = self._facts(row.parsed.values, row.person, row.name_key)
        if facts.get("birth_year_only") and _same_year(row.person, facts):
            # "1978" on this list says less than the 12/03/1978 already known: kept.
            del facts["date_of_birth"], facts["birth_year_only"]
        return {k: v for k, v in facts.items() if row.person.get(k) != v}

    # -- writes -------------------------------------------------------------------------------

    def _insert_people(self, rows: list[ImportRow]) -> None:
        households, persons = [], []
        new_person = self.new_person
        for row in rows:
            values = row.parsed.values
            if not values.get("full_name"):
                self._reject(row.parsed, "Họ và tên", _("Thiếu họ và tên của người mới."))
                self.report.rejected += 1
                continue
            commune_id = row.place.commune_id
            household_id = self._household_for(row, households)
            if household_id is None:
                self._reject(row.parsed, VILLAGE_HEADER, unconfirmed_village(row.place))
                self.report.rejected += 1
                continue
            person_id = self.ids["person"].take()
            person = new_person(values, row.name_key, person_id, household_id, commune_id)
            persons.append(person)
            if self.kind == ImportKind.PAYMENTS:  # its receipts are stored against it next
                row.person = dict(zip(PERSON_COLUMNS, person, strict=True))
            self.report.inserted += 1
            self.report.communes.add(commune_id)
        if self.write:
            bulk_insert(self.conn, GeoUnit.__table__, VILLAGE_COLUMNS, self.new_villages)
            self.new_villages.clear()
            bulk_insert(self.conn, Household.__table__, HOUSEHOLD_COLUMNS, households)
            bulk_insert(self.conn, Person.__table__, PERSON_COLUMNS, persons)

    def _update_people(self, changes: list[tuple[int, dict]]) -> None:
        if not self.write or not changes:
            return
        table = Person.__table__
        by_columns: dict[tuple[str, ...], list[dict]] = defaultdict(list)
        for person_id, change in changes:
            change = {**change, "updated_at": self.now}
            by_columns[tuple(sorted(change))].append({"pid": person_id, **change})
        for columns, params in by_columns.items():
            stmt = (
                update(table)
                .where(table.c.id == bindparam("pid"))
                .values({c: bindparam(c) for c in columns})
            )
            self.conn.execute(stmt, params)

    def _new_receipts(
        self, known: list[ImportRow], created: list[ImportRow]
    ) -> list[tuple[int, dict]]:
        """Store the receipts not seen before; each new one extends its payer's paid-through.

        A receipt already stored (same person, day, amount and months) is unchanged, so
        importing the same payments list twice neither duplicates nor extends anything.
        """
        rows = known + created
        if not rows:
            return []
        existing = set(
            self.session.execute(
                select(Payment.person_id, Payment.paid_on, Payment.amount, Payment.months).where(
                    Payment.person_id.in_({r.person["id"] for r in rows})
                )
            ).all()
        )
        new_ids = {id(r) for r in created}
        payments, changes = [], []
        for row in rows:
            values = row.parsed.values
            key = (row.person["id"], values["paid_on"], values["amount"], values["months"])
            if key in existing:
                self.report.unchanged += 1
                continue
            existing.add(key)
            if id(row) not in new_ids:
                change = self._changes(row)
                row.person.update(change)  # shared by its rows: a second receipt builds on this
                if change:
                    changes.append((row.person["id"], change))
                self.report.updated += 1
            payments.append(
                (
                    self.ids["payment"].take(),
                    row.person["id"],
                    self.province_id,
                    row.person["commune_id"],
                    values["paid_on"],
                    values["amount"],
                    values["months"],
                    bool(values.get("is_new_enrollment")),
                    values.get("receipt_number"),
                    self.batch_id,
                )
            )
        self.report.payments += len(payments)
        if self.write and payments:
            bulk_insert(self.conn, Payment.__table__, PAYMENT_COLUMNS, payments)
        return changes

    def finish(self) -> None:
        if self.write and self.report.communes:
            # New facts change priorities: those communes are recomputed on their next request.
            mark_stale(self.session, commune_ids=self.report.communes)


def _same_year(person: dict, facts: dict) -> bool:
    known = person.get("date_of_birth")
    return known is not None and known.year == facts["date_of_birth"].year


def _paid_through_after(values: dict, person: dict | None) -> date | None:
    """A payment of N months extends the paid-through month from where it stood (or from the
    month before the payment, for someone lapsed or new)."""
    paid_on: date = values["paid_on"]
    before = month_end(*_previous_month(paid_on))
    current = person.get("paid_through") if person else None
    start = current if current and current >= before else before
    return add_months_end(start, values["months"])


def _previous_month(day: date) -> tuple[int, int]:
    previous = day.replace(day=1) - timedelta(days=1)
    return previous.year, previous.month
