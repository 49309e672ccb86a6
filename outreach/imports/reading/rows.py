"""Turn a sheet into validated rows: header found, columns matched, every cell parsed or reported.

`parse_rows` is pure (no database, no geography lookups): it says what each row claims and what
is wrong with it, by spreadsheet row number and column header, in Vietnamese. Placing rows in
communes and matching them to people is the next step's work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice
from typing import Any, NamedTuple

from outreach.core.clock import add_months_end
from outreach.core.i18n import _, _l
from outreach.core.memory import gc_paused
from outreach.imports.reading.cells import (
    Cell,
    CellError,
    is_mark,
    parse_amount,
    parse_bhxh,
    parse_birth_date,
    parse_citizen_id,
    parse_date,
    parse_int,
    parse_month,
    parse_name,
    parse_new_enrollment,
    parse_payment_frequency,
    parse_phone,
    parse_sex,
    parse_support_group,
    parse_text,
)
from outreach.imports.reading.headers import (
    FIELD_LABELS,
    HEADER_SCAN_ROWS,
    REQUIRED,
    Header,
    HeaderMatch,
    match_headers,
    read_header,
    requirement_label,
)
from outreach.imports.reading.nonpeople import (
    SECTION_NUMBER,
    end_marker,
    has_value,
    heading,
    not_a_person,
)
from outreach.imports.reading.readers import StreamTable, Table
from outreach.imports.reading.tcvn3 import (
    has_unicode_vietnamese,
    is_convertible,
    looks_like_tcvn3,
    tcvn3_to_unicode,
)
from outreach.imports.reading.title import commune_elsewhere, commune_of_row, title_district
from outreach.models.codes import PAYMENT_FREQUENCIES, ImportKind, Sex

# Longer text is a pasted document, not a field (Excel itself allows 32,767 characters a cell).
MAX_CELL_CHARS = 1000
# Data rows looked at to decide which columns are still in TCVN3.
TCVN3_SAMPLE_ROWS = 2000
# Rows after a header's first that `read_header` may look at: a second header row, number rows.
_HEADER_SPAN = 3

Values = dict[str, Any]
Store = Callable[[Values, Cell], None]


@dataclass(slots=True)
class RowError:
    """One problem: the row number Excel shows, the column's header, a Vietnamese message."""

    row_number: int
    column_header: str
    message: str


