"""An uploaded list's life: stored, checked (the preview), mapped, imported in one transaction.

Each step that reads the whole file is a job (`check_batch`, `run_import`) that an `outreach
worker` process runs from the queue (operations/jobs.py), and the CLI in the foreground. Progress
goes to the queue's board (core/queue.py), not to the database: on SQLite the import's
transaction holds the only write lock, so a progress row could not be written meanwhile. The
board's entry is also the job's heartbeat: a batch found "running" whose job stopped beating (its
worker was killed) is marked failed, and since its transaction never committed, nothing of it was
written. A running batch with no entry yet waits in the queue for a worker.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import xlsxwriter
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.core import spool
from outreach.core.audit import record_event
from outreach.core.errors import DomainError
from outreach.core.formatting import safe_cell
from outreach.core.i18n import _, _l
from outreach.core.queue import JobBoard, is_dead
from outreach.imports import files
from outreach.imports.reading import ImportFileError, ParsedSheet, RowError, stream_rows
from outreach.imports.reading.headers import FIELD_LABELS, KIND_FIELDS, read_header
from outreach.imports.reading.readers import CSV_EXTENSIONS, open_table
from outreach.imports.reading.worker import ChildRows, RecordedRows, Recording
from outreach.imports.report import ImportReport
from outreach.imports.writer import import_rows
from outreach.models import ImportBatch, ImportMapping
from outreach.models.base import utcnow
from outreach.models.codes import RUNNING_STATUSES, BatchStatus, ImportKind

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_FILENAME_CHARS = 300  # ImportBatch.filename
STALE_AFTER_SECONDS = 30  # a running job's own thread posts its progress every second
ERRORS_SHOWN = 50
# From this many rows a second process reads and parses while this one writes (imports/reading/worker.py);
# a .csv does not say how many rows it has, so its size decides (about 150 bytes a row).
PARSE_IN_CHILD_FROM = 20_000
BYTES_PER_CSV_ROW = 150
BYTES_PER_XLSX_ROW = 50  # compressed: ~100 with text inline, less with shared strings
KIND_LABELS = {  # translated where shown
    ImportKind.PARTICIPANTS: _l("Người đang tham gia BHXH tự nguyện"),
    ImportKind.UNEMPLOYMENT: _l("Người hưởng trợ cấp thất nghiệp"),
    ImportKind.RESERVED: _l("Người bảo lưu thời gian đóng"),
    ImportKind.POTENTIAL: _l("Đối tượng tiềm năng"),
    ImportKind.PAYMENTS: _l("Danh sách thu (biên lai đóng tiền)"),
}
# Stored on the batch by whichever page finds the job dead: in Vietnamese (the msgid), as every
# message a job stores, whatever the language of the admin who happened to open the page.
INTERRUPTED = _l(
    "Việc xử lý bị gián đoạn (máy chủ khởi động lại); không có dữ liệu nào được ghi. Hãy chạy lại."
)

FILE_DELETED = _l(
    "Tệp tải lên đã được xóa sau thời hạn lưu giữ (dữ liệu cá nhân); hãy tải lên lại danh sách."
)
NOT_QUEUED = _l(
    "Không gửi được việc xử lý tới hàng đợi; không có dữ liệu nào được ghi. Hãy thử lại."
)


class BatchError(DomainError):
    """An upload or a step that cannot go ahead, with the reason."""


# --- the upload and what its jobs keep ----------------------------------------------------------


def store_upload(
    session: Session,
    *,
    data: bytes,
    filename: str,
    kind: str,
    office: str,
    user_id: int | None,
    username: str,
    province_id: int,
    ip: str = "",
) -> ImportBatch:
    """Keep the uploaded bytes (in the database: every server reads them) and open a batch for
    them (committed)."""
    if kind not in set(ImportKind):
        raise BatchError(_("Hãy chọn loại danh sách."))
    if not data:
        raise BatchError(_("Tệp rỗng: không có dữ liệu nào để nhập."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise BatchError(_("Tệp quá lớn (tối đa 200 MB); hãy chia danh sách thành nhiều tệp."))
    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls", ".ods", ".csv"):
        raise BatchError(_("Chỉ nhận tệp Excel (.xlsx, .xls), .ods hoặc .csv."))
    batch = ImportBatch(
        kind=kind,
        filename=_stored_name(filename),
        file_hash=hashlib.sha256(data).hexdigest(),
        office=office.strip()[:200],
        uploaded_by_id=user_id,
        province_id=province_id,
    )
    session.add(batch)
    session.flush()
    batch.stored_as = f"{batch.id}{suffix}"
    files.put(session, batch_id=batch.id, purpose=files.UPLOAD, data=data)
    record_event(
        session,
        action="import.upload",
        user_id=user_id,
        username=username,
        object_type="import_batch",
        object_id=batch.id,
        ip=ip,
        detail={"file": batch.filename, "sha256": batch.file_hash, "kind": kind},
    )
    session.commit()
    return batch


def _stored_name(filename: str) -> str:
    """The upload's name as the batch keeps it: at most `MAX_FILENAME_CHARS`, its extension
    kept when it is shortened (the file's format is read from it at every step)."""
    name = Path(filename).name
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    suffix = Path(name).suffix
    return name[: MAX_FILENAME_CHARS - len(suffix)] + suffix


@dataclass
class Progress:
    """What a running job has done so far."""

    stage: str = ""  # "checking" or "importing"
    rows: int = 0
    total: int = 0
    started: bool = field(default=False, compare=False)  # a worker has taken the job


def board_key(batch_id: int) -> str:
    """The batch's running job's entry on the queue's board (progress and heartbeat)."""
    return f"import-{batch_id}"


def read_progress(board: JobBoard, batch: ImportBatch) -> Progress:
    """The job's progress as it last posted it (`started` False while it waits for a worker)."""
    entry = board.read(board_key(batch.id))
    if entry is None:
        return Progress()
    return Progress(entry.get("stage", ""), entry.get("rows", 0), entry.get("total", 0), True)


def saved_errors(session: Session, batch: ImportBatch) -> list[RowError]:
    """The row errors of the batch's last check or import."""
    try:
        rows = json.loads(files.get(session, batch_id=batch.id, purpose=files.ERRORS) or b"[]")
    except ValueError:
        return []
    return [RowError(*row) for row in rows]


def _save_errors(engine: Engine, batch_id: int, errors: list[RowError]) -> None:
    rows = [[e.row_number, e.column_header, e.message] for e in errors]
    body = json.dumps(rows, ensure_ascii=False).encode()
    with Session(engine) as session:
        files.put(session, batch_id=batch_id, purpose=files.ERRORS, data=body)
        session.commit()


@dataclass
class Preview:
    """What a check found besides errors: rows that are no people (with why), districts taken
    from the title block or addresses, villages to be created, notes that stopped no row."""

    skipped: list[tuple[int, str]] = field(default_factory=list)
    skipped_rows: int = 0  # blank rows included
    title_district: str = ""
    title_hinted: int = 0
    # With no commune column: the commune the title names, or "address" (read from addresses).
    title_commune: str = ""
    commune_from: str = ""
    address_hinted: int = 0
    new_villages: list[tuple[str, str]] = field(default_factory=list)
    new_village_count: int = 0
    notes: list[RowError] = field(default_factory=list)


def _preview_of(report: ImportReport, parsed, sheet: ParsedSheet) -> Preview:
    return Preview(
        skipped=list(parsed.skipped),
        skipped_rows=parsed.skipped_rows,
        title_district=sheet.title_district if report.title_hinted else "",
        title_commune=sheet.title_commune,
        commune_from=sheet.commune_from,
        title_hinted=report.title_hinted,
        address_hinted=report.address_hinted,
        new_villages=list(report.new_village_names),
        new_village_count=report.new_villages,
        notes=sorted(report.notes, key=lambda note: note.row_number),
    )


def saved_preview(session: Session, batch: ImportBatch) -> Preview:
    """What the batch's last check or import found besides its errors."""
    try:
        data = json.loads(files.get(session, batch_id=batch.id, purpose=files.PREVIEW) or b"{}")
        preview = Preview(**data)
    except (ValueError, TypeError):
        return Preview()
    preview.skipped = [tuple(row) for row in preview.skipped]
    preview.new_villages = [tuple(pair) for pair in preview.new_villages]
    preview.notes = [RowError(*note) for note in preview.notes]
    return preview


def _save_preview(engine: Engine, batch_id: int, preview: Preview) -> None:
    data = asdict(preview)
    data["notes"] = [[n.row_number, n.column_header, n.message] for n in preview.notes]
    with Session(engine) as session:
        body = json.dumps(data, ensure_ascii=False).encode()
        files.put(session, batch_id=batch_id, purpose=files.PREVIEW, data=body)
        session.commit()


def mapping_headers(session: Session, batch: ImportBatch) -> list[str]:
    """The file's header cells as its last check read them, for the mapping form.

    The check keeps them with the batch: a page that polls every few seconds must not read
    the workbook again each time. A batch checked before they were kept is read once more (the
    reader is bounded); an unreadable or deleted file has no headers to offer.
    """
    try:
        cells = json.loads(files.get(session, batch_id=batch.id, purpose=files.HEADERS) or b"")
    except ValueError:
        cells = []
        with files.upload_on_disk(session, batch) as upload:
            if upload is not None:
                try:
                    with open_table(upload, batch.filename) as table:
                        cells = read_header(table.head).cells
                except ImportFileError:
                    cells = []
    return [cell for cell in cells if isinstance(cell, str) and cell]


def _save_headers(engine: Engine, batch_id: int, cells: list) -> None:
    body = json.dumps([cell if isinstance(cell, str) else "" for cell in cells]).encode()
    with Session(engine) as session:
        files.put(session, batch_id=batch_id, purpose=files.HEADERS, data=body)
        session.commit()


def errors_workbook(
    batch: ImportBatch, errors: list[RowError], preview: Preview | None = None
) -> bytes:
    """The error list as .xlsx for the admin to fix the file by (cells are text, never formulas),
    with the rows skipped as no people and the notes on sheets of their own."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    preview = preview or Preview()
    skipped = [RowError(number, "", reason) for number, reason in preview.skipped]
    for title, rows, what in (
        (_("Lỗi"), errors, _("Lỗi")),
        (_("Dòng bỏ qua"), skipped, _("Lý do bỏ qua")),
        (_("Ghi chú"), preview.notes, _("Ghi chú")),
    ):
        if rows or title == _("Lỗi"):
            _error_sheet(book.add_worksheet(title), bold, rows, what, batch.filename)
    book.close()
    return out.getvalue()


def _error_sheet(sheet, bold, rows: list[RowError], what: str, filename: str) -> None:
    sheet.write_row(0, 0, [_("Dòng"), _("Cột"), what], bold)
    for index, error in enumerate(rows, start=1):
        sheet.write_number(index, 0, error.row_number)
        sheet.write_string(index, 1, safe_cell(error.column_header))
        sheet.write_string(index, 2, safe_cell(error.message))
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 90)
    sheet.write_string(len(rows) + 2, 0, _("Tệp: %(name)s", name=filename))


# --- mappings ---------------------------------------------------------------------------------


def mapping_for(session: Session, *, office: str, kind: str) -> dict[str, str | None]:
    """The header → field choices the admin made for this office's lists of this kind."""
    row = session.exec(
        select(ImportMapping).where(ImportMapping.office == office, ImportMapping.kind == kind)
    ).first()
    return json.loads(row.mapping_json) if row else {}


def save_mapping(session: Session, *, office: str, kind: str, choices: dict[str, str]) -> None:
    """Remember header → field choices for the next file from the same office (committed)."""
    mapping = mapping_for(session, office=office, kind=kind)
    mapping.update({header: field for header, field in choices.items() if header})
    row = session.exec(
        select(ImportMapping).where(ImportMapping.office == office, ImportMapping.kind == kind)
    ).first() or ImportMapping(office=office, kind=kind, mapping_json="{}")
    row.mapping_json = json.dumps(mapping, ensure_ascii=False)
    row.updated_at = utcnow()
    session.add(row)
    session.commit()


# --- the jobs ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a job ended with: the report, or the headers a mapping must cover."""

    report: ImportReport | None
    missing: list[str]
    headers: list[str]


def begin_job(session: Session, *, board: JobBoard, batch: ImportBatch, write: bool) -> None:
    """Mark a batch as running before its job is queued (committed).

    Until a worker takes the job it posts nothing on the board, and a running batch with
    nothing posted is one waiting in the queue, not a dead one. A dead run's last post is
    cleared first, so that it cannot be taken for this run's.
    """
    board.clear(board_key(batch.id))
    batch.status = BatchStatus.IMPORTING if write else BatchStatus.CHECKING
    batch.message = ""
    batch.queued_at = utcnow()
    session.add(batch)
    session.commit()


def _set_status(engine: Engine, batch_id: int, status: str, **fields) -> ImportBatch:
    with Session(engine, expire_on_commit=False) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.status = status
        for name, value in fields.items():
            setattr(batch, name, value)
        session.add(batch)
        session.commit()
        return batch


def _counts(report: ImportReport) -> dict:
    return {
        "rows_read": report.read,
        "rows_validated": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
    }


def _run(engine: Engine, board: JobBoard, batch_id: int, *, write: bool) -> Outcome:
    stage = BatchStatus.IMPORTING if write else BatchStatus.CHECKING
    progress = Progress(stage, 0, 0)
    # Posted before the status is set again, and every second from then on (see `begin_job`).
    with board.alive(board_key(batch_id), lambda: asdict(progress)):
        batch = _set_status(engine, batch_id, stage, message="")
        with Session(engine) as session, files.upload_on_disk(session, batch) as upload:
            if upload is None:
                raise BatchError(str.__str__(FILE_DELETED))
            session.rollback()  # the copy's read transaction must not outlast it
            return _read_and_write(engine, upload, batch, progress, write=write)


def _read_and_write(
    engine: Engine, upload: Path, batch: ImportBatch, progress: Progress, *, write: bool
) -> Outcome:
    with Session(engine, expire_on_commit=False) as session, ExitStack() as stack:
        mapping = mapping_for(session, office=batch.office, kind=batch.kind)
        about = {"version": RECORDING_VERSION, "kind": str(batch.kind), "mapping": mapping}
        recorded = _recorded_rows(session, batch.id, about) if write else None

        def parse_in_child() -> ChildRows:
            # The check records what its child parses; the import replays that (`recorded`).
            recording = None if write else Recording(about)
            rows = ChildRows(upload, batch.filename, batch.kind, mapping, recording=recording)
            return stack.enter_context(rows)

        child = None
        if recorded is None and _worth_a_child(upload, batch.filename):
            # Started before this process unzips the sheet to check its header, so that both
            # do it at once (~2.4 s for a million rows); stopped if the header is wrong.
            child = parse_in_child()
        # Streamed from disk: a million-row workbook is read in ~100 MB, not the ~2 GB of loading it.
        table = stack.enter_context(open_table(upload, batch.filename))
        progress.total = max((table.row_estimate or 0) - 1, 0)
        sheet, rows = stream_rows(table, batch.kind, mapping)
        if not sheet.match.ok:
            _save_headers(engine, batch.id, sheet.header.cells)  # for the mapping form
            return Outcome(None, sheet.match.missing_labels(), sheet.header.cells)
        expected = _expected_rows(table.row_estimate, upload)
        if expected >= PARSE_IN_CHILD_FROM:  # the header is good: a child parses the rest
            rows = recorded or child or parse_in_child()
        elif child is not None:
            child.close()

        def advance(done: int) -> None:
            progress.rows = done  # posted by the heartbeat's thread

        # Writing holds SQLite's only write lock until the commit: marked meanwhile, so that web
        # requests keep what can wait for later instead of waiting for it (core/spool.py).
        with spool.long_write(engine) if write else nullcontext():
            report = import_rows(
                session,
                rows=rows,
                kind=batch.kind,
                province_id=batch.province_id,
                write=write,
                batch_id=batch.id,
                progress=advance,
                expected_rows=expected,
                district_hint=sheet.title_district,
                # The preview lists the villages a file would create; the import makes them only
                # once the admin has confirmed them there.
                create_villages=batch.create_villages or not write,
            )
            report.errors = sorted(report.errors, key=lambda e: e.row_number)
            # Who saw the skipped rows: the child (or its recording), else this process's sheet.
            parsed = rows if isinstance(rows, ChildRows | RecordedRows) else sheet
            preview = _preview_of(report, parsed, sheet)
            try:
                if write:
                    _commit_import(session, batch, report)
            finally:  # in a transaction of its own, once the import's has ended either way
                session.rollback()
                _save_errors(engine, batch.id, report.errors)
                _save_preview(engine, batch.id, preview)
                if not write:
                    _save_recording(engine, batch.id, rows)
        return Outcome(report, [], sheet.header.cells)


# What a recording's rows are (`Recording.about`): one made by another version of the parser, or
# for another mapping of the columns, is not replayed.
RECORDING_VERSION = 1


def _recorded_rows(session: Session, batch_id: int, about: dict) -> RecordedRows | None:
    """The rows the batch's check parsed, if it recorded them for this kind and mapping."""
    data = files.get(session, batch_id=batch_id, purpose=files.PARSED)
    if data is None:
        return None
    try:
        recorded = RecordedRows(data)
    except (ValueError, EOFError, TypeError, zlib.error):  # not a recording: parse the file
        return None
    return recorded if recorded.about == about else None


def _save_recording(engine: Engine, batch_id: int, rows: object) -> None:
    """Keep what a check's child parsed, if it recorded every row (else drop an older one)."""
    recording = getattr(rows, "recording", None)
    with Session(engine) as session:
        if recording is not None and rows.ended:
            files.put(session, batch_id=batch_id, purpose=files.PARSED, data=recording.finish())
        else:
            files.remove(session, batch_id=batch_id, purpose=files.PARSED)
        session.commit()


def _commit_import(session: Session, batch: ImportBatch, report: ImportReport) -> None:
    """Commit the written rows with the batch marked done, or refuse a file with rejected rows
    the admin did not choose to skip (nothing written)."""
    if report.rejected and not batch.skip_rejected:
        session.rollback()
        raise BatchError(
            _(
                "Có %(count)s dòng lỗi: hãy sửa tệp rồi tải lên lại, hoặc chọn bỏ qua "
                "các dòng lỗi.",
                count=report.rejected,
            )
        )
    stored = session.get(ImportBatch, batch.id)
    for name, value in _counts(report).items():
        setattr(stored, name, value)
    stored.rows_written = report.inserted + report.updated
    stored.status = BatchStatus.DONE
    stored.finished_at = utcnow()
    stored.message = _summary_message(report)
    session.add(stored)
    session.commit()  # the data and the batch's "done" land together, or neither


def _worth_a_child(path: Path, filename: str) -> bool:
    """Whether the file is big enough that a child process will likely parse it (by its size:
    a .csv as `_expected_rows` counts it, a workbook at ~50 compressed bytes a row or more)."""
    csv = Path(filename).suffix.lower() in CSV_EXTENSIONS
    per_row = BYTES_PER_CSV_ROW if csv else BYTES_PER_XLSX_ROW
    return path.stat().st_size >= PARSE_IN_CHILD_FROM * per_row


def _expected_rows(row_estimate: int | None, path: Path) -> int:
    """The rows a file says it has, or (a .csv says nothing) what its size suggests."""
    return row_estimate if row_estimate is not None else path.stat().st_size // BYTES_PER_CSV_ROW


def _summary_message(report: ImportReport) -> str:
    parts = [_("%(count)s hộ mới", count=report.new_households)]
    if report.new_villages:
        parts.append(_("%(count)s thôn, tổ dân phố mới", count=report.new_villages))
    if report.converted_addresses:
        parts.append(
            _(
                "%(count)s địa chỉ cũ đã chuyển sang xã, phường mới",
                count=report.converted_addresses,
            )
        )
    if report.payments:
        parts.append(_("%(count)s biên lai", count=report.payments))
    return "; ".join(parts)


def check_batch(engine: Engine, board: JobBoard, batch_id: int) -> Outcome:
    """Read and validate the file against the database without writing: the preview."""
    return _guarded(engine, board, batch_id, write=False)


def run_import(engine: Engine, board: JobBoard, batch_id: int) -> Outcome:
    """Write the file's valid rows in one transaction (all of them, or nothing)."""
    return _guarded(engine, board, batch_id, write=True)


def _guarded(engine: Engine, board: JobBoard, batch_id: int, *, write: bool) -> Outcome:
    # The final status is set before the board's entry goes: a running batch whose entry is
    # gone is taken for one waiting for a worker, never for a finished one.
    try:
        outcome = _run(engine, board, batch_id, write=write)
        if outcome.report is None:
            message = _("Chưa nhận ra cột: %(columns)s", columns=", ".join(outcome.missing))
            _set_status(engine, batch_id, BatchStatus.MAPPING, message=message)
        elif not write:
            _set_status(engine, batch_id, BatchStatus.PREVIEWED, **_counts(outcome.report))
    except (ImportFileError, BatchError) as error:
        _set_status(engine, batch_id, BatchStatus.FAILED, message=str(error))
        raise
    except Exception as error:  # anything else: the batch must not stay "running"
        _set_status(
            engine,
            batch_id,
            BatchStatus.FAILED,
            message=_(
                "Lỗi khi xử lý tệp; không có dữ liệu nào được ghi (%(error)s).",
                error=type(error).__name__,
            ),
        )
        raise
    finally:
        board.clear(board_key(batch_id))
        with Session(engine) as session:
            # What web requests kept aside while this job held the lock goes in now.
            spool.replay_if_any(session)
            if write:  # done or failed, the check's rows have served (a retry parses the file)
                files.remove(session, batch_id=batch_id, purpose=files.PARSED)
                session.commit()
    return outcome


def fail_interrupted(
    session: Session, *, board: JobBoard, stale_after: float = STALE_AFTER_SECONDS
) -> int:
    """Mark failed the jobs whose worker died (silent for a while, or its process gone);
    returns how many. Jobs still waiting in the queue are left to wait."""
    running = list(RUNNING_STATUSES)
    dead = []
    for batch in session.exec(select(ImportBatch).where(ImportBatch.status.in_(running))):
        entry = board.read(board_key(batch.id))
        if entry is not None and is_dead(entry, stale_after=stale_after):
            dead.append(batch)
    if not dead:
        return 0
    # Only those still running: a job that ended after they were read has set its final status,
    # then cleared its entry, and must keep that status (seen once in the browser tests).
    failed = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id.in_([batch.id for batch in dead]))
        .where(ImportBatch.status.in_(running))
        .values(
            status=BatchStatus.FAILED,
            message=str.__str__(INTERRUPTED),  # the Vietnamese text, untranslated
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    for batch in dead:  # read again when next used, whichever status they now have
        board.clear(board_key(batch.id))
        session.expire(batch)
    return failed


def field_choices(kind: str) -> list[tuple[str, str]]:
    """(field, label) pairs an admin may map a header to, for this kind of list.

    The labels are the fields' usual Vietnamese column headers (`FIELD_LABELS`), as in the file.
    """
    return sorted(
        (
            (name, FIELD_LABELS[name])
            for name in KIND_FIELDS[ImportKind(kind)]
            if name != "row_index"
        ),
        key=lambda pair: pair[1],
    )
