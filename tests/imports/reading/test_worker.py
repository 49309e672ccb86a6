"""A child process reads and parses a large list: the same rows, and its errors reach the parent."""

import io
import os
import signal
import threading
import time
from datetime import date

import pytest
from sqlmodel import Session, select

from outreach.core.queue import JobBoard, make_queue
from outreach.db import make_engine
from outreach.imports import batches
from outreach.imports.reading import ImportFileError, ParsedRow, RowError, stream_rows
from outreach.imports.reading.cells import parse_date, parse_month
from outreach.imports.reading.readers import open_table
from outreach.imports.reading.rows import PARSERS
from outreach.imports.reading.worker import (
    DATE_FIELDS,
    ChildRows,
    decode_row,
    encode_row,
    read_exact,
    read_frame,
    write_all,
    write_frame,
)
from outreach.models import GeoUnit, ImportBatch, Person
from outreach.models.codes import UnitKind
from tests.imports.test_writer import HEADER, ROWS, _csv


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


def test_frames_go_whole_through_short_writes_and_reads():
    """`write_all` and `read_exact` go on until every byte has passed, a pipe's worth at a time."""
    read_end, write_end = os.pipe()
    payload = [("x" * 1000, n) for n in range(300)]  # ~300 kB: many times a pipe's 64 kB
    writer = threading.Thread(
        target=lambda: (write_frame(write_end, "rows", payload), os.close(write_end))
    )
    writer.start()
    try:
        assert read_frame(read_end) == ("rows", payload)
        assert read_exact(read_end, 10) == b""  # the end: nothing more, not an error
    finally:
        writer.join()
        os.close(read_end)
    buffer = io.BytesIO()
    write_frame(buffer, "end", None)  # to a file (the importer's rows set aside)
    buffer.seek(0)
    assert read_frame(buffer) == ("end", None)
    read_end, write_end = os.pipe()
    write_all(write_end, memoryview(b"abc"))
    os.close(write_end)
    assert read_exact(read_end, 2) == b"ab" and read_exact(read_end, 5) == b"c"
    os.close(read_end)


STOPS = 30
# Smaller than an import's: many frames from a list that imports in seconds, each larger than
# what is left of the pipe once the importer reads no more, so the child waits inside a write.
FRAME_ROWS = 100
LARGE = 2500  # rows; "large" lowered to 2,000 as tests/imports/test_views.py lowers it to 0


class _StoppedChild(ChildRows):
    """The parsing child of an import, stopped and continued STOPS times while it writes.

    SIGSTOP and SIGCONT come from a debugger, `^Z`, a paused container or a tired admin. They
    matter while the child is inside a `write` into the pipe, part of a frame copied: the write
    returns short. So they come once the child is ahead of the importer (its frames read ahead
    fill `frames`, the pipe fills, the child waits in `write`), and the importer takes its first
    row once they are done, like a database busy for a moment.
    """

    started: list = []
    interrupt = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, chunk=FRAME_ROWS, **kwargs)
        self.started.append(self)
        self.cycles = 0
        self.interrupted = threading.Event()
        if self.interrupt:
            threading.Thread(target=self._stop_and_continue, daemon=True).start()
        else:
            self.interrupted.set()

    def _stop_and_continue(self) -> None:
        try:
            deadline = time.monotonic() + 30
            while not self.frames.full() and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)  # the child writes its next frame into the pipe, and waits there
            for _ in range(STOPS):
                if self.child.poll() is not None:
                    return
                os.kill(self.child.pid, signal.SIGSTOP)
                time.sleep(0.005)
                os.kill(self.child.pid, signal.SIGCONT)
                self.cycles += 1
                time.sleep(0.005)
        except ProcessLookupError:  # it ended: `cycles` says when
            return
        finally:
            self.interrupted.set()

    def __iter__(self):
        assert self.interrupted.wait(60)
        yield from super().__iter__()


def _large_list(rows: int) -> bytes:
    """A participants list long enough that the import parses it in a child (`_worth_a_child`)."""
    surnames = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
    names = ("Lan", "Hương", "Hà", "Linh", "Phương", "Trang", "Mai", "Hoa", "Thảo", "Yến", "Nga")
    lines = [
        f"{n},{surnames[n % 10]} Thị {names[n % 11]},12/03/{1960 + n % 40},Nữ,99{n:08d},,"
        f"0912{n % 1000000:06d},Số {n} đường Hoàng Văn Thụ khu dân cư số {n % 97},"
        f"Thôn Mới Lập {n % 40},Phường Bắc Giang,,10/2026,3 tháng,2.000.000"
        for n in range(1, rows + 1)
    ]
    return _csv(lines, header=HEADER)


def _import_large_list(
    url: str, folder, data: bytes, monkeypatch, *, interrupt: bool
) -> tuple[dict, list, int]:
    """Upload and import `data` into the database at `url` (as the imports page does, once the
    admin has looked at the preview and chosen to skip rejected rows): the batch's counts, the
    persons the list is about as stored, and how many times the child was stopped."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE))
            batch = batches.store_upload(
                session,
                data=data,
                filename="ds.csv",
                kind="participants",
                office="",
                user_id=None,
                username="test",
                province_id=province.first().id,
            )
            batch.skip_rejected = True
            batch.create_villages = True  # confirmed on the preview
            session.add(batch)
            session.commit()
            batch_id = batch.id
        assert len(data) >= batches.PARSE_IN_CHILD_FROM * batches.BYTES_PER_CSV_ROW
        started: list = []
        monkeypatch.setattr(_StoppedChild, "started", started)
        monkeypatch.setattr(_StoppedChild, "interrupt", interrupt)
        monkeypatch.setattr(batches, "ChildRows", _StoppedChild)
        # The job's progress goes to a queue of this database's own (the folder: PostgreSQL's).
        board = JobBoard(make_queue(url, fallback_dir=folder))
        batches.run_import(engine, board, batch_id)
        assert len(started) == 1, "the import did not parse the list in a child"
        with Session(engine) as session:
            batch = session.get(ImportBatch, batch_id)
            counts = {
                name: getattr(batch, name)
                for name in ("status", "rows_read", "inserted", "updated", "unchanged", "rejected")
            }
            persons = session.exec(
                select(
                    Person.bhxh_number,
                    Person.full_name,
                    Person.date_of_birth,
                    Person.commune_id,
                    Person.paid_through,
                ).where(Person.bhxh_number.startswith("99"))
            ).all()
        return counts, sorted(persons), started[0].cycles
    finally:
        engine.dispose()


def test_an_import_survives_its_child_being_stopped_and_continued(databases, tmp_path, monkeypatch):
    """Stopped and continued thirty times mid-frame, the child still sends every row.

    A stopped writer's `write` into a full pipe returns short. The child wrote through buffered
    stdout, which then dropped the rest of the frame: the importer read "bad marshal data" or a
    frame 8,192 bytes short, and the import failed.
    """
    monkeypatch.setattr(batches, "PARSE_IN_CHILD_FROM", 2000)
    data = _large_list(LARGE)
    counts, persons, _ = _import_large_list(
        databases.copy_of_template(), tmp_path / "plain", data, monkeypatch, interrupt=False
    )
    assert counts["status"] == "done" and counts["rows_read"] == LARGE
    assert len(persons) == counts["inserted"] == LARGE
    got = _import_large_list(
        databases.copy_of_template(), tmp_path / "stopped", data, monkeypatch, interrupt=True
    )
    assert got[2] == STOPS, "the child ended before it was stopped thirty times"
    assert got[:2] == (counts, persons)
