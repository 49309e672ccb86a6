"""Read an uploaded list (.xlsx, .xls, .ods or .csv) into rows of plain Python cell values.

Workbooks are read with python-calamine, the Python binding of the Rust `calamine` crate:

- one library for every workbook BHXH offices send: .xlsx (and .xlsm), the old binary .xls that
  their older software still exports, and LibreOffice's .ods. With openpyxl (xlsx only) we would
  also need xlrd (which reads only .xls since 2.0) and odfpy: three APIs and three sets of
  quirks;
- speed: calamine parses in Rust and hands over finished values; openpyxl parses the XML in
  Python, cell by cell. Measured here: 80,000–100,000 rows/s for a 14-column list, cleaning
  included, on the 2-core development machine (the import budget is 20,000 rows/s end to end);
- it only reads: no formulas are evaluated (a formula cell gives the value Excel saved with it) and
  no macros run, which is all an import needs.

Every cell comes out as str, int, float, bool, date, datetime or None (blank). Rows keep their
position in the sheet, so row index + 1 is the row number Excel shows and error messages can point
at it. Merged cells are filled with their top-left value, as a person reading the sheet sees them.
A file that cannot be read raises `ImportFileError` with a message for the admin and nothing else.

Memory: calamine loads the whole sheet before handing over a row (about 1.3 KB a row of 14
columns, in Rust), and `Table` holds the rows in Python (about 1 KB more): 300,000 rows peak at
~900 MB. python-calamine 0.9 has no streaming reader. So for a file on disk `open_table` streams
instead: .xlsx through xlsx_stream.py (same cells as here, see there), .csv line by line; a
`StreamTable` holds the first rows (header detection and the TCVN3 sample need them) and hands
over the rest one by one. Old .xls (65,536 rows at most) and .ods are read whole as here.

Limits (issue 19, cells.py): python-calamine expands a sheet into every cell of its rectangle
before anything can look at it, so a 1.5 KB workbook with a value at XFD1048576 asked it for
512 GiB and the process died. No file reaches it unchecked: `_check_extent` walks an .xlsx (its
first visible sheet, streamed), every table of an .ods and every sheet of an .xls first, and
refuses one past `MAX_COLUMNS`, `MAX_SHEET_CELLS` or `MAX_EXPANDED_TEXT` by a message naming
the cell; the streaming reader bounds the cells it hands over (`MAX_STREAMED_CELLS`); `_check_zip`
refuses a part read whole (styles, workbook, relationships) past `PART_LIMITS` before reading it.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from itertools import islice
from pathlib import Path, PurePath
from types import TracebackType
from typing import IO

import python_calamine

from outreach.core.i18n import _
from outreach.imports.reading.cells import ImportFileError, Row
from outreach.imports.reading.extent import check_extent_of
from outreach.imports.reading.limits import PART_LIMITS
from outreach.imports.reading.tcvn3 import TCVN3_TO_UNICODE, VIETNAMESE_LETTERS, looks_like_tcvn3
from outreach.imports.reading.xlsx_stream import (
    corrupt_file_error,
    open_xlsx,
)

WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
CSV_EXTENSIONS = (".csv",)
# Limits against zip bombs: a million-row list is a few hundred MB of XML, never gigabytes, and
# real sheets compress about 10:1, not 1000:1.
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200
DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 60
_SNIFF_BYTES = 1_000_000  # enough text to tell the encodings apart, without scanning 100 MB twice
# Rows `open_table` reads ahead: the header is within the first 40, then 2,000 rows of TCVN3 sample
# (headers.HEADER_SCAN_ROWS, rows.TCVN3_SAMPLE_ROWS), with room for a two-row header and numbers.
HEAD_ROWS = 2100
_READ_BYTES = 1 << 20  # file reads while checking an encoding or copying

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")


@dataclass(slots=True)
class Table:
    """The rows of one sheet, where they came from and how the text was decoded."""

    rows: list[Row]
    sheet_name: str = ""
    other_sheets: list[str] = field(default_factory=list)  # sheets not read (only the first is)
    encoding: str | None = None  # csv only: "utf-8", "utf-8-sig", "utf-16", "cp1258" or "tcvn3"
    delimiter: str | None = None  # csv only


def read_table(data: bytes, filename: str) -> Table:
    """The first sheet of an uploaded file as rows of cells; `ImportFileError` if unreadable."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in WORKBOOK_EXTENSIONS + CSV_EXTENSIONS:
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: chỉ nhận tệp Excel (.xlsx, .xls), .ods hoặc .csv",
                name=filename,
            )
        )
    if not data:
        raise ImportFileError(_("Không đọc được tệp %(name)s: tệp rỗng", name=filename))
    if suffix in CSV_EXTENSIONS:
        return _read_csv(data, filename)
    return _read_workbook(data, filename, suffix)


