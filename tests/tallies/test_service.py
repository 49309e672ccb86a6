"""The running tallies agree with a rebuild from the raw visits, after any mix of new visits."""

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.models import CampaignReach, DailyTally, Household, LatestOutcome, Person, User
from outreach.models.codes import Outcome, RefusalReason
from outreach.tallies.service import rebuild_tallies
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from tests.conftest import DEMO_TODAY

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _snapshot(session):
    tallies = {
        (t.commune_id, t.day, t.metric): t.count for t in session.exec(select(DailyTally)).all()
    }
    reach = {
        (r.campaign_id, r.household_id): (r.commune_id, r.first_visit_at)
        for r in session.exec(select(CampaignReach)).all()
    }
    latest = {
        o.person_id: (o.outcome_id, o.outcome, o.follow_up_on, o.commune_id)
        for o in session.exec(select(LatestOutcome)).all()
    }
    return tallies, reach, latest


def _outcome(rng, person_id):
    code = rng.choice([o.value for o in Outcome])
    if code in (Outcome.PROMISED, Outcome.CONSIDERING):
        return OutcomeInput(person_id, code, follow_up_on=DEMO_TODAY + timedelta(days=3))
    if code == Outcome.REFUSED:
        return OutcomeInput(person_id, code, refusal_reason=rng.choice(list(RefusalReason)))
    if code in (Outcome.ENROLLED_NEW, Outcome.RENEWED):
        return OutcomeInput(person_id, code, months_paid=3, amount=990_000)
    return OutcomeInput(person_id, code)


def test_new_visits_keep_the_tallies_equal_to_a_rebuild(session):
    rng = random.Random(3)
    canvassers = session.exec(select(User).where(User.username.like("canbo.%"))).all()[:3]
    before, _, _ = _snapshot(session)
    recorded = 0
    for canvasser in canvassers:
        households = session.exec(
            select(Household).where(Household.commune_id == canvasser.scope_unit_id).limit(8)
        ).all()
        for h in households:
            members = session.exec(select(Person).where(Person.household_id == h.id)).all()
            met = rng.sample(members, k=rng.randint(1, len(members)))
            # Some visits were made days ago, offline, and only arrive now, after later ones:
            # a person's latest outcome must stay the later one.
            for _ in range(rng.choice([1, 2])):
                at = NOW - timedelta(days=rng.choice([0, 0, 1, 6]), hours=rng.randint(0, 20))
                record_visit(
                    session,
                    canvasser=canvasser,
                    scope=scope_for(session, canvasser),
                    data=VisitInput(
                        str(uuid.uuid4()),
                        h.id,
                        "home",
                        tuple(_outcome(rng, p.id) for p in met),
                        visited_at=at,
                    ),
                    today=DEMO_TODAY,
                    now=NOW,
                )
                session.commit()
                recorded += 1
    maintained = _snapshot(session)
    assert sum(n for (_, _, m), n in maintained[0].items() if m == "visits") == (
        sum(n for (_, _, m), n in before.items() if m == "visits") + recorded
    )
    rebuild_tallies(session, province_id=households[0].province_id)
    session.commit()
    rebuilt = _snapshot(session)
    differ = {
        k: (maintained[0].get(k), rebuilt[0].get(k))
        for k in set(maintained[0]) | set(rebuilt[0])
        if maintained[0].get(k) != rebuilt[0].get(k)
    }
    assert differ == {}
    assert rebuilt == maintained
