"""Precomputed household priorities agree with the engine and follow new visits."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from outreach.models import GeoUnit, Household, Person, User, Visit, VisitOutcome
from outreach.worklist.priority import Reason
from outreach.worklist.service import (
    decode_reasons,
    mark_stale,
    refresh_commune,
    refresh_household,
    stale_communes,
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
    assert on_list and all(decode_reasons(h.priority_reasons) for h in on_list)
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
    assert decode_reasons(best.priority_reasons)[0].reason == Reason.FOLLOW_UP_DUE


def test_worklist_pages_follow_on_without_repeats(session):
    from outreach.core.scope import scope_for
    from outreach.worklist.service import worklist_for

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
