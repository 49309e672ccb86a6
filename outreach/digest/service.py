"""The leaders' weekly digest: what needs their attention in their scope, on their home page and
by e-mail (`outreach digest send-weekly`, Monday mornings from cron).

It gathers, for the active campaign and the leader's scope (`core.scope.scope_for`):
- **units behind target**: the dashboard's communes whose new participants and renewals are below
  the target prorated to the campaign's days gone by (`dashboard.service`, the one rule);
- **overdue follow-ups and promises**: persons whose promised or revisit date has passed with no
  visit and no payment since (`dashboard.service.count_overdue`);
- **visits flagged for review** in the last seven days (`leaders.review.review_flags`);
- **commitments due** from review meetings, not done (`leaders.meetings.due_reminders`);
- **corrections waiting**: `corrections_waiting` below, a hook that counts nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, select

from outreach.campaigns.service import active_campaign
from outreach.core.formatting import format_day, format_number, format_ratio
from outreach.core.i18n import _
from outreach.core.mail import MailError, SmtpSettings, build_message, send_message, smtp_settings
from outreach.core.periods import local_midnight
from outreach.core.scope import Scope, scope_for
from outreach.corrections.listing import pending_count
from outreach.dashboard.service import dashboard_for
from outreach.leaders.meetings import due_reminders
from outreach.leaders.review import review_flags
from outreach.models import GeoUnit, User
from outreach.models.codes import Role

WEEK = 7
FLAG_LIMIT = 300  # the review list's own cap; more shows as "300+" nobody needs to count further


@dataclass(frozen=True)
class UnitBehind:
    """A commune under its prorated target: its results, its target, the share reached."""

    id: int
    name: str
    done: int
    target: int
    ratio: float | None
    expected: int  # the target prorated to the days gone by


@dataclass
class WeeklyDigest:
    """What a leader should look at this week, in their scope."""

    unit_name: str
    today: date
    campaign_name: str | None
    behind: list[UnitBehind] = field(default_factory=list)
    overdue: int = 0
    flagged: int = 0
    commitments_due: int = 0  # review-meeting commitments due by today, not done
    corrections: int | None = None  # None: no corrections count exists yet (see the hook)

    @property
    def anything(self) -> bool:
        """Whether there is something to act on."""
        return bool(
            self.behind or self.overdue or self.flagged or self.commitments_due or self.corrections
        )


def corrections_waiting(session: Session, *, scope: Scope) -> int | None:
    """The corrections made at households in the scope that wait for a leader's decision."""
    return pending_count(session, scope=scope)


def build_weekly_digest(session: Session, *, scope: Scope, today: date) -> WeeklyDigest:
    """The digest of a leader's scope as of `today` (Vietnam's day)."""
    unit = session.get(GeoUnit, scope.unit_id)
    campaign = active_campaign(session, province_id=scope.province_id)
    digest = WeeklyDigest(unit.name, today, campaign.name if campaign else None)
    if campaign is not None and today >= campaign.starts_on:
        board = dashboard_for(session, scope=scope, campaign=campaign, today=today)
        digest.overdue = board.overdue
        digest.behind = [
            UnitBehind(
                row.id,
                row.name,
                row.done,
                row.target,
                row.ratio,
                round(row.target * board.elapsed_share),
            )
            for row in sorted(board.rows, key=lambda r: (r.ratio or 0, r.name))
            if row.behind
        ]
    digest.flagged = len(
        review_flags(
            session,
            scope=scope,
            since=local_midnight(today - timedelta(days=WEEK - 1)),
            until=local_midnight(today + timedelta(days=1)),
            limit=FLAG_LIMIT,
        )
    )
    digest.commitments_due = len(due_reminders(session, scope=scope, today=today))
    digest.corrections = corrections_waiting(session, scope=scope)
    return digest


def digest_text(digest: WeeklyDigest, *, full_name: str) -> str:
    """The digest as the plain-text body of the e-mail."""
    lines = [
        _("Kính gửi %(name)s,", name=full_name),
        "",
        _(
            "Tổng hợp tuần đến ngày %(day)s, phạm vi %(unit)s:",
            day=format_day(digest.today),
            unit=digest.unit_name,
        ),
        "",
    ]
    if digest.campaign_name:
        lines.append(_("Đơn vị chậm so với chỉ tiêu (%(n)s):", n=len(digest.behind)))
        lines += [
            "  - "
            + _(
                "%(name)s: %(done)s / %(target)s (%(ratio)s), cần %(expected)s theo số ngày đã qua",
                name=u.name,
                done=format_number(u.done),
                target=format_number(u.target),
                ratio=format_ratio(u.ratio),
                expected=format_number(u.expected),
            )
            for u in digest.behind
        ]
    lines.append(_("Hẹn quá hạn chưa thăm lại, chưa đóng: %(n)s", n=format_number(digest.overdue)))
    flagged = f"{FLAG_LIMIT}+" if digest.flagged >= FLAG_LIMIT else format_number(digest.flagged)
    lines.append(_("Lượt thăm cần xem lại (7 ngày qua): %(n)s", n=flagged))
    lines.append(_("Cam kết họp kiểm điểm đến hạn: %(n)s", n=format_number(digest.commitments_due)))
    if digest.corrections is not None:
        lines.append(_("Đề nghị sửa số liệu đang chờ: %(n)s", n=format_number(digest.corrections)))
    return "\n".join(lines) + "\n"


def digest_subject(digest: WeeklyDigest) -> str:
    """ "Tổng hợp tuần đến 23/11/2026 – Phường Kinh Bắc"."""
    return _(
        "Tổng hợp tuần đến %(day)s – %(unit)s",
        day=format_day(digest.today),
        unit=digest.unit_name,
    )


@dataclass(frozen=True)
class DigestRun:
    """One `send-weekly` run: messages sent, and (username, reason) of those that failed."""

    sent: int
    failed: list[tuple[str, str]]


def digest_recipients(session: Session) -> list[User]:
    """Active leaders with an e-mail address."""
    return list(
        session.exec(
            select(User)
            .where(
                User.role == Role.LEADER,
                User.is_active,
                User.email.is_not(None),
                User.email != "",
            )
            .order_by(User.id)
        )
    )


def send_weekly_digests(
    session: Session, *, today: date, smtp_url: str, sender: str = ""
) -> DigestRun:
    """E-mail each leader with an address the digest of their scope; failures are returned, not
    raised. Reads only."""
    try:
        settings: SmtpSettings | None = smtp_settings(smtp_url, sender=sender)
    except MailError as error:
        users = digest_recipients(session)
        return DigestRun(0, [(u.username, str(error)) for u in users])
    sent, failed = 0, []
    for user in digest_recipients(session):
        digest = build_weekly_digest(session, scope=scope_for(session, user), today=today)
        message = build_message(
            sender=settings.sender if settings else "outreach@localhost",
            to=user.email,
            to_name=user.full_name,
            subject=digest_subject(digest),
            body=digest_text(digest, full_name=user.full_name),
        )
        try:
            send_message(settings, message)
        except MailError as error:
            failed.append((user.username, str(error)))
        else:
            sent += 1
    return DigestRun(sent, failed)
