"""The running tallies agree with a rebuild from the raw visits, after any mix of new visits."""

import hashlib
import json
import random
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from outreach.core.clock import VIETNAM
from outreach.core.periods import local_midnight, period_containing
from outreach.core.scope import scope_for
from outreach.leaders.review import review_flags
from outreach.models import (
    Campaign,
    CampaignReach,
    DailyTally,
    Household,
    LatestOutcome,
    Person,
    Summary,
    User,
    Visit,
)
from outreach.models.codes import Outcome, RefusalReason
from outreach.summaries.document import render_document_pdf
from outreach.summaries.service import (
    compute_figures,
    draft_summary,
    figures_of,
    publish_summary,
)
from outreach.tallies.service import rebuild_tallies
from outreach.visits.service import OutcomeInput, VisitInput, record_visit
from outreach.visits.sync import sync_visits
from tests.conftest import DEMO_TODAY, backend
from tests.dashboard.test_service import _may_enrol

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


def _outcome(session, rng, person):
    person_id = person.id
    code = rng.choice([o.value for o in Outcome])
    if code == Outcome.ENROLLED_NEW and not _may_enrol(session, person, DEMO_TODAY):
        code = Outcome.RENEWED.value  # what a canvasser records for a participant
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
                        tuple(_outcome(session, rng, p) for p in met),
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


# ---- concurrency: one household's late visits synced at the same moment -------------------------

THREADS = 12
ROUNDS = 3
BARRIER_TIMEOUT = 60


def _record_at_once(engine, canvasser_id: int, household_id: int, person_id: int, times) -> list:
    """Each time recorded by its own thread and session, all released together; the errors."""
    barrier = threading.Barrier(len(times), timeout=BARRIER_TIMEOUT)
    errors: list[str] = []

    def work(at):
        try:
            with Session(engine, expire_on_commit=False) as own:
                canvasser = own.get(User, canvasser_id)
                scope = scope_for(own, canvasser)
                data = VisitInput(
                    str(uuid.uuid4()),
                    household_id,
                    "home",
                    (OutcomeInput(person_id, Outcome.NOT_HOME),),
                    visited_at=at,
                )
                barrier.wait()
                record_visit(
                    own, canvasser=canvasser, scope=scope, data=data, today=DEMO_TODAY, now=NOW
                )
                own.commit()
        except Exception as error:  # reported below, with the thread's traceback
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=work, args=(at,)) for at in times]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    return errors


@pytest.mark.postgres_only
@pytest.mark.skipif(backend() != "postgresql", reason="SQLite serialises writers itself")
def test_late_visits_to_one_household_synced_at_once_count_it_once(app, session):
    """Issue 19 #11: two late syncs at once both saw no earlier visit and both counted the
    household as reached (30 at once: 5 counted, 2 true). The count now waits for the household."""
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    period_start = datetime(2026, 11, 15, 17, 0, tzinfo=UTC)  # 16/11 00:00 in Vietnam
    visited = select(Visit.household_id).where(Visit.visited_at >= period_start)
    households = session.exec(
        select(Household)
        .where(Household.commune_id == canvasser.scope_unit_id, Household.id.not_in(visited))
        .order_by(Household.id)
        .limit(ROUNDS)
    ).all()
    assert len(households) == ROUNDS
    rng = random.Random(11)
    for household in households:
        person = session.exec(select(Person).where(Person.household_id == household.id)).first()
        # A visit of today is stored (and counted) first; the others, made earlier in the same
        # half-month, arrive late and all at once.
        errors = _record_at_once(
            app.extensions["engine"], canvasser.id, household.id, person.id, [NOW]
        )
        late = [
            period_start + timedelta(minutes=rng.randint(0, 6 * 24 * 60)) for _ in range(THREADS)
        ]
        errors += _record_at_once(
            app.extensions["engine"], canvasser.id, household.id, person.id, late
        )
        assert errors == []
    session.expire_all()
    maintained = _snapshot(session)
    reached = sum(
        n
        for (_, day, metric), n in maintained[0].items()
        if metric == "households" and day >= DEMO_TODAY.replace(day=16)
    )
    rebuild_tallies(session, province_id=households[0].province_id)
    session.commit()
    rebuilt = _snapshot(session)
    assert reached == sum(
        n
        for (_, day, metric), n in rebuilt[0].items()
        if metric == "households" and day >= DEMO_TODAY.replace(day=16)
    )
    differ = {
        k: (maintained[0].get(k), rebuilt[0].get(k))
        for k in set(maintained[0]) | set(rebuilt[0])
        if maintained[0].get(k) != rebuilt[0].get(k)
    }
    assert differ == {}
    assert rebuilt == maintained


# ---- late visits: a published bulletin never changes (issue 19 #15) ------------------------------


