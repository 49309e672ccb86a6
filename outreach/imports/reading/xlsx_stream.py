"""Stream the first visible worksheet of an .xlsx row by row, in bounded memory.

python-calamine builds the whole sheet in memory before handing over a row: 2–3 GB for a
million-row list. This reader unzips the sheet's XML as it goes and keeps only what a row needs:
the shared strings, which cell styles are dates, the merged ranges and one ~1 MB chunk of XML.
Cells come out exactly as `read_table` gives them (tests/imports/reading/test_stream.py holds it to
that, with calamine as the oracle): the same types, the same date arithmetic (1900 and 1904
systems, Excel's phantom 29 February 1900, milliseconds rounded the same way), blank rows kept so
row numbers are Excel's, merged cells filled with their top-left value.

Speed: `ElementTree.iterparse` builds an object per XML element and manages ~20,000 rows/s, a
quarter of calamine. So the cells of a chunk are cut out of its bytes by one regular expression,
written for the markup Excel, LibreOffice and xlsxwriter produce, and the chunk is then checked:
every "<" in it must belong to a cell or row the expression understood. A chunk holding anything
else (rich text, formulas without a value, pretty-printed XML, comments, a cell whose address is
not its first attribute) is parsed again with ElementTree, following calamine's rules. Shared strings are read the same way.
A list repeats one row layout (the same columns, styles and kinds of cell) with a few variations,
so past its title rows most rows are read by one match per row of a pattern learnt from the
layouts met (`_RowPattern`): one group per cell instead of a match of five groups per cell, ~40%
less time on the XML. The sheet is unzipped by ISA-L (`_Inflated`), ~2x zlib's speed.
Measured on the 2-core machine with benchmarks/imports_file.py (13 columns, a million rows),
before the row pattern and ISA-L: ~57,000 rows/s and ~95 MB, where calamine reads 42,000–50,000
rows/s in 1.9 GB; with text in a shared-strings table, as Excel saves it, ~40,000 rows/s and
~200 MB.

Two differences from `read_table`, both invisible to `parse_rows`:
- calamine pads every row to the widest row of the whole sheet; here rows are padded to the
  widest row of the head (the first rows, which hold the title, header and TCVN3 sample), and a
  wider row further down keeps its own width. Cells past a row's end are blank to the parser.
- a file that turns out corrupt past the head raises `ImportFileError` while the rows are being
  read, not when the file is opened.

Merged ranges are listed at the end of the sheet XML, after the data, so the sheet is unzipped
once without parsing to find them before the rows are read (about a tenth of the reading time).
"""

from __future__ import annotations

import io
import math
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate, islice
from pathlib import Path
from typing import Any

from isal import isal_zlib

from outreach.core.i18n import _
from outreach.core.memory import gc_paused
from outreach.imports.reading.cells import Cell, ImportFileError, Row
from outreach.imports.reading.limits import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_STREAMED_CELLS,
    sheet_too_large,
    sheet_too_wide,
)

CHUNK_BYTES = 1 << 20  # XML unzipped per step: big enough to amortise the per-chunk checks
# Above this size sharedStrings.xml is kept as one UTF-8 buffer and offsets, not a list of str:
# a million strings as Python objects take ~100 MB, as a buffer about a quarter of that.
COMPACT_STRINGS_BYTES = 8 * 1024**2

_EPOCH = datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000.0
_1904_OFFSET = 1462.0  # days between the 1900 and 1904 date systems
_CELL_ERRORS = frozenset(
    (b"#DIV/0!", b"#N/A", b"#NAME?", b"#NULL!", b"#NUM!", b"#REF!", b"#VALUE!")
)

# Number formats, by cellXfs index: what a number in that style means.
_NUMBER, _DATETIME, _DURATION = 0, 1, 2
# Built-in formats calamine (0.37) reads as dates, and the one it reads as a duration ([h]:mm:ss).
_BUILTIN_DATETIME = frozenset(
    str(n) for n in (*range(14, 23), *range(27, 37), 45, 47, *range(50, 59))
)
_BUILTIN_DURATION = frozenset(("46",))

# What a cell's <v> holds, from its t attribute and style: the hot kinds first.
(
    _K_NUMBER,  # no t: a number, or the text itself when it is not one
    _K_SHARED,  # t="s": an index into the shared strings
    _K_NUMBER_T,  # t="n": a number, or a broken file
    _K_DATE,
    _K_DATE_T,
    _K_DURATION,
    _K_DURATION_T,
    _K_BOOL,
    _K_ERROR,
    _K_STR,  # t="str": a formula's text result
    _K_ISO,  # t="d": an ISO 8601 date
    _K_INLINE,  # t="inlineStr": the text is in <is>, a <v> is ignored
    _K_UNKNOWN,  # any other t: calamine refuses the file
) = range(13)
_NUMBER_KINDS = {
    (None, _NUMBER): _K_NUMBER,
    (None, _DATETIME): _K_DATE,
    (None, _DURATION): _K_DURATION,
    ("n", _NUMBER): _K_NUMBER_T,
    ("n", _DATETIME): _K_DATE_T,
    ("n", _DURATION): _K_DURATION_T,
}
_TYPE_KINDS = {
    "s": _K_SHARED,
    "b": _K_BOOL,
    "e": _K_ERROR,
    "str": _K_STR,
    "d": _K_ISO,
    "inlineStr": _K_INLINE,
    "is": _K_INLINE,
}

_EMPTY = object()  # a cell calamine treats as absent (no value): it does not widen the sheet

