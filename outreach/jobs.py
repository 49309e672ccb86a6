"""The background jobs `outreach worker` runs from the queue (core/queue.py), and their schedule.

Web requests only queue jobs (`Jobs.check_import(batch_id)`…); a worker process takes them.
Each job commits itself, as a CLI command does. Scheduled: the nightly refresh of every worklist
at 00:05 in Vietnam, the deletion of uploads past their retention period at 02:35, and, every
minute, the sweep that marks failed the imports whose worker died.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from huey import Huey, crontab
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.core import background
from outreach.core.clock import today_local
from outreach.core.queue import JobBoard, queued_first_args
from outreach.db import vacuum
from outreach.digest.service import send_weekly_digests
from outreach.exports import service as exports
from outreach.imports import batches, files, recovery
from outreach.imports.reading import ImportFileError
from outreach.models import GeoUnit
from outreach.models.base import utcnow
from outreach.models.codes import UnitKind
from outreach.summaries import publishing
from outreach.summaries.schedule import draft_due_bulletins
from outreach.worklist.nightly import refresh_communes

log = logging.getLogger(__name__)

# 00:05 in Vietnam (UTC+7 all year, no daylight saving) is 17:05 UTC the day before.
NIGHTLY_REFRESH = crontab(minute="5", hour="17")
UPLOAD_PURGE = crontab(minute="35", hour="19")  # 02:35 in Vietnam
# Every hour at :05: drafts the bulletin once its day (15th, month's last) and hour have come.
BULLETIN_DRAFT = crontab(minute="5")
WEEKLY_DIGEST = crontab(minute="0", hour="0", day_of_week="1")  # Monday 07:00 in Vietnam


@dataclass
class Jobs:
    """The queue and the jobs it carries, as callables that queue them."""

    huey: Huey
    board: JobBoard
    check_import: object
    run_import: object
    refresh_priorities: object
    purge_uploads: object
    draft_bulletins: object
    weekly_digest: object
    user_jobs: dict  # background_job kind → its task (core/background.py)
    sweep: object


def make_jobs(huey: Huey, *, engine: Engine, settings: Mapping) -> Jobs:
    """Register the jobs on a queue; `engine` is the one the worker's jobs write with."""
    board = JobBoard(huey)

    @huey.on_startup()
    def _fresh_connections() -> None:
        # A forked worker process must not share its parent's pooled connections.
        engine.dispose(close=False)

    @huey.task(name="imports.check")
    def check_import(batch_id: int) -> None:
        _quietly(batches.check_batch, engine, board, batch_id)

    @huey.task(name="imports.import")
    def run_import(batch_id: int) -> None:
        _quietly(batches.run_import, engine, board, batch_id)

    @huey.periodic_task(crontab(), name="imports.sweep")
    def sweep_interrupted() -> None:
        queued = queued_first_args(huey, {check_import.name, run_import.name})  # read first
        queued_jobs = queued_first_args(huey, {task.name for task in user_jobs.values()})
        with Session(engine) as session:
            recovery.requeue_lost(
                session,
                board=board,
                queued=queued,
                lost_after=settings["OUTREACH_JOB_LOST_SECONDS"],
                requeue=lambda b: (run_import if b.status == "importing" else check_import)(b.id),
            )
            background.requeue_lost(
                session,
                board=board,
                queued=queued_jobs,
                lost_after=settings["OUTREACH_JOB_LOST_SECONDS"],
                requeue=lambda job: user_jobs[job.kind](job.id),
            )
            batches.fail_interrupted(
                session, board=board, stale_after=settings["OUTREACH_JOB_STALE_SECONDS"]
            )
            background.fail_interrupted(
                session, board=board, stale_after=settings["OUTREACH_JOB_STALE_SECONDS"]
            )

    def mail() -> dict:  # read when the job runs: the settings may change after start-up
        return {"smtp_url": settings.get("SMTP_URL", ""), "sender": settings.get("MAIL_FROM", "")}

    def user_task(name: str, work):
        """A job a user asked for (core/background.py): `work(job, params)` returns its outcome."""

        @huey.task(name=name)
        def task(job_id: int) -> None:
            background.run_job(
                engine, board, job_id, lambda job: work(job, background.params_of(job))
            )

        return task

    user_jobs = {
        publishing.PUBLISH: user_task(
            publishing.PUBLISH, lambda j, p: publishing.publish_job(engine, j, p, **mail())
        ),
        publishing.DELIVER: user_task(
            publishing.DELIVER, lambda _j, p: publishing.deliver_job(engine, p, **mail())
        ),
        exports.AUDIT_LOG: user_task(
            exports.AUDIT_LOG, lambda j, p: exports.write_audit_export(engine, j, p)
        ),
    }

    @huey.periodic_task(NIGHTLY_REFRESH, name="worklist.refresh")
    def refresh_priorities() -> None:
        total = refresh_every_commune(
            engine, today=today_local(), processes=settings["OUTREACH_REFRESH_PROCESSES"]
        )
        log.info("nightly refresh: %s households", total)

    @huey.periodic_task(UPLOAD_PURGE, name="imports.purge")
    def purge_uploads() -> None:
        deleted = purge_expired_uploads(engine, days=settings["OUTREACH_UPLOAD_RETENTION_DAYS"])
        log.info("uploads deleted after the retention period: %s", deleted)
        with Session(engine) as session:
            gone = exports.purge_expired(session, days=settings["OUTREACH_EXPORT_RETENTION_DAYS"])
            session.commit()
        log.info("exports deleted after the retention period: %s", gone)

    @huey.periodic_task(BULLETIN_DRAFT, name="summaries.draft_due")
    def draft_bulletins() -> None:
        drafted = draft_due_bulletins_now(engine, hour=settings["BULLETIN_DRAFT_HOUR"])
        log.info("bulletins drafted: %s", drafted)

    @huey.periodic_task(WEEKLY_DIGEST, name="digest.weekly")
    def weekly_digest() -> None:
        with Session(engine) as session:
            run = send_weekly_digests(
                session,
                today=today_local(),
                smtp_url=settings.get("SMTP_URL", ""),
                sender=settings.get("MAIL_FROM", ""),
            )
        log.info("weekly digest sent to %s leaders, %s failed", run.sent, len(run.failed))

    return Jobs(
        huey,
        board,
        check_import,
        run_import,
        refresh_priorities,
        purge_uploads,
        draft_bulletins,
        weekly_digest,
        user_jobs,
        sweep_interrupted,
    )


