"""Workbooks read whole: how far they reach, measured before python-calamine sees them.

python-calamine keeps every cell of the rectangle from the sheet's first to its last value,
and only then hands over rows: one value at XFD1048576 is 17 billion cells, an allocation that
aborts the process (no exception, the worker dies). Repeated .ods cells and .xls records that
claim a sheet's size make it reserve as much. So each workbook is walked first, cheaply and in
bounded memory, the way calamine will read it, and refused past `MAX_SHEET_CELLS` cells,
`MAX_COLUMNS` columns or `MAX_EXPANDED_TEXT` characters of repeated text.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
from collections.abc import Iterator
from typing import IO

from outreach.imports.reading.cells import ImportFileError
from outreach.imports.reading.limits import (
    MAX_COLUMNS,
    MAX_EXPANDED_TEXT,
    MAX_SHEET_CELLS,
    sheet_too_large,
    sheet_too_wide,
    text_too_large,
)
from outreach.imports.reading.xlsx_stream import (
    READ_ERRORS,
    check_extent,
    corrupt_file_error,
    open_member,
)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class _Malformed(Exception):
    """Something calamine would refuse, or could loop or over-allocate on: "tệp hỏng"."""


def check_extent_of(data: bytes, filename: str) -> None:
    """Refuse a workbook calamine would expand past the limits; corrupt ones with the usual
    message. A zip is read as calamine picks its format (.xlsx first, then .ods): both are
    checked when both are there; a zip that is neither (an .xlsb) is refused."""
    try:
        if data.startswith(_ZIP_MAGIC):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = {info.filename.lower() for info in archive.infolist()}
            if "xl/workbook.xml" not in names and "content.xml" not in names:
                raise _Malformed("neither an .xlsx nor an .ods")
            if "xl/workbook.xml" in names:
                check_extent(data, filename, MAX_SHEET_CELLS)
            if "content.xml" in names:
                _check_ods(data, filename)
        elif data.startswith(_OLE_MAGIC):
            _check_xls(data, filename)
    except ImportFileError:
        raise  # a limit's message (ImportFileError is a ValueError, one of the read errors)
    except (_Malformed, *READ_ERRORS) as exc:
        raise corrupt_file_error(filename) from exc


class _Extent:
    """A sheet's rectangle as calamine will hold it, and the total over the workbook's sheets."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.cells = 0  # over every sheet: calamine holds them all at once
        self.text = 0

    def add(self, rows: int, columns: int) -> None:
        """One sheet (or its formulas) of `rows` × `columns` cells, from A1."""
        if columns > MAX_COLUMNS:
            raise sheet_too_wide(self.filename, max(rows - 1, 0), columns - 1)
        self.cells += rows * columns
        if self.cells > MAX_SHEET_CELLS:
            raise sheet_too_large(self.filename, self.cells, MAX_SHEET_CELLS)

    def add_text(self, characters: int) -> None:
        """Characters the file expands to beyond its own bytes (repeats, shared strings)."""
        self.text += characters
        if self.text > MAX_EXPANDED_TEXT:
            raise text_too_large(self.filename)


# --- .ods: content.xml, tag by tag ----------------------------------------------------------

