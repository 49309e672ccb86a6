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

Both ends use the pipe's file descriptor itself, not a buffered file: `write_all` and
`read_exact` loop until every byte has gone or come, whatever a single `write` or `read` did. A
write into a full pipe returns short when the writer is stopped and continued (SIGSTOP, SIGCONT:
a debugger, a job-control `^Z`, a paused container), and the buffered stdout the child used
dropped the rest of that write ("bad marshal data", a frame 8,192 bytes short).
"""

from __future__ import annotations

import json
import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Protocol

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
        recording: Recording | None = None,
    ) -> None:
        self.recording = recording
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
        # What the child's sheet skipped (rows that are no people), known once the rows end.
        self.skipped: list[tuple[int, str]] = []
        self.skipped_rows = 0
        self.ended = False  # its "end" frame came: every row was read
        self.frames: queue.Queue[bytearray | BaseException] = queue.Queue(maxsize=FRAMES_AHEAD)
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._read_frames, daemon=True)
        self.reader.start()

    def _read_frames(self) -> None:
        """The reading thread: the child's frames, as bytes, into `frames` as they come; the
        error that ended them last (the end of the pipe, after the "end" frame, included)."""
        pipe = self.child.stdout.fileno()  # read by file descriptor, never through the buffer
        try:
            while not self.stopping.is_set():
                self._put(read_frame_body(pipe))
        except BaseException as error:  # noqa: BLE001 - handed to the iterating thread
            self._put(error)

    def _put(self, item: bytearray | BaseException) -> None:
        while not self.stopping.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[ParsedRow]:
        try:
            yield from _rows_of(self, self._bodies())
        finally:
            self.close()

    def _bodies(self) -> Iterator[bytearray]:
        """The child's frames as they come (each one recorded first, when recording)."""
        while True:
            body = self.frames.get()
            if isinstance(body, BaseException):
                raise body
            if self.recording is not None:
                self.recording.add(body)
            yield body

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


def _rows_of(owner: ChildRows | RecordedRows, bodies: Iterator[bytes]) -> Iterator[ParsedRow]:
    """The parsed rows in a child's frames, until its "end" (what its sheet skipped then set on
    `owner`) or its "error" (raised as an `ImportFileError`)."""
    for body in bodies:
        tag, payload = marshal.loads(body)
        if tag == "rows":
            yield from map(decode_row, payload)
        elif tag == "error":
            raise ImportFileError(payload)
        elif tag == "end":
            ended = payload or {}
            owner.skipped = [tuple(row) for row in ended.get("skipped", ())]
            owner.skipped_rows = ended.get("skipped_rows", 0)
            owner.ended = True
            return
    raise ImportFileError(_FAILED)  # the frames stopped before the end


class Recording:
    """A check's parsed rows as its child sent them, compressed as they come, so that the import
    of the same file with the same mapping replays them (`RecordedRows`) instead of parsing the
    file again: at a million rows, parsing is a core's worth of a minute.

    `about` says what was parsed (the kind, the mapping); the recording is whole once the child's
    "end" frame is in it (`ChildRows.ended`).
    """

    def __init__(self, about: Mapping[str, object]) -> None:
        self._zip = zlib.compressobj(1)  # level 1: ~1 s a million rows, a fifth of the size
        self._parts: list[bytes] = []
        self.add(marshal.dumps(("about", dict(about))))

    def add(self, body: bytes | bytearray) -> None:
        """One more frame."""
        self._parts.append(self._zip.compress(_LENGTH.pack(len(body)) + body))

    def finish(self) -> bytes:
        """The recording's bytes (call once, after the last frame)."""
        self._parts.append(self._zip.flush())
        return b"".join(self._parts)


class RecordedRows:
    """The rows of a `Recording`, as `ChildRows` gives them (its `about` first)."""

    def __init__(self, data: bytes) -> None:
        self._frames = _unzipped_frames(data)
        tag, about = marshal.loads(next(self._frames, marshal.dumps(("", None))))
        self.about = about if tag == "about" else None
        self.skipped: list[tuple[int, str]] = []
        self.skipped_rows = 0
        self.ended = False

    def __iter__(self) -> Iterator[ParsedRow]:
        return _rows_of(self, self._frames)

    def close(self) -> None:
        """Nothing to stop (the same calls as `ChildRows`)."""


