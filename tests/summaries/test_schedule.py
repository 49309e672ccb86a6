"""On the 15th and the month's last day the bulletin drafts itself and admins find a notice."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from outreach.core.clock import VIETNAM
from outreach.models import Notice, Summary, User
from outreach.summaries.schedule import draft_due_bulletins, due_period
from outreach.summaries.service import publish_summary
from tests.conftest import DEMO_TODAY, csrf_token


def _at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM)


def _summaries(session) -> list[Summary]:
    session.expire_all()
    return list(session.exec(select(Summary).order_by(Summary.id)))


def _notices(session) -> list[tuple[str, str]]:
    rows = session.exec(select(Notice, User).join(User, User.id == Notice.user_id)).all()
    return sorted((user.username, notice.text) for notice, user in rows)


def test_only_the_last_day_of_a_period_from_the_draft_hour_is_due():
    assert due_period(_at(15, 16, 59), 17) is None
    assert due_period(_at(15, 17), 17).key == "2026-11-15"
    assert due_period(_at(30, 23, 30), 17).key == "2026-11-30"
    assert due_period(_at(14, 18), 17) is None
    assert due_period(_at(29, 18), 17) is None  # November has 30 days
    assert due_period(datetime(2027, 2, 28, 17, tzinfo=VIETNAM), 17).ends_on.day == 28
    # 10:30 UTC on the 30th is 17:30 in Vietnam: the due day counts in Vietnam's time.
    assert due_period(datetime.fromisoformat("2026-11-30T10:30:00+00:00"), 17) is not None


def test_the_draft_is_made_once_and_every_admin_is_told_once(session, client, login_as):
    assert draft_due_bulletins(session, now=_at(30, 16), hour=17) == []
    assert _summaries(session) == []

    (done,) = draft_due_bulletins(session, now=_at(30, 17, 5), hour=17)
    session.commit()
    assert done.drafted and done.notified == 1 and done.period.key == "2026-11-30"
    (draft,) = _summaries(session)
    assert draft.status == "draft" and draft.created_by_id is None
    assert draft.cutoff_at == _at(30, 17, 5)
    assert _notices(session) == [
        (
            "admin",
            "Bản nháp bản tin ngày 30/11/2026 đã được lập tự động lúc 17:05: hãy kiểm tra số "
            "liệu rồi công bố.",
        )
    ]

    # The hourly cron runs again: nothing new, and the draft keeps its cut-off.
    (again,) = draft_due_bulletins(session, now=_at(30, 18, 5), hour=17)
    session.commit()
    assert not again.drafted and again.notified == 0 and again.summary_id == draft.id
    assert [s.cutoff_at for s in _summaries(session)] == [_at(30, 17, 5)]
    assert len(_notices(session)) == 1

    home = login_as("admin").get("/").get_data(as_text=True)
    assert 'id="notices"' in home and "đã được lập tự động lúc 17:05" in home
    assert 'href="/summaries/2026-11-30"' in home


def test_a_period_published_early_is_not_drafted_again(session):
    (done,) = draft_due_bulletins(session, now=_at(15, 17), hour=17)
    publish_summary(session, summary_id=done.summary_id, user_id=None, today=DEMO_TODAY)
    session.commit()
    assert draft_due_bulletins(session, now=_at(15, 23), hour=17)[0].drafted is False
    assert [s.status for s in _summaries(session)] == ["published"]


def test_a_draft_cut_before_the_hour_is_refreshed_at_the_hour(session):
    (early,) = draft_due_bulletins(session, now=_at(15, 8), hour=8)
    session.commit()
    (due,) = draft_due_bulletins(session, now=_at(15, 17), hour=17)
    session.commit()
    assert due.drafted and due.summary_id == early.summary_id
    assert [s.cutoff_at for s in _summaries(session)] == [_at(15, 17)]


def test_an_admin_dismisses_the_notice(session, login_as):
    draft_due_bulletins(session, now=_at(30, 17), hour=17)
    session.commit()
    notice = session.exec(select(Notice)).one()
    client = login_as("admin")
    response = client.post(
        f"/notices/{notice.id}/dismiss", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 303
    assert 'id="notices"' not in client.get("/").get_data(as_text=True)
    session.expire_all()
    assert session.get(Notice, notice.id).dismissed_at is not None
