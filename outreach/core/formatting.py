"""Vietnamese-style numbers and dates (1.125.000, 93,94%, 15/11/2026) for any locale we serve."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from outreach.core.clock import VIETNAM


# Babel's formatting is pure but slow (tens of µs a call), and a page formats the same few days and
# small numbers hundreds of times (a worklist of 30 households): the results are kept.
@lru_cache(maxsize=8192)
def _number_text(value: float | int, locale: str) -> str:
    return format_decimal(value, format="#,##0", locale=locale)


@lru_cache(maxsize=4096)
def _ratio_text(value: float, locale: str) -> str:
    return format_percent(value, format="#,##0.00%", locale=locale)


@lru_cache(maxsize=4096)
def _babel_date(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=locale)


def format_number(value: float | int | None, locale: str = "vi") -> str:
    """A whole number with thousands separators: 1.125.000 in Vietnamese."""
    if value is None:
        return "—"
    return _number_text(value, str(locale))


def format_ratio(value: float | None, locale: str = "vi") -> str:
    """A ratio as a percentage with two decimals: 0.9394 → 93,94%."""
    if value is None:
        return "—"
    return _ratio_text(value, str(locale))


def format_day(value: date | datetime | None, locale: str = "vi") -> str:
    """A date as dd/MM/yyyy, the way Vietnamese forms write it."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(VIETNAM)  # the Vietnamese calendar day, not the UTC one
    return _babel_date(_day_of(value), "dd/MM/yyyy", str(locale))


def mask_identifier(value: str | None, visible: int = 4) -> str:
    """Hide all but the last digits of a CCCD or BHXH number: 001234567890 → ••••••••7890."""
    if not value:
        return "—"
    return "•" * max(len(value) - visible, 0) + value[-visible:]


def format_phone(e164: str | None) -> str:
    """An E.164 number in Vietnamese national format: +84912345678 → 0912 345 678."""
    if not e164:
        return ""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def format_daymonth(value: date | datetime | None, locale: str = "vi") -> str:
    """A short date as dd/MM, for dates within the coming or past year ("TCTN hết ngày 12/12")."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(VIETNAM)
    return _babel_date(_day_of(value), "dd/MM", str(locale))


def _day_of(value: date | datetime) -> date:
    """The calendar day (a datetime's clock time plays no part in a dd/MM pattern)."""
    return value.date() if isinstance(value, datetime) else value


def format_clock(value: datetime | None) -> str:
    """The time of day in Vietnam as HH:mm (16:30), for cut-off times."""
    if value is None:
        return "—"
    return value.astimezone(VIETNAM).strftime("%H:%M") if value.tzinfo else value.strftime("%H:%M")


def safe_cell(value) -> str:
    """A spreadsheet cell as text that Excel shows, never runs: "=1+1" becomes "'=1+1"."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# A CSV that Excel opens as a table on a computer set to Vietnamese (docs/decisions.md, "CSV for
# Excel in Vietnam"): Windows' Vietnamese regional settings separate lists with ";" (the comma is
# the decimal mark), and Excel reads a CSV as UTF-8 only when it starts with a byte order mark.
EXCEL_CSV_SEPARATOR = ";"
EXCEL_CSV_BOM = "\ufeff"


def excel_csv(rows: Iterable[Iterable], *, chunk_rows: int = 1000) -> Iterator[str]:
    """Rows as CSV text that Excel set to Vietnamese opens as columns, in chunks of `chunk_rows`
    rows (for streaming; the first starts with the BOM).

    Cells are separated by ";", every one quoted and passed through `safe_cell`: a separator
    inside a value can never split it into a cell that starts a formula, whatever separator the
    spreadsheet splits on. Numbers are written as given (an int as plain digits).
    """
    out = io.StringIO()
    out.write(EXCEL_CSV_BOM)
    writer = csv.writer(out, delimiter=EXCEL_CSV_SEPARATOR, quoting=csv.QUOTE_ALL)
    for n, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(value) for value in row])
        if n % chunk_rows == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def isodate(value: str | date | None) -> date | datetime | None:
    """An ISO date or datetime string (as stored in JSON figures) back to a date or datetime.

    "2026-11-15" gives a date; "2026-11-15T09:30:00+00:00" gives an aware datetime in Vietnam time
    (so `|day` / `|vi_day` and `.strftime("%H:%M")` show the Vietnamese calendar day and clock).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if "T" in value or " " in value.strip():
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(VIETNAM) if parsed.tzinfo else parsed
    return date.fromisoformat(value)


_DAY_VN = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_DAY_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def day_first(value: str | date | None) -> str:
    """What a date field shows: 15/11/2026 for a day given as a date or yyyy-mm-dd; other text
    as it was typed (so a mistake can be corrected)."""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return parse_day(value or "").strftime("%d/%m/%Y")
    except ValueError:
        return value or ""


def parse_day(text: str) -> date:
    """A date typed as 15/11/2026 or sent by a date field as 2026-11-15; ValueError otherwise."""
    text = text.strip()
    if match := _DAY_VN.match(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _DAY_ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise ValueError(text)
    return date(year, month, day)
