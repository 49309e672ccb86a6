"""Precomputed household priorities agree with the engine and follow new visits."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from outreach.campaigns.service import active_campaign
from outreach.core.scope import scope_for
from outreach.dashboard.service import count_overdue, list_overdue
from outreach.imports.reading import read_table, stream_rows
from outreach.imports.writer import import_rows
from outreach.leaders.followthrough import followthrough
from outreach.models import GeoUnit, Household, Person, User, Visit, VisitOutcome
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from outreach.worklist.priority import Reason
from outreach.worklist.service import (
    decode_reasons,
    mark_stale,
    refresh_commune,
    refresh_household,
    stale_communes,
    worklist_for,
)
from tests.conftest import DEMO_TODAY


def _commune(session):
    return session.exec(select(GeoUnit).where(GeoUnit.code == "07210")).one()


def test_refresh_stamps_every_household_of_the_commune(session):
    commune = _commune(session)
    assert stale_communes(session, commune_ids=[commune.id], today=DEMO_TODAY) == [commune.id]
    written = refresh_commune(session, commune_id=commune.id, today=DEMO_TODAY)
    session.commit()
    households = session.exec(select(Household).where(Household.commune_id == commune.id)).all()
    assert written == len(households) > 0
    assert all(h.priority_on == DEMO_TODAY for h in households)
    assert stale_communes(session, commune_ids=[commune.id], today=DEMO_TODAY) == []
    on_list = [h for h in households if h.priority_score > 0]
    assert on_list and all(decode_reasons(h.priority_reasons, today=DEMO_TODAY) for h in on_list)
    off = [h for h in households if h.priority_score == 0]
    assert all(h.priority_reasons == "[]" for h in off)


def test_a_commune_is_stale_on_a_new_day_and_after_mark_stale(session):
    commune = _commune(session)
    refresh_commune(session, commune_id=commune.id, today=DEMO_TODAY)
    refresh_commune(session, commune_id=commune.id, today=DEMO_TODAY)  # a second stamp is fine
    session.commit()
    assert stale_communes(session, commune_ids=[commune.id], today=DEMO_TODAY) == []
    tomorrow = DEMO_TODAY + timedelta(days=1)
    assert stale_communes(session, commune_ids=[commune.id], today=tomorrow) == [commune.id]
    mark_stale(session, commune_ids=[commune.id])
    session.commit()
    assert stale_communes(session, commune_ids=[commune.id], today=DEMO_TODAY) == [commune.id]


def test_a_promise_due_today_puts_the_household_on_top(session):
    commune = _commune(session)
    refresh_commune(session, commune_id=commune.id, today=DEMO_TODAY)
    session.commit()
    households = session.exec(
        select(Household)
        .where(Household.commune_id == commune.id)
        .order_by(Household.priority_score)
    ).all()
    lowest = next(h for h in households if h.priority_score > 0)
    person = session.exec(select(Person).where(Person.household_id == lowest.id)).first()
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    at = datetime.combine(DEMO_TODAY - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    visit = Visit(
        client_uuid=str(uuid.uuid4()),
        household_id=lowest.id,
        canvasser_id=canvasser.id,
        province_id=lowest.province_id,
        commune_id=commune.id,
        visited_at=at,
        channel="home",
    )
    session.add(visit)
    session.flush()
    session.add(
        VisitOutcome(
            visit_id=visit.id,
            person_id=person.id,
            province_id=lowest.province_id,
            commune_id=commune.id,
            visited_at=at,
            outcome="promised",
            follow_up_on=DEMO_TODAY,
        )
    )
    session.flush()
    priority = refresh_household(session, household_id=lowest.id, today=DEMO_TODAY)
    session.commit()
    assert priority.reasons[0].reason == Reason.FOLLOW_UP_DUE and priority.reasons[0].days == 0
    best = session.exec(
        select(Household)
        .where(Household.commune_id == commune.id)
        .order_by(Household.priority_score.desc())
    ).first()
    assert decode_reasons(best.priority_reasons, today=DEMO_TODAY)[0].reason == Reason.FOLLOW_UP_DUE


def test_worklist_pages_follow_on_without_repeats(session):
    me = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    scope = scope_for(session, me)
    whole = worklist_for(session, scope=scope, canvasser_id=me.id, today=DEMO_TODAY, limit=100)
    assert whole.total >= 3 and not whole.has_more
    first = worklist_for(session, scope=scope, canvasser_id=me.id, today=DEMO_TODAY, limit=2)
    second = worklist_for(
        session, scope=scope, canvasser_id=me.id, today=DEMO_TODAY, offset=2, limit=2
    )
    assert first.has_more and len(first.rows) == 2
    ids = [r.household.id for r in first.rows + second.rows]
    assert ids == [r.household.id for r in whole.rows[:4]] and len(set(ids)) == len(ids)


PAYMENTS_LIST = (
    "DANH SÁCH NỘP TIỀN BHXH TỰ NGUYỆN\nKỳ tháng 11/2026\n"
    "STT,Họ và tên,Mã số BHXH,Ngày nộp,Số tiền,Số tháng,Số biên lai\n"
    "1,{name},{bhxh},{paid},330.000,1,BL-W-0001\n"
)


def _promise_due(session, canvasser, *, considering=False):
    """A member (with a BHXH number) of one of the canvasser's households promises, ten days
    ago, to pay five days ago: a follow-up due on the worklist and overdue for the leaders."""
    person, household = session.exec(
        select(Person, Household)
        .join(Household, Household.id == Person.household_id)
        .where(Household.assigned_canvasser_id == canvasser.id, Person.bhxh_number.is_not(None))
        .order_by(Person.id)
    ).first()
    at = datetime(2026, 11, 12, 3, 0, tzinfo=UTC)  # 10:00 on 12/11 in Hà Nội
    record_visit(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        data=VisitInput(
            str(uuid.uuid4()),
            household.id,
            "home",
            (
                OutcomeInput(
                    person.id,
                    "considering" if considering else "promised",
                    follow_up_on=DEMO_TODAY - timedelta(days=5),
                ),
            ),
            visited_at=at,
        ),
        today=DEMO_TODAY,
        now=at,
    )
    session.commit()
    return person, household


def _import_payment(session, person, paid):
    data = PAYMENTS_LIST.format(
        name=person.full_name, bhxh=person.bhxh_number, paid=paid.strftime("%d/%m/%Y")
    ).encode("utf-8")
    sheet, rows = stream_rows(read_table(data, "nop-tien.csv"), "payments")
    assert sheet.match.ok, sheet.match.missing_labels()
    report = import_rows(
        session, rows=rows, kind="payments", province_id=person.province_id, write=True
    )
    session.commit()
    assert report.payments == 1, report.errors


@pytest.mark.parametrize("considering", [False, True])
def test_a_payments_list_closes_the_promise_everywhere_at_once(session, considering):
    me = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    leader = session.exec(select(User).where(User.username == "lanhdao.07210")).one()
    scope = scope_for(session, leader)
    campaign = active_campaign(session, province_id=scope.province_id)
    person, household = _promise_due(session, me, considering=considering)

    def state():
        session.expire_all()
        worklist = worklist_for(
            session, scope=scope_for(session, me), canvasser_id=me.id, today=DEMO_TODAY, limit=500
        )
        reasons = {
            line.reason
            for row in worklist.rows
            if row.household.id == household.id
            for line in row.reasons
        }
        overdue = {
            o.person_id
            for o, _ in list_overdue(session, scope=scope, today=DEMO_TODAY, offset=0, limit=500)
        }
        report = followthrough(session, scope=scope, campaign=campaign, today=DEMO_TODAY)
        return reasons, overdue, count_overdue(session, scope=scope, today=DEMO_TODAY), report

    reasons, overdue, count, report = state()
    assert Reason.FOLLOW_UP_DUE in reasons and person.id in overdue
    # A payment before the promise was made closes nothing.
    _import_payment(session, person, DEMO_TODAY - timedelta(days=20))
    assert state()[1] == overdue
    # The list shows them paid three days ago: the worklist, the overdue follow-ups and the
    # promises page all know it on the next request.
    _import_payment(session, person, DEMO_TODAY - timedelta(days=3))
    after_reasons, after_overdue, after_count, after_report = state()
    assert Reason.FOLLOW_UP_DUE not in after_reasons
    assert after_overdue == overdue - {person.id} and after_count == count - 1
    if not considering:
        assert after_report.total.kept == report.total.kept + 1