_ATTRIBUTE = re.compile(rb"""\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_FLOAT = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.I)
_ENTITY = re.compile(r"&(?:#(\d+)|#[xX]([0-9A-Fa-f]+)|(amp|lt|gt|quot|apos));")
_NAMED_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # OOXML's escape for characters XML cannot carry
# calamine trims a <t> of these (not of other Unicode spaces) unless it keeps xml:space="preserve".
_XML_SPACE = " \t\r\n"
_XML_SPACE_BYTES = _XML_SPACE.encode()
_XML_SPACE_ATTRIBUTE = "{http://www.w3.org/XML/1998/namespace}space"
_REF = re.compile(r"([A-Za-z]*)([0-9]+)")
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?(\w+)\b([^>]*)>")
_SHEET_DATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData\b[^>]*?(/?)>")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)")
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([^\"']*)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_ISO_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")


class _Corrupt(Exception):
    """Something calamine would refuse; turned into the usual `ImportFileError` by the caller."""


# What a damaged workbook raises on the way: bad XML, a bad zip entry or CRC, bad UTF-8, or an
# address or number that does not parse (ValueError).
_READ_ERRORS = (
    _Corrupt,
    ET.ParseError,
    zipfile.BadZipFile,
    zlib.error,
    isal_zlib.error,
    EOFError,
    OSError,
    ValueError,
)
READ_ERRORS = _READ_ERRORS  # for the other readers of the package (readers.py)


def corrupt_file_error(filename: str) -> ImportFileError:
    """The message `read_table` gives for a workbook calamine cannot read."""
    return ImportFileError(
        _(
            "Không đọc được tệp %(name)s: tệp hỏng, thiếu một phần hoặc không phải tệp Excel",
            name=filename,
        )
    )


@dataclass(slots=True)
class XlsxSheet:
    """The sheet a workbook is read from: its first rows, the others as a lazy stream."""

    sheet_name: str
    other_sheets: list[str]
    head: list[Row]  # the first rows, padded to the widest of them
    rest: Iterator[Row]  # the rows after the head, blank rows included, merges filled
    row_estimate: int | None  # the last row of the sheet's <dimension>, when it gives one


def open_xlsx(path: Path | io.BytesIO, filename: str, head_rows: int) -> XlsxSheet:
    """The first visible worksheet of the workbook at `path` (or in memory), its first
    `head_rows` rows read.

    `ImportFileError` when the file is not a workbook calamine would read, or reaches past the
    limits of cells.py; the zip container itself (not a zip, zip bomb, parts too large) is the
    caller's to check first.
    """
    archive = zipfile.ZipFile(path)
    try:
        return _Workbook(archive, filename).first_sheet(head_rows)
    except BaseException:
        archive.close()
        raise


def check_extent(data: bytes, filename: str, limit: int) -> None:
    """Refuse a workbook whose first visible sheet holds values past `MAX_COLUMNS` or
    `MAX_ROWS`, or whose rectangle from A1 to its last value is more than `limit` cells: what
    python-calamine would hold for it (`read_table`). The sheet is streamed once, cell by cell,
    nothing padded or kept. `ImportFileError` as `open_xlsx`, the container checked first."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    try:
        stream = _Workbook(archive, filename).first_stream()[2]
        rows = columns = 0
        for index, row in stream.present_rows():
            rows = index + 1
            columns = max(columns, len(row))
            if rows * columns > limit:
                raise sheet_too_large(filename, rows * columns, limit)
    except ImportFileError:
        raise  # a limit's message (ImportFileError is a ValueError, one of the read errors)
    except _READ_ERRORS as exc:
        raise corrupt_file_error(filename) from exc
    finally:
        archive.close()


# ---------------------------------------------------------------------------------------------
# A member of the zip


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes | None = None) -> Any:
    """A member of the workbook to read in chunks: a deflated one through `_Inflated`, another
    (stored, encrypted, or in a zip held in memory whose bytes are not given) as `zipfile` opens
    it. `data`: the bytes of an archive held in memory."""
    source = archive.filename if isinstance(archive.filename, str) else data
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or source is None:
        return archive.open(info)
    return _Inflated(source, info)


class _Inflated:
    """A deflated member inflated by ISA-L (python `isal`), checked as `zipfile` checks it.

    A million-row sheet is ~800 MB of XML, unzipped twice (once for the merged ranges at its
    end, once for the rows): zlib took 1.4 s a pass, ISA-L takes 0.6 s. As `ZipExtFile`: the
    local header must name the member, no more than its declared size comes out, and its size
    and CRC-32 are checked at the end (`zipfile.BadZipFile` otherwise). Unlike it, a deflate
    stream that goes on past the declared size is refused too: every limit was checked against
    that size, and another reader of the file (python-calamine) might inflate the rest.
    """

    def __init__(self, source: str | bytes, info: zipfile.ZipInfo) -> None:
        # A path, or the bytes of an archive held in memory (shared, not copied).
        self.file = open(source, "rb") if isinstance(source, str) else io.BytesIO(source)  # noqa: SIM115
        try:
            self._skip_local_header(info)
        except BaseException:
            self.file.close()
            raise
        self.compressed_left = info.compress_size
        self.left = info.file_size
        self.crc = 0
        self.expected_crc = info.CRC
        self.inflater = isal_zlib.decompressobj(-15)
        self.pending = b""  # compressed bytes read but not yet inflated
        self.ended = False  # the end checked

    def _skip_local_header(self, info: zipfile.ZipInfo) -> None:
        self.file.seek(info.header_offset)
        header = self.file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        name = self.file.read(name_length)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if name != info.orig_filename.encode(encoding):
            raise zipfile.BadZipFile("file name in directory and header differ")
        self.file.seek(extra_length, 1)

    def read(self, size: int) -> bytes:
        """Up to `size` bytes (fewer only at the end); b"" once the member is read."""
        out: list[bytes] = []
        wanted = min(size, self.left)
        while wanted > 0:
            if not self.pending and self.compressed_left > 0:
                self.pending = self.file.read(min(self.compressed_left, 1 << 18))
                if not self.pending:
                    raise EOFError("archive cut short")
                self.compressed_left -= len(self.pending)
            # With nothing left to give it, the inflater may still hold output back.
            data = self.inflater.decompress(self.pending, wanted)
            self.pending = self.inflater.unconsumed_tail
            if not data:
                if self.inflater.eof or not (self.pending or self.compressed_left > 0):
                    raise zipfile.BadZipFile("member shorter than its declared size")
                continue
            out.append(data)
            self.crc = isal_zlib.crc32(data, self.crc)
            wanted -= len(data)
            self.left -= len(data)
        if self.left == 0 and not self.ended:
            if self.crc != self.expected_crc:
                raise zipfile.BadZipFile("bad CRC-32")
            self._check_end()
            self.ended = True
        return b"".join(out)

    def _check_end(self) -> None:
        """The deflate stream must end where the member's declared size does."""
        while not self.inflater.eof:
            if not self.pending:
                if self.compressed_left <= 0:
                    return  # the stream is cut; its end is the next reader's to find
                self.pending = self.file.read(min(self.compressed_left, 1 << 16))
                if not self.pending:
                    return
                self.compressed_left -= len(self.pending)
            before = len(self.pending)
            if self.inflater.decompress(self.pending, 1):
                raise zipfile.BadZipFile("member longer than its declared size")
            self.pending = self.inflater.unconsumed_tail
            if len(self.pending) == before:
                return  # nothing more comes out of it

    def close(self) -> None:
        """Close the archive file opened for this member."""
        self.file.close()

    def __enter__(self) -> _Inflated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# The workbook: sheets, styles, shared strings


