"""A published bulletin's PDF e-mailed to the province's subscribed media staff and leaders.

Each recipient gets a message of their own (nobody sees the other addresses), and each one is
recorded in `bulletin_delivery`: sent, or failed with the server's words. Delivery runs after the
publication is committed, as a unit of work of its own: a mail server that is down never undoes a
publication, and what failed is sent again by `retry` (the button on the period's page, or
`outreach bulletins deliver`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from outreach.core.formatting import format_day, format_number
from outreach.core.i18n import _
from outreach.core.mail import (
    Attachment,
    MailError,
    SmtpSettings,
    build_message,
    send_message,
    smtp_settings,
)
from outreach.models import BulletinDelivery, GeoUnit, Summary, User
from outreach.models.base import utcnow
from outreach.models.codes import DeliveryStatus, Role, SummaryStatus
from outreach.summaries.service import SummaryError, figures_of, pdf_filename, period_of

RECIPIENT_ROLES = (Role.MEDIA, Role.LEADER)


@dataclass(frozen=True)
class DeliveryReport:
    """How many messages went out and how many failed in one run."""

    sent: int
    failed: int


def bulletin_recipients(session: Session, *, province_id: int) -> list[User]:
    """Active media staff and leaders of the province with an address who asked for bulletins."""
    return list(
        session.exec(
            select(User)
            .join(GeoUnit, GeoUnit.id == User.scope_unit_id)
            .where(
                User.is_active,
                User.gets_bulletins,
                User.email.is_not(None),
                User.email != "",
                User.role.in_(RECIPIENT_ROLES),
                or_(GeoUnit.id == province_id, GeoUnit.province_id == province_id),
            )
            .order_by(User.id)
        )
    )


def bulletin_subject(summary: Summary, figures: dict) -> str:
    """ "Bản tin kết quả vận động BHXH tự nguyện ngày 30/11/2026 – Tỉnh Bắc Ninh" (+ correction)."""
    day = format_day(datetime.fromisoformat(figures["period"]["ends_on"]))
    subject = _(
        "Bản tin kết quả vận động BHXH tự nguyện ngày %(day)s – %(province)s",
        day=day,
        province=figures["province"]["name"],
    )
    if summary.supersedes_id:
        subject += " " + _("(đính chính, phiên bản %(v)s)", v=summary.version)
    return subject


def bulletin_body(summary: Summary, figures: dict, recipient: User) -> str:
    """The plain-text message: who sends what, the lead paragraph, the main totals."""
    total = figures["totals"]["total"]
    lines = [
        _("Kính gửi %(name)s,", name=recipient.full_name),
        "",
        _(
            "Bảo hiểm xã hội %(province)s gửi bản tin kết quả vận động tham gia BHXH tự nguyện "
            "ngày %(day)s (tệp PDF đính kèm).",
            province=figures["province"]["short_name"],
            day=format_day(datetime.fromisoformat(figures["period"]["ends_on"])),
        ),
        "",
        figures.get("lead", ""),
        "",
        _(
            "Lũy kế từ đầu đợt: %(new)s người tham gia mới, %(renewals)s người đóng tiếp.",
            new=format_number(total["new"]),
            renewals=format_number(total["renewals"]),
        ),
    ]
    if summary.correction_reason:
        lines += ["", _("Lý do đính chính: %(reason)s", reason=summary.correction_reason)]
    lines += ["", _("Nguồn: %(source)s", source=figures.get("source", ""))]
    return "\n".join(lines) + "\n"


def _deliver_one(
    session: Session,
    *,
    summary: Summary,
    figures: dict,
    attachment: Attachment,
    user: User,
    row: BulletinDelivery | None,
    settings: SmtpSettings | MailError | None,
    now: datetime,
) -> bool:
    row = row or BulletinDelivery(summary_id=summary.id, user_id=user.id, address="", status="")
    row.address = user.email
    row.attempts += 1
    row.updated_at = now
    message = build_message(
        sender=settings.sender if isinstance(settings, SmtpSettings) else "outreach@localhost",
        to=user.email,
        to_name=user.full_name,
        subject=bulletin_subject(summary, figures),
        body=bulletin_body(summary, figures, user),
        attachments=(attachment,),
    )
    try:
        if isinstance(settings, MailError):  # the configured URL itself is wrong
            raise settings
        send_message(settings, message)
    except MailError as error:
        row.status, row.error = DeliveryStatus.FAILED, str(error)[:2000]
    else:
        row.status, row.error, row.sent_at = DeliveryStatus.SENT, "", now
    session.add(row)
    return row.status == DeliveryStatus.SENT


def deliver_summary(
    session: Session,
    *,
    summary_id: int,
    smtp_url: str,
    sender: str = "",
    now: datetime | None = None,
) -> DeliveryReport:
    """E-mail a published version to every recipient not yet sent it (first time, or retry),
    through the server of `smtp_url` (core/mail.py).

    Failures, a missing or wrong server included, are recorded, never raised. Flushes; the caller
    commits.
    """
    try:
        settings: SmtpSettings | MailError | None = smtp_settings(smtp_url, sender=sender)
    except MailError as error:
        settings = error
    summary = session.get(Summary, summary_id)
    if summary is None or summary.status != SummaryStatus.PUBLISHED or not summary.pdf:
        raise SummaryError(_("Chỉ gửi được bản tin đã công bố."))
    figures = figures_of(summary)
    attachment = Attachment(pdf_filename(period_of(session, summary), summary), summary.pdf)
    existing = {
        row.user_id: row
        for row in session.exec(
            select(BulletinDelivery).where(BulletinDelivery.summary_id == summary.id)
        )
    }
    sent = failed = 0
    for user in bulletin_recipients(session, province_id=summary.province_id):
        row = existing.get(user.id)
        if row is not None and row.status == DeliveryStatus.SENT:
            continue
        ok = _deliver_one(
            session,
            summary=summary,
            figures=figures,
            attachment=attachment,
            user=user,
            row=row,
            settings=settings,
            now=now or utcnow(),
        )
        sent, failed = sent + ok, failed + (not ok)
    session.flush()
    return DeliveryReport(sent, failed)


def failed_summaries(session: Session) -> list[int]:
    """Published versions with a delivery still failed, oldest first."""
    return list(
        session.exec(
            select(BulletinDelivery.summary_id)
            .where(BulletinDelivery.status == DeliveryStatus.FAILED)
            .distinct()
            .order_by(BulletinDelivery.summary_id)
        )
    )


def deliveries_of(session: Session, *, summary_ids: list[int]) -> dict[int, list[tuple]]:
    """Per version: (delivery, user) rows, for the period's page."""
    if not summary_ids:
        return {}
    rows = session.exec(
        select(BulletinDelivery, User)
        .join(User, User.id == BulletinDelivery.user_id)
        .where(BulletinDelivery.summary_id.in_(summary_ids))
        .order_by(BulletinDelivery.summary_id, User.full_name)
    ).all()
    out: dict[int, list[tuple]] = {}
    for delivery, user in rows:
        out.setdefault(delivery.summary_id, []).append((delivery, user))
    return out