class StreamTable:
    """The rows of one sheet read from a file as they are needed: `head` first, then `rest`.

    `head` holds the first `HEAD_ROWS` rows (all of them for a short file), enough to find the
    header and sample the text for TCVN3; `rest` yields the others once. Iterating the table
    yields every row once, head then rest, and closes the file at the end. Rows are those
    `read_table` gives (see xlsx_stream.py for the two differences), so `parse_rows` and
    `stream_rows` take either. Use it as a context manager, or `close()` it, when the rows may
    not all be read. Errors in `rest` raise `ImportFileError` while iterating.
    """

    __slots__ = (
        "_close",
        "_used",
        "delimiter",
        "encoding",
        "head",
        "other_sheets",
        "rest",
        "row_estimate",
        "sheet_name",
    )

    def __init__(
        self,
        head: list[Row],
        rest: Iterator[Row],
        *,
        sheet_name: str = "",
        other_sheets: list[str] | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        row_estimate: int | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.head = head
        self.rest = rest
        self.sheet_name = sheet_name
        self.other_sheets = other_sheets or []
        self.encoding = encoding  # csv only, as on `Table`
        self.delimiter = delimiter  # csv only
        # Rows the file says it has (an .xlsx's <dimension>), for a progress bar; None if unknown.
        self.row_estimate = row_estimate
        self._close = close
        self._used = False

    def __iter__(self) -> Iterator[Row]:
        """Every row, head then rest; a table can be iterated once."""
        if self._used:
            raise RuntimeError("A StreamTable is read once; open the file again")
        self._used = True
        return self._all()

    def _all(self) -> Iterator[Row]:
        try:
            yield from self.head
            yield from self.rest
        finally:
            self.close()

    def extend_head(self, count: int) -> None:
        """Move rows from `rest` into `head` until it has `count` rows or the sheet ends."""
        missing = count - len(self.head)
        if missing > 0:
            self.head.extend(islice(self.rest, missing))

    def close(self) -> None:
        """Release the file (the rows not yet read are lost)."""
        close = getattr(self.rest, "close", None)
        if close is not None:
            close()
        if self._close is not None:
            self._close()
            self._close = None

    def __enter__(self) -> StreamTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_table(source: Path | bytes, filename: str | None = None) -> StreamTable:
    """The first sheet of a file, streamed in bounded memory; `ImportFileError` if unreadable.

    `source` is the file's path, or its bytes (an upload held in memory, such as a targets
    sheet; then `filename` is required). `filename` (default: the path's name) decides the format
    and names the file in messages, as for `read_table`. No sheet is expanded past the limits of
    limits.py (`MAX_COLUMNS`, `MAX_STREAMED_CELLS`; `MAX_SHEET_CELLS` for what is read whole)."""
    in_memory = isinstance(source, bytes)
    if in_memory:
        if filename is None:
            raise TypeError("open_table needs the file's name with its bytes")
        path = None
    else:
        path = Path(source)
        filename = filename if filename is not None else path.name
    suffix = PurePath(filename).suffix.lower()
    if suffix not in WORKBOOK_EXTENSIONS + CSV_EXTENSIONS:
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: chỉ nhận tệp Excel (.xlsx, .xls), .ods hoặc .csv",
                name=filename,
            )
        )
    if in_memory:
        size = len(source)
    else:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ImportFileError(
                _("Không đọc được tệp %(name)s: tệp bị hỏng hoặc thiếu", name=filename)
            ) from exc
    if size == 0:
        raise ImportFileError(_("Không đọc được tệp %(name)s: tệp rỗng", name=filename))
    if suffix in CSV_EXTENSIONS:
        if in_memory:
            table = _read_csv(source, filename)
            return StreamTable(
                table.rows[:HEAD_ROWS],
                iter(table.rows[HEAD_ROWS:]),
                encoding=table.encoding,
                delimiter=table.delimiter,
            )
        return _open_csv(path, filename)
    if in_memory:
        start = source[:8]
    else:
        with path.open("rb") as file:
            start = file.read(8)
    if start.startswith(_ZIP_MAGIC):
        container = source if in_memory else path
        _check_zip(container, filename)
        if _is_xlsx(container):
            sheet = open_xlsx(io.BytesIO(source) if in_memory else path, filename, HEAD_ROWS)
            return StreamTable(
                sheet.head,
                sheet.rest,
                sheet_name=sheet.sheet_name,
                other_sheets=sheet.other_sheets,
                row_estimate=sheet.row_estimate,
            )
    # .xls (at most 65,536 rows), .ods and whatever is not a workbook: read whole, as uploads are,
    # their extent checked first (`_check_extent`).
    table = read_table(source if in_memory else path.read_bytes(), filename)
    return StreamTable(
        table.rows[:HEAD_ROWS],
        iter(table.rows[HEAD_ROWS:]),
        sheet_name=table.sheet_name,
        other_sheets=table.other_sheets,
        row_estimate=len(table.rows),
    )