@dataclass(slots=True)
class ParsedRow:
    """A data row: the fields it gives and its problems (none when it can be imported)."""

    row_number: int
    values: Values
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the row has no error."""
        return not self.errors


@dataclass(slots=True)
class ParsedSheet:
    """Everything `parse_rows` learnt about a sheet."""

    kind: ImportKind
    header: Header
    match: HeaderMatch
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_rows: int = 0  # blank and pre-numbered rows, totals, signatures
    # Rows with something in them that are not people, with why (the first SKIPPED_SHOWN):
    # (row number as Excel shows it, reason in Vietnamese).
    skipped: list[tuple[int, str]] = field(default_factory=list)
    tcvn3_columns: list[int] = field(default_factory=list)
    # The old district the title block names ("BẢO HIỂM XÃ HỘI HUYỆN YÊN THẾ"), "" when none or
    # several: the district of rows that give none (`PlaceIndex.lookup(district_hint=...)`).
    title_district: str = ""
    # Where rows find their commune when no column holds it: "title" (a commune's own list,
    # "UBND XÃ ĐỒNG KỲ", named in `title_commune`), "address" (the address names it) or "".
    commune_from: str = ""
    title_commune: str = ""

    @property
    def header_row(self) -> int:
        """The 1-based row number of the header, as Excel shows it."""
        return self.header.row_index + 1

    @property
    def valid_rows(self) -> list[ParsedRow]:
        """The rows without errors."""
        return [row for row in self.rows if row.ok]


# ---------------------------------------------------------------------------------------------
# How each field is stored from its cell


def _text(max_chars: int) -> Callable[[Cell], str]:
    def parse(cell: Cell) -> str:
        return parse_text(cell, max_chars)

    return parse


# "5 năm 3 tháng", "5 năm", "3 tháng", "5n3t": a reserved time as BHXH prints it.
_YEARS_MONTHS = re.compile(
    r"\s*(?:(\d{1,2})\s*n(?:ăm|am)?)?\s*(?:(\d{1,3})\s*t(?:háng|hang)?)?\s*$"
)


def _reserved_months(cell: Cell) -> int:
    """Months kept in reserve: a number of months, or years and months ("5 năm 3 tháng")."""
    if isinstance(cell, str) and (found := _YEARS_MONTHS.fullmatch(cell.lower())) is not None:
        years, months = found.groups()
        if years or months:
            cell = int(years or 0) * 12 + int(months or 0)
    return parse_int(cell, minimum=0, maximum=600, label=RESERVED_MONTHS_LABEL)


def _store_citizen_id(values: Values, cell: Cell) -> None:
    values["citizen_id"], values["citizen_id_is_legacy"] = parse_citizen_id(cell)


def _store_birth_date(values: Values, cell: Cell) -> None:
    values["date_of_birth"], values["birth_year_only"] = parse_birth_date(cell)


def _store_support_group(values: Values, cell: Cell) -> None:
    """A group the app knows, or (a free-text "Thành phần": "Nông dân", "Buôn bán") none, with
    the text kept as a note for the preview rather than the row refused."""
    try:
        values["support_group"] = parse_support_group(cell).value
    except CellError:
        values["support_group_note"] = " ".join(str(cell).split())[:200]


def _sex_column(sex: Sex) -> Store:
    """A "Nam" or "Nữ" column: a tick, or (on printed forms) the date of birth under that sex."""

    def store(values: Values, cell: Cell) -> None:
        birth = None if is_mark(cell) else parse_birth_date(cell)
        if values.get("sex", sex.value) != sex.value:
            raise CellError(_("Chỉ điền một trong hai cột Nam và Nữ"))
        values["sex"] = sex.value
        if birth is not None:
            values["date_of_birth"], values["birth_year_only"] = birth

    return store


# Field names in messages, and what a duplicate row is reported as (translated when shown).
RESERVED_MONTHS_LABEL = _l("Số tháng bảo lưu")
RESERVED_YEARS_LABEL = _l("Số năm bảo lưu")
MONTHS_LABEL = _l("Số tháng")
DUPLICATE_BHXH = _l("Trùng mã số BHXH với dòng %(row)s")
DUPLICATE_CITIZEN_ID = _l("Trùng số CCCD với dòng %(row)s")
DUPLICATE_RECEIPT = _l("Trùng số biên lai với dòng %(row)s")
DUPLICATE_PAYMENT = _l("Trùng khoản nộp với dòng %(row)s")

# Most fields take one cell to one value of the same name.
PARSERS: dict[str, Callable[[Cell], Any]] = {
    "full_name": parse_name,
    "bhxh_number": parse_bhxh,
    "sex": lambda cell: parse_sex(cell).value,
    "phone": parse_phone,
    "address": _text(300),
    "village": _text(100),
    "commune": _text(100),
    "old_district": _text(100),
    "household_code": _text(32),  # Household.code
    "paid_through": parse_month,
    "payment_frequency": parse_payment_frequency,
    "income_basis": parse_amount,
    "benefit_start": parse_date,
    "benefit_end": parse_date,
    "reserved_months": lambda cell: _reserved_months(cell),
    "reserved_years": lambda cell: parse_int(
        cell, minimum=0, maximum=50, label=RESERVED_YEARS_LABEL
    ),
    "paid_on": parse_date,
    "amount": parse_amount,
    "months": lambda cell: parse_int(cell, minimum=1, maximum=600, label=MONTHS_LABEL),
    "start_month": parse_month,
    "receipt_number": _text(40),  # Payment.receipt_number
    "is_new_enrollment": parse_new_enrollment,
    "note": _text(500),
}
# The others fill more than one value (citizen_id also says whether it is a legacy CMND).
STORES: dict[str, Store] = {
    "citizen_id": _store_citizen_id,
    "date_of_birth": _store_birth_date,
    "sex_male": _sex_column(Sex.MALE),
    "sex_female": _sex_column(Sex.FEMALE),
    "support_group": _store_support_group,
}

# Columns whose cells repeat a few spellings down a list (a commune, a sex, a month, an amount):
# each spelling is parsed once per file (`_remembered`). Names, numbers and addresses differ
# from row to row and are parsed every time.
REPEATING = frozenset(
    {
        "sex",
        "village",
        "commune",
        "old_district",
        "paid_through",
        "payment_frequency",
        "income_basis",
        "reserved_months",
        "start_month",
        "benefit_start",
        "benefit_end",
        "paid_on",
        "amount",
        "months",
        "is_new_enrollment",
    }
)
# Spellings remembered per column: a file of ever-new values stops remembering, not growing.
MAX_REMEMBERED = 4096


def _remembered(parse: Callable[[Cell], Any]) -> Callable[[Cell], Any]:
    """`parse`, with the value of each text cell kept for the next cell spelled the same.

    Only text (a str key never equals a number, while 1, 1.0 and True do) and only values:
    a cell in error is parsed again, so its message is made as usual. Measured on a million
    rows, the child's parse went from 26.0 to 23.8 s of CPU.
    """
    seen: dict[str, Any] = {}

    def parse_remembered(cell: Cell) -> Any:
        if cell.__class__ is not str:
            return parse(cell)
        try:
            return seen[cell]
        except KeyError:
            value = seen[cell] = parse(cell)  # a CellError leaves nothing behind
            if len(seen) > MAX_REMEMBERED:
                seen.popitem()
            return value

    return parse_remembered


# Characters no list means a cell to hold (issue 19). Refused, with the row and column: C0
# controls but tab and line ends (one NUL failed a whole import on PostgreSQL, which cannot store
# it), and bidi overrides and isolates (the cell would show in another order than it is stored).
# Removed: zero-width characters and direction marks, invisible, pasted from web pages and chat
# ("Nguyễn\u200bVăn" is "NguyễnVăn" to the eye); the value left is the one the admin sees.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff]")


# Skipped rows listed with their reason; the rest are counted only.
SKIPPED_SHOWN = 200


# ---------------------------------------------------------------------------------------------
# The sheet


class _Column(NamedTuple):
    index: int
    header: str
    name: str
    parse: Callable[[Cell], Any] | None  # values[name] = parse(cell), or else
    store: Store | None  # store(values, cell)
    tcvn3: bool


def parse_rows(
    table: Table | StreamTable | Sequence[Sequence[Cell]],
    kind: ImportKind | str,
    mapping: Mapping[str, str | None] | None = None,
    header_index: int | None = None,
) -> ParsedSheet:
    """Find the header, match its columns (saved `mapping` first) and parse every data row.

    When a required column is missing nothing is parsed: `match.missing` says which, so the admin
    can map the columns by hand. `header_index` (0-based) overrides the header the sheet suggests.
    A `StreamTable` is read through once (its head is enough to find the header).
    """
    sheet, rows = stream_rows(table, kind, mapping, header_index)
    with gc_paused():
        sheet.rows.extend(rows)
    return sheet


def stream_rows(
    table: Table | StreamTable | Sequence[Sequence[Cell]],
    kind: ImportKind | str,
    mapping: Mapping[str, str | None] | None = None,
    header_index: int | None = None,
) -> tuple[ParsedSheet, Iterator[ParsedRow]]:
    """Like `parse_rows`, but the rows come one by one and are not kept on the sheet.

    A million parsed rows take about a gigabyte; an importer that writes them in chunks can let
    each chunk go. The sheet's errors and skipped count grow as the iterator is consumed. With a
    `StreamTable` the header and the TCVN3 sample come from its head and the rows from its rest,
    read as the iterator is consumed: a file of any length in bounded memory.
    """
    kind = ImportKind(kind)
    if isinstance(table, StreamTable):
        # The rows the header is looked for in, or the admin's header, and what follows it.
        table.extend_head(max(HEADER_SCAN_ROWS, (header_index or 0) + 1) + _HEADER_SPAN)
        rows: Sequence[Sequence[Cell]] = table.head
    else:
        rows = table.rows if isinstance(table, Table) else table
    header = read_header(rows, header_index)
    match = match_headers(header.cells, kind, mapping)
    sheet = ParsedSheet(kind=kind, header=header, match=match)
    sheet.title_district = title_district(rows[: header.row_index], header.tcvn3)
    commune_elsewhere(sheet, rows)
    if not match.ok:
        return sheet, iter(())
    start = header.first_data_index
    data: Iterable[Sequence[Cell]] = islice(rows, start, None)
    if isinstance(table, StreamTable):
        table.extend_head(start + TCVN3_SAMPLE_ROWS)  # the sample, whatever the header's place
        data = chain(data, table.rest)
    sheet.tcvn3_columns = _tcvn3_columns(rows, start, match.columns.values(), header)
    columns = [
        _Column(
            index,
            header.cells[index] or FIELD_LABELS[name],
            name,
            _parser(name),
            STORES.get(name),
            index in sheet.tcvn3_columns,
        )
        for name, index in sorted(match.columns.items(), key=lambda item: item[1])
    ]
    return sheet, _iter_data(sheet, enumerate(data, start), columns)


def _parser(name: str) -> Callable[[Cell], Any] | None:
    """The column's parser, remembering its values when the column repeats them."""
    parse = PARSERS.get(name)
    return _remembered(parse) if parse is not None and name in REPEATING else parse


