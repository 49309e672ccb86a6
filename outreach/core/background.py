"""Jobs a user asked for, as rows every server reads: queued → running → done | failed.

A page queues a job (publish a bulletin, send it again, export a log) and follows its row; a
worker runs it (`run_job`) with a heartbeat on the queue's board (core/queue.py), so that a job
whose worker died is told from one still waiting for a worker, and marked failed. One active job
per subject: a double click, or a second server's click, finds the job already queued.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.core.errors import DomainError
from outreach.core.i18n import _, _l
from outreach.core.queue import JobBoard, is_dead
from outreach.models import BackgroundJob
from outreach.models.base import utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
RECENT = timedelta(minutes=30)  # a finished job's outcome stays on its page this long

INTERRUPTED = _l(
    "Việc bị gián đoạn (máy xử lý nền đã dừng giữa chừng); không có gì được ghi dở. Hãy bấm lại."
)
NOT_QUEUED = _l("Không gửi được việc cho máy xử lý nền (hàng đợi không trả lời). Hãy thử lại sau.")


def board_key(job_id: int) -> str:
    """The job's entry on the queue's board (its heartbeat)."""
    return f"job:{job_id}"


def request_job(
    session: Session,
    *,
    kind: str,
    subject: str,
    province_id: int | None,
    user_id: int | None,
    params: dict,
) -> tuple[BackgroundJob, bool]:
    """The subject's active job if there is one (a double click), else a new queued job;
    with whether it is new (flushed: the view commits, then queues it)."""
    active = active_job(session, subject)
    if active is not None:
        return active, False
    job = BackgroundJob(
        kind=kind,
        subject=subject,
        province_id=province_id,
        user_id=user_id,
        params_json=json.dumps(params, ensure_ascii=False),
    )
    session.add(job)
    session.flush()
    return job, True


def active_job(session: Session, subject: str) -> BackgroundJob | None:
    """The subject's job that is queued or running, if any."""
    return session.exec(
        select(BackgroundJob)
        .where(BackgroundJob.subject == subject, BackgroundJob.status.in_(ACTIVE))
        .order_by(BackgroundJob.id.desc())
    ).first()


def latest_job(session: Session, subject: str) -> BackgroundJob | None:
    """The subject's last job: active, or finished within `RECENT` (its outcome to show)."""
    job = session.exec(
        select(BackgroundJob)
        .where(BackgroundJob.subject == subject)
        .order_by(BackgroundJob.id.desc())
    ).first()
    if job is None or job.status in ACTIVE:
        return job
    return job if job.finished_at and utcnow() - job.finished_at <= RECENT else None


def params_of(job: BackgroundJob) -> dict:
    """What the job was asked to do."""
    return json.loads(job.params_json or "{}")


def mark_not_queued(session: Session, job: BackgroundJob) -> None:
    """The queue could not take the job: say so on it rather than leave it waiting (flushed)."""
    job.status = FAILED
    job.message = str.__str__(NOT_QUEUED)
    job.finished_at = utcnow()
    session.add(job)
    session.flush()


def run_job(
    engine: Engine, board: JobBoard, job_id: int, work: Callable[[BackgroundJob], str]
) -> None:
    """Run a queued job's `work` (which commits its own transactions and returns the outcome's
    message) with a heartbeat; a refusal (DomainError) or a crash marks the job failed. A job no
    longer queued (a retried or duplicate delivery of the task) is left alone."""
    try:
        with board.alive(board_key(job_id), lambda: {"job": job_id}):
            _take_and_run(engine, job_id, work)
    finally:  # after the final status and the last beat: a running job with no entry has none
        board.clear(board_key(job_id))


def _take_and_run(engine: Engine, job_id: int, work: Callable[[BackgroundJob], str]) -> None:
    with Session(engine, expire_on_commit=False) as session:
        taken = session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == QUEUED)
            .values(status=RUNNING, started_at=utcnow())
        ).rowcount
        session.commit()
        job = session.get(BackgroundJob, job_id)
    if not taken:
        return
    try:
        _finish(engine, job_id, DONE, work(job))
    except DomainError as error:
        _finish(engine, job_id, FAILED, str(error))
    except Exception as error:
        _finish(
            engine,
            job_id,
            FAILED,
            _("Lỗi khi xử lý; không có gì được ghi dở (%(error)s).", error=type(error).__name__),
        )
        raise


def _finish(engine: Engine, job_id: int, status: str, message: str) -> None:
    with Session(engine) as session:
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id)
            .values(status=status, message=str(message)[:1000], finished_at=utcnow())
        )
        session.commit()


def requeue_lost(
    session: Session,
    *,
    board: JobBoard,
    queued: set[int],
    lost_after: float,
    requeue: Callable[[BackgroundJob], None],
    now: datetime | None = None,
) -> list[int]:
    """Queue again the jobs still queued `lost_after` seconds after their task was put on the
    queue while no task of theirs is there (`queued`: the job ids it holds, read before this
    runs), as when Redis restarted without its data; returns their ids (committed)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lost_after)
    waiting = session.exec(
        select(BackgroundJob)
        .where(BackgroundJob.status == QUEUED)
        .where(func.coalesce(BackgroundJob.queued_at, BackgroundJob.created_at) < cutoff)
    ).all()
    requeued = []
    for job in waiting:
        if job.id in queued or board.read(board_key(job.id)) is not None:
            continue
        # Claimed by moving its queued time: of two sweeps at once (one per worker), one re-queues.
        claimed = session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job.id, BackgroundJob.status == QUEUED)
            .where(
                BackgroundJob.queued_at.is_(None)
                if job.queued_at is None
                else BackgroundJob.queued_at == job.queued_at
            )
            .values(queued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if claimed:
            requeue(job)
            requeued.append(job.id)
    return requeued


def fail_interrupted(session: Session, *, board: JobBoard, stale_after: float) -> int:
    """Mark failed the running jobs whose worker died (their heartbeat stopped, or their process
    is gone); returns how many (committed). Queued jobs are left to wait for a worker."""
    dead = [
        job.id
        for job in session.exec(select(BackgroundJob).where(BackgroundJob.status == RUNNING))
        if (entry := board.read(board_key(job.id))) is not None
        and is_dead(entry, stale_after=stale_after)
    ]
    if not dead:
        return 0
    failed = session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id.in_(dead), BackgroundJob.status == RUNNING)
        .values(status=FAILED, message=str.__str__(INTERRUPTED), finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    for job_id in dead:
        board.clear(board_key(job_id))
    return failed
