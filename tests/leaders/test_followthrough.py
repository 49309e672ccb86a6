"""Promise follow-through on constructed promises and payments, and a recount from raw rows."""

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import select

from outreach.campaigns.service import active_campaign
from outreach.core.clock import VIETNAM
from outreach.core.scope import scope_for
from outreach.leaders.followthrough import (
    GRACE_DAYS,
    followthrough,
    payments_known_through,
    promise_status,
)
from outreach.models import GeoUnit, Payment, Person, User, Visit, VisitOutcome
from tests.conftest import DEMO_TODAY


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def _report(session, username):
    leader = _user(session, username)
    scope = scope_for(session, leader)
    campaign = active_campaign(session, province_id=scope.province_id)
    return followthrough(session, scope=scope, campaign=campaign, today=DEMO_TODAY)


@pytest.fixture
def fresh_persons(session):
    """Persons of the biggest commune, its demo outcomes removed so constructed rows are alone."""
    by_commune = defaultdict(list)
    for person in session.exec(select(Person).order_by(Person.id)).all():
        by_commune[person.commune_id].append(person)
    commune_id, persons = max(by_commune.items(), key=lambda item: len(item[1]))
    assert len(persons) >= 10
    session.execute(delete(VisitOutcome).where(VisitOutcome.commune_id == commune_id))
    session.commit()
    commune = session.get(GeoUnit, commune_id)
    canvasser = session.exec(
        select(User).where(User.role == "canvasser", User.scope_unit_id == commune_id)
    ).first()
    return canvasser, persons, f"lanhdao.{commune.code}", commune.name


def _outcome(session, canvasser, person, at, outcome, follow_up_on=None):
    visit = Visit(
        client_uuid=str(uuid.uuid4()),
        household_id=person.household_id,
        canvasser_id=canvasser.id,
        province_id=person.province_id,
        commune_id=person.commune_id,
        visited_at=at,
        channel="home",
    )
    session.add(visit)
    session.flush()
    session.add(
        VisitOutcome(
            visit_id=visit.id,
            person_id=person.id,
            province_id=person.province_id,
            commune_id=person.commune_id,
            visited_at=at,
            outcome=outcome,
            follow_up_on=follow_up_on,
        )
    )


def _paid(session, person, on, *, new=False):
    session.add(
        Payment(
            person_id=person.id,
            province_id=person.province_id,
            commune_id=person.commune_id,
            paid_on=on,
            amount=330_000,
            months=1,
            is_new_enrollment=new,
        )
    )


def _morning(day):  # 10:00 in Hà Nội
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def test_promise_status_boundaries():
    visit, promised = date(2026, 11, 1), date(2026, 11, 5)
    deadline = promised + timedelta(days=GRACE_DAYS)
    today = date(2026, 11, 22)

    def status(*, kept=False, today=today, known=today):
        return promise_status(
            kept=kept, visit_day=visit, follow_up_on=promised, today=today, known_through=known
        )

    assert status(kept=True) == "kept" and status(kept=True, known=None) == "kept"
    assert status(today=deadline) == "pending" and status(today=deadline, known=None) == "pending"
    late = deadline + timedelta(days=1)
    assert status(today=late, known=deadline) == "broken"
    # The lists stop before the deadline, or there are none: nobody can tell.
    assert status(today=late, known=deadline - timedelta(days=1)) == "unknown"
    assert status(today=late, known=None) == "unknown"


