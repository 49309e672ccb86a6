"""The 15th / 30th summaries: the admin drafts and publishes; media staff download what is published."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from outreach.campaigns import service as campaigns
from outreach.core import background
from outreach.core.formatting import format_clock
from outreach.core.periods import Period, period_containing, period_from_key
from outreach.db import committing, get_session, read_session
from outreach.models import Summary
from outreach.models.base import utcnow
from outreach.models.codes import Role, SummaryStatus
from outreach.summaries.delivery import deliveries_of
from outreach.summaries.document import (
    render_document_html,
    render_document_pdf,
    render_national_pdf,
)
from outreach.summaries.exports import figures_csv
from outreach.summaries.national import national_figures
from outreach.summaries.publishing import DELIVER, PUBLISH, bulletin_subject, publish_params
from outreach.summaries.service import (
    SummaryError,
    check_publishable,
    draft_summary,
    figures_of,
    pdf_filename,
    period_of,
    published_archive,
    summary_board,
)
from outreach.web.guards import (
    audit,
    bounded_day,
    current_scope,
    render_page_or_fragment,
    roles_required,
)
from outreach.web.guards import today as request_today

bp = Blueprint("summaries", __name__, url_prefix="/summaries")
log = logging.getLogger(__name__)


def _jobs():
    return current_app.extensions["jobs"]


@bp.app_template_filter("clock")
def clock(value) -> str:
    """The time of day in Vietnam, as 16:30."""
    return format_clock(value)


def _campaign():
    campaign = campaigns.active_campaign(get_session(), province_id=current_scope().province_id)
    if campaign is None:
        abort(404)
    return campaign


def _period(key: str) -> Period:
    try:
        return period_from_key(key)
    except ValueError:
        abort(404)


def _visible(summary_id: int) -> Summary:
    """A version this user may open: admins any of their province, others only published ones."""
    summary = get_session().get(Summary, summary_id)
    if summary is None or summary.province_id != current_scope().province_id:
        abort(404)
    if current_user.role != Role.ADMIN and summary.status != SummaryStatus.PUBLISHED:
        abort(404)
    return summary


@bp.get("")
@roles_required(Role.ADMIN, Role.MEDIA)
def index():
    """Admins: the periods with what is due, drafted and published. Media: the archive."""
    session = get_session()
    if current_scope().is_national:
        return _national()
    if current_user.role == Role.MEDIA:
        archive = published_archive(session, province_id=current_scope().province_id)
        return render_template("summaries/archive.html", archive=archive)
    campaign = campaigns.active_campaign(session, province_id=current_scope().province_id)
    if campaign is None:  # a province just loaded: say what is missing, not "not found"
        return render_template("summaries/no_campaign.html")
    board = summary_board(session, campaign=campaign, today=request_today())
    return render_template("summaries/index.html", board=board, campaign=campaign)


def _national_figures() -> tuple[Period, dict]:
    """The country's figures for the current half-month (or ?period=), from the replica."""
    raw = request.args.get("period", "")
    try:
        period = period_from_key(raw) if raw else period_containing(request_today())
        bounded_day(period.ends_on)  # 9999-12-30 would overflow the figures
    except ValueError:
        abort(404)
    figures = national_figures(
        read_session(),
        campaigns=campaigns.active_campaigns(get_session()),
        period=period,
        cutoff=utcnow(),
    )
    return period, figures


def _national() -> str:
    """The national figures page, for national users."""
    period, figures = _national_figures()
    return render_template("summaries/national.html", figures=figures, period=period)


@bp.get("/national.pdf")
@roles_required(Role.ADMIN, Role.MEDIA)
def national_pdf():
    """The national figures as a PDF, for national users (audited: it is a download)."""
    if not current_scope().is_national:
        abort(404)
    period, figures = _national_figures()
    audit(
        "summary.download",
        object_type="summary",
        detail={"national": True, "period": period.key, "format": "pdf"},
    )
    response = Response(render_national_pdf(figures), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="ban-tin-ca-nuoc-{period.key}.pdf"'
    )
    return response


@bp.get("/<key>")
@roles_required(Role.ADMIN)
def period(key: str):
    """One period: its draft to check, the publish form, every published version, and the
    publishing or sending job while it runs (htmx follows it)."""
    period = _period(key)
    campaign = _campaign()
    session = get_session()
    background.fail_interrupted(
        session, board=_jobs().board, stale_after=current_app.config["OUTREACH_JOB_STALE_SECONDS"]
    )
    board = summary_board(session=session, campaign=campaign, today=period.ends_on, count=1)
    entry = board[0] if board and board[0].period == period else None
    draft = entry.draft if entry else None
    job = background.latest_job(session, bulletin_subject(campaign.id, period.key))
    return render_page_or_fragment(
        "summaries/show.html",
        "summaries/_period.html",
        period=period,
        campaign=campaign,
        draft=draft,
        document=render_document_html(figures_of(draft), heading_level=2) if draft else None,
        published=entry.published if entry else [],
        deliveries=deliveries_of(
            session, summary_ids=[s.id for s in (entry.published if entry else [])]
        ),
        period_open=request_today() <= period.ends_on,
        job=job,
        job_running=job is not None and job.status in background.ACTIVE,
    )


