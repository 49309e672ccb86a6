"""Milestones per commune, the communes that must hold a review, review meetings with
commitments that come back as reminders on their date."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date

from sqlmodel import select

from outreach.campaigns.milestones import MilestoneError, add_milestone, milestone_board
from outreach.campaigns.service import active_campaign
from outreach.core.scope import scope_for
from outreach.dashboard.service import dashboard_for
from outreach.digest.service import build_weekly_digest
from outreach.models import AuditLog, Commitment, DailyTally, ReviewMeeting, User
from tests.conftest import DEMO_TODAY, csrf_token, login

MISSED_ON = date(2026, 10, 31)
SHARE = 0.9  # demanding: some of the demo's communes miss it


def _user(session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _setup(session):
    campaign = active_campaign(session, province_id=_user(session, "admin").scope_unit_id)
    add_milestone(session, campaign=campaign, kind="target_share", due_on=MISSED_ON, share=SHARE)
    add_milestone(session, campaign=campaign, kind="review", due_on=date(2026, 11, 7))
    add_milestone(session, campaign=campaign, kind="finish", due_on=date(2026, 11, 30))
    session.commit()
    return campaign


def _done_by(session, scope, campaign, last: date) -> dict[int, int]:
    """New participants and renewals per commune from the raw daily tallies."""
    done = defaultdict(int)
    for t in session.exec(select(DailyTally)).all():
        if (
            scope.covers_commune(t.commune_id)
            and campaign.starts_on <= t.day <= last
            and t.metric in ("enrolled_new", "renewed")
        ):
            done[t.commune_id] += t.count
    return done


def test_milestones_are_checked(session):
    campaign = _setup(session)
    for kwargs, words in (
        ({"kind": "target_share", "due_on": date(2026, 10, 1), "share": 0}, "tỷ lệ"),
        ({"kind": "finish", "due_on": date(2027, 3, 1)}, "trong thời gian"),
        ({"kind": "review", "due_on": date(2026, 11, 7)}, "đã có mốc"),
        ({"kind": "lunch", "due_on": date(2026, 11, 8)}, "không hợp lệ"),
    ):
        try:
            add_milestone(session, campaign=campaign, **kwargs)
        except MilestoneError as error:
            assert words in str(error)
        else:
            raise AssertionError(kwargs)


def test_communes_against_the_next_milestone_and_those_that_must_review(session):
    campaign = _setup(session)
    scope = scope_for(session, _user(session, "lanhdao.cum"))
    board = milestone_board(session, scope=scope, campaign=campaign, today=DEMO_TODAY)
    assert board.next_milestone.kind == "finish"
    targets = {
        r.id: r.target
        for r in dashboard_for(session, scope=scope, campaign=campaign, today=DEMO_TODAY).rows
    }
    now, then = (
        _done_by(session, scope, campaign, DEMO_TODAY),
        _done_by(session, scope, campaign, MISSED_ON),
    )
    assert {u.id: (u.done, u.expected) for u in board.units} == {
        c: (now[c], t) for c, t in targets.items() if t
    }
    must = {c for c, t in targets.items() if t and then[c] < math.ceil(t * SHARE)}
    assert must, "the demo has communes behind at 31/10"
    assert {r.id for r in board.reviews_due} == must
    assert all(r.review_by.due_on == date(2026, 11, 7) for r in board.reviews_due)


def _meeting_form(client, **fields):
    data = {
        "held_on": "2026-11-05",
        "attendees": "Ban chỉ đạo cụm, Bưu điện, UBND xã",
        "findings": "Chưa bám danh sách quá hạn; cán bộ thôn chưa vào cuộc.",
        "decision": "criticism",
        "decision_text": "Phê bình xã chậm tiến độ",
        "commitment_1": "Rà soát toàn bộ danh sách quá hạn",
        "owner_1": "Chủ tịch UBND xã",
        "due_1": "2026-11-25",
        "csrf_token": csrf_token(client, "/leader/meetings"),
        **fields,
    }
    return client.post("/leader/meetings", data=data)


def test_a_meeting_takes_the_commune_off_the_review_list_and_its_commitment_comes_back(
    app, login_as, session
):
    campaign = _setup(session)
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    scope = scope_for(session, _user(session, "lanhdao.cum"))
    due = milestone_board(session, scope=scope, campaign=campaign, today=DEMO_TODAY).reviews_due
    client = login_as("lanhdao.cum")
    page = client.get("/leader/meetings").get_data(as_text=True)
    assert 'id="reviews-due"' in page and due[0].name in page

    response = _meeting_form(client, unit_id=str(due[0].id))
    assert response.status_code == 303, response.get_data(as_text=True)
    after = milestone_board(session, scope=scope, campaign=campaign, today=DEMO_TODAY)
    assert due[0].id not in {r.id for r in after.reviews_due}
    assert len(after.reviews_due) == len(due) - 1
    assert session.exec(select(AuditLog).where(AuditLog.action == "review_meeting.create")).one()

    # Not yet due on the 22nd; on the 25th it is on the leader's home until marked done.
    assert 'id="reminders"' not in client.get("/").get_data(as_text=True)
    app.config["OUTREACH_TODAY"] = date(2026, 11, 25)
    home = client.get("/").get_data(as_text=True)
    assert 'id="reminders"' in home and "Rà soát toàn bộ danh sách quá hạn" in home
    commitment_id = int(re.search(r"/leader/commitments/(\d+)/done", home).group(1))
    assert build_weekly_digest(session, scope=scope, today=date(2026, 11, 25)).commitments_due == 1
    # The province's leader sees it too; a commune leader of another group does not.
    for username, sees in (("lanhdao.tinh", True), ("lanhdao.07210", False)):
        other = app.test_client()
        login(other, username)
        assert ("Rà soát toàn bộ" in other.get("/").get_data(as_text=True)) is sees
    done = client.post(
        f"/leader/commitments/{commitment_id}/done", data={"csrf_token": csrf_token(client, "/")}
    )
    assert done.status_code == 303
    assert 'id="reminders"' not in client.get("/").get_data(as_text=True)
    session.expire_all()
    assert session.get(Commitment, commitment_id).done_at is not None


def test_a_bad_meeting_is_refused_and_nothing_is_written(app, login_as, session):
    _setup(session)
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    outside = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    client = login_as("lanhdao.cum")
    cum = scope_for(session, _user(session, "lanhdao.cum"))
    inside = sorted(cum.commune_ids)[0]
    assert not cum.covers_commune(outside.scope_unit_id)
    for fields, words in (
        ({"unit_id": str(outside.scope_unit_id)}, "không thuộc phạm vi"),
        ({"unit_id": str(inside), "held_on": "2026-11-23"}, "không sau hôm nay"),
        ({"unit_id": str(inside), "owner_1": ""}, "người thực hiện"),
        ({"unit_id": str(inside), "due_1": "2026-11-01"}, "từ ngày họp"),
        ({}, "ít nhất một xã"),
    ):
        response = _meeting_form(client, **fields)
        assert response.status_code == 400
        assert words in response.get_data(as_text=True)
    assert session.exec(select(ReviewMeeting)).all() == []


def test_an_admin_adds_milestones_on_the_page(app, login_as, session):
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    client = login_as("admin")
    page = client.get("/leader/meetings").get_data(as_text=True)
    assert "Thêm mốc" in page and "Chiến dịch chưa có mốc nào." in page
    token = csrf_token(client, "/leader/meetings")
    added = client.post(
        "/leader/milestones",
        data={"kind": "target_share", "due_on": "2026-12-15", "share": "75,5", "csrf_token": token},
    )
    assert added.status_code == 303
    page = client.get("/leader/meetings").get_data(as_text=True)
    assert "15/12/2026: Đạt tỷ lệ chỉ tiêu 75,50%" in page
    assert "So với mốc tiếp theo: Đạt tỷ lệ chỉ tiêu ngày 15/12/2026" in page
    refused = client.post(
        "/leader/milestones",
        data={"kind": "target_share", "due_on": "2026-12-16", "share": "", "csrf_token": token},
    )
    assert refused.status_code == 400 and "cần tỷ lệ" in refused.get_data(as_text=True)


def test_the_dashboard_names_the_communes_short_of_the_next_milestone(app, login_as, session):
    campaign = _setup(session)
    app.config["OUTREACH_TODAY"] = DEMO_TODAY
    scope = scope_for(session, _user(session, "lanhdao.cum"))
    short = [
        u
        for u in milestone_board(session, scope=scope, campaign=campaign, today=DEMO_TODAY).units
        if u.gap
    ]
    assert short
    page = login_as("lanhdao.cum").get("/dashboard").get_data(as_text=True)
    assert f"Mốc tiếp theo ngày 30/11/2026: {len(short)} xã, phường chưa đạt mức của mốc" in page
    assert short[0].name in page.split('id="next-milestone"')[1].split("</p>")[0]
