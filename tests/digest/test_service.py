"""The leaders' weekly digest: counted as the pages count, shown at home, e-mailed on Mondays."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from outreach import create_app
from outreach.campaigns.service import active_campaign
from outreach.core.formatting import format_number
from outreach.core.periods import local_midnight
from outreach.core.scope import scope_for
from outreach.dashboard.service import dashboard_for
from outreach.digest.service import build_weekly_digest
from outreach.leaders.review import review_flags
from outreach.models import Correction, Household, LatestOutcome, Payment, User, Visit
from outreach.models.codes import CorrectionStatus
from tests.conftest import DEMO_TODAY


def _leader(session, username="lanhdao.tinh") -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _overdue_recount(session, scope) -> int:
    """Persons with a follow-up date before today and no payment on or after their last visit."""
    paid = {}
    for person_id, paid_on in session.exec(select(Payment.person_id, Payment.paid_on)):
        paid.setdefault(person_id, []).append(paid_on)
    count = 0
    for row in session.exec(select(LatestOutcome)):
        if not scope.covers_commune(row.commune_id):
            continue
        if row.follow_up_on is None or row.follow_up_on >= DEMO_TODAY:
            continue
        visit_day = row.visited_at.date()
        if any(day >= visit_day for day in paid.get(row.person_id, [])):
            continue
        count += 1
    return count


def _flag_one_visit(session) -> None:
    """Move one visit of the last week 1 km away from its household: "far" for the review."""
    visit, household = session.exec(
        select(Visit, Household)
        .join(Household, Household.id == Visit.household_id)
        .where(
            Visit.visited_at >= local_midnight(DEMO_TODAY - timedelta(days=6)),
            Visit.visited_at < local_midnight(DEMO_TODAY + timedelta(days=1)),
            Household.latitude.is_not(None),
        )
        .order_by(Visit.id)
    ).first()
    visit.latitude, visit.longitude = household.latitude + 0.01, household.longitude
    session.add(visit)
    session.commit()


def test_the_digest_lists_what_the_pages_show(session):
    _flag_one_visit(session)
    for username in ("lanhdao.tinh", "lanhdao.cum"):
        scope = scope_for(session, _leader(session, username))
        digest = build_weekly_digest(session, scope=scope, today=DEMO_TODAY)
        campaign = active_campaign(session, province_id=scope.province_id)
        board = dashboard_for(session, scope=scope, campaign=campaign, today=DEMO_TODAY)
        assert digest.campaign_name == campaign.name
        assert sorted(u.id for u in digest.behind) == sorted(r.id for r in board.rows if r.behind)
        for unit in digest.behind:
            assert unit.done < unit.target * board.elapsed_share
        assert digest.overdue == _overdue_recount(session, scope) > 0
        flagged = review_flags(
            session,
            scope=scope,
            since=local_midnight(DEMO_TODAY - timedelta(days=6)),
            until=local_midnight(DEMO_TODAY + timedelta(days=1)),
        )
        assert digest.flagged == len(flagged)
        if username == "lanhdao.tinh":
            assert digest.flagged >= 1
        pending = [
            c
            for c in session.exec(select(Correction))
            if c.status == CorrectionStatus.PENDING and scope.covers_commune(c.commune_id)
        ]
        assert digest.corrections == len(pending)
        assert digest.commitments_due == 0


def test_the_leader_sees_the_digest_at_home(app, login_as, session):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    scope = scope_for(session, _leader(session))
    digest = build_weekly_digest(session, scope=scope, today=DEMO_TODAY)
    page = login_as("lanhdao.tinh").get("/").get_data(as_text=True)
    assert 'id="weekly-digest"' in page
    assert f"Đơn vị chậm so với chỉ tiêu: {len(digest.behind)}" in page
    assert f"Hẹn quá hạn chưa thăm lại, chưa đóng: {format_number(digest.overdue)}" in page
    if digest.behind:
        assert digest.behind[0].name in page
    assert f"Đề nghị sửa số liệu đang chờ: {format_number(digest.corrections)}" in page


def _runner(db_url, **config):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "cli", **config})
    return app, app.test_cli_runner()


def test_send_weekly_emails_each_leader_with_an_address(db_url, session, smtp_server):
    tinh, cum = _leader(session, "lanhdao.tinh"), _leader(session, "lanhdao.cum")
    tinh.email, cum.email = "thang@bacninh.gov.vn", "bounce@bacninh.gov.vn"
    session.add_all([tinh, cum])
    session.commit()
    app, runner = _runner(db_url, SMTP_URL=smtp_server.url)
    result = runner.invoke(args=["digest", "send-weekly", "--today", DEMO_TODAY.isoformat()])
    assert result.exit_code == 1
    assert "Đã gửi tổng hợp tuần cho 1 lãnh đạo." in result.output
    assert "Chưa gửi được cho lanhdao.cum" in result.output and "550" in result.output
    (mail,) = smtp_server.inbox
    assert mail.recipients == ["thang@bacninh.gov.vn"]
    assert mail.subject == "Tổng hợp tuần đến 22/11/2026 – Tỉnh Bắc Ninh"
    digest = build_weekly_digest(session, scope=scope_for(session, tinh), today=DEMO_TODAY)
    body = mail.body()
    assert body.startswith("Kính gửi Lê Văn Thắng,")
    assert f"Đơn vị chậm so với chỉ tiêu ({len(digest.behind)}):" in body
    assert f"Hẹn quá hạn chưa thăm lại, chưa đóng: {format_number(digest.overdue)}" in body
    for unit in digest.behind:
        assert f"  - {unit.name}: " in body
    assert "Cam kết họp kiểm điểm đến hạn: 0" in body
    assert mail.attachments() == []