class _Workbook:
    def __init__(self, archive: zipfile.ZipFile, filename: str) -> None:
        self.archive = archive
        self.filename = filename
        # calamine finds parts by name regardless of case.
        self.members = {info.filename.lower(): info for info in archive.infolist()}

    def first_sheet(self, head_rows: int) -> XlsxSheet:
        """The first visible worksheet, as `read_table` picks it, its head read."""
        try:
            sheets, index, stream = self.first_stream()
        except _READ_ERRORS as exc:
            self.archive.close()
            raise corrupt_file_error(self.filename) from exc
        rows = _complete_rows(stream, self.archive, head_rows)
        head = list(islice(rows, head_rows))
        others = [n for i, (n, _, _, _) in enumerate(sheets) if i != index]
        return XlsxSheet(sheets[index][0], others, head, rows, stream.row_estimate)

    def first_stream(self) -> tuple[list[tuple[str, str, bool, bool]], int, _SheetStream]:
        """The sheets, the index of the first visible worksheet and its cells, prepared (its
        merged ranges read); `_READ_ERRORS` when the workbook is damaged."""
        sheets, is_1904 = self._sheets()
        if not sheets:
            raise _Corrupt("no sheets")
        index = next(
            (i for i, (_, _, visible, worksheet) in enumerate(sheets) if visible and worksheet),
            0,
        )
        part = sheets[index][1]
        info = self.members.get(part.lower())
        if info is None:
            raise _Corrupt(f"worksheet {part} not found")
        formats = self._formats()
        strings = self._shared_strings()
        stream = _SheetStream(self.archive, info, strings, formats, is_1904, self.filename)
        stream.prepare()
        return sheets, index, stream

    def _xml(self, part: str) -> ET.Element | None:
        info = self.members.get(part)
        if info is None:
            return None
        return ET.fromstring(self.archive.read(info))

    def _sheets(self) -> tuple[list[tuple[str, str, bool, bool]], bool]:
        """(name, part, visible, is a worksheet) in workbook order, and the 1904 date flag."""
        rels_root = self._xml("xl/_rels/workbook.xml.rels")
        if rels_root is None:
            raise _Corrupt("xl/_rels/workbook.xml.rels not found")
        rels = {
            el.get("Id", ""): el.get("Target", "")
            for el in rels_root.iter()
            if _local(el.tag) == "Relationship"
        }
        root = self._xml("xl/workbook.xml")
        if root is None:
            return [], False
        sheets, is_1904 = [], False
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "workbookPr":
                is_1904 = el.get("date1904") in ("1", "true")
            elif tag == "sheet":
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                state = el.get("state", "visible")
                if state not in ("visible", "hidden", "veryHidden"):
                    raise _Corrupt(f"sheet state {state}")
                target = rels.get(rid) if rid is not None else ""
                if target is None:
                    raise _Corrupt("relationship not found")
                part = (
                    target[1:]
                    if target.startswith("/xl/")
                    else target
                    if target.startswith("xl/")
                    else f"xl/{target}"
                )
                folder = part.split("/")[1] if part.count("/") >= 1 else ""
                if folder not in ("worksheets", "chartsheets", "dialogsheets"):
                    raise _Corrupt(f"sheet type {part}")
                sheets.append(
                    (el.get("name", ""), part, state == "visible", folder == "worksheets")
                )
        return sheets, is_1904

    def _formats(self) -> list[int]:
        """What a number means in each cell style (cellXfs), as calamine decides it."""
        root = self._xml("xl/styles.xml")
        if root is None:
            return []
        custom: dict[str, str] = {}
        formats: list[int] = []
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                for fmt in el:
                    code = fmt.get("formatCode", "")
                    if _local(fmt.tag) == "numFmt" and code:
                        custom[fmt.get("numFmtId", "")] = code
            elif tag == "cellXfs":
                for xf in el.iter():
                    if _local(xf.tag) != "xf":
                        continue
                    fmt_id = xf.get("numFmtId")
                    if fmt_id is None:
                        formats.append(_NUMBER)
                    elif fmt_id in custom:
                        formats.append(number_format_kind(custom[fmt_id]))
                    else:
                        formats.append(
                            _DATETIME
                            if fmt_id in _BUILTIN_DATETIME
                            else _DURATION
                            if fmt_id in _BUILTIN_DURATION
                            else _NUMBER
                        )
        return formats

    def _shared_strings(self) -> _SharedStrings:
        """The shared strings, read chunk by chunk."""
        info = self.members.get("xl/sharedstrings.xml")
        strings = _SharedStrings(info is not None and info.file_size > COMPACT_STRINGS_BYTES)
        if info is not None:
            with open_member(self.archive, info) as raw:
                _read_shared_strings(raw, strings)
        strings.finish()
        return strings


def number_format_kind(code: str) -> int:
    """Whether a custom number format shows a date, a duration or a plain number.

    A port of calamine's `detect_custom_number_format`, so dates are recognised exactly as
    `read_table` recognises them: date letters outside quotes, escapes and [brackets] in the first
    section; [h], [m] or [s] make a duration.
    """
    escaped = is_quote = ap = hms = False
    brackets = 0
    prev = " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True  # the next character is printed as is
        elif is_quote:
            if ch == '"':
                is_quote = False
        elif ch == '"':
            is_quote = True
        elif ch == ";":
            return _NUMBER  # only the first section counts
        elif ch == "[":
            brackets = min(brackets + 1, 255)
        elif ch == "]" and brackets == 1 and hms:
            return _DURATION
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and (ch in "pm/PM" if ap else ch in "dmhysDMHYS"):
            return _DATETIME  # after an "a" (AM/PM, a/p) other letters count
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return _NUMBER


# ---------------------------------------------------------------------------------------------
# Shared strings


class _SharedStrings:
    """The shared strings table: a list of str while small, else one UTF-8 buffer and offsets.

    A million-row workbook saved by Excel shares some four million strings; as str objects they
    take ~400 MB, as UTF-8 with 4-byte offsets about a third of that, for ~0.2 µs a look-up.
    """

    def __init__(self, compact: bool) -> None:
        self.items: list[str] | None = None if compact else []
        self.parts: list[bytes] = []  # compact: each chunk's strings, joined at the end
        self.size = 0
        self.blob = b""
        self.ends = array("I", [0])  # string i is blob[ends[i]:ends[i + 1]]

    def add(self, texts: list[str]) -> None:
        """Append strings in table order."""
        if self.items is not None:
            self.items.extend(texts)
        else:
            self.add_utf8([text.encode() for text in texts])

    def add_utf8(self, raw: list[bytes]) -> None:
        """Append strings given as UTF-8 that needs no unescaping."""
        if self.items is not None:
            self.items.extend(text.decode() for text in raw)
            return
        self.parts.append(b"".join(raw))
        ends = accumulate(map(len, raw), initial=self.size)
        next(ends)  # the start of the first: the end of the last one already there
        self.ends.extend(ends)
        self.size = self.ends[-1]

    def finish(self) -> None:
        """Join the compact buffer (bytes slice faster than a bytearray)."""
        if self.items is None:
            self.blob = b"".join(self.parts)
            self.parts = []

    def __getitem__(self, index: int) -> str:
        """The string at `index`; IndexError past the end."""
        if self.items is not None:
            return self.items[index]
        return self.blob[self.ends[index] : self.ends[index + 1]].decode()


