"""List imports (brief §8). This package is the pure parsing layer: bytes in, validated rows out.

readers.py reads .xlsx/.xls/.ods/.csv into rows of cells, tcvn3.py recovers text still in the
legacy TCVN3 encoding, headers.py finds the header and matches columns to fields, cells.py parses
one cell per field and rows.py ties them together. No Flask, no database.
"""

from outreach.imports.reading.cells import CellError
from outreach.imports.reading.headers import HeaderMatch, find_header_row, match_headers
from outreach.imports.reading.readers import ImportFileError, Table, read_table
from outreach.imports.reading.rows import ParsedRow, ParsedSheet, RowError, parse_rows, stream_rows

__all__ = [
    "CellError",
    "HeaderMatch",
    "ImportFileError",
    "ParsedRow",
    "ParsedSheet",
    "RowError",
    "Table",
    "find_header_row",
    "match_headers",
    "parse_rows",
    "read_table",
    "stream_rows",
]
