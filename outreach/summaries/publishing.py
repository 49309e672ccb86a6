"""Publishing and e-mailing a bulletin in a worker (`outreach worker`), never in a web request.

The admin's click queues one job per period (core/background.py); the job renders the PDF and
publishes in one transaction, then e-mails the version in another: a mail server that fails is
recorded per recipient and never undoes the publication, and a job killed while it renders
leaves the draft a draft. Like a command, each job commits itself.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.core.i18n import _
from outreach.models import BackgroundJob, Summary
from outreach.models.codes import SummaryStatus
from outreach.summaries.delivery import DeliveryReport, deliver_summary
from outreach.summaries.service import publish_summary

PUBLISH, DELIVER = "summary.publish", "summary.deliver"


def bulletin_subject(campaign_id: int, period_key: str) -> str:
    """One active publishing or sending job per campaign and period."""
    return f"bulletin:{campaign_id}:{period_key}"


def publish_params(
    *, summary_id: int, username: str, reason: str, ip: str, today: date, early: bool
) -> dict:
    """What a publish job needs to do what the admin asked, as the job row keeps it."""
    return {
        "summary_id": summary_id,
        "username": username,
        "reason": reason,
        "ip": ip,
        "today": today.isoformat(),
        "early": early,
    }


def publish_job(
    engine: Engine, job: BackgroundJob, params: dict, *, smtp_url: str, sender: str
) -> str:
    """Publish the draft (unless a previous run of this job already did: one version), then
    e-mail it; returns the outcome to show on the period's page."""
    summary_id = params["summary_id"]
    with Session(engine) as session:
        # Locked (PostgreSQL) so that two jobs on one draft publish it once.
        summary = session.get(Summary, summary_id, with_for_update=True)
        if summary is None or summary.status != SummaryStatus.PUBLISHED:
            summary = publish_summary(
                session,
                summary_id=summary_id,
                user_id=job.user_id,
                username=params["username"],
                reason=params["reason"],
                ip=params["ip"],
                today=date.fromisoformat(params["today"]),
                early=params["early"],
            )
        version = summary.version
        session.commit()  # the PDF, its hash, the status and the audit entry together
    report = deliver(engine, summary_id, smtp_url=smtp_url, sender=sender)
    return " ".join([_("Đã công bố phiên bản %(v)s.", v=version), delivery_message(report)])


def deliver(engine: Engine, summary_id: int, *, smtp_url: str, sender: str) -> DeliveryReport:
    """E-mail a published version to whoever has not received it (committed)."""
    with Session(engine) as session:
        report = deliver_summary(session, summary_id=summary_id, smtp_url=smtp_url, sender=sender)
        session.commit()
    return report


def deliver_job(engine: Engine, params: dict, *, smtp_url: str, sender: str) -> str:
    """Send a published version again to whoever has not received it; returns the outcome."""
    report = deliver(engine, params["summary_id"], smtp_url=smtp_url, sender=sender)
    return delivery_message(report) or _("Không còn thư nào cần gửi.")


def delivery_message(report: DeliveryReport) -> str:
    """What a delivery run did, in a sentence or two (empty if there was nobody to send to)."""
    parts = []
    if report.sent:
        parts.append(_("Đã gửi bản tin qua thư điện tử cho %(n)s người.", n=report.sent))
    if report.failed:
        parts.append(
            _(
                "%(n)s thư chưa gửi được (xem lý do ở danh sách gửi thư bên dưới, rồi bấm "
                "“Gửi lại thư chưa gửi được”).",
                n=report.failed,
            )
        )
    return " ".join(parts)