def _is_xlsx(source: Path | bytes) -> bool:
    """True for an Office Open XML workbook (.xlsx, .xlsm), whatever the file's extension says."""
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        return any(name.lower() == "xl/workbook.xml" for name in archive.namelist())


# ---------------------------------------------------------------------------------------------
# Workbooks


def _read_workbook(data: bytes, filename: str, suffix: str) -> Table:
    _check_container(data, filename, suffix)
    check_extent_of(data, filename)  # python-calamine expands whatever it is given: bound it first
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        with workbook:
            index, others = _first_sheet(workbook)
            sheet = workbook.get_sheet_by_index(index)
            # skip_empty_area=False keeps rows and columns where Excel has them (row numbers).
            raw = sheet.to_python(skip_empty_area=False)
            merged = sheet.merged_cell_ranges or []
            name = sheet.name
    except python_calamine.PasswordError:
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: tệp có mật khẩu, hãy bỏ mật khẩu rồi tải lại",
                name=filename,
            )
        ) from None
    except Exception as exc:  # calamine reports broken files with assorted error types
        # The library's own (English) words stay in the chained exception, for the log.
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: tệp hỏng, thiếu một phần hoặc không phải tệp Excel",
                name=filename,
            )
        ) from exc
    except BaseException as exc:
        # A panic inside calamine reaches Python as pyo3's PanicException, a BaseException: a
        # broken file too, not a reason to end the job's thread without a word.
        if type(exc).__name__ != "PanicException":
            raise
        raise corrupt_file_error(filename) from exc
    # Cleaned in place, so each raw row is freed as its clean copy is made (half the peak memory).
    for index, row in enumerate(raw):
        raw[index] = _clean_row(row)
    _fill_merged(raw, merged)
    return Table(rows=raw, sheet_name=name, other_sheets=others)