def _read_shared_strings(raw: Any, store: _SharedStrings) -> None:
    """Fill `store` from sharedStrings.xml: plain <si><t>…</t></si> by expression, the rest by
    ElementTree (rich text runs, phonetic guides, empty <si/>)."""
    buffer = b""
    while (root := _ROOT.search(buffer)) is None:
        data = raw.read(CHUNK_BYTES)
        if not data:
            raise _Corrupt("no <sst>")
        buffer += data
    if root.group(3).endswith(b"/"):
        return  # <sst/>: no strings
    prefix = root.group(1) + b":" if root.group(1) else b""
    wrapper = b"<wrap" + root.group(3) + b">"  # the namespace declarations, for ElementTree
    p = re.escape(prefix)
    pattern = re.compile(
        rb"<" + p + rb"si><" + p + rb't( xml:space="preserve")?>([^<]*)</'
        + p + rb"t></" + p + rb"si>"
    )  # fmt: skip
    start_tag, end_tag = b"<" + prefix + b"si", b"</" + prefix + b"sst>"
    buffer = buffer[root.end() :]
    done = False
    while not done:
        end = buffer.find(end_tag)
        if end >= 0:
            chunk, done = buffer[:end], True
        else:
            data = raw.read(CHUNK_BYTES)
            if not data:
                raise _Corrupt("sharedStrings.xml ends early")
            buffer += data
            cut = buffer.rfind(start_tag)
            if cut <= 0 or end_tag in buffer:
                continue  # not one whole <si> yet, or the end is in sight
            chunk, buffer = buffer[:cut], buffer[cut:]
        matches = pattern.findall(chunk)
        if chunk.count(b"<") != 4 * len(matches):  # more than plain strings: parse properly
            store.add(
                [
                    _decode_escapes(_rich_text(si) or "")  # entities already resolved
                    for si in ET.fromstring(wrapper + chunk + b"</wrap>")
                    if _local(si.tag) == "si"
                ]
            )
        elif b"&" in chunk or b"\r" in chunk or b"_x" in chunk:
            store.add([_text_value(text.decode(), trim=not kept) for kept, text in matches])
        else:
            store.add_utf8(
                [text if kept else text.strip(_XML_SPACE_BYTES) for kept, text in matches]
            )


def _rich_text(element: ET.Element) -> str | None:
    """The text of an <si> or <is> as calamine reads it: the first <t>, or all the runs' <t>
    joined; phonetic guides (<rPh>) left out. None when there is no text element at all."""
    runs: list[str] | None = None
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            if runs is None:
                return _element_text(child)
            runs.append(_element_text(child))
        elif tag == "r":
            if runs is None:
                runs = []
            runs.extend(_element_text(t) for t in child if _local(t.tag) == "t")
    return None if runs is None else "".join(runs)


def _element_text(t: ET.Element) -> str:
    """A parsed <t>'s text, trimmed of XML white space unless it says xml:space="preserve"."""
    text = t.text or ""
    return text if t.get(_XML_SPACE_ATTRIBUTE) == "preserve" else text.strip(_XML_SPACE)


