"""A batch's files in the database: the upload, its error list, its header cells, its preview
(issue 23).

Kept in the shared file store (core/files.py: rows of `stored_file`, a few megabytes each), so
that any app server or worker reads the same bytes (no server's disk holds them). A job streams the upload to a temporary file for the
readers, which want a path (a workbook is a zip, read from anywhere in it). Uploaded personal
data is deleted after the retention period (`purge_expired`), each deletion audited.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from outreach.core import files as store
from outreach.core.audit import record_event
from outreach.models import ImportBatch
from outreach.models.base import utcnow
from outreach.models.codes import RUNNING_STATUSES

UPLOAD, ERRORS, HEADERS, PREVIEW = "upload", "errors", "headers", "preview"
PARSED = "parsed"  # the check's parsed rows, replayed by the import (reading/worker.Recording)
OWNER = "import_batch"


def put(session: Session, *, batch_id: int, purpose: str, data: bytes) -> None:
    """Store (or replace) one of a batch's files (flushed, not committed)."""
    store.put(session, (OWNER, batch_id), purpose, data)


def get(session: Session, *, batch_id: int, purpose: str) -> bytes | None:
    """One of a batch's files whole, or None if it has none (never stored, or deleted)."""
    return store.get(session, (OWNER, batch_id), purpose)


def remove(session: Session, *, batch_id: int, purpose: str) -> None:
    """Delete one of a batch's files, if it has it (flushed, not committed)."""
    store.remove(session, (OWNER, batch_id), purpose)


@contextmanager
def upload_on_disk(session: Session, batch: ImportBatch) -> Iterator[Path | None]:
    """The batch's upload in a private temporary file, a piece at a time (never whole in
    memory), removed when the block ends; None if the upload was deleted."""
    suffix = Path(batch.filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="outreach-import-") as folder:
        path = Path(folder) / f"{batch.id}{suffix}"
        written = False
        with open(path, "wb") as out:
            for piece in store.pieces(session, (OWNER, batch.id), UPLOAD):
                out.write(piece)
                written = True
        yield path if written else None


def purge_expired(session: Session, *, days: int, now: datetime | None = None) -> list[int]:
    """Delete the files of batches uploaded more than `days` ago (none of a running job), each
    deletion audited; returns the batches' ids (flushed: the job or command commits)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    expired = session.exec(
        select(ImportBatch)
        .where(ImportBatch.created_at < cutoff, ImportBatch.files_deleted_at.is_(None))
        .where(ImportBatch.status.not_in(list(RUNNING_STATUSES)))
        .order_by(ImportBatch.id)
    ).all()
    for batch in expired:
        store.remove(session, (OWNER, batch.id))
        batch.files_deleted_at = now or utcnow()
        session.add(batch)
        record_event(
            session,
            action="import.files_deleted",
            user_id=None,
            username="system",
            object_type="import_batch",
            object_id=batch.id,
            ip="",
            detail={"file": batch.filename, "sha256": batch.file_hash, "retention_days": days},
        )
    session.flush()
    return [batch.id for batch in expired]