def _tcvn3_columns(
    rows: Sequence[Sequence[Cell]], start: int, indexes: Iterable[int], header: Header
) -> list[int]:
    """The columns whose text is still TCVN3, judged on a sample of the data.

    A column can say yes (VN3 letters), no (Unicode Vietnamese) or nothing (digits, short words).
    Silent columns follow the sheet: converted when some column says yes and none says no (or the
    header itself was in TCVN3), since one file comes from one program in one encoding.
    """
    sample = rows[start : start + TCVN3_SAMPLE_ROWS]
    verdicts: dict[int, bool | None] = {}
    for index in indexes:
        text = "\n".join(
            cell
            for row in sample
            if index < len(row) and isinstance(cell := row[index], str) and not cell.isascii()
        )
        if not text:
            continue
        verdicts[index] = (
            True if looks_like_tcvn3(text) else False if has_unicode_vietnamese(text) else None
        )
    header_tcvn3 = header.tcvn3 or any(
        isinstance(cell, str) and looks_like_tcvn3(cell) for cell in rows[header.row_index]
    )
    sheet_tcvn3 = (header_tcvn3 or True in verdicts.values()) and False not in verdicts.values()
    return sorted(
        index for index, verdict in verdicts.items() if verdict or (verdict is None and sheet_tcvn3)
    )