def _text_value(text: str, trim: bool) -> str:
    """Raw XML text as calamine makes it a value: line ends normalised, entities resolved, outer
    XML white space trimmed (for a <t> without xml:space="preserve"), _xHHHH_ escapes decoded."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if trim:
        text = text.strip(_XML_SPACE)
    return _decode_escapes(text)


def _entity(match: re.Match[str]) -> str:
    decimal, hexadecimal, name = match.groups()
    if name:
        return _NAMED_ENTITIES[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code > 0x10FFFF:
        raise _Corrupt("character reference out of range")
    return chr(code)


def _decode_escapes(text: str) -> str:
    """_x000D_ → CR and the like (Excel writes "_" itself as _x005F_)."""
    if "_x" not in text:
        return text
    return _ESCAPE.sub(_escaped_char, text)


def _escaped_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    # A lone surrogate is not a character; leave the escape as written.
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


# ---------------------------------------------------------------------------------------------
# The sheet


class _SheetStream:
    """The cells of one worksheet, rows with a value only, as (row index, cells) in order."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        strings: _SharedStrings,
        formats: list[int],
        is_1904: bool,
        filename: str,
    ) -> None:
        self.archive = archive
        self.info = info
        self.strings = strings
        self.formats = formats
        self.is_1904 = is_1904
        self.filename = filename
        self.prefix = b""
        self.empty = False
        self.root_attrs = b""
        self.row_estimate: int | None = None
        self.merged: list[tuple[int, int, int, int]] = []
        self.kinds: dict[bytes, int | None] = {}
        self.cell_pattern: re.Pattern[bytes] = re.compile(b"")
        self.inline_marker = self.kept_marker = self.value_marker = b""
        self.columns: dict[bytes, int] = {}
        self.dates: dict[bytes, Any] = {}  # date cells' <v> → value, as dates repeat
        self.row_index = 0  # calamine's running row and column, for cells without an address
        self.col_index = 0
        self.row_pattern: _RowPattern

    # The first pass: unzip without parsing, to learn the prefix and find the merged ranges.

    def prepare(self) -> None:
        """Read the sheet's preamble and the merged ranges after its data (one unzip, no parse)."""
        with open_member(self.archive, self.info) as raw:
            buffer = b""
            while True:
                data = raw.read(CHUNK_BYTES)
                buffer += data
                start = _SHEET_DATA.search(buffer)
                if start is not None:
                    break
                if not data:
                    root = _ROOT.search(buffer)
                    if root is not None and root.group(2) != b"worksheet":
                        self.empty = True  # a chart or dialog sheet: calamine reads no rows
                        return
                    raise _Corrupt("no <sheetData>")
            self._preamble(buffer[: start.start()])
            self.prefix = start.group(1) + b":" if start.group(1) else b""
            if start.group(2):  # <sheetData/>
                self.empty = True
                tail = buffer[start.end() :]
            else:
                end_tag = b"</" + self.prefix + b"sheetData>"
                window = buffer[start.end() :]
                while (end := window.find(end_tag)) < 0:
                    data = raw.read(CHUNK_BYTES)
                    if not data:
                        raise _Corrupt("no </sheetData>")
                    window = window[-len(end_tag) :] + data
                tail = window[end + len(end_tag) :]
            self._merges(raw, tail)

    def _preamble(self, text: bytes) -> None:
        """The root element's attributes (its namespace declarations) and the <dimension>."""
        root = _ROOT.search(text)  # the first element: <?xml …?> does not match
        if root is not None:
            self.root_attrs = root.group(3)
        dimension = _DIMENSION.search(text)
        if dimension is not None:
            try:
                last = dimension.group(1).decode().rpartition(":")[2]
                # Only an estimate, never trusted: the cells themselves are bounded as they come.
                self.row_estimate = min(_parse_ref(last)[0] + 1, MAX_ROWS)
            except (_Corrupt, ValueError):
                pass  # only an estimate: calamine does not read it either

    def _merges(self, raw: Any, tail: bytes) -> None:
        """Collect the <mergeCell ref="A1:E1"/> ranges from the rest of the sheet XML."""
        window = tail
        while True:
            data = raw.read(CHUNK_BYTES)
            window += data
            keep = window.rfind(b"<") if data else len(window)
            for match in _MERGE.finditer(window, 0, keep):
                self.merged.append(_parse_range(match.group(1).decode()))
            if not data:
                return
            window = window[keep:]

    # The second pass: the rows.

    def present_rows(self) -> Iterator[tuple[int, Row]]:
        """Each row holding a cell with a value (errors and "" included), with its 0-based index."""
        if self.empty:
            return
        p = re.escape(self.prefix)
        # <c r="B7" s="3" t="s"> then <v>, <is><t> or <f…>…</f><v>, then the text up to the next
        # tag; a self-closing <c …/> matches with no marker. (Unbounded + is quicker than {1,3}
        # in Python's engine; an absurd address is caught when the row number is checked.)
        self.cell_pattern = re.compile(
            rb"<" + p + rb'c r="([A-Z]+)([0-9]+)"([^>]*)>(<' + p + rb"v>|<" + p + rb"is><" + p
            + rb't(?: xml:space="preserve")?>|<' + p + rb"f(?: [^>]*)?(?:/>|>[^<]*</" + p
            + rb"f>)<" + p + rb"v>)?([^<]*)"
        )  # fmt: skip
        self.inline_marker = b"<" + self.prefix + b"is><" + self.prefix + b"t>"
        self.kept_marker = self.inline_marker[:-1] + b' xml:space="preserve">'
        self.value_marker = b"<" + self.prefix + b"v>"
        self.row_pattern = _RowPattern(self)
        start_tag = b"<" + self.prefix + b"sheetData"
        end_tag = b"</" + self.prefix + b"sheetData>"
        row_tag = b"<" + self.prefix + b"row"
        last = -1
        with open_member(self.archive, self.info) as raw:
            buffer = b""
            while (start := buffer.find(start_tag)) < 0:
                data = raw.read(CHUNK_BYTES)
                if not data:
                    raise _Corrupt("no <sheetData>")
                buffer += data
            buffer = buffer[buffer.index(b">", start) + 1 :]
            done = False
            while not done:
                end = buffer.find(end_tag)
                if end >= 0:
                    chunk, done = buffer[:end], True
                else:
                    data = raw.read(CHUNK_BYTES)
                    if not data:
                        raise _Corrupt("no </sheetData>")
                    buffer += data
                    if end_tag in buffer:
                        continue
                    cut = buffer.rfind(row_tag)
                    if cut <= 0:
                        continue  # not one whole row yet
                    chunk, buffer = buffer[:cut], buffer[cut:]
                with gc_paused():
                    rows = self._fast_chunk(chunk)
                    if rows is None:
                        rows = self._slow_chunk(chunk)
                    else:
                        self._track_row_tags(chunk, row_tag)
                for index, row in rows:
                    if index <= last or index >= MAX_ROWS:
                        if index >= MAX_ROWS:
                            raise sheet_too_wide(self.filename, index, len(row) - 1)
                        raise _Corrupt(f"row {index + 1} out of order")
                    last = index
                    yield index, row

    def _track_row_tags(self, chunk: bytes, row_tag: bytes) -> None:
        """Keep calamine's running row number right for a later row without an address."""
        at = chunk.rfind(row_tag + b' r="')
        if at >= 0:
            digits = chunk[at + len(row_tag) + 4 : chunk.find(b'"', at + len(row_tag) + 4)]
            if digits.isdigit() and int(digits) > 0:
                self.row_index = int(digits)  # calamine adds one at </row>

    def _fast_chunk(self, chunk: bytes) -> list[tuple[int, Row]] | None:
        """The rows of a chunk of well-formed cells, or None when the chunk holds anything else.

        A row laid out like rows met before (the same columns, styles and kinds of cell) is read
        by one match of `_RowPattern`; the others cell by cell (`_cells_chunk`), and the pattern
        learns their layout for the rows to come.
        """
        rows = self.row_pattern
        if rows.given_up:
            return self._cells_chunk(chunk)
        clean = b"&" not in chunk and b"\r" not in chunk and b"_x" not in chunk
        match, read = rows.pattern.match, rows.read
        out: list[tuple[int, Row]] = []
        position, size, matched = 0, len(chunk), 0
        while position < size:
            found = match(chunk, position)
            if found is not None:
                index, row = read(found.groups(), clean)
                if row:  # a row of blank cells holds nothing, as cell by cell
                    out.append((index, row))
                position = found.end()
                matched += 1
                continue
            rows.tally(matched, 1)
            matched = 0
            if rows.given_up:
                end = size
            else:
                end = chunk.find(rows.row_end, position)
                end = size if end < 0 else end + len(rows.row_end)
            piece = chunk[position:end]
            others = self._cells_chunk(piece)
            if others is None:
                return None
            out.extend(others)
            if not rows.given_up and rows.learn(piece):
                match = rows.pattern.match
            position = end
        rows.tally(matched, 0)
        return out

    def _cells_chunk(self, chunk: bytes) -> list[tuple[int, Row]] | None:
        """`_fast_chunk` cell by cell: one match of the cell pattern per cell."""
        kinds, columns, dates = self.kinds, self.columns, self.dates
        # Shared strings looked up inline, without a call: a list, or a buffer and offsets.
        items, blob, ends = self.strings.items, self.strings.blob, self.strings.ends
        inline, kept, plain = self.inline_marker, self.kept_marker, self.value_marker
        # Text needs unescaping only where the chunk has an entity, a CR or an _xHHHH_ escape.
        clean = b"&" not in chunk and b"\r" not in chunk and b"_x" not in chunk
        out: list[tuple[int, Row]] = []
        current = b""
        index = -1
        row: Row = []
        brackets = 0  # the "<" of the cells understood, to check nothing else is in the chunk
        # The innermost loop of an import: one pass per cell, the usual cases first.
        for letters, digits, attrs, marker, text in self.cell_pattern.findall(chunk):
            if marker == inline:
                brackets += 6
                # "" is a blank, as `_clean_row` makes it (but the cell still widens the row).
                value: Any = (
                    text.strip(_XML_SPACE_BYTES).decode()
                    if clean
                    else _text_value(text.decode(), trim=True)
                ) or None
            elif marker == kept:
                brackets += 6
                value = (text.decode() if clean else _text_value(text.decode(), False)) or None
            elif marker:
                brackets += 4 if marker == plain else 3 + marker.count(b"<")  # <f> before <v>
                kind = kinds.get(attrs)
                if kind is None:
                    kind = self._kind(attrs)
                    if kind is None:
                        return None
                if kind == _K_NUMBER:
                    if not text:
                        continue
                    value = int(text) if len(text) < 16 and text.isdigit() else _number(text, kind)
                elif kind == _K_SHARED:
                    if not text:
                        continue
                    # An index that is not a number reads as 0, as calamine reads it.
                    number = int(text) if text.isdigit() else 0
                    try:
                        value = (
                            items[number]
                            if items is not None
                            else blob[ends[number] : ends[number + 1]].decode()
                        ) or None
                    except (IndexError, OverflowError):
                        raise _Corrupt("shared string index out of range") from None
                elif kind == _K_DATE and text in dates:
                    value = dates[text]  # birth dates and months repeat: convert each once
                else:
                    value = self._value(kind, text)
                    if value is _EMPTY:
                        continue
            elif attrs[-1:] == b"/":
                brackets += 1  # <c …/>: styled but empty
                continue
            else:
                return None  # <c …> followed by something other than a value
            if digits != current:
                if row:
                    out.append((index, row))
                index = int(digits) - 1
                current = digits
                if letters == b"A":
                    row = [value]
                    continue
                row = []
            column = columns.get(letters)
            if column is None:  # each column once: those past the limit never enter the cache
                column = _column(letters.decode())
                if column >= MAX_COLUMNS:
                    raise sheet_too_wide(self.filename, index, column)
                columns[letters] = column
            width = len(row)
            if column == width:
                row.append(value)
            elif column > width:
                row.extend([None] * (column - width))
                row.append(value)
            else:
                row[column] = value
        if row:
            out.append((index, row))
        # Every "<" must be a cell's or a row's ("row" is in <row>, </row> and <row/> alike):
        # other markup (rich text, comments, a formula without a value…) means: parse properly.
        if chunk.count(b"<") != brackets + chunk.count(b"row"):
            return None
        return out

    def _kind(self, attrs: bytes) -> int | None:
        """The kind of value a cell with these attributes holds; None if they look unusual."""
        if len(self.kinds) > 4096:
            self.kinds.clear()  # attributes with per-cell values: do not grow without bound
        body = attrs[:-1] if attrs.endswith(b"/") else attrs
        values: dict[bytes, bytes] = {}
        position = 0
        for match in _ATTRIBUTE.finditer(body):
            if match.start() != position or match.group(1) in values:
                self.kinds[attrs] = None
                return None
            values[match.group(1)] = (
                match.group(2) if match.group(2) is not None else match.group(3)
            )
            position = match.end()
        if body[position:].strip() or b"r" in values:
            self.kinds[attrs] = None
            return None
        kind = self._kind_of(
            values.get(b"t", b"").decode() or None,
            values[b"s"].decode() if b"s" in values else None,
        )
        self.kinds[attrs] = kind
        return kind

    def _kind_of(self, type_: str | None, style: str | None) -> int:
        if type_ is None or type_ == "n":
            fmt = _NUMBER
            if style is not None:
                number = int(style) if style.isdigit() else 0
                fmt = self.formats[number] if number < len(self.formats) else _NUMBER
            return _NUMBER_KINDS[(type_, fmt)]
        return _TYPE_KINDS.get(type_, _K_UNKNOWN)

    def _value(self, kind: int, text: bytes) -> Any:
        """A <v> of the less common kinds: a date, a bool, an error, a formula's text…"""
        if kind in (_K_DATE, _K_DATE_T, _K_DURATION, _K_DURATION_T):
            if not text:
                return _EMPTY
            typed = kind in (_K_DATE_T, _K_DURATION_T)
            number = _number(text, _K_NUMBER_T if typed else _K_NUMBER)
            if not isinstance(number, float | int):
                return number  # text in a date-formatted cell without a type
            value = _date_cell(number, kind in (_K_DURATION, _K_DURATION_T), self.is_1904)
            if kind == _K_DATE:
                if len(self.dates) > 100_000:
                    self.dates.clear()  # a cache, not a record of every value
                self.dates[text] = value
            return value
        if kind == _K_NUMBER_T:
            return _number(text, kind) if text else _EMPTY
        if kind == _K_BOOL:
            if not text:
                return _EMPTY
            word = text.strip().lower()
            if word in (b"1", b"true"):
                return True
            if word in (b"0", b"false"):
                return False
            raise _Corrupt(f"boolean {text!r}")
        if kind == _K_ERROR:
            if not text:
                return _EMPTY
            if text in _CELL_ERRORS:
                return None  # present (it widens the sheet), but no value
            raise _Corrupt(f"cell error {text!r}")
        if kind == _K_STR:
            return _text_value(text.decode(), trim=False) or None
        if kind == _K_ISO:
            return _iso_cell(_text_value(text.decode(), trim=False)) or None
        if kind == _K_INLINE:
            return _EMPTY  # the text of an inline string is in <is>, not <v>
        raise _Corrupt("unknown cell type")

    def _slow_chunk(self, chunk: bytes) -> list[tuple[int, Row]]:
        """Parse a chunk of rows with ElementTree, cell by cell, as calamine reads them."""
        wrapped = ET.fromstring(b"<wrap" + self.root_attrs.rstrip(b"/") + b">" + chunk + b"</wrap>")
        out: list[tuple[int, Row]] = []
        index = -1
        row: Row = []
        for row_element in wrapped:
            if _local(row_element.tag) != "row":
                continue
            number = row_element.get("r")
            if number is not None:
                self.row_index = _parse_ref(number)[0]
            self.col_index = 0
            for cell in row_element:
                if _local(cell.tag) != "c":
                    continue
                ref = cell.get("r")
                if ref is not None:
                    position, column = _parse_ref(ref)
                    if column is None:
                        raise _Corrupt(f"cell reference {ref}")
                    self.col_index = column
                else:
                    position, column = self.row_index, self.col_index
                self.col_index += 1
                value = self._element_value(cell)
                if value is _EMPTY:
                    continue
                if column >= MAX_COLUMNS or position >= MAX_ROWS:
                    raise sheet_too_wide(self.filename, position, column)
                if position != index:
                    if row:
                        out.append((index, row))
                    index, row = position, []
                width = len(row)
                if column >= width:
                    row.extend([None] * (column - width + 1))
                row[column] = value
            self.row_index += 1
        if row:
            out.append((index, row))
        return out

    def _element_value(self, cell: ET.Element) -> Any:
        type_ = cell.get("t")
        kind = None
        value: Any = _EMPTY
        for child in cell:  # as in calamine, the last of <f>, <v>, <is> decides
            tag = _local(child.tag)
            if tag == "is":
                text = _rich_text(child)
                value = _EMPTY if text is None else _decode_escapes(text) or None
            elif tag == "f":
                value = _EMPTY
            elif tag == "v":
                if kind is None:
                    kind = self._kind_of(type_, cell.get("s"))
                raw = (child.text or "").encode()
                if kind == _K_NUMBER:
                    value = _number(raw, kind) if raw else _EMPTY
                elif kind == _K_SHARED:
                    if not raw:
                        value = _EMPTY
                        continue
                    try:
                        value = self.strings[int(raw) if raw.isdigit() else 0] or None
                    except (IndexError, OverflowError):
                        raise _Corrupt("shared string index out of range") from None
                elif kind in (_K_STR, _K_ISO):
                    text = _decode_escapes(child.text or "")  # entities already resolved
                    value = (text if kind == _K_STR else _iso_cell(text)) or None
                else:
                    value = self._value(kind, raw)
            else:
                raise _Corrupt(f"unexpected <{tag}> in a cell")
        return value


