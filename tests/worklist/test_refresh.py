"""A commune's refresh (read in bulk, written only where something changed) scores as the
household's refresh does, and the first page of a day still refreshes its stale communes."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import select

from outreach.models import Household, Person, PriorityRefresh, User
from outreach.worklist.priority import Reason
from outreach.worklist.service import (
    encode_reasons,
    ensure_fresh,
    mark_stale,
    refresh_commune,
    refresh_household,
    stale_communes,
    top_code,
)
from tests.conftest import DEMO_TODAY
from tests.leaders.test_followthrough import _outcome as record_outcome

NOT_WRITTEN = date(2000, 1, 1)  # a stamp no refresh writes: what keeps it was left alone


def _communes(session, count: int) -> list[int]:
    """The communes with the most households (the small demo leaves some nearly empty)."""
    return list(
        session.exec(
            select(Household.commune_id)
            .group_by(Household.commune_id)
            .order_by(func.count().desc(), Household.commune_id)
            .limit(count)
        ).all()
    )


_PRIORITY = (Household.priority_score, Household.priority_reasons, Household.priority_top)


def _columns(session, commune_id: int, *columns) -> dict[int, tuple]:
    """These household columns for each household of the commune, by household id."""
    rows = session.exec(
        select(Household.id, *columns).where(Household.commune_id == commune_id)
    ).all()
    return {hid: tuple(values) for hid, *values in rows}


def _stored(session, commune_id: int) -> dict[int, tuple[int, str, str, date | None]]:
    return _columns(session, commune_id, *_PRIORITY, Household.priority_on)


def test_a_commune_refresh_scores_every_household_as_its_own_refresh_does(session):
    """The commune's bulk read (the Vietnamese days computed by the database, rows handed to the
    engine as they are) and a visit's household refresh (ORM objects) give the same priority."""
    compared = 0
    for commune_id in _communes(session, 4):
        refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
        session.commit()
        for household_id, (score, reasons, top, _on) in _stored(session, commune_id).items():
            own = refresh_household(session, household_id=household_id, today=DEMO_TODAY)
            assert (own.score, encode_reasons(own.reasons), top_code(own)) == (score, reasons, top)
            compared += 1
        session.rollback()
    assert compared > 20


def test_a_refresh_writes_only_the_households_whose_priority_changed(session):
    """A second refresh of the day rewrites the household whose members all left the list (it
    goes off the list, as its own refresh puts it) and the one whose stored score was wrong;
    every other household is left as it was."""
    commune_id = _communes(session, 1)[0]
    refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
    session.commit()
    first = _stored(session, commune_id)
    on_list = sorted(hid for hid, (score, *_rest) in first.items() if score > 0)
    left, wrong = on_list[0], on_list[1]
    session.exec(update(Person).where(Person.household_id == left).values(off_list="objection"))
    session.exec(
        update(Household).where(Household.commune_id == commune_id).values(priority_on=NOT_WRITTEN)
    )
    session.exec(update(Household).where(Household.id == wrong).values(priority_score=1))
    mark_stale(session, commune_ids=[commune_id])
    session.commit()

    recomputed = refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
    session.commit()
    after = _stored(session, commune_id)
    assert recomputed == len(after)
    written = {hid for hid, (*_values, on) in after.items() if on == DEMO_TODAY}
    assert written == {left, wrong}
    assert after[left][:3] == (0, "[]", "")
    assert after[wrong][:3] == first[wrong][:3]
    assert stale_communes(session, commune_ids=[commune_id], today=DEMO_TODAY) == []


def test_the_first_page_of_a_day_refreshes_its_stale_communes_together(session):
    """`ensure_fresh` scores several stale communes in one transaction (each one's changed rows
    go through a table of that transaction on PostgreSQL) and stamps them all for the day."""
    communes = _communes(session, 3)
    tomorrow = date.fromordinal(DEMO_TODAY.toordinal() + 1)
    assert stale_communes(session, commune_ids=communes, today=tomorrow) == sorted(communes)
    ensure_fresh(session, commune_ids=communes, today=tomorrow)
    assert stale_communes(session, commune_ids=communes, today=tomorrow) == []
    stamps = session.exec(
        select(PriorityRefresh.refreshed_on).where(PriorityRefresh.commune_id.in_(communes))
    ).all()
    assert stamps == [tomorrow] * len(communes)
    for commune_id in communes:
        stored = _stored(session, commune_id)
        assert stored and all(reasons for _score, reasons, _top, _on in stored.values())
        assert any(on == tomorrow for *_values, on in stored.values())


def test_of_two_outcomes_on_one_day_the_later_one_counts_however_they_were_stored(session):
    """A promise at 09:00 and a refusal at 10:00 the same day (the refusal stored first): the
    refusal is the last word, in the commune's refresh as in the household's."""
    commune_id = _communes(session, 1)[0]
    person = session.exec(
        select(Person).where(Person.commune_id == commune_id).order_by(Person.id)
    ).first()
    canvasser = session.exec(
        select(User).where(User.role == "canvasser", User.scope_unit_id == commune_id)
    ).first()
    day = datetime(2026, 11, 20, tzinfo=UTC)
    # The refusal is stored first: read unordered, it came before the promise.
    record_outcome(session, canvasser, person, day + timedelta(hours=3), "refused")
    record_outcome(
        session, canvasser, person, day + timedelta(hours=2), "promised", date(2026, 11, 21)
    )
    session.commit()

    refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
    session.commit()
    stored = _stored(session, commune_id)[person.household_id]
    own = refresh_household(session, household_id=person.household_id, today=DEMO_TODAY)
    assert (own.score, encode_reasons(own.reasons), top_code(own)) == stored[:3]
    assert Reason.FOLLOW_UP_DUE not in {line.reason for line in own.reasons}
    session.rollback()


def _priorities(session, commune_id: int) -> dict[int, tuple]:
    """What a household row keeps of its priority: score, reasons, top reason, until, origin."""
    return _columns(
        session, commune_id, *_PRIORITY, Household.priority_until, Household.priority_origin
    )


def test_night_after_night_the_due_households_alone_give_what_a_whole_refresh_gives(session):
    """A commune scored whole, then refreshed on later nights (some nights missed): each night
    recomputes only the households whose day has come, raises the rising scores of the others,
    and stores exactly what scoring the whole commune again that night stores."""
    communes = _communes(session, 2)
    for commune_id in communes:
        refresh_commune(session, commune_id=commune_id, today=DEMO_TODAY)
    session.commit()
    households = sum(len(_priorities(session, c)) for c in communes)
    recomputed_on_nights = []
    for later in (1, 2, 5, 13, 31, 60, 95, 400):
        night = DEMO_TODAY + timedelta(days=later)
        recomputed = sum(refresh_commune(session, commune_id=c, today=night) for c in communes)
        session.commit()
        recomputed_on_nights.append(recomputed)
        partial = {c: _priorities(session, c) for c in communes}
        mark_stale(session, commune_ids=communes)
        whole = sum(refresh_commune(session, commune_id=c, today=night) for c in communes)
        session.commit()
        assert whole == households
        assert {c: _priorities(session, c) for c in communes} == partial, night
    # The first night leaves most households alone.
    assert recomputed_on_nights[0] < households / 2, recomputed_on_nights