def _iter_data(
    sheet: ParsedSheet, rows: Iterator[tuple[int, Sequence[Cell]]], columns: list[_Column]
) -> Iterator[ParsedRow]:
    required = REQUIRED[sheet.kind]
    required_columns = [c.index for c in columns if any(c.name in g for g in required)]
    headers = {column.name: column.header for column in columns}
    seen = _Duplicates(sheet.kind, headers)
    after_totals = False  # past a (sub)total: only rows with data count from here
    # The file's text is TCVN3: a short "Céng" (Cộng) is converted before it is read.
    tcvn3 = sheet.header.tcvn3 or bool(sheet.tcvn3_columns)
    for index, row in rows:
        marker = end_marker(row, tcvn3)
        if marker == "signatures":
            # The signature block ends a printed list: names under "Người lập biểu" are no data.
            _skip(sheet, index + 1, _("Phần ký tên cuối danh sách"))
            sheet.skipped_rows += sum(1 for _, rest in rows if has_value(rest, range(len(rest))))
            break
        if marker == "totals":
            after_totals = True
            _skip(sheet, index + 1, _("Dòng cộng, tổng cộng"))
            continue
        if after_totals and not has_value(row, required_columns):
            if has_value(row, range(len(row))):
                _skip(sheet, index + 1, _("Dòng sau dòng cộng không có cột bắt buộc"))
            else:
                sheet.skipped_rows += 1
            continue
        parsed = _parse_row(index + 1, row, columns)
        if parsed is None:  # blank, or numbered but empty (a template's spare rows)
            reason = heading(row, tcvn3)
            if reason is None:
                sheet.skipped_rows += 1
            else:
                _skip(sheet, index + 1, reason)
            continue
        first = row[0] if row else None
        if first.__class__ is str and SECTION_NUMBER.match(first) is not None:
            # "I Tăng", "I.1 Người tham gia": "Tăng" parses as a name, the numbering says no.
            _skip(sheet, index + 1, _("Dòng mục (tăng, giảm)"))
            continue
        if sheet.commune_from and "commune" not in parsed.values:
            commune_of_row(sheet, parsed.values)
        _check_row(parsed, headers, required)
        if parsed.errors:
            # Only a row in error is looked at again: a clean row is a person, at no extra cost.
            reason = not_a_person(row, columns, tcvn3)
            if reason is not None:
                _skip(sheet, index + 1, reason)
                continue
        seen.check(parsed)
        if parsed.errors:
            sheet.errors.extend(parsed.errors)
        yield parsed