# Kinds of cell a row pattern reads: the usual ones. A row with any other cell (a formula, a
# boolean, an empty <v>…) is read cell by cell, as before.
_P_INLINE, _P_KEPT, _P_NUMBER, _P_SHARED, _P_DATE = range(5)
_PATTERN_KINDS = {_K_NUMBER: _P_NUMBER, _K_SHARED: _P_SHARED, _K_DATE: _P_DATE}


class _RowPattern:
    """One regular expression for a whole row, made from the layouts of the rows met so far.

    A list is mostly the same row over and over: the same columns, each with one of a few styles
    and kinds (text, a number, a date). The cell pattern cuts such a row into 13 matches of 5
    groups each; this pattern reads it in one match of one group per cell, which made reading a
    million rows ~40% quicker. Every cell of every layout learnt is written out literally, with
    the row's number as a back-reference, so a match is exactly the row the cell pattern would
    have read (a row that does not match is read cell by cell, never guessed at). A column
    missing from some layout is optional; a column seen with several styles takes any of them.
    """

    # The title and header rows are each laid out their own way: learning them would only make
    # the pattern longer (each style of each column is one more alternative to try).
    LEARN_AFTER_ROW = 30
    MAX_LEARNT = 64  # layouts learnt per sheet; past that, rows that differ go cell by cell
    MAX_VARIANTS = 8  # styles a column may take; past that, rows that differ go cell by cell
    # Rows that do not match cost a failed match more than cell by cell: when they are more
    # than one in eight (pretty-printed XML, say), the sheet goes back to whole chunks.
    GIVE_UP_AFTER = 256

    def __init__(self, stream: _SheetStream) -> None:
        self.stream = stream
        p = re.escape(stream.prefix)
        self.prefix = p
        self.row_end = b"</" + stream.prefix + b"row>"
        # column index -> (letters, [(cell markup pattern, kind)], always there)
        self.columns: dict[int, tuple[bytes, list[tuple[bytes, int]], bool]] = {}
        self.learnt = 0
        self.matched = self.missed = 0
        self.given_up = False
        self.plan: list[tuple[int, int]] = []  # (column, kind) of each group after the row's
        self.pattern = re.compile(rb"(?!)")  # matches nothing until a row is learnt

    def tally(self, matched: int, missed: int) -> None:
        """Count rows matched and missed; give up on the pattern when too many miss it."""
        self.matched += matched
        self.missed += missed
        if self.missed > self.GIVE_UP_AFTER and self.missed * 8 > self.matched:
            self.given_up = True

    def learn(self, piece: bytes) -> bool:
        """Add the layout of `piece` (one row, already read cell by cell) to the pattern;
        False when it cannot be (not one row of the usual cells, or too many layouts)."""
        if self.learnt >= self.MAX_LEARNT:
            return False
        cells = self._layout(piece)
        if cells is None:
            return False
        self.learnt += 1
        columns = dict(self.columns)
        for column in set(columns) - set(cells):
            letters, variants, _ = columns[column]
            columns[column] = (letters, variants, False)
        for column, (letters, markup, kind) in cells.items():
            if column not in columns:  # always there if it is in the first layout learnt
                columns[column] = (letters, [(markup, kind)], not self.columns)
                continue
            known, variants, always = columns[column]
            if all(markup != m for m, _ in variants):
                if len(variants) >= self.MAX_VARIANTS:
                    return False
                variants = [*variants, (markup, kind)]
            columns[column] = (known, variants, always)
        self.columns = columns
        self._compile()
        return True

    def _layout(self, piece: bytes) -> dict[int, tuple[bytes, bytes, int]] | None:
        """column -> (letters, the cell's markup as a pattern, kind), when `piece` is one row of
        cells of the usual kinds, each written exactly as the pattern will expect it."""
        stream, p = self.stream, self.stream.prefix
        head = re.match(rb"<" + re.escape(p) + rb'row r="([0-9]+)"[^>]*(?<!/)>', piece)
        if head is None or not piece.endswith(self.row_end):
            return None
        number, position = head.group(1), head.end()
        if int(number) <= self.LEARN_AFTER_ROW:
            return None
        cells: dict[int, tuple[bytes, bytes, int]] = {}
        last = -1
        close_value = b"</" + p + b"v></" + p + b"c>"
        close_inline = b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        for found in stream.cell_pattern.finditer(piece, position, len(piece) - len(self.row_end)):
            letters, digits, attrs, marker, text = found.groups()
            column = _column(letters.decode())
            if found.start() != position or digits != number or column <= last:
                return None
            start = rb"<" + self.prefix + rb'c r="' + letters + rb'\1"' + re.escape(attrs) + rb">"
            end = found.end()
            if marker is None:
                if attrs[-1:] != b"/" or text:
                    return None
                position, last = end, column  # <c …/>: styled but empty, no value
                cells[column] = (letters, start, -1)
                continue
            if marker == stream.value_marker:
                known = stream.kinds.get(attrs)
                kind = _PATTERN_KINDS.get(stream._kind(attrs) if known is None else known)
                close = close_value
                if kind is None or not text:
                    return None
            elif marker in (stream.inline_marker, stream.kept_marker):
                kind = _P_INLINE if marker == stream.inline_marker else _P_KEPT
                close = close_inline
            else:
                return None
            if not piece.startswith(close, end):
                return None
            text_pattern = rb"([^<]*)" if kind in (_P_INLINE, _P_KEPT) else rb"([^<]+)"
            markup = start + re.escape(marker) + text_pattern + re.escape(close)
            cells[column] = (letters, markup, kind)
            position, last = end + len(close), column
        if position != len(piece) - len(self.row_end) or not cells:
            return None
        return cells

    def _compile(self) -> None:
        parts = [rb"<" + self.prefix + rb'row r="([0-9]+)"[^>]*(?<!/)>']
        plan: list[tuple[int, int]] = []
        for column in sorted(self.columns):
            _, variants, always = self.columns[column]
            options = []
            for markup, kind in variants:
                options.append(markup)
                if kind >= 0:
                    plan.append((column, kind))
            group = b"(?:" + b"|".join(options) + b")"
            parts.append(group if always else group + b"?")
        parts.append(re.escape(self.row_end))
        self.plan = plan
        self.pattern = re.compile(b"".join(parts))

    def read(self, groups: tuple, clean: bool) -> tuple[int, Row]:
        """The (0-based index, row) a match's groups give, as `_cells_chunk` would read it."""
        stream = self.stream
        strings = stream.strings
        items, blob, ends = strings.items, strings.blob, strings.ends
        dates = stream.dates
        row: Row = []
        # Each kind converted as `_cells_chunk` converts it, written out again rather than
        # called: a call per cell would cost ~1 s a million rows on the hottest loop of a read.
        for (column, kind), text in zip(self.plan, groups[1:]):  # noqa: B905 - same length
            if text is None:
                continue  # a column or style this row does not have
            if kind == _P_INLINE:
                value: Any = (
                    text.strip(_XML_SPACE_BYTES).decode()
                    if clean
                    else _text_value(text.decode(), trim=True)
                ) or None
            elif kind == _P_KEPT:
                value = (text.decode() if clean else _text_value(text.decode(), False)) or None
            elif kind == _P_NUMBER:
                value = int(text) if len(text) < 16 and text.isdigit() else _number(text, _K_NUMBER)
            elif kind == _P_SHARED:
                number = int(text) if text.isdigit() else 0
                try:
                    value = (
                        items[number]
                        if items is not None
                        else blob[ends[number] : ends[number + 1]].decode()
                    ) or None
                except (IndexError, OverflowError):
                    raise _Corrupt("shared string index out of range") from None
            else:
                value = dates[text] if text in dates else stream._value(_K_DATE, text)
            width = len(row)
            if column > width:
                row.extend([None] * (column - width))
            row.append(value)
        return int(groups[0]) - 1, row