@bp.post("/<key>/draft")
@roles_required(Role.ADMIN)
def draft(key: str):
    """Compute the figures as of now into the period's draft."""
    period = _period(key)
    with committing(get_session()) as session:
        draft_summary(session, campaign=_campaign(), period=period, user_id=current_user.id)
    flash(_("Đã cập nhật bản nháp với số liệu đến thời điểm này."), "ok")
    return redirect(url_for(".period", key=period.key))


@bp.post("/<key>/publish")
@roles_required(Role.ADMIN)
def publish(key: str):
    """Queue the publication of the draft the admin checked (a worker renders its PDF from the
    draft's stored figures, freezes it and e-mails it); the rules are checked here first, so a
    refusal shows at once."""
    period = _period(key)
    summary = get_session().get(Summary, request.form.get("summary_id", type=int) or 0)
    if summary is None or summary.province_id != current_scope().province_id:
        abort(404)
    reason, early = request.form.get("reason", ""), request.form.get("early") == "1"
    try:
        check_publishable(get_session(), summary, reason=reason, today=request_today(), early=early)
    except SummaryError as error:
        flash(str(error), "error")
        return redirect(url_for(".period", key=period.key)), 303
    params = publish_params(
        summary_id=summary.id,
        username=current_user.username,
        reason=reason,
        ip=request.remote_addr or "",
        today=request_today(),
        early=early,
    )
    _queue(PUBLISH, summary, period, params)
    return redirect(url_for(".period", key=period.key))


def _queue(kind: str, summary: Summary, period: Period, params: dict) -> None:
    """Queue a publishing or sending job for the period, unless one is already queued or
    running (a double click, or a click on another server: one job, one version)."""
    with committing(get_session()) as session:
        job, new = background.request_job(
            session,
            kind=kind,
            subject=bulletin_subject(summary.campaign_id, period.key),
            province_id=summary.province_id,
            user_id=current_user.id,
            params=params,
        )
    if not new:
        return
    try:
        _jobs().user_jobs[kind](job.id)
    except Exception:  # the queue cannot be reached: say so on the job, never leave it waiting
        log.exception("could not queue job %s", job.id)
        with committing(get_session()) as session:
            background.mark_not_queued(session, job)


@bp.post("/versions/<int:summary_id>/deliver")
@roles_required(Role.ADMIN)
def deliver(summary_id: int):
    """Queue sending a published version again to whoever has not received it (failed, or new)."""
    summary = _visible(summary_id)
    if summary.status != SummaryStatus.PUBLISHED:
        abort(404)
    period = period_of(get_session(), summary)
    _queue(DELIVER, summary, period, {"summary_id": summary.id})
    return redirect(url_for(".period", key=period.key), 303)


@bp.get("/versions/<int:summary_id>")
@roles_required(Role.ADMIN, Role.MEDIA)
def version(summary_id: int):
    """One version in the browser, as it reads in the PDF."""
    summary = _visible(summary_id)
    return render_template(
        "summaries/version.html",
        summary=summary,
        document=render_document_html(figures_of(summary), heading_level=2),
        period=period_of(get_session(), summary),
    )


def _download(summary: Summary, body: bytes, mimetype: str, extension: str) -> Response:
    audit(
        "summary.download",
        object_type="summary",
        object_id=summary.id,
        detail={"format": extension, "version": summary.version},
    )
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{pdf_filename(period_of(get_session(), summary), summary, extension)}"'
    )
    return response


@bp.get("/versions/<int:summary_id>.pdf")
@roles_required(Role.ADMIN, Role.MEDIA)
def pdf(summary_id: int):
    """The frozen PDF of a published version (a draft's is rendered fresh, for admins only)."""
    summary = _visible(summary_id)
    body = summary.pdf if summary.pdf else render_document_pdf(figures_of(summary))
    return _download(summary, body, "application/pdf", "pdf")


@bp.get("/versions/<int:summary_id>.csv")
@roles_required(Role.ADMIN, Role.MEDIA)
def csv(summary_id: int):
    """The table by commune of a version, as CSV for spreadsheets."""
    summary = _visible(summary_id)
    return _download(summary, figures_csv(figures_of(summary)), "text/csv; charset=utf-8", "csv")
