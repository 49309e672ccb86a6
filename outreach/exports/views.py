"""Exports made in a worker: the admin asks for one, its page follows the job, then offers the
file. Only the admin who asked may open an export (its rows are personal data)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, redirect, url_for
from flask_login import current_user
from sqlmodel import Session

from outreach.audit.views import ACTION_LABELS, audit_filters
from outreach.audit.views import index as audit_index
from outreach.core import background
from outreach.db import committing, get_session
from outreach.exports import service
from outreach.models import BackgroundJob
from outreach.models.codes import Role
from outreach.web.guards import audit, current_scope, render_page_or_fragment, roles_required

bp = Blueprint("exports", __name__, url_prefix="/exports")
log = logging.getLogger(__name__)


@bp.post("/audit-log")
@roles_required(Role.ADMIN)
def audit_log():
    """Queue the export of the audit log as filtered (the query string), then follow it."""
    filters, error = audit_filters()
    if error:
        return audit_index()  # the log's page with the message (400): nothing queued
    labels = {key: str(label) for key, label in ACTION_LABELS.items()}
    params = service.audit_params(filters, province_id=current_scope().province_id, labels=labels)
    with committing(get_session()) as session:
        job, new = background.request_job(
            session,
            kind=service.AUDIT_LOG,
            subject=f"export:{current_user.id}:{service.AUDIT_LOG}",
            province_id=current_scope().province_id,
            user_id=current_user.id,
            params=params,
        )
        if new:  # the export itself is audited, with its filters, as the download was
            audit("audit.export", object_type="audit_log", detail=filters.as_args())
    if new:
        try:
            current_app.extensions["jobs"].user_jobs[service.AUDIT_LOG](job.id)
        except Exception:  # the queue cannot be reached: say so on the job's page
            log.exception("could not queue export %s", job.id)
            with committing(get_session()) as session:
                background.mark_not_queued(session, job)
    return redirect(url_for(".show", job_id=job.id), 303)


def _own(job_id: int) -> BackgroundJob:
    """An export of the logged-in admin (anyone else's, or none: 404)."""
    job = get_session().get(BackgroundJob, job_id)
    if job is None or job.user_id != current_user.id or job.kind != service.AUDIT_LOG:
        abort(404)
    return job


@bp.get("/<int:job_id>")
@roles_required(Role.ADMIN)
def show(job_id: int):
    """The export: waiting for a worker, being written, then its download (htmx follows it)."""
    session = get_session()
    background.fail_interrupted(
        session,
        board=current_app.extensions["jobs"].board,
        stale_after=current_app.config["OUTREACH_JOB_STALE_SECONDS"],
    )
    job = _own(job_id)
    return render_page_or_fragment(
        "exports/show.html",
        "exports/_status.html",
        job=job,
        running=job.status in background.ACTIVE,
        kept=job.status == background.DONE and service.has_file(session, job),
        retention_days=current_app.config["OUTREACH_EXPORT_RETENTION_DAYS"],
    )


@bp.get("/<int:job_id>/file")
@roles_required(Role.ADMIN)
def file(job_id: int):
    """The export's file, streamed from the database a piece at a time (audited)."""
    job = _own(job_id)
    if job.status != background.DONE or not service.has_file(get_session(), job):
        abort(404)
    audit("export.download", object_type="background_job", object_id=job.id)
    engine = current_app.extensions["engine"]

    def pieces():
        # Its own session: the request's is closed when the view returns, before the body is read.
        with Session(engine) as session:
            yield from service.export_pieces(session, job)

    filename = background.params_of(job).get("filename", "export.csv")
    response = Response(pieces(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