def draft_due_bulletins_now(engine: Engine, *, hour: int, now: datetime | None = None) -> int:
    """Draft the bulletins due at `now` (default: now) and notify the admins (committed);
    returns how many periods were drafted (summaries/schedule.py decides what is due)."""
    with Session(engine) as session:
        done = draft_due_bulletins(session, now=now or utcnow(), hour=hour)
        session.commit()
    return sum(1 for item in done if item.drafted)


def purge_expired_uploads(engine: Engine, *, days: int) -> list[int]:
    """Delete the uploaded lists older than `days` and their error lists (audited, committed);
    returns the batches' ids."""
    with Session(engine) as session:
        deleted = files.purge_expired(session, days=days)
        session.commit()
    return deleted


def _quietly(job, *args) -> None:
    """Run an import job; a refused file is an outcome (stored on the batch), not a crash."""
    try:
        job(*args)
    except (batches.BatchError, ImportFileError) as error:
        log.info("import batch %s refused: %s", args[-1], error)


def refresh_every_commune(
    engine: Engine, *, today: date, processes: int = 1, province_id: int | None = None
) -> int:
    """Recompute every household's priority for `today` (or the province's), one committed
    transaction per commune, `processes` communes at a time on PostgreSQL (worklist/nightly.py;
    one on SQLite: a single writer), then clear the old row versions; returns how many."""
    in_province = [] if province_id is None else [GeoUnit.province_id == province_id]
    with Session(engine) as session:
        communes = session.exec(
            select(GeoUnit.id).where(GeoUnit.kind == UnitKind.COMMUNE, *in_province)
        ).all()
    total = refresh_communes(engine, commune_ids=communes, today=today, processes=processes)
    vacuum(engine, "household")
    return total
