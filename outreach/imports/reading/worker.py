"""Reading and parsing a large list in a second process, while the first one writes.

An import has two halves of about the same cost: reading + parsing the file, and matching +
writing the rows. On one core they add up; here the child process reads and parses while the
parent matches and writes the previous chunk, so a million-row list takes the time of the slower
half. The child is a plain `python -m outreach.imports.reading.worker`: it gets its request as a
JSON line on stdin and sends rows back on stdout in frames (a 4-byte length, then a `marshal`
payload of tuples, cheaper than pickling the row objects). A thread of the parent reads a few
frames ahead (`FRAMES_AHEAD`): a child that runs further ahead waits, so memory stays bounded.

The child knows nothing of the database. If it fails, the parent gets the child's Vietnamese
message as an `ImportFileError`; if the parent stops reading (an error, a crash), the child is
killed or dies on the broken pipe.
"""

from __future__ import annotations

import json
import marshal
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from outreach.core.memory import gc_paused
from outreach.imports.reading.readers import ImportFileError, open_table
from outreach.imports.reading.rows import ParsedRow, RowError, stream_rows

CHUNK = 2000
# Frames read from the child ahead of the importer (~0.6 MB each). With only the pipe between
# them, each process waited for the other a few times a second: at a million rows the importer
# spent 8 s waiting for rows while the child spent 6 s waiting to send them.
FRAMES_AHEAD = 4
_LENGTH = struct.Struct("<I")
_FAILED = "Lỗi khi đọc tệp; không có dữ liệu nào được ghi."


class ChildRows:
    """The parsed rows of a file, read and parsed by a child process started at once.

    Iterating gives the rows `stream_rows(open_table(path, filename), kind, mapping)` would;
    the caller checks the header in its own process, meanwhile or before. `close` stops the
    child (iterating to the end, or a `with` block, does it too).
    """

    def __init__(
        self,
        path: Path,
        filename: str,
        kind: str,
        mapping: Mapping[str, str | None] | None = None,
        *,
        chunk: int = CHUNK,
    ) -> None:
        request = {
            "path": str(path),
            "filename": filename,
            "kind": str(kind),
            "mapping": dict(mapping or {}),
            "chunk": chunk,
        }
        self.child = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            self.child.stdin.write(json.dumps(request).encode() + b"\n")
            self.child.stdin.close()
        except OSError:  # it died at once: reading says so
            pass
        self.frames: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=FRAMES_AHEAD)
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._read_frames, daemon=True)
        self.reader.start()

    def _read_frames(self) -> None:
        """The reading thread: the child's frames, as bytes, into `frames` as they come; the
        error that ended them last (the end of the pipe, after the "end" frame, included)."""
        try:
            while not self.stopping.is_set():
                self._put(read_frame_body(self.child.stdout))
        except BaseException as error:  # noqa: BLE001 - handed to the iterating thread
            self._put(error)

    def _put(self, item: bytes | BaseException) -> None:
        while not self.stopping.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[ParsedRow]:
        try:
            while True:
                body = self.frames.get()
                if isinstance(body, BaseException):
                    raise body
                tag, payload = marshal.loads(body)
                if tag == "rows":
                    yield from map(decode_row, payload)
                elif tag == "error":
                    raise ImportFileError(payload)
                else:
                    return
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child if it is still running, and the thread reading it."""
        self.stopping.set()
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait()
        while self.reader.is_alive():  # it ends at the end of the pipe, or once it may not put
            self.reader.join(0.1)
        self.child.stdout.close()

    def __enter__(self) -> ChildRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frame(stream: BinaryIO) -> tuple[str, object]:
    """The next (tag, payload) frame of `stream`; an `ImportFileError` if it ends early."""
    return marshal.loads(read_frame_body(stream))


def read_frame_body(stream: BinaryIO) -> bytes:
    """The next frame of `stream` as marshalled bytes; an `ImportFileError` if it ends early."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:  # the child died without saying why
        raise ImportFileError(_FAILED)
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise ImportFileError(_FAILED)
    return body


def write_frame(stream: BinaryIO, tag: str, payload: object) -> None:
    """A frame: 4 bytes of length, then the marshalled (tag, payload)."""
    body = marshal.dumps((tag, payload))
    stream.write(_LENGTH.pack(len(body)))
    stream.write(body)


# The fields that hold dates: marshal has no date type, so they travel as ordinals.
DATE_FIELDS = ("date_of_birth", "paid_through", "benefit_start", "benefit_end", "paid_on")


def encode_row(row: ParsedRow) -> tuple:
    """A parsed row as plain tuples, dicts and strings that `marshal` can write."""
    values = dict(row.values)
    for name in DATE_FIELDS:  # looked up by name: cheaper than checking every value's type
        if (value := values.get(name)) is not None:
            values[name] = value.toordinal()
    errors = [(e.row_number, e.column_header, e.message) for e in row.errors] if row.errors else ()
    return row.row_number, values, errors


def decode_row(data: tuple) -> ParsedRow:
    """The parsed row `encode_row` made `data` from."""
    number, values, errors = data
    for name in DATE_FIELDS:
        if (value := values.get(name)) is not None:
            values[name] = _from_ordinal(value)
    errors = [RowError(*error) for error in errors] if errors else []
    return ParsedRow(number, values, errors)


_from_ordinal = date.fromordinal


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The child's side: read the request, send the rows in chunks, then "end" (or "error")."""
    request = json.loads(stdin.readline())
    try:
        with open_table(Path(request["path"]), request["filename"]) as table, gc_paused():
            _, rows = stream_rows(table, request["kind"], request["mapping"] or None)
            while batch := list(islice(rows, request["chunk"])):
                write_frame(stdout, "rows", [encode_row(row) for row in batch])
    except ImportFileError as error:
        write_frame(stdout, "error", str(error))
    except BrokenPipeError:  # the parent stopped reading: nothing left to do
        return
    except Exception as error:  # noqa: BLE001 - whatever it was, the parent must hear of it
        write_frame(stdout, "error", f"{_FAILED[:-1]} ({type(error).__name__}).")
    else:
        write_frame(stdout, "end", None)
    stdout.flush()


if __name__ == "__main__":
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        sys.exit(0)