def _check_container(data: bytes, filename: str, suffix: str) -> None:
    """Reject what is plainly not a workbook before the parser sees it, with a useful message."""
    head = data[:8]
    if head.startswith(_ZIP_MAGIC):
        _check_zip(data, filename)
        return
    if head == _OLE_MAGIC:
        if suffix != ".xls" and _ENCRYPTED_OOXML in data[:65536]:
            # An encrypted .xlsx is an OLE container holding the encrypted package.
            raise ImportFileError(
                _(
                    "Không đọc được tệp %(name)s: tệp có mật khẩu, hãy bỏ mật khẩu rồi tải lại",
                    name=filename,
                )
            )
        return
    stripped = data[:512].lstrip().lower()
    if stripped.startswith((b"<html", b"<!doctype", b"<table", b"<?xml")):
        # Some software saves an HTML table under the name .xls; Excel opens it, calamine cannot.
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: đây là trang web (HTML) mang đuôi Excel. "
                "Hãy mở bằng Excel và lưu lại dạng .xlsx",
                name=filename,
            )
        )
    if head.startswith(b"%PDF"):
        raise ImportFileError(
            _("Không đọc được tệp %(name)s: đây là tệp PDF, không phải Excel", name=filename)
        )
    raise ImportFileError(
        _("Không đọc được tệp %(name)s: không phải tệp Excel hợp lệ", name=filename)
    )


def _check_zip(source: bytes | Path, filename: str) -> None:
    """Refuse a broken zip, or one that would unpack to more than an import can hold (a bomb)."""
    try:
        with zipfile.ZipFile(
            io.BytesIO(source) if isinstance(source, bytes) else source
        ) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            _("Không đọc được tệp %(name)s: tệp bị hỏng hoặc thiếu", name=filename)
        ) from exc
    total = sum(entry.file_size for entry in entries)
    worst = max(
        (entry.file_size / max(entry.compress_size, 1) for entry in entries if entry.file_size),
        default=0,
    )
    if total > MAX_UNCOMPRESSED_BYTES or worst > MAX_COMPRESSION_RATIO:
        raise ImportFileError(
            _(
                "Không đọc được tệp %(name)s: nội dung giải nén quá lớn (nghi là tệp độc hại)",
                name=filename,
            )
        )
    # The parts read whole (styles, the workbook, its relationships) by their declared size,
    # before any is read: a 1 MB upload once held a worker parsing 167 MB of styles.xml.
    for entry in entries:
        limit = PART_LIMITS.get(entry.filename.lower())
        if limit is not None and entry.file_size > limit:
            megabytes = f"{-(-entry.file_size // 1024**2):,}".replace(",", ".")
            raise ImportFileError(
                _(
                    "Không đọc được tệp %(name)s: phần %(part)s trong tệp quá lớn "
                    "(%(size)s MB, tối đa %(max)s MB; nghi là tệp độc hại)",
                    name=filename,
                    part=entry.filename,
                    size=megabytes,
                    max=limit // 1024**2,
                )
            )


def _first_sheet(workbook: python_calamine.CalamineWorkbook) -> tuple[int, list[str]]:
    """The first visible worksheet (hidden helper sheets often come first) and the other names."""
    names = workbook.sheet_names
    if not names:
        raise ValueError("no sheets")
    index = 0
    for position, meta in enumerate(workbook.sheets_metadata):
        if (
            meta.visible == python_calamine.SheetVisibleEnum.Visible
            and meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        ):
            index = position
            break
    return index, [name for position, name in enumerate(names) if position != index]


def _clean_row(row: list) -> Row:
    # calamine gives "" for blank cells and a float for every number: blanks become None and
    # whole numbers ints (2412345678.0 → 2412345678), so nothing later sees a ".0".
    return [
        None
        if cell == ""
        else int(cell)
        if cell.__class__ is float and cell.is_integer()
        else _odd_cell(cell)
        if cell.__class__ in (time, timedelta)
        else cell
        for cell in row
    ]


def _odd_cell(cell: time | timedelta) -> str:
    """A time-of-day or duration cell, which no field uses, as text for the error message."""
    return cell.isoformat() if isinstance(cell, time) else str(cell)