def _parse_row(number: int, row: Sequence[Cell], columns: list[_Column]) -> ParsedRow | None:
    """The row's fields, each cell through its parser; None when no mapped cell has anything."""
    values: Values = {}
    errors: list[RowError] = []
    present = False
    width = len(row)
    # The innermost loop of an import: tuples unpacked to locals, the usual case first.
    for index, header, name, parse, store, tcvn3 in columns:
        if index >= width or (cell := row[index]) is None:
            continue
        if cell.__class__ is str:
            if not cell or cell.isspace():
                continue
            if len(cell) > MAX_CELL_CHARS:
                present = True
                errors.append(RowError(number, header, _too_long(cell)))
                continue
            if tcvn3 and is_convertible(cell):
                cell = tcvn3_to_unicode(cell)
            # Every character `_UNSAFE` looks for is unprintable: `isprintable` (C, a quarter
            # of a search's cost) clears the usual cell, the pattern looks at the others.
            if not cell.isprintable() and _UNSAFE.search(cell) is not None:
                refused = _REFUSED.search(cell)
                if refused is not None:
                    present = True
                    errors.append(RowError(number, header, _unsafe_character(refused)))
                    continue
                cell = _INVISIBLE.sub("", cell)
                if not cell or cell.isspace():
                    continue
        present = True
        try:
            if parse is not None:
                values[name] = parse(cell)
            else:
                store(values, cell)  # type: ignore[misc]
        except CellError as exc:
            errors.append(RowError(number, header, exc.message))
    if not present:
        return None
    return ParsedRow(number, values, errors)


def _unsafe_character(found: re.Match[str]) -> str:
    code = f"U+{ord(found.group()):04X}"
    position = found.start() + 1
    if found.group() >= "\u202a":
        return _(
            "Ô có ký tự đảo chiều chữ %(code)s ở ký tự thứ %(position)s: ô hiện ra khác với "
            "nội dung thật. Hãy gõ lại ô này",
            code=code,
            position=position,
        )
    return _(
        "Ô có ký tự điều khiển %(code)s ở ký tự thứ %(position)s (thường do phần mềm xuất tệp "
        "bị lỗi). Hãy gõ lại ô này",
        code=code,
        position=position,
    )


def _too_long(cell: str) -> str:
    length = f"{len(cell):,}".replace(",", ".")
    return _("Ô quá dài (%(count)s ký tự)", count=length)


def _check_row(
    parsed: ParsedRow, headers: Mapping[str, str], required: tuple[tuple[str, ...], ...]
) -> None:
    """Required fields present (unless already reported as wrong) and dates in order."""
    values = parsed.values
    for group in required:
        for name in group:
            if name in values:
                break
        else:
            _report_missing(parsed, headers, group)
    if "start_month" in values:
        _paid_through_from_start(parsed, headers)
    if "reserved_years" in values:  # "Năm | Tháng" under the reserved time: in months
        values["reserved_months"] = values.pop("reserved_years") * 12 + values.get(
            "reserved_months", 0
        )
    start, end = values.get("benefit_start"), values.get("benefit_end")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        parsed.errors.append(
            RowError(
                parsed.row_number,
                headers.get("benefit_end", FIELD_LABELS["benefit_end"]),
                _("Ngày kết thúc hưởng trước ngày bắt đầu hưởng"),
            )
        )


