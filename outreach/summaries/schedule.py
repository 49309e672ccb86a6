"""The bulletin drafts itself on the 15th and the last day of each month, and admins are told.

`draft_due_bulletins` is run by `outreach bulletins draft-due` (from cron, every hour; later the job
queue): on a due day, from the draft hour on, each active campaign's period gets its draft with
the figures as of that moment, and each admin of the province a notice on their home page. Run
again the same day it changes nothing: a draft cut at or after the due moment, or a version
already published, is left as it is, and a notice is posted once per admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.formatting import format_clock, format_day
from outreach.core.i18n import _
from outreach.core.periods import Period, period_containing
from outreach.home.notices import post_notice, province_admins
from outreach.models import Campaign, ReportPeriod, Summary
from outreach.models.codes import SummaryStatus
from outreach.summaries.service import draft_summary

# 17:00 in Vietnam: the day's visits are mostly in, and the admin can still check the draft
# before the evening (OUTREACH_BULLETIN_DRAFT_HOUR changes it).
DEFAULT_DRAFT_HOUR = 17


@dataclass(frozen=True)
class DueDraft:
    """What one run did for one campaign: the draft's id, whether it was made now, notices."""

    campaign_id: int
    period: Period
    summary_id: int | None
    drafted: bool
    notified: int


def due_moment(period: Period, hour: int) -> datetime:
    """When the period's draft is due: its last day at the draft hour, Vietnam time."""
    return datetime.combine(period.ends_on, time(hour), tzinfo=VIETNAM)


def due_period(now: datetime, hour: int) -> Period | None:
    """The period whose draft is due at `now`: only on its last day, from the draft hour on."""
    local = now.astimezone(VIETNAM)
    period = period_containing(local.date())
    if local.date() != period.ends_on or local.hour < hour:
        return None
    return period


def _versions(session: Session, campaign: Campaign, period: Period) -> list[Summary]:
    return list(
        session.exec(
            select(Summary)
            .join(ReportPeriod, ReportPeriod.id == Summary.period_id)
            .where(Summary.campaign_id == campaign.id, ReportPeriod.starts_on == period.starts_on)
        )
    )


def _running(session: Session, period: Period) -> list[Campaign]:
    return list(
        session.exec(
            select(Campaign)
            .where(
                Campaign.is_active,
                Campaign.starts_on <= period.ends_on,
                Campaign.ends_on >= period.starts_on,
            )
            .order_by(Campaign.id)
        )
    )


def draft_due_bulletins(
    session: Session, *, now: datetime, hour: int = DEFAULT_DRAFT_HOUR
) -> list[DueDraft]:
    """Draft every running campaign's bulletin that is due at `now` and notify its admins.

    Idempotent (see the module's docstring). Flushes; the caller commits.
    """
    period = due_period(now, hour)
    if period is None:
        return []
    due = due_moment(period, hour)
    done = []
    for campaign in _running(session, period):
        versions = _versions(session, campaign, period)
        current = [v for v in versions if v.cutoff_at >= due]
        published = [v for v in versions if v.status == SummaryStatus.PUBLISHED]
        drafted = False
        if current or published:
            # Already cut after the due moment, or published early on purpose: a new draft
            # would only be a correction, which is the admin's decision.
            summary = max(current or published, key=lambda v: v.version)
        else:
            summary = draft_summary(
                session, campaign=campaign, period=period, user_id=None, now=now
            )
            drafted = True
        text = _(
            "Bản nháp bản tin ngày %(day)s đã được lập tự động lúc %(clock)s: hãy kiểm tra số "
            "liệu rồi công bố.",
            day=format_day(period.ends_on),
            clock=format_clock(summary.cutoff_at),
        )
        notified = sum(
            post_notice(
                session,
                user_id=admin.id,
                key=f"bulletin-draft:{campaign.id}:{period.key}",
                text=text,
                link=f"/summaries/{period.key}",
            )
            for admin in province_admins(session, province_id=campaign.province_id)
        )
        done.append(DueDraft(campaign.id, period, summary.id, drafted, notified))
    return done