def test_a_visit_dated_in_a_published_period_counts_in_the_period_it_arrived_in(session):
    """A visit synced into a half-month whose bulletin is published rewrote that half-month's
    tallies: the published figures no longer matched the dashboard, and the next correction would
    have carried it. It now counts on the day it arrived, in the current draft, flagged late."""
    campaign = session.exec(select(Campaign)).one()
    admin = session.exec(select(User).where(User.username == "admin")).one()
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    leader = session.exec(select(User).where(User.username == "lanhdao.07210")).one()
    published_period = period_containing(date(2026, 11, 10))
    current = period_containing(DEMO_TODAY)
    draft = draft_summary(
        session, campaign=campaign, period=published_period, user_id=admin.id, now=NOW
    )
    session.commit()
    published = publish_summary(
        session, summary_id=draft.id, user_id=admin.id, now=NOW, today=DEMO_TODAY
    )
    session.commit()
    frozen, digest = published.figures_json, published.content_hash
    draft_before = compute_figures(session, campaign=campaign, period=current, cutoff=NOW)

    (h, members), (h2, members2) = [
        (h, session.exec(select(Person).where(Person.household_id == h.id)).all())
        for h in session.exec(
            select(Household)
            .where(Household.commune_id == canvasser.scope_unit_id)
            .order_by(Household.id)
            .limit(2)
        )
    ]
    # Both dated in the published half-month and within the offline window: a payment too.
    items = [
        {
            "client_uuid": str(uuid.uuid4()),
            "household_id": h.id,
            "channel": "home",
            "visited_at": "2026-11-14T09:00:00+07:00",
            "outcomes": [
                {"person_id": members[0].id, "outcome": "renewed", "months_paid": 3, "amount": 1}
            ],
        },
        {
            "client_uuid": str(uuid.uuid4()),
            "household_id": h2.id,
            "channel": "phone",
            "visited_at": "2026-11-15T20:00:00+07:00",
            "outcomes": [{"person_id": members2[0].id, "outcome": "not_home"}],
        },
    ]
    results = sync_visits(
        session,
        canvasser=canvasser,
        scope=scope_for(session, canvasser),
        items=items,
        today=DEMO_TODAY,
        now=NOW,
        secret="late-test",
    )
    assert [r.status for r in results] == ["stored", "stored"], results
    session.expire_all()

    # The published version is untouched, and its half-month still counts what it published.
    again = session.get(Summary, published.id)
    assert (again.figures_json, again.content_hash) == (frozen, digest)
    recount = compute_figures(
        session, campaign=campaign, period=published_period, cutoff=published.cutoff_at
    )
    recount = json.loads(json.dumps(recount, ensure_ascii=False, sort_keys=True))
    assert recount == figures_of(again)
    assert hashlib.sha256(render_document_pdf(recount)).hexdigest() == digest

    # The visits are in the current half-month's draft, counted on the day they arrived.
    draft_after = compute_figures(session, campaign=campaign, period=current, cutoff=NOW)

    def commune(figures):
        row = next(c for c in figures["communes"] if c["id"] == canvasser.scope_unit_id)
        return row["period"]

    assert commune(draft_after)["visits"] == commune(draft_before)["visits"] + 2
    assert commune(draft_after)["renewals"] == commune(draft_before)["renewals"] + 1
    visits = session.exec(select(Visit).where(Visit.id.in_([r.visit_id for r in results]))).all()
    assert {v.counted_on for v in visits} == {NOW.astimezone(VIETNAM).date()}

    # Flagged for the leader, who confirms them.
    flags = review_flags(
        session,
        scope=scope_for(session, leader),
        since=local_midnight(DEMO_TODAY),
        until=local_midnight(DEMO_TODAY + timedelta(days=1)),
    )
    late = {f.visit.id for f in flags if "late" in f.reasons}
    assert late == {v.id for v in visits}

    # A rebuild from the raw visits counts them where they were counted.
    maintained = _snapshot(session)
    rebuild_tallies(session, province_id=campaign.province_id)
    session.commit()
    assert _snapshot(session) == maintained


def test_late_visits_keep_the_tallies_equal_to_a_rebuild(session):
    """Households reached and campaign reach follow the counted day too."""
    canvasser = session.exec(select(User).where(User.username == "canbo.07210.1")).one()
    households = session.exec(
        select(Household).where(Household.commune_id == canvasser.scope_unit_id).limit(4)
    ).all()
    rng = random.Random(5)
    for h in households:
        person = session.exec(select(Person).where(Person.household_id == h.id)).first()
        # A household visited now and long ago, in both orders: "reached" once per half-month.
        for days in rng.sample([0, 40, 400, 1], k=3):
            record_visit(
                session,
                canvasser=canvasser,
                scope=scope_for(session, canvasser),
                data=VisitInput(
                    str(uuid.uuid4()),
                    h.id,
                    "home",
                    (OutcomeInput(person.id, Outcome.NOT_HOME),),
                    visited_at=NOW - timedelta(days=days, hours=1),
                ),
                today=DEMO_TODAY,
                now=NOW,
            )
            session.commit()
    assert session.exec(select(Visit).where(Visit.counted_on.is_not(None))).first()
    maintained = _snapshot(session)
    rebuild_tallies(session, province_id=households[0].province_id)
    session.commit()
    assert _snapshot(session) == maintained