def _complete_rows(stream: _SheetStream, archive: zipfile.ZipFile, head_rows: int) -> Iterator[Row]:
    """Every row from the first, blank ones between included, merged cells filled.

    Rows are padded to the widest of the first `head_rows` (the head), which are read before any
    is handed over; the archive is closed when the rows run out or the iterator is closed.
    """
    try:
        merges = _Merges(stream.merged)
        present = stream.present_rows()
        buffered: list[Row] = []
        pending: tuple[int, Row] | None = None
        for index, row in present:
            while len(buffered) < index and len(buffered) < head_rows:
                buffered.append([])
            if len(buffered) >= head_rows:
                pending = (index, row)
                break
            buffered.append(row)
        width = max(map(len, buffered), default=0)
        # Cells handed over so far, padding included: a few kilobytes can put one value a
        # million rows down, or each row's value a thousand columns out.
        expanded = len(buffered) * width
        if expanded > MAX_STREAMED_CELLS:
            raise sheet_too_large(stream.filename, expanded, MAX_STREAMED_CELLS)
        for index, row in enumerate(buffered):
            if len(row) < width:
                row.extend([None] * (width - len(row)))
            merges.fill(index, row)
            yield row
        next_index = len(buffered)
        del buffered
        if pending is not None:
            for index, row in _chain_one(pending, present):
                expanded += (index - next_index) * width + max(len(row), width)
                if expanded > MAX_STREAMED_CELLS:
                    raise sheet_too_large(stream.filename, expanded, MAX_STREAMED_CELLS)
                while next_index < index:
                    blank: Row = [None] * width
                    merges.fill(next_index, blank)
                    yield blank
                    next_index += 1
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
                merges.fill(index, row)
                yield row
                next_index = index + 1
    except ImportFileError:
        raise  # a limit's message (ImportFileError is a ValueError, one of the read errors)
    except _READ_ERRORS as exc:
        raise corrupt_file_error(stream.filename) from exc
    finally:
        archive.close()