def test_kept_broken_pending_unknown_and_reported_vs_confirmed(session, fresh_persons):
    canvasser, p, leader, commune_name = fresh_persons
    before = _report(session, leader)
    assert not before.has_payments and before.known_through is None
    d = date
    # Without any payments list, a promise whose deadline (21/11) passed is unknown, not broken.
    _outcome(session, canvasser, p[3], _morning(d(2026, 11, 1)), "promised", d(2026, 11, 14))
    session.commit()
    blind = _report(session, leader)
    assert (blind.total.broken, blind.total.unknown) == (0, before.total.unknown + 1)
    # Kept: paid after the visit, within the promised day + 7.
    _outcome(session, canvasser, p[0], _morning(d(2026, 11, 1)), "promised", d(2026, 11, 5))
    _paid(session, p[0], d(2026, 11, 10))
    # Kept on the last day of the grace.
    _outcome(session, canvasser, p[1], _morning(d(2026, 11, 1)), "promised", d(2026, 11, 5))
    _paid(session, p[1], d(2026, 11, 12))
    # Kept late: paid after the grace (the worklist stops chasing them at once too); an older
    # payment before the visit does not count.
    _outcome(session, canvasser, p[2], _morning(d(2026, 11, 1)), "promised", d(2026, 11, 5))
    _paid(session, p[2], d(2026, 11, 13))
    _paid(session, p[2], d(2026, 10, 30))
    # Not kept: visited 03:00 on 10/11 in Hà Nội (20:00 UTC on 9/11); paid on 9/11, before it.
    _outcome(
        session,
        canvasser,
        p[4],
        datetime(2026, 11, 9, 20, 0, tzinfo=UTC),
        "promised",
        d(2026, 11, 10),
    )
    _paid(session, p[4], d(2026, 11, 9))
    # Pending: promised for 20/11, grace until 27/11.
    _outcome(session, canvasser, p[5], _morning(d(2026, 11, 18)), "promised", d(2026, 11, 20))
    # Enrollments: reported and confirmed; reported only; reported but paid as a renewal.
    _outcome(session, canvasser, p[6], _morning(d(2026, 11, 2)), "enrolled_new")
    _paid(session, p[6], d(2026, 11, 3), new=True)
    _outcome(session, canvasser, p[7], _morning(d(2026, 11, 2)), "enrolled_new")
    _outcome(session, canvasser, p[8], _morning(d(2026, 11, 2)), "enrolled_new")
    _paid(session, p[8], d(2026, 11, 3))
    session.commit()

    after = _report(session, leader)
    assert after.has_payments and after.known_through == d(2026, 11, 13)
    delta = {
        k: getattr(after.total, k) - getattr(before.total, k)
        for k in ("kept", "broken", "pending", "unknown", "reported", "confirmed")
    }
    # p[3] (deadline 21/11) and p[4] (deadline 17/11) are not kept, but the lists reach 13/11
    # only: unknown.
    assert delta == {
        "kept": 3,
        "broken": 0,
        "pending": 1,
        "unknown": 2,
        "reported": 3,
        "confirmed": 1,
    }
    # A list reaching 21/11 (someone else paid that day) tells: both are broken now.
    _paid(session, p[9], d(2026, 11, 21))
    session.commit()
    later = _report(session, leader)
    assert (later.total.broken - before.total.broken, later.total.unknown) == (
        2,
        before.total.unknown,
    )
    assert [line.name for line in after.communes] == [commune_name]
    # Another commune's leader sees none of it, but the province's lists are theirs too.
    other = _report(session, "lanhdao.07210" if leader != "lanhdao.07210" else "lanhdao.09370")
    assert all(line.name != commune_name for line in other.communes)
    assert other.total.kept == 0 and other.has_payments


def test_province_totals_match_a_recount_from_raw_rows(session):
    # Payments for some demo persons who promised, so every status occurs.
    promised = session.exec(
        select(VisitOutcome).where(VisitOutcome.outcome == "promised").limit(60)
    ).all()
    for i, o in enumerate(promised):
        person = session.get(Person, o.person_id)
        day = o.visited_at.astimezone(VIETNAM).date()
        _paid(session, person, day + timedelta(days=(i % 4) * 6), new=i % 3 == 0)
    session.commit()
    report = _report(session, "lanhdao.tinh")
    campaign = active_campaign(session, province_id=_user(session, "admin").scope_unit_id)

    payments = defaultdict(list)
    new_paid = set()
    for pay in session.exec(select(Payment)).all():
        payments[pay.person_id].append(pay.paid_on)
        if pay.is_new_enrollment and pay.paid_on >= campaign.starts_on:
            new_paid.add(pay.person_id)
    known = max(pay.paid_on for pay in session.exec(select(Payment)).all())
    assert payments_known_through(session, province_id=campaign.province_id) == known
    counts = {"kept": 0, "broken": 0, "pending": 0, "unknown": 0}
    reported = set()
    for o in session.exec(select(VisitOutcome)).all():
        day = o.visited_at.astimezone(VIETNAM).date()
        if not campaign.starts_on <= day <= campaign.ends_on:
            continue
        if o.outcome == "enrolled_new":
            reported.add(o.person_id)
        if o.outcome != "promised":
            continue
        deadline = (o.follow_up_on or day) + timedelta(days=7)
        if any(paid >= day for paid in payments[o.person_id]):
            counts["kept"] += 1  # on or after the day of the promise, however late
        elif deadline >= DEMO_TODAY:
            counts["pending"] += 1
        elif known >= deadline:
            counts["broken"] += 1
        else:
            counts["unknown"] += 1
    assert counts["kept"] > 0 and counts["broken"] > 0
    assert {k: getattr(report.total, k) for k in counts} == counts
    assert report.total.reported == len(reported)
    assert report.total.confirmed == len(reported & new_paid) > 0
    assert sum(line.kept for line in report.communes) == report.total.kept
