"""The bulletin's praise and criticism box quotes the review meetings' decisions of the period."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from outreach.core.periods import period_from_key
from outreach.core.scope import scope_for
from outreach.leaders.meetings import record_meeting
from outreach.models import Campaign, GeoUnit, User
from outreach.summaries.document import render_document_html, render_document_pdf
from outreach.summaries.service import draft_summary, figures_of
from tests.conftest import DEMO_TODAY
from tests.smtp_server import pdf_text


def test_the_period_s_decisions_are_quoted_in_the_bulletin(session):
    leader = session.exec(select(User).where(User.username == "lanhdao.cum")).one()
    scope = scope_for(session, leader)
    campaign = session.exec(select(Campaign).where(Campaign.is_active)).first()
    communes = [session.get(GeoUnit, c) for c in sorted(scope.commune_ids)[:2]]
    for held_on, decision, text, units in (
        (date(2026, 11, 20), "praise", "Về đích sớm, làm tốt rà soát danh sách", communes[:1]),
        (date(2026, 11, 21), "criticism", "Chậm tiến độ, chưa bám hộ quá hạn", communes[1:]),
        (date(2026, 11, 10), "praise", "Họp kỳ trước: không vào bản tin này", communes[:1]),
        (date(2026, 11, 21), "none", "Không kết luận", communes[:1]),
    ):
        record_meeting(
            session,
            scope=scope,
            campaign=campaign,
            held_on=held_on,
            unit_ids=[u.id for u in units],
            attendees="",
            findings="Nhận xét",
            decision=decision,
            decision_text=text,
            commitments=[],
            by_user=leader,
            today=DEMO_TODAY,
        )
    draft = draft_summary(
        session, campaign=campaign, period=period_from_key("2026-11-30"), user_id=leader.id
    )
    decisions = figures_of(draft)["decisions"]
    assert [(d["kind"], d["text"], d["units"]) for d in decisions] == [
        ("praise", "Về đích sớm, làm tốt rà soát danh sách", [communes[0].name]),
        ("criticism", "Chậm tiến độ, chưa bám hộ quá hạn", [communes[1].name]),
    ]
    html = str(render_document_html(figures_of(draft)))
    assert f"<strong>Biểu dương</strong> {communes[0].name} (họp ngày 20/11/2026)" in html
    assert "“Chậm tiến độ, chưa bám hộ quá hạn”" in html
    text = " ".join(pdf_text(render_document_pdf(figures_of(draft))).split())
    assert "Kết luận họp kiểm điểm trong kỳ" in text
    assert "Về đích sớm, làm tốt rà soát danh sách" in text
    assert "Họp kỳ trước" not in text