def _chain_one(
    first: tuple[int, Row], rest: Iterator[tuple[int, Row]]
) -> Iterator[tuple[int, Row]]:
    yield first
    yield from rest


class _Merges:
    """Fills merged ranges row by row, each with its top-left cell's value (as `_fill_merged`)."""

    def __init__(self, ranges: list[tuple[int, int, int, int]]) -> None:
        self.starting: dict[int, list[tuple[int, int, int]]] = {}
        for top, left, bottom, right in ranges:
            self.starting.setdefault(top, []).append((left, bottom, right))
        self.active: list[tuple[int, int, int, Cell]] = []  # (bottom, left, right, value)

    def fill(self, index: int, row: Row) -> None:
        """Fill `row` (at 0-based `index`) where merged ranges cover it."""
        if self.active:
            self.active = [m for m in self.active if m[0] >= index]
            for _, left, right, value in self.active:
                for column in range(left, min(right, len(row) - 1) + 1):
                    row[column] = value
        starting = self.starting.pop(index, None)
        if starting:
            for left, bottom, right in starting:
                value = row[left] if left < len(row) else None
                if value is None:
                    continue
                for column in range(left, min(right, len(row) - 1) + 1):
                    row[column] = value
                if bottom > index:
                    self.active.append((bottom, left, right, value))


# ---------------------------------------------------------------------------------------------
# Values


def _number(text: bytes, kind: int) -> Any:
    """A number cell's value: an int when whole (as `_clean_row` makes it), else a float.

    What is not a number is kept as text in a cell without a type, as calamine does, and makes
    the file unreadable in a cell typed t="n".
    """
    if _FLOAT.fullmatch(text) is None:
        if kind in (_K_NUMBER_T, _K_DATE_T, _K_DURATION_T):
            raise _Corrupt(f"not a number: {text!r}")
        return text.decode()
    number = float(text)
    return int(number) if number.is_integer() else number


def _date_cell(number: float | int, duration: bool, is_1904: bool) -> Cell:
    """A date-formatted number as python-calamine converts it, and `_clean_row` after it.

    Dates count days from 1899-12-30 (1904-01-01 in the 1904 system), with Excel's phantom
    29 February 1900 skipped below serial 60, to the nearest millisecond, halves away from zero.
    Under 1 it is a time of day and whole it is a date (both then as `_clean_row` leaves them); a
    duration format gives a timedelta, kept as its text. Out of Python's range: the number itself.
    """
    value = float(number)
    try:
        if duration:
            return str(timedelta(milliseconds=_round_half_away(value * _MS_PER_DAY)))
        days = value + _1904_OFFSET if is_1904 else value
        if days < 60.0:
            days += 1.0
        milliseconds = _round_half_away(days * _MS_PER_DAY)
        if value < 1.0:
            # Only the time of day is kept, whatever the (possibly far out of range) date.
            return (
                (datetime.min + timedelta(milliseconds=milliseconds % 86_400_000))
                .time()
                .isoformat()
            )
        moment = _EPOCH + timedelta(milliseconds=milliseconds)
    except (OverflowError, ValueError):
        return int(value) if value.is_integer() else value
    return moment.date() if value.is_integer() else moment


def _round_half_away(x: float) -> int:
    """Rust's f64::round: halves away from zero (Python's round() goes to even)."""
    magnitude = abs(x)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:
        whole += 1
    return int(whole) if x >= 0 else -int(whole)


def _iso_cell(text: str) -> Cell:
    """A t="d" cell: an ISO date, date-time or time as python-calamine reads it, else the text."""
    try:
        if (m := _ISO_DATETIME.fullmatch(text)) is not None:
            micro = int((m.group(7) or "0").ljust(9, "0")[:6])
            return datetime(*(int(g) for g in m.groups()[:6]), micro)  # type: ignore[misc]
        if (m := _ISO_DATE.fullmatch(text)) is not None:
            return date(*(int(g) for g in m.groups()))  # type: ignore[misc]
        if (m := _ISO_TIME.fullmatch(text)) is not None:
            micro = int((m.group(4) or "0").ljust(9, "0")[:6])
            return time(*(int(g) for g in m.groups()[:3]), micro).isoformat()  # type: ignore[misc]
    except ValueError:
        pass
    return text


# ---------------------------------------------------------------------------------------------
# Addresses and small helpers


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _column(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number - 1


def _parse_ref(ref: str) -> tuple[int, int | None]:
    """ "B7" → (6, 1); "7" → (6, None), as calamine reads cell and row addresses."""
    match = _REF.fullmatch(ref)
    if match is None or int(match.group(2)) == 0:
        raise _Corrupt(f"address {ref!r}")
    return int(match.group(2)) - 1, _column(match.group(1)) if match.group(1) else None


def _parse_range(ref: str) -> tuple[int, int, int, int]:
    """ "A1:E2" → (top, left, bottom, right), 0-based; a single cell is a range of one."""
    first, _, last = ref.partition(":")
    top, left = _parse_ref(first)
    bottom, right = _parse_ref(last or first)
    if left is None or right is None:
        raise _Corrupt(f"merged range {ref!r}")
    return top, left, bottom, right
