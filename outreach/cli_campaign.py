"""The `outreach` commands of the campaign's own machinery (issue 24): the bulletin drafted on
the day and e-mailed when published, the leaders' weekly digest, the campaign's milestones. Each
command is a unit of work: it commits. Meant for cron until the job queue lands (docs/summaries.md).
"""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM, today_local
from outreach.models import Campaign
from outreach.models.base import utcnow
from outreach.summaries.service import SummaryError


def _session() -> Session:
    return Session(current_app.extensions["engine"], expire_on_commit=False)


@click.group("bulletins")
def bulletins_group():
    """The 15th / 30th bulletins: drafting on the day, e-mailing what is published."""


@bulletins_group.command("draft-due")
@click.option(
    "--now",
    "at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    default=None,
    help="Thời điểm coi là bây giờ, giờ Việt Nam (mặc định: bây giờ)",
)
@with_appcontext
def bulletins_draft_due_command(at):
    """Draft the bulletin due now (the 15th and the month's last day, from the draft hour) and
    notify the admins; run it every hour from cron: `5 * * * * outreach bulletins draft-due`."""
    from outreach.summaries.schedule import draft_due_bulletins

    now = at.replace(tzinfo=VIETNAM) if at else utcnow()
    with _session() as session:
        done = draft_due_bulletins(
            session, now=now, hour=current_app.config.get("BULLETIN_DRAFT_HOUR", 17)
        )
        session.commit()  # the command is the unit of work
    if not done:
        click.echo("Chưa đến giờ lập bản nháp bản tin (ngày 15 và ngày cuối tháng).")
    for item in done:
        state = "đã lập bản nháp" if item.drafted else "đã có bản nháp hoặc bản công bố"
        click.echo(
            f"Chiến dịch {item.campaign_id}, kỳ {item.period.key}: {state} "
            f"(bản tin {item.summary_id}); báo cho {item.notified} quản trị viên."
        )


def deliver_bulletin(session: Session, summary_id: int) -> None:
    """E-mail one published version to whoever has not received it, and commit what happened."""
    from outreach.summaries.delivery import deliver_summary

    try:
        report = deliver_summary(
            session,
            summary_id=summary_id,
            smtp_url=current_app.config.get("SMTP_URL", ""),
            sender=current_app.config.get("MAIL_FROM", ""),
        )
    except SummaryError as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()  # each version's deliveries are kept whatever the next one does
    click.echo(f"Bản tin {summary_id}: đã gửi {report.sent} thư, {report.failed} chưa gửi được.")


@bulletins_group.command("deliver")
@click.option("--summary", "summary_id", type=int, default=None, help="Chỉ phiên bản này")
@with_appcontext
def bulletins_deliver_command(summary_id):
    """E-mail published bulletins again to whoever has not received them (failed, or new)."""
    from outreach.summaries.delivery import failed_summaries

    with _session() as session:
        ids = [summary_id] if summary_id else failed_summaries(session)
        for one in ids:
            deliver_bulletin(session, one)
    if not ids:
        click.echo("Không có thư nào chờ gửi lại.")


@click.group("digest")
def digest_group():
    """The leaders' weekly digest."""


@digest_group.command("send-weekly")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Ngày coi là hôm nay (mặc định: hôm nay theo giờ Việt Nam)",
)
@with_appcontext
def digest_send_weekly_command(today):
    """E-mail every leader with an address the digest of their scope (from cron on Monday
    mornings: `0 7 * * 1 outreach digest send-weekly`). Exits with an error if any failed."""
    from outreach.digest.service import send_weekly_digests

    day: date = today.date() if today else today_local()
    with _session() as session:
        run = send_weekly_digests(
            session,
            today=day,
            smtp_url=current_app.config.get("SMTP_URL", ""),
            sender=current_app.config.get("MAIL_FROM", ""),
        )
        session.rollback()  # reads only
    click.echo(f"Đã gửi tổng hợp tuần cho {run.sent} lãnh đạo.")
    for username, reason in run.failed:
        click.echo(f"  Chưa gửi được cho {username}: {reason}", err=True)
    if run.failed:
        raise click.ClickException(f"{len(run.failed)} thư chưa gửi được; chạy lại lệnh sau.")


@click.group("milestones")
def milestones_group():
    """The active campaign's milestones (a target share by a date, a review deadline, the finish)."""


@milestones_group.command("add")
@click.option("--kind", required=True, type=click.Choice(["target_share", "review", "finish"]))
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--share", type=click.FloatRange(1, 100), default=None, help="Tỷ lệ chỉ tiêu (%)")
@click.option("--note", default="", help="Ghi chú")
@with_appcontext
def milestones_add_command(kind, day, share, note):
    """Add a milestone for every commune to the active campaign."""
    from outreach.campaigns.milestones import MilestoneError, add_milestone

    with _session() as session:
        campaign = session.exec(
            select(Campaign).where(Campaign.is_active).order_by(Campaign.ends_on.desc())
        ).first()
        if campaign is None:
            raise click.ClickException("Chưa có chiến dịch nào đang chạy.")
        try:
            milestone = add_milestone(
                session,
                campaign=campaign,
                kind=kind,
                due_on=day.date(),
                share=share / 100 if share else None,
                note=note,
            )
        except MilestoneError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(f"Đã thêm mốc {milestone.kind} ngày {milestone.due_on:%d/%m/%Y}.")
