"""A priority's `until` under random facts, histories and weights: on every day before it, the
engine gives the same reasons (their day counts aside, which are read from the reason's date)
and the same score, or one more each day when it `rises`, so the nightly refresh may leave such
a household as it is or just raise its score."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.models.codes import Outcome
from outreach.worklist.priority import (
    DEFAULT_WEIGHTS,
    PastOutcome,
    PersonFacts,
    days_of,
    household_priority,
    person_priority,
)

TODAY = date(2026, 12, 5)
LOOK_AHEAD = 130  # past the urgency cap (90 days) and the longest cooldown below


def near(days: int = 200):
    """A date within `days` of TODAY, or None."""
    return st.one_of(st.none(), st.integers(-days, days).map(lambda n: TODAY + timedelta(days=n)))


facts = st.builds(
    PersonFacts,
    is_participant=st.booleans(),
    paid_through=near(),
    payment_frequency=st.sampled_from([None, 1, 3, 6, 12]),
    benefit_start=near(),
    benefit_end=near(),
    reserved_months=st.one_of(st.none(), st.integers(0, 120)),
    is_potential=st.booleans(),
    facts_updated_on=near(60),
)
outcome = st.builds(
    PastOutcome,
    on=st.integers(-40, 0).map(lambda n: TODAY + timedelta(days=n)),
    outcome=st.sampled_from([o.value for o in Outcome]),
    follow_up_on=near(60),
    kept=st.booleans(),
)
weights = st.fixed_dictionaries(
    {
        # Base scores that may cross as urgency grows (the defaults never do).
        "follow_up_due": st.integers(100, 1000),
        "lapsed": st.integers(100, 1000),
        "benefit_ending": st.integers(100, 1000),
        "coming_due": st.integers(100, 1000),
        "benefit": st.integers(100, 1000),
        "household_extra_member": st.integers(0, 100),
        "refused_cooldown": st.integers(-1200, 0),
        "urgency_cap": st.integers(1, 90),
        "recent_visit_days": st.integers(0, 14),
        "not_home_retry_days": st.integers(0, 10),
        "refused_cooldown_days": st.integers(0, 40),
    }
).map(lambda w: {**DEFAULT_WEIGHTS, **w})


def _kept_days(line):
    """The day count a stored reason keeps: only one that no date gives (a reserve's months)."""
    return line.days if days_of(line.reason, line.on, TODAY) is None else None


def _as_stored(priority, rise: int = 0):
    """What the household row keeps: the score (less what it rose by) and the reasons without
    their day counts."""
    return (
        priority.score - rise,
        priority.off_list,
        tuple((r.reason, r.on, r.outcome, _kept_days(r)) for r in priority.reasons),
    )


def _check_days(priority, day):
    """Every day count the engine gives is the one read back from the reason's date."""
    for line in priority.reasons:
        counted = days_of(line.reason, line.on, day)
        if counted is not None:
            assert line.days == counted, line


@settings(max_examples=1500, deadline=None)
@given(
    members=st.lists(st.tuples(facts, st.lists(outcome, max_size=3)), min_size=1, max_size=3),
    w=weights,
)
def test_nothing_changes_before_until(members, w):
    def household_on(day):
        return household_priority(
            [person_priority(f, h, today=day, weights=w) for f, h in members],
            today=day,
            weights=w,
        )

    first = household_on(TODAY)
    last_day = first.until or TODAY + timedelta(days=LOOK_AHEAD)
    assert last_day > TODAY
    day = TODAY
    while day < min(last_day, TODAY + timedelta(days=LOOK_AHEAD)):
        later = household_on(day)
        _check_days(later, day)
        rise = (day - TODAY).days if first.rises else 0
        assert _as_stored(later, rise) == _as_stored(first), (day, first.until, first.rises)
        day += timedelta(days=1)


def test_a_score_held_at_one_does_not_rise():
    """Lapsed five days and refused yesterday: the cooldown holds the score at 1, where a day
    more overdue does not lift it, so the household is recomputed the next night."""
    lapsed = PersonFacts(is_participant=True, paid_through=date(2026, 10, 31), payment_frequency=1)
    refused = [PastOutcome(TODAY - timedelta(days=1), Outcome.REFUSED.value)]
    held = person_priority(lapsed, refused, today=TODAY)
    assert held.score == 1 and not held.rises and held.until == TODAY + timedelta(days=1)
    free = person_priority(lapsed, [], today=TODAY)
    assert free.rises and free.until == date(2026, 11, 30) + timedelta(days=91)


def test_a_rising_reason_passing_a_still_one_below_the_strongest_is_a_change():
    """Reserved (200) first, then a benefit (100) and an appointment due today (100, rising):
    tomorrow the appointment is second, so the stored reasons change then (found by the
    property test above, with these weights)."""
    w = {**DEFAULT_WEIGHTS, "follow_up_due": 100, "benefit": 100, "urgency_cap": 1}
    facts = PersonFacts(benefit_end=date(2027, 1, 6), reserved_months=1)
    promised = [PastOutcome(TODAY, Outcome.PROMISED.value, follow_up_on=TODAY)]
    now = person_priority(facts, promised, today=TODAY, weights=w)
    tomorrow = TODAY + timedelta(days=1)
    assert now.until == tomorrow and not now.rises
    later = person_priority(facts, promised, today=tomorrow, weights=w)
    assert [r.reason.value for r in later.reasons][:2] == ["reserved", "follow_up_due"]