def _unzipped_frames(data: bytes, piece: int = 1 << 20) -> Iterator[bytes]:
    """The frames of a recording, unzipped a piece at a time (never whole in memory)."""
    unzip = zlib.decompressobj()
    buffer = bytearray()
    for start in range(0, len(data), piece):
        buffer += unzip.decompress(data[start : start + piece])
        while len(buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < _LENGTH.size + size:
                break
            yield bytes(buffer[_LENGTH.size : _LENGTH.size + size])
            del buffer[: _LENGTH.size + size]


class _Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of `data` to the file descriptor `fd`, however many calls it takes.

    A pipe's `write` may take part of the data (the writer stopped and continued, a signal) or
    be interrupted before any (EINTR); both go on with what is left.
    """
    view = memoryview(data).cast("B")
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:  # EINTR before anything was written
            continue
        view = view[written:]


def read_exact(source: int | _Readable, size: int) -> bytearray:
    """`size` bytes from a file descriptor or a binary file, fewer only where the data ends.

    A pipe's `read` gives what has arrived so far (short reads) or is interrupted (EINTR): both
    read on into the rest of the buffer.
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        try:
            if isinstance(source, int):
                n = os.readv(source, [view[got:]])
            else:
                n = source.readinto(view[got:])
        except InterruptedError:  # EINTR (Python retries it itself, unless a handler raised)
            continue
        if not n:  # the end (None: a non-blocking source with nothing yet, never ours)
            break
        got += n
    del view
    if got < size:
        del buffer[got:]
    return buffer


def read_frame(source: int | _Readable) -> tuple[str, object]:
    """The next (tag, payload) frame of `source`; an `ImportFileError` if it ends early."""
    return marshal.loads(read_frame_body(source))


def read_frame_body(source: int | _Readable) -> bytearray:
    """The next frame of `source` (a file descriptor or a binary file) as marshalled bytes; an
    `ImportFileError` if it ends early."""
    head = read_exact(source, _LENGTH.size)
    if len(head) < _LENGTH.size:  # the child died without saying why
        raise ImportFileError(_FAILED)
    (size,) = _LENGTH.unpack(head)
    body = read_exact(source, size)
    if len(body) < size:
        raise ImportFileError(_FAILED)
    return body


def write_frame(target: int | BinaryIO, tag: str, payload: object) -> None:
    """A frame: 4 bytes of length, then the marshalled (tag, payload), to a file descriptor (every
    byte, `write_all`) or a binary file (whose `write` takes all of it, or raises)."""
    body = marshal.dumps((tag, payload))
    frame = _LENGTH.pack(len(body)) + body
    if isinstance(target, int):
        write_all(target, frame)
    else:
        target.write(frame)


# The fields that hold dates: marshal has no date type, so they travel as ordinals.
DATE_FIELDS = (
    "date_of_birth",
    "paid_through",
    "benefit_start",
    "benefit_end",
    "paid_on",
    "start_month",
)


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


def serve(stdin: BinaryIO, stdout: int) -> None:
    """The child's side: read the request, send the rows in chunks, then "end" (or "error"),
    each frame written whole to the file descriptor `stdout`."""
    request = json.loads(stdin.readline())
    skipped: dict = {}
    try:
        with open_table(Path(request["path"]), request["filename"]) as table, gc_paused():
            sheet, rows = stream_rows(table, request["kind"], request["mapping"] or None)
            while batch := list(islice(rows, request["chunk"])):
                write_frame(stdout, "rows", [encode_row(row) for row in batch])
            # The rows that were no people, with why: the preview lists them.
            skipped = {"skipped": sheet.skipped, "skipped_rows": sheet.skipped_rows}
    except ImportFileError as error:
        write_frame(stdout, "error", str(error))
    except BrokenPipeError:  # the parent stopped reading: nothing left to do
        return
    except Exception as error:  # noqa: BLE001 - whatever it was, the parent must hear of it
        write_frame(stdout, "error", f"{_FAILED[:-1]} ({type(error).__name__}).")
    else:
        write_frame(stdout, "end", skipped)


if __name__ == "__main__":
    try:
        serve(sys.stdin.buffer, sys.stdout.fileno())
    except BrokenPipeError:
        sys.exit(0)