# The tags calamine's ods reader acts on, by their literal names (it matches "table:table-row",
# not the namespace). Attribute values may hold ">" (never "<"), so they are matched as quoted; a
# tag of these names that does not parse whole (group 3 None) is refused rather than skipped.
_ODS_TAG = re.compile(
    rb"<(/?)(table:table-row|table:table-cell|table:covered-table-cell|table:table|text:s)"
    rb"(?=[\s/>])(?:((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>)?"
)
# Comments, CDATA, processing instructions and a DOCTYPE could hide or fake tags from a pattern;
# LibreOffice writes none in content.xml (only the XML declaration), so a file with one is refused.
_ODS_OPAQUE = re.compile(rb"<[!?]")
_ODS_VALUE = re.compile(
    rb"(?:^|\s)(?:office:(?:value|string-value|date-value|time-value|boolean-value)"
    rb"|table:formula)\s*=|(?:^|\s)office:value-type\s*=\s*[\"']string[\"']"
)
_ODS_FORMULA = re.compile(rb"(?:^|\s)table:formula\s*=")
_ODS_ROWS = re.compile(rb"(?:^|\s)table:number-rows-repeated\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ODS_COLUMNS = re.compile(
    rb"(?:^|\s)table:number-columns-repeated\s*=\s*(?:\"([^\"]*)\"|'([^']*)')"
)
_ODS_SPACES = re.compile(rb"(?:^|\s)text:c\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_SCAN_BYTES = 1 << 20  # content.xml unzipped per step
_MAX_TAG_BYTES = 16 * 1024**2  # no tag of a real content.xml is near this (a formula is < 8 KB)


def _ods_number(attrs: bytes, pattern: re.Pattern[bytes]) -> int:
    """A count attribute (rows or columns repeated, spaces), the largest if it is repeated; 1
    when absent."""
    counts = [double or single for double, single in pattern.findall(attrs)]
    if not counts:
        return 1
    if not all(count.isdigit() for count in counts):
        raise _Malformed(f"count {counts!r}")
    return max(int(count) for count in counts)


def _check_ods(data: bytes, filename: str) -> None:
    """Refuse an .ods whose tables calamine would expand past the limits.

    calamine reads every table when it opens the file. A row or cell repeated N times
    (table:number-rows-repeated, table:number-columns-repeated) is N rows or cells for it, and
    `<text:s text:c="N"/>` is N spaces. Empty cells repeated at the end of a row, and empty
    rows at the end of a table, are padding (LibreOffice pads every sheet to 1,048,576 rows):
    calamine keeps the rectangle of the values only, and so does this count.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():  # a duplicate name: each, whichever calamine takes
            if info.filename.lower() == "content.xml":
                with open_member(archive, info, data) as raw:
                    _scan_ods(raw, _Extent(filename))


def _scan_ods(raw: IO[bytes], extent: _Extent) -> None:  # noqa: C901, PLR0912, PLR0915 - one pass
    tables = 0  # depth of table:table elements
    rows = last_row = width = 0  # the current table: rows so far, rows to the last value, columns
    formulas = False
    in_row = in_cell = False
    row_repeats = column = row_width = 0
    cell_start = cell_repeats = spaces = 0
    cell_value = False
    base = 0  # the offset of `buffer` in content.xml
    buffer = b""
    first = True
    while True:
        data = raw.read(_SCAN_BYTES)
        buffer += data
        start = 0
        if first:
            if buffer.startswith(codecs.BOM_UTF8):
                start = len(codecs.BOM_UTF8)
            if buffer.startswith(b"<?xml", start):
                start = buffer.find(b"?>", start) + 2
                if start < 2:
                    if data and len(buffer) < _MAX_TAG_BYTES:
                        continue  # the declaration is not whole yet
                    raise _Malformed("XML declaration")
            first = False
        # Tags up to the last "<" (the tag it opens may be cut), all of them once the part is read.
        stop = buffer.rfind(b"<") if data else len(buffer)
        if stop < start:
            stop = len(buffer)  # text only: no tag starts in it
        elif len(buffer) - stop > _MAX_TAG_BYTES:
            raise _Malformed("a tag of more than 16 MB")
        if _ODS_OPAQUE.search(buffer, start, stop) is not None:
            raise _Malformed("comment, CDATA, DOCTYPE or processing instruction")
        for match in _ODS_TAG.finditer(buffer, start, stop):
            closing, name, attrs = match.groups()
            if attrs is None:
                raise _Malformed(f"<{name!r}> does not parse")
            empty = attrs.endswith(b"/")
            if name == b"text:s":
                if in_cell and not closing:
                    spaces += _ods_number(attrs, _ODS_SPACES)
                continue
            if name == b"table:table":
                if in_cell or in_row:
                    raise _Malformed("a table inside a row")
                if closing:
                    if tables == 0:
                        raise _Malformed("</table:table> without a table")
                    tables -= 1
                    if tables == 0:
                        extent.add(last_row, width)
                        if formulas:
                            extent.add(last_row, width)
                elif not empty:
                    if tables == 0:
                        rows = last_row = width = 0
                        formulas = False
                    tables += 1
                continue
            if name == b"table:table-row":
                if in_cell or not tables or (in_row and not closing):
                    raise _Malformed("a row outside a table, or inside a row or cell")
                if not closing:
                    row_repeats = _ods_number(attrs, _ODS_ROWS)
                    in_row, column, row_width = True, 0, 0
                    if not empty:
                        continue
                elif not in_row:
                    raise _Malformed("</table:table-row> without a row")
                rows += row_repeats
                if row_width:
                    last_row = rows
                    width = max(width, row_width)
                    if last_row * width > MAX_SHEET_CELLS:
                        raise sheet_too_large(extent.filename, last_row * width, MAX_SHEET_CELLS)
                in_row = False
                continue
            # A cell (or a covered cell, the hidden part of a merge: calamine reads both).
            if closing:
                if not in_cell:
                    raise _Malformed("</table:table-cell> without a cell")
                size = match.end() + base - cell_start
            else:
                if in_cell or not in_row:
                    raise _Malformed("a cell outside a row, or inside a cell")
                cell_repeats = _ods_number(attrs, _ODS_COLUMNS)
                cell_value = _ODS_VALUE.search(attrs) is not None
                formulas = formulas or _ODS_FORMULA.search(attrs) is not None
                cell_start, spaces = match.start() + base, 0
                if not empty:
                    in_cell = True
                    continue
                size = match.end() - match.start()
            in_cell = False
            column += cell_repeats
            if cell_value:
                row_width = column
                if row_width > MAX_COLUMNS:
                    raise sheet_too_wide(extent.filename, rows, row_width - 1)
                # The cell's bytes are in the file once; each repeat is more, and so are spaces.
                copies = cell_repeats * row_repeats
                extent.add_text(size * (copies - 1) + spaces * copies)
        if not data:
            break
        base += stop
        buffer = buffer[stop:]
    if tables or in_row or in_cell:
        raise _Malformed("content.xml ends inside a table")


# --- .xls: the compound file, then the BIFF records ----------------------------------------

_END_OF_CHAIN = 0xFFFFFFFE
_DIFSECT = 0xFFFFFFFC
_RESERVED_SECTORS = 0xFFFFFFFA
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
# Cell records and where their row and column are (calamine's xls.rs reads these).
_XLS_CELLS = frozenset((0x0203, 0x0204, 0x00D6, 0x0205, 0x027E))
_XLS_LABEL_SST, _XLS_MULRK, _XLS_FORMULA = 0x00FD, 0x00BD, 0x0006
_XLS_BOF, _XLS_EOF, _XLS_DIMENSIONS, _XLS_CONTINUE = 0x0809, 0x000A, 0x0200, 0x003C
# Characters a formula's bytes can become (a 5-byte name token is the name, up to 255 letters;
# a sheet reference its sheet's name): at most this many a byte, plus a name's length / 4.
_FORMULA_CHARS_A_BYTE = 12


def _u16(data: bytes, at: int) -> int:
    if at + 2 > len(data):
        raise _Malformed("record too short")
    return _U16.unpack_from(data, at)[0]


def _u32(data: bytes, at: int) -> int:
    if at + 4 > len(data):
        raise _Malformed("record too short")
    return _U32.unpack_from(data, at)[0]


def _words(data: bytes) -> list[int]:
    return list(struct.unpack_from(f"<{len(data) // 4}I", data))


class _Compound:
    """An OLE compound file as calamine's cfb.rs reads it, with every chain followed once: a
    chain that loops (calamine would follow it until memory runs out), a sector past the end or
    a table larger than the file is `_Malformed`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        if len(data) < 512:
            raise _Malformed("no header")
        shift = _u16(data, 30)
        if shift not in (9, 12) or _u16(data, 32) != 6:
            raise _Malformed("sector sizes")
        self.size = 1 << shift
        self.version = _u16(data, 26)
        self.maxid = len(data) // self.size
        fat_sectors = _u32(data, 44)
        # calamine reserves room for the FAT and DIFAT from these header fields (the second read
        # across two others, as it does), before reading any: both must fit the file.
        if fat_sectors > self.maxid + 1 or _u32(data, 62) > 1 << 26:
            raise _Malformed("FAT larger than the file")
        difat = _words(data[76:512])
        seen: set[int] = set()
        sector = _u32(data, 68)
        while sector < _RESERVED_SECTORS:
            if sector in seen:
                raise _Malformed("DIFAT loops")
            seen.add(sector)
            difat.extend(_words(self.sector(sector)))
            sector = difat.pop()
        fat_ids = [sector for sector in difat if sector < _DIFSECT]
        if len(set(fat_ids)) != len(fat_ids) or len(fat_ids) > self.maxid + 1:
            raise _Malformed("FAT sectors listed twice")
        self.fat = [entry for sector in fat_ids for entry in _words(self.sector(sector))]
        directory = self.chain(_u32(data, 48), self.fat, None)
        self.entries = [directory[at : at + 128] for at in range(0, len(directory), 128)]
        if not self.entries:
            raise _Malformed("no directory")
        root_start = _u32(self.entries[0], 116) if len(self.entries[0]) >= 120 else 0
        if self.version != 3 and root_start == _END_OF_CHAIN:
            raise _Malformed("empty root")
        self.mini_stream = b""
        self.mini_fat: list[int] = []
        mini_fat_sectors = _u32(data, 64)
        if mini_fat_sectors > 0:
            self.mini_stream = self.chain(root_start, self.fat, self._length(self.entries[0]))
            self.mini_fat = _words(
                self.chain(_u32(data, 60), self.fat, mini_fat_sectors * self.size)
            )

    def sector(self, sector: int) -> bytes:
        start = (sector + 1) * self.size
        if sector > self.maxid or start >= len(self.data):
            raise _Malformed(f"sector {sector} past the end")
        return self.data[start : start + self.size]

    def chain(self, sector: int, fat: list[int], length: int | None, mini: bool = False) -> bytes:
        """The bytes of a chain from `sector`, at most `length` of them (None: all)."""
        parts: list[bytes] = []
        total = 0
        seen: set[int] = set()
        while sector != _END_OF_CHAIN:
            if sector in seen:
                raise _Malformed("chain loops")
            seen.add(sector)
            if mini:
                piece = self.mini_stream[sector * 64 : sector * 64 + 64]
                if len(piece) < 64:
                    raise _Malformed("mini sector past the mini stream")
            else:
                piece = self.sector(sector)
            if length is not None:
                piece = piece[: length - total]
            parts.append(piece)
            total += len(piece)
            if length is not None and total >= length:
                break
            if sector >= len(fat):
                raise _Malformed("chain leaves the FAT")
            sector = fat[sector]
        return b"".join(parts)

    def _length(self, entry: bytes) -> int:
        if len(entry) < 128:
            raise _Malformed("short directory entry")
        if self.size == 512:
            return _u32(entry, 120)
        return struct.unpack_from("<Q", entry, 120)[0]

    def stream(self, names: tuple[str, ...]) -> bytes | None:
        """The first stream named like the first of `names` found, as calamine looks them up."""
        for name in names:
            for entry in self.entries:
                decoded = entry[:64].decode("utf-16-le", "replace").partition("\x00")[0]
                if decoded != name:
                    continue
                start, length = _u32(entry, 116), self._length(entry)
                if length < 4096:
                    return self.chain(start, self.mini_fat, length, mini=True)
                return self.chain(start, self.fat, length)
        return None


def _xls_records(stream: bytes, at: int) -> Iterator[tuple[int, bytes, list[bytes]]]:
    """(type, data, CONTINUE records' data) from offset `at`, as calamine's RecordIter."""
    end = len(stream)
    while at < end:
        if end - at < 4:
            raise _Malformed("record cut short")
        kind, length = _U16.unpack_from(stream, at)[0], _U16.unpack_from(stream, at + 2)[0]
        if end - at < length + 4:
            raise _Malformed("record cut short")
        data = stream[at + 4 : at + 4 + length]
        at += 4 + length
        more: list[bytes] = []
        while end - at > 4 and _U16.unpack_from(stream, at)[0] == _XLS_CONTINUE:
            length = _U16.unpack_from(stream, at + 2)[0]
            if end - at < length + 4:
                raise _Malformed("continue record cut short")
            more.append(stream[at + 4 : at + 4 + length])
            at += 4 + length
        yield kind, data, more


def _sst_lengths(data: bytes, more: list[bytes]) -> list[int]:
    """The length in characters of each shared string, read as calamine's parse_sst reads them
    (a string's characters may go on in the next CONTINUE record, after a flags byte)."""
    if len(data) < 8:
        raise _Malformed("SST too short")
    parts = [data[8:], *more]
    part, at = 0, 0
    lengths: list[int] = []

    def skip(count: int) -> None:
        nonlocal part, at
        while count > 0:
            if at >= len(parts[part]):
                if part + 1 >= len(parts):
                    raise _Malformed("SST ends inside a string")
                part, at = part + 1, 0
                continue
            step = min(count, len(parts[part]) - at)
            at += step
            count -= step

    while True:
        if at >= len(parts[part]):
            if part + 1 >= len(parts):
                return lengths
            part, at = part + 1, 0
            if not parts[part]:
                lengths.append(0)
            continue
        current = parts[part]
        if len(current) - at < 3:
            raise _Malformed("SST string header cut")
        count, flags = _u16(current, at), current[at + 2]
        at += 3
        runs = extra = 0
        if flags & 0x8:
            runs = _u16(current, at)
            at += 2
        if flags & 0x4:
            extra = _u32(current, at)
            at += 4
        wide, left = flags & 0x1, count
        while left > 0:
            step = min(left, (len(parts[part]) - at) // (2 if wide else 1))
            at += step * (2 if wide else 1)
            left -= step
            if left > 0:
                if part + 1 >= len(parts) or not parts[part + 1]:
                    raise _Malformed("SST ends inside a string")
                part, at = part + 1, 1
                wide = parts[part][0] & 0x1
        lengths.append(count)
        skip(runs * 4 + extra)  # a negative extra (calamine's i32) is too long for the record


def _check_xls(data: bytes, filename: str) -> None:
    """Refuse an .xls calamine would expand past the limits (it reads every sheet on opening).

    For each sheet: the rectangle its DIMENSIONS record claims (calamine reserves it), the
    rectangles of its values and of its formulas, and the text its shared-string cells and
    formulas expand to. A password-protected file is left to calamine, which refuses it.
    """
    stream = _Compound(data).stream(("Workbook", "Book", "WORKBOOK", "BOOK"))
    if stream is None:
        return  # calamine finds no workbook: it refuses the file itself
    extent = _Extent(filename)
    sheets: list[int] = []
    strings: list[int] = []
    longest_name = 0
    for kind, record, more in _xls_records(stream, 0):
        if kind == 0x002F and _u16(record, 0) != 0:  # FilePass: encrypted
            return
        if kind == 0x0085:  # BoundSheet8
            if len(record) < 6 or record[4] & 0x3F > 2 or record[5] not in (0, 1, 2, 6):
                raise _Malformed("BoundSheet8")
            sheets.append(_u32(record, 0))
            longest_name = max(longest_name, record[6] if len(record) > 6 else 0)
        elif kind == 0x0018 and len(record) > 3:  # Lbl: a defined name
            longest_name = max(longest_name, record[3])
        elif kind == 0x00FC:  # SST
            strings = _sst_lengths(record, more)
        elif kind == _XLS_EOF:
            break
    per_formula_byte = _FORMULA_CHARS_A_BYTE + longest_name // 4
    for start in sheets:
        if start > len(stream):
            raise _Malformed("sheet past the end of the stream")
        _check_xls_sheet(stream, start, strings, per_formula_byte, extent)


def _check_xls_sheet(
    stream: bytes, start: int, strings: list[int], per_formula_byte: int, extent: _Extent
) -> None:
    values = [-1, -1]  # the last row and column holding a value
    formulas = [-1, -1]
    depth, own_bof = 0, False
    for kind, record, _more in _xls_records(stream, start):
        if depth:  # a chart or other substream inside the sheet: calamine skips it
            depth += kind == _XLS_BOF
            depth -= kind == _XLS_EOF
            continue
        if kind == _XLS_BOF:
            depth, own_bof = (depth + 1, own_bof) if own_bof else (0, True)
            continue
        if kind == _XLS_EOF:
            break
        if kind == _XLS_DIMENSIONS:
            _check_xls_dimensions(record, extent)
            continue
        if kind in _XLS_CELLS:
            last = _u16(record, 2)
        elif kind == _XLS_LABEL_SST:
            if len(record) < 10:
                raise _Malformed("LabelSst")
            index = _u32(record, 6)
            if index >= len(strings):
                continue  # calamine makes no cell of it
            extent.add_text(strings[index])
            last = _u16(record, 2)
        elif kind == _XLS_MULRK:
            if len(record) < 6:
                raise _Malformed("MulRk")
            first, last = _u16(record, 2), _u16(record, len(record) - 2)
            if last < first or len(record) != 6 + 6 * (last - first + 1):
                raise _Malformed("MulRk")
        elif kind == _XLS_FORMULA:
            if len(record) < 20:
                raise _Malformed("Formula")
            extent.add_text(len(record) * per_formula_byte)
            last = _u16(record, 2)
            formulas[0], formulas[1] = max(formulas[0], _u16(record, 0)), max(formulas[1], last)
        else:
            continue
        values[0], values[1] = max(values[0], _u16(record, 0)), max(values[1], last)
    for row, column in (values, formulas):
        if row >= 0:
            extent.add(row + 1, column + 1)


def _check_xls_dimensions(record: bytes, extent: _Extent) -> None:
    """The rectangle a DIMENSIONS record claims, computed as calamine computes it (u32 rows)."""
    if len(record) == 10:
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", record)
    elif len(record) == 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", record)
    else:
        raise _Malformed("Dimensions")
    if first_col > 0xFF or last_col < first_col:
        first_col = 0
    if last_row < 1 or last_col < 1:
        return  # a single cell
    rows = (last_row - 1 - first_row + 1) % (1 << 32)
    cells = rows * (last_col - first_col)
    if cells > MAX_SHEET_CELLS:
        raise sheet_too_large(extent.filename, cells, MAX_SHEET_CELLS)
