"""Large exports made in a worker: the admin's click queues a job that writes the file into the
shared file store (core/files.py), the page follows it and offers the download.

Which exports go here is decided by measurement (docs/decisions.md, "Publishing and exports on
the queue"): the audit log grows by millions of rows; the other sheets are bounded and stay in
the request. A job writes its file in one transaction (killed mid-way, it leaves none), and the
files, which hold personal data, are deleted after `OUTREACH_EXPORT_RETENTION_DAYS`, audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import distinct
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.core import background
from outreach.core import files as store
from outreach.core.audit import AuditFilter, export_csv, record_event
from outreach.core.formatting import format_number
from outreach.core.i18n import _
from outreach.models import BackgroundJob, StoredFile
from outreach.models.base import utcnow

AUDIT_LOG = "audit.export"
OWNER, PURPOSE = "background_job", "export"
# The newest entries a queued export holds (a request's export held 100,000): ~107 MB and ~2.5
# minutes a million rows on the loaded test machine (docs/decisions.md).
AUDIT_EXPORT_LIMIT = 2_000_000


def audit_params(filters: AuditFilter, *, province_id: int, labels: dict[str, str]) -> dict:
    """What an audit-log export job needs: the filters, the province and the labels of the
    actions in the admin's language (the worker has no request to translate them in)."""
    return {
        "filters": filters.as_args(),
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "province_id": province_id,
        "labels": labels,
        "filename": "nhat-ky-truy-cap.csv",
    }


def _filters(params: dict) -> AuditFilter:
    args = params["filters"]
    return AuditFilter(
        username=args.get("user", ""),
        action=args.get("action", ""),
        object_type=args.get("object_type", ""),
        object_id=args.get("object_id", ""),
        ip=args.get("ip", ""),
        date_from=date.fromisoformat(params["date_from"]) if params["date_from"] else None,
        date_to=date.fromisoformat(params["date_to"]) if params["date_to"] else None,
    )


def write_audit_export(engine: Engine, job: BackgroundJob, params: dict) -> str:
    """Write the filtered audit log as CSV into the job's file (committed); returns what the
    export's page says."""
    with Session(engine) as reading, Session(engine) as writing:
        chunks = export_csv(
            reading,
            filters=_filters(params),
            province_id=params["province_id"],
            labels=params["labels"],
            limit=AUDIT_EXPORT_LIMIT,
        )
        size = store.put_pieces(writing, (OWNER, job.id), PURPOSE, _pieces(chunks))
        writing.commit()  # the whole file, or (killed mid-way) none of it
    return _("Tệp đã sẵn sàng (%(kb)s KB).", kb=format_number(max(1, size // 1024)))


def _pieces(chunks: Iterable[str]) -> Iterator[bytes]:
    """Text chunks as pieces of the store's size (a piece in memory at a time)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk.encode("utf-8")
        if len(buffer) >= store.PIECE_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def export_pieces(session: Session, job: BackgroundJob) -> Iterator[bytes]:
    """A finished export's file, a piece at a time (empty if deleted after the retention)."""
    return store.pieces(session, (OWNER, job.id), PURPOSE)


def has_file(session: Session, job: BackgroundJob) -> bool:
    """Whether the export's file is still kept."""
    return (
        session.exec(
            select(StoredFile.seq).where(
                StoredFile.owner_type == OWNER, StoredFile.owner_id == job.id
            )
        ).first()
        is not None
    )


def purge_expired(session: Session, *, days: int, now: datetime | None = None) -> list[int]:
    """Delete the files of exports finished more than `days` ago, each deletion audited;
    returns the jobs' ids (flushed: the job or command commits)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    expired = session.exec(
        select(BackgroundJob)
        .where(
            BackgroundJob.id.in_(
                select(distinct(StoredFile.owner_id)).where(StoredFile.owner_type == OWNER)
            )
        )
        .where(BackgroundJob.finished_at < cutoff, BackgroundJob.status.not_in(background.ACTIVE))
        .order_by(BackgroundJob.id)
    ).all()
    for job in expired:
        store.remove(session, (OWNER, job.id))
        record_event(
            session,
            action="export.files_deleted",
            user_id=None,
            username="system",
            object_type="background_job",
            object_id=job.id,
            ip="",
            detail={"kind": job.kind, "retention_days": days},
        )
    session.flush()
    return [job.id for job in expired]