def _paid_through_from_start(parsed: ParsedRow, headers: Mapping[str, str]) -> None:
    """D05-TS: paid through the month before "Từ tháng/năm" + "Số tháng đóng" (3 months from
    11/2026 is paid through 01/2027), and a 1, 3, 6 or 12 months' payment is its frequency."""
    values = parsed.values
    months = values.get("months")
    if months is None:
        if not any(e.column_header == headers.get("months") for e in parsed.errors):
            parsed.errors.append(
                RowError(
                    parsed.row_number,
                    headers.get("months", FIELD_LABELS["months"]),
                    _("Thiếu số tháng đóng (cần cùng với “Từ tháng/năm”)"),
                )
            )
        return
    if "paid_through" not in values:
        values["paid_through"] = add_months_end(values["start_month"], months - 1)
    if "payment_frequency" not in values and months in PAYMENT_FREQUENCIES:
        values["payment_frequency"] = months  # "VS" (years ahead) keeps its None


def _report_missing(parsed: ParsedRow, headers: Mapping[str, str], group: tuple[str, ...]) -> None:
    group_headers = [headers[name] for name in group if name in headers]
    if any(error.column_header in group_headers for error in parsed.errors):
        return  # there, but wrong: already said
    label = requirement_label(group)
    parsed.errors.append(
        RowError(
            parsed.row_number, " / ".join(group_headers) or label, _("Thiếu %(label)s", label=label)
        )
    )


class _Duplicates:
    """A person listed twice in one file (or a receipt entered twice) is reported, not merged."""

    def __init__(self, kind: ImportKind, headers: Mapping[str, str]) -> None:
        self.payments = kind == ImportKind.PAYMENTS
        self.headers = headers
        self.first: dict[Hashable, int] = {}

    def check(self, parsed: ParsedRow) -> None:
        """Add an error to the row when an earlier row had the same person (or receipt)."""
        for name, key, message in self._keys(parsed.values):
            earlier = self.first.setdefault(key, parsed.row_number)
            if earlier != parsed.row_number:
                header = self.headers.get(name, FIELD_LABELS.get(name, name))
                parsed.errors.append(
                    RowError(parsed.row_number, header, message % {"row": earlier})
                )
                return

    def _keys(self, values: Values) -> list[tuple[str, Hashable, str]]:
        bhxh, cccd = values.get("bhxh_number"), values.get("citizen_id")
        if not self.payments:
            keys: list[tuple[str, Hashable, str]] = []
            if bhxh:
                keys.append(("bhxh_number", _id_key("1", bhxh), DUPLICATE_BHXH))
            if cccd:
                keys.append(("citizen_id", _id_key("2", cccd), DUPLICATE_CITIZEN_ID))
            return keys
        if receipt := values.get("receipt_number"):
            return [("receipt_number", ("receipt", receipt), DUPLICATE_RECEIPT)]
        same = (
            "row",
            bhxh,
            cccd,
            values.get("paid_on"),
            values.get("amount"),
            values.get("months"),
        )
        return [("paid_on", same, DUPLICATE_PAYMENT)]


def _id_key(namespace: str, digits: str) -> Hashable:
    """An identifier as a key of `_Duplicates.first`: the int of namespace digit + digits.

    A million-row file keeps two keys a row until its end; an int takes a third of the memory of
    a (namespace, str) tuple. The leading digit keeps BHXH numbers and CCCDs apart, and numbers
    of different lengths cannot meet (they start with 1 or 2, then have fixed lengths).
    """
    key = namespace + digits
    return int(key) if key.isascii() and key.isdigit() else (namespace, digits)


def _skip(sheet: ParsedSheet, number: int, reason: str) -> None:
    sheet.skipped_rows += 1
    if len(sheet.skipped) < SKIPPED_SHOWN:
        sheet.skipped.append((number, reason))