def _fill_merged(
    rows: list[Row], merged: Sequence[tuple[tuple[int, int], tuple[int, int]]]
) -> None:
    """Give every cell of a merged range the value of its top-left cell."""
    for (top, left), (bottom, right) in merged:
        if top >= len(rows):
            continue
        value = rows[top][left] if left < len(rows[top]) else None
        if value is None:
            continue
        for r in range(top, min(bottom, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(left, min(right, len(row) - 1) + 1):
                row[c] = value


# ---------------------------------------------------------------------------------------------
# CSV


def _read_csv(data: bytes, filename: str) -> Table:
    text, encoding = _decode(data, filename)
    delimiter, text = _delimiter(text)
    try:
        rows = [
            [cell if cell.strip() else None for cell in record]
            for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise ImportFileError(_csv_problem(exc, filename)) from exc
    return Table(rows=rows, encoding=encoding, delimiter=delimiter)


def _open_csv(path: Path, filename: str) -> StreamTable:
    """A csv streamed line by line: encoding and delimiter decided as `_read_csv` decides them."""
    with path.open("rb") as file:
        sample = file.read(_SNIFF_BYTES)
    encoding, codec, skip = _csv_encoding(path, sample, filename)
    decoder = codecs.getincrementaldecoder(codec)()
    text = decoder.decode(sample[skip:], final=len(sample) < _SNIFF_BYTES)
    if encoding == "cp1258":
        text = unicodedata.normalize("NFC", text)
    # From the first megabyte's lines, where `_read_csv` looks at the whole text's first lines.
    delimiter, hinted = _sniff_delimiter(text)
    binary = path.open("rb")
    binary.seek(skip)
    stream = io.TextIOWrapper(binary, encoding=codec, newline="")
    try:
        if hinted:
            while (line := stream.readline()) and not line.endswith("\n"):
                pass  # the "sep=;" line, up to its "\n" as `_delimiter` cuts it
        lines: Iterable[str] = stream
        if encoding == "cp1258":
            # Per line is the same as on the whole text: no composition reaches across a line end.
            lines = (unicodedata.normalize("NFC", line) for line in stream)
        records = _csv_records(csv.reader(lines, delimiter=delimiter), stream, filename)
        head = list(islice(records, HEAD_ROWS))
    except BaseException:
        stream.close()
        raise
    return StreamTable(head, records, encoding=encoding, delimiter=delimiter, close=stream.close)


def _csv_records(reader: Iterator[list[str]], stream: IO[str], filename: str) -> Iterator[Row]:
    """The rows of a csv reader, blank cells as None, the file closed when they run out."""
    try:
        for record in reader:
            yield [cell if cell.strip() else None for cell in record]
    except csv.Error as exc:
        raise ImportFileError(_csv_problem(exc, filename)) from exc
    finally:
        stream.close()


def _csv_encoding(path: Path, sample: bytes, filename: str) -> tuple[str, str, int]:
    """The encoding `_decode` would name for the file, the codec to read it with and the bytes
    to skip (a UTF-8 BOM). The whole file is checked to decode, as `_decode` checks it, but a
    megabyte at a time and without keeping the text."""
    if sample.startswith(codecs.BOM_UTF8):
        _check_decodes(path, "utf-8", 3, filename)
        return "utf-8-sig", "utf-8", 3
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _check_decodes(path, "utf-16", 0, filename)
        return "utf-16", "utf-16", 0
    if b"\x00" in sample[:4096]:
        raise ImportFileError(
            _("Không đọc được tệp %(name)s: không phải tệp văn bản CSV", name=filename)
        )
    if _decodes(path, "utf-8", 0):
        return "utf-8", "utf-8", 0
    if _is_tcvn3(sample):
        return "tcvn3", "latin-1", 0
    _check_decodes(path, "cp1258", 0, filename)
    return "cp1258", "cp1258", 0


def _decodes(path: Path, codec: str, skip: int) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    with path.open("rb") as file:
        file.seek(skip)
        try:
            while data := file.read(_READ_BYTES):
                decoder.decode(data)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _check_decodes(path: Path, codec: str, skip: int, filename: str) -> None:
    if not _decodes(path, codec, skip):
        raise _encoding_error(filename)


def _csv_problem(exc: csv.Error, filename: str) -> str:
    if "field larger than field limit" in str(exc):
        limit = f"{csv.field_size_limit():,}".replace(",", ".")
        return _(
            "Không đọc được tệp %(name)s: có ô dài hơn %(count)s ký tự", name=filename, count=limit
        )
    return _(
        "Không đọc được tệp %(name)s: tệp CSV sai định dạng (%(error)s)", name=filename, error=exc
    )


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    """The text of a csv and the encoding it was in: UTF-8 (with or without BOM), else Windows-1258.

    Lists kept in TCVN3 are recognised too and returned as Latin-1 text, the same form a TCVN3
    workbook has, so one converter (tcvn3.py, applied per column) serves both.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[3:], "utf-8", filename), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(data, "utf-16", filename), "utf-16"  # Excel's "Unicode Text"
    if b"\x00" in data[:4096]:
        raise ImportFileError(
            _("Không đọc được tệp %(name)s: không phải tệp văn bản CSV", name=filename)
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_SNIFF_BYTES]
    if _is_tcvn3(sample):
        return data.decode("latin-1"), "tcvn3"
    # Python's cp1258 decoder keeps Windows' separate tone marks (e + ◌́); NFC joins them (é).
    return unicodedata.normalize("NFC", _checked(data, "cp1258", filename)), "cp1258"


def _checked(data: bytes, encoding: str, filename: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _encoding_error(filename) from None


def _encoding_error(filename: str) -> ImportFileError:
    return ImportFileError(
        _(
            "Không đọc được tệp %(name)s: không nhận ra bảng mã. "
            "Hãy lưu lại dạng CSV UTF-8 (Excel: Lưu thành → CSV UTF-8)",
            name=filename,
        )
    )


_TCVN3_CODES = frozenset(TCVN3_TO_UNICODE)
# Besides Vietnamese letters, what Windows-1258 text holds above ASCII: no-break space, degrees,
# the đồng sign, Word's quotes and dashes.
_CP1258_USUAL = frozenset("\xa0°±²³º₫€–—‘’‚“”„…•")


def _is_tcvn3(sample: bytes) -> bool:
    """True when bytes that are not UTF-8 read better as TCVN3 than as Windows-1258.

    Both use the same byte range, so each reading is scored by the characters it leaves that
    Vietnamese text in it could not contain: TCVN3 read as Windows-1258 leaves "¸" "µ" "ª" and tone
    marks on consonants; Windows-1258 read as TCVN3 leaves bytes TCVN3 has no letter for.
    """
    latin = sample.decode("latin-1")
    if not looks_like_tcvn3(latin):
        return False
    tcvn3_misfits = sum(1 for ch in latin if ch > "\xa0" and ch not in _TCVN3_CODES)
    try:
        cp1258 = unicodedata.normalize("NFC", sample.decode("cp1258"))
    except UnicodeDecodeError:
        return True  # bytes Windows-1258 leaves undefined: it was not Windows-1258
    cp1258_misfits = sum(
        1
        for ch in cp1258
        if ch >= "\x80" and ch not in VIETNAMESE_LETTERS and ch not in _CP1258_USUAL
    )
    return tcvn3_misfits < cp1258_misfits


def _delimiter(text: str) -> tuple[str, str]:
    """The delimiter (, ; or tab) and the text without Excel's "sep=;" hint line, if any."""
    delimiter, hinted = _sniff_delimiter(text)
    return delimiter, text.partition("\n")[2] if hinted else text


def _sniff_delimiter(text: str) -> tuple[str, bool]:
    """The delimiter, from Excel's "sep=;" first line if there is one (then True), else from how
    consistently each candidate splits the first lines."""
    first = text.partition("\n")[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4], True
    lines = text.splitlines()[:_SNIFF_LINES]
    return max(DELIMITERS, key=lambda d: _consistency(lines, d)), False


def _consistency(lines: list[str], delimiter: str) -> tuple[int, int]:
    """How well a delimiter splits the sample: lines sharing the commonest width (>1), the width.

    Title rows have one field whatever the delimiter; the header and data rows agree on a width
    only under the right one (commas inside "1,125,000" amounts split data rows but not the header).
    """
    try:
        widths = Counter(
            len(record)
            for record in csv.reader(lines, delimiter=delimiter)
            if len(record) > 1 and any(cell.strip() for cell in record)
        )
    except csv.Error:
        return (0, 0)  # reading the file for real will say what is wrong
    if not widths:
        return (0, 0)
    width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
    return (count, width)
