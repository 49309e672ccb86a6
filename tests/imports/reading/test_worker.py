"""A child process reads and parses a large list: the same rows, and its errors reach the parent."""

import io
from datetime import date

import pytest

from outreach.imports.reading import ImportFileError, ParsedRow, RowError, stream_rows
from outreach.imports.reading.cells import parse_date, parse_month
from outreach.imports.reading.readers import open_table
from outreach.imports.reading.rows import PARSERS
from outreach.imports.reading.worker import (
    DATE_FIELDS,
    ChildRows,
    decode_row,
    encode_row,
    read_frame,
)
from tests.imports.test_writer import ROWS, _csv


def _in_process(path, kind="participants"):
    with open_table(path) as table:
        sheet, rows = stream_rows(table, kind)
        return list(rows)


def test_the_child_gives_the_rows_this_process_would(tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(ROWS * 3))  # repeated rows are flagged as duplicates, in both
    expected = _in_process(path)
    got = list(ChildRows(path, "ds.csv", "participants", chunk=4))
    assert got == expected and len(got) == 15
    assert any(row.errors for row in got) and isinstance(got[0].values["date_of_birth"], date)


def test_a_mapping_reaches_the_child(tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(ROWS).replace("Xã/Phường".encode(), "Nơi ở hiện nay".encode()))
    with open_table(path) as table:
        sheet, _ = stream_rows(table, "participants")
    assert not sheet.match.ok  # the commune's column is not recognised without the mapping
    rows = list(ChildRows(path, "ds.csv", "participants", {"Nơi ở hiện nay": "commune"}))
    assert [r.values["commune"] for r in rows][:2] == ["Phường Bắc Giang", "Phường Bắc Giang"]


def test_the_childs_error_is_raised_here_in_vietnamese(tmp_path):
    with pytest.raises(ImportFileError, match="tệp"):
        list(ChildRows(tmp_path / "missing.xlsx", "ds.xlsx", "participants"))


def test_a_child_that_dies_mid_frame_is_an_error_not_a_short_file():
    with pytest.raises(ImportFileError, match="không có dữ liệu nào được ghi"):
        read_frame(io.BytesIO(b"\x10\x00\x00\x00abc"))
    with pytest.raises(ImportFileError):
        read_frame(io.BytesIO(b""))


def test_rows_survive_the_trip_unchanged():
    row = ParsedRow(
        12,
        {"full_name": "Lê Thị Ánh", "paid_through": date(2026, 11, 30), "income_basis": 1_500_000},
        [RowError(12, "Số CCCD", "Số CCCD phải có 12 chữ số")],
    )
    assert decode_row(encode_row(row)) == row


def test_every_field_that_holds_a_date_travels_as_one():
    """A date field missing from `DATE_FIELDS` would reach the importer as a bare number."""
    dated = {name for name, parse in PARSERS.items() if parse in (parse_date, parse_month)}
    assert dated | {"date_of_birth"} == set(DATE_FIELDS)
    row = ParsedRow(3, {name: date(2026, 11, i + 1) for i, name in enumerate(DATE_FIELDS)}, [])
    encoded = encode_row(row)
    assert all(type(v) is int for v in encoded[1].values())  # what marshal can carry
    assert decode_row(encoded) == row and isinstance(row.values["paid_on"], date)
