"""Batches the queue lost: still waiting for a worker long after their job was queued, with no
job of theirs on the queue (Redis restarted without its data, or was flushed). The workers'
minute sweep queues them again (`outreach/jobs.py`, "imports.sweep")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from outreach.core.queue import JobBoard
from outreach.imports.batches import board_key
from outreach.models import ImportBatch
from outreach.models.base import utcnow
from outreach.models.codes import RUNNING_STATUSES


def requeue_lost(
    session: Session,
    *,
    board: JobBoard,
    queued: set[int],
    lost_after: float,
    requeue: Callable[[ImportBatch], None],
    now: datetime | None = None,
) -> list[int]:
    """Queue again the batches still waiting for a worker `lost_after` seconds after their job
    was queued while no job of theirs is on the queue (`queued`: the batch ids it holds), as when
    Redis restarted without its data; returns their ids (committed). `queued` must be read
    before this runs: a job a worker takes meanwhile has posted on the board by then."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lost_after)
    waiting = session.exec(
        select(ImportBatch)
        .where(ImportBatch.status.in_(list(RUNNING_STATUSES)))
        .where(func.coalesce(ImportBatch.queued_at, ImportBatch.created_at) < cutoff)
    ).all()
    lost = [b for b in waiting if b.id not in queued and board.read(board_key(b.id)) is None]
    requeued = []
    for batch in lost:
        # Claimed by moving its queued time: of two sweeps at once (one per worker), one re-queues.
        claimed = session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch.id, ImportBatch.status == batch.status)
            .where(ImportBatch.queued_at.is_(None) | (ImportBatch.queued_at == batch.queued_at))
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed:
            session.refresh(batch)
            requeue(batch)
            requeued.append(batch.id)
    return requeued
