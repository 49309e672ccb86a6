"""The priority engine, rule by rule (brief §5)."""

from datetime import date

import pytest

from outreach.worklist.priority import (
    DEFAULT_WEIGHTS,
    PastOutcome,
    PersonFacts,
    Priority,
    Reason,
    household_priority,
    person_priority,
    weights_for,
)

TODAY = date(2026, 11, 22)
LAPSED_MONTHLY = PersonFacts(
    is_participant=True, paid_through=date(2026, 9, 30), payment_frequency=1
)


def top(priority: Priority) -> Reason:
    return priority.reasons[0].reason


@pytest.mark.parametrize(
    ("facts", "history", "reason"),
    [
        (
            LAPSED_MONTHLY,
            [PastOutcome(date(2026, 11, 1), "promised", date(2026, 11, 22))],
            Reason.FOLLOW_UP_DUE,
        ),
        (LAPSED_MONTHLY, [], Reason.LAPSED),
        (
            PersonFacts(benefit_start=date(2026, 6, 1), benefit_end=date(2026, 12, 12)),
            [],
            Reason.BENEFIT_ENDING,
        ),
        (
            PersonFacts(is_participant=True, paid_through=date(2026, 11, 30), payment_frequency=1),
            [],
            Reason.COMING_DUE,
        ),
        (
            PersonFacts(benefit_start=date(2026, 6, 1), benefit_end=date(2027, 3, 1)),
            [],
            Reason.BENEFIT,
        ),
        (PersonFacts(reserved_months=40), [], Reason.RESERVED),
        (PersonFacts(is_potential=True), [], Reason.POTENTIAL),
    ],
)
def test_each_reason_on_its_own(facts, history, reason):
    assert top(person_priority(facts, history, today=TODAY)) == reason


def test_reasons_rank_in_the_order_of_the_design():
    examples = [
        (LAPSED_MONTHLY, [PastOutcome(date(2026, 11, 1), "considering", date(2026, 11, 20))]),
        (LAPSED_MONTHLY, []),
        (PersonFacts(benefit_end=date(2026, 12, 1)), []),
        (
            PersonFacts(is_participant=True, paid_through=date(2026, 12, 20), payment_frequency=1),
            [],
        ),
        (PersonFacts(benefit_end=date(2027, 6, 1)), []),
        (PersonFacts(reserved_months=12), []),
        (PersonFacts(is_potential=True), []),
    ]
    # Same visit history for all but the first, so the adjustments are equal.
    scores = [
        person_priority(f, h or [PastOutcome(date(2026, 10, 1), "not_home")], today=TODAY).score
        for f, h in examples
    ]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)


@pytest.mark.parametrize(
    ("paid_through", "frequency", "today", "lapsed", "days"),
    [
        (date(2026, 10, 31), 1, date(2026, 11, 30), False, 0),  # last day of a 30-day month
        (date(2026, 10, 31), 1, date(2026, 12, 1), True, 1),
        (date(2026, 11, 30), 1, date(2026, 12, 31), False, 0),  # 31-day month
        (date(2026, 11, 30), 1, date(2027, 1, 1), True, 1),
        (date(2027, 1, 31), 1, date(2027, 2, 28), False, 0),  # February
        (date(2027, 1, 31), 1, date(2027, 3, 1), True, 1),
        (date(2028, 1, 31), 1, date(2028, 2, 29), False, 0),  # leap February
        (date(2026, 8, 31), 3, date(2026, 11, 30), False, 0),  # 3-monthly: within the 3 months
        (date(2026, 8, 31), 3, date(2026, 12, 1), True, 1),
        (date(2026, 6, 30), 6, date(2026, 10, 31), False, 0),  # 6-monthly: first 4 months
        (date(2026, 6, 30), 6, date(2026, 11, 15), True, 15),
        (date(2026, 7, 31), 12, date(2027, 2, 28), False, 0),  # 12-monthly: first 7 months
        (date(2026, 7, 31), 12, date(2027, 4, 14), True, 45),
    ],
)
def test_lapse_deadline_by_frequency(paid_through, frequency, today, lapsed, days):
    facts = PersonFacts(is_participant=True, paid_through=paid_through, payment_frequency=frequency)
    result = person_priority(facts, [], today=today)
    if lapsed:
        assert top(result) == Reason.LAPSED and result.reasons[0].days == days
    else:
        assert top(result) == Reason.COMING_DUE and result.reasons[0].days == days


def test_lapsed_longer_ranks_higher_but_capped():
    early = person_priority(
        PersonFacts(is_participant=True, paid_through=date(2026, 9, 30), payment_frequency=1),
        [],
        today=TODAY,
    )
    late = person_priority(
        PersonFacts(is_participant=True, paid_through=date(2026, 5, 31), payment_frequency=1),
        [],
        today=TODAY,
    )
    very_late = person_priority(
        PersonFacts(is_participant=True, paid_through=date(2024, 5, 31), payment_frequency=1),
        [],
        today=TODAY,
    )
    assert early.score < late.score == very_late.score


def test_promise_in_the_future_is_not_yet_a_reason():
    history = [PastOutcome(date(2026, 11, 20), "promised", date(2026, 11, 25))]
    result = person_priority(LAPSED_MONTHLY, history, today=TODAY)
    assert Reason.FOLLOW_UP_DUE not in {r.reason for r in result.reasons}
    tomorrow = person_priority(LAPSED_MONTHLY, history, today=date(2026, 11, 25))
    assert top(tomorrow) == Reason.FOLLOW_UP_DUE and tomorrow.reasons[0].days == 0


def test_never_visited_adds_weight_and_a_recent_visit_lowers_it():
    never = person_priority(LAPSED_MONTHLY, [], today=TODAY)
    old = person_priority(
        LAPSED_MONTHLY, [PastOutcome(date(2026, 9, 1), "considering")], today=TODAY
    )
    recent = person_priority(
        LAPSED_MONTHLY, [PastOutcome(date(2026, 11, 20), "considering")], today=TODAY
    )
    assert never.score > old.score > recent.score
    assert Reason.NEVER_VISITED in {r.reason for r in never.reasons}
    assert Reason.RECENT_VISIT in {r.reason for r in recent.reasons}


def test_not_home_retries_after_a_short_wait():
    yesterday = person_priority(
        LAPSED_MONTHLY, [PastOutcome(date(2026, 11, 21), "not_home")], today=TODAY
    )
    two_days = person_priority(
        LAPSED_MONTHLY, [PastOutcome(date(2026, 11, 20), "not_home")], today=TODAY
    )
    assert Reason.NOT_HOME_WAIT in {r.reason for r in yesterday.reasons}
    assert (
        two_days.score - yesterday.score
        >= -DEFAULT_WEIGHTS["not_home_wait"] + DEFAULT_WEIGHTS["recent_visit"]
    )


def test_refused_cools_down_for_weeks():
    history = [PastOutcome(date(2026, 11, 1), "refused")]
    cooling = person_priority(LAPSED_MONTHLY, history, today=TODAY)
    after = person_priority(LAPSED_MONTHLY, history, today=date(2026, 11, 29))
    assert Reason.REFUSED_COOLDOWN in {r.reason for r in cooling.reasons}
    assert cooling.score < person_priority(PersonFacts(is_potential=True), [], today=TODAY).score
    assert after.score > cooling.score + 500


@pytest.mark.parametrize(
    "outcome", ["enrolled_new", "renewed", "moved", "deceased", "already_covered"]
)
def test_closing_outcomes_take_the_person_off_the_list(outcome):
    result = person_priority(LAPSED_MONTHLY, [PastOutcome(date(2026, 10, 1), outcome)], today=TODAY)
    assert result.off_list and result.score == 0


def test_a_newer_list_puts_a_closed_person_back():
    facts = PersonFacts(
        is_participant=True,
        paid_through=date(2026, 9, 30),
        payment_frequency=1,
        facts_updated_on=date(2026, 11, 1),
    )
    result = person_priority(facts, [PastOutcome(date(2026, 10, 1), "renewed")], today=TODAY)
    assert not result.off_list and top(result) == Reason.LAPSED


def test_nobody_on_any_list_scores_zero():
    assert person_priority(PersonFacts(), [], today=TODAY).score == 0


def test_household_ranks_by_its_best_member_plus_the_others():
    lapsed = person_priority(LAPSED_MONTHLY, [], today=TODAY)
    potential = person_priority(PersonFacts(is_potential=True), [], today=TODAY)
    closed = Priority(score=0, off_list=True)
    both = household_priority([potential, lapsed, closed], today=TODAY)
    assert both.score == lapsed.score + DEFAULT_WEIGHTS["household_extra_member"]
    assert both.reasons == lapsed.reasons
    assert household_priority([closed], today=TODAY).off_list


def test_campaign_weights_override_the_defaults():
    w = weights_for('{"potential": 5000}')
    assert (
        top(
            person_priority(
                PersonFacts(is_potential=True, reserved_months=10), [], today=TODAY, weights=w
            )
        )
        == Reason.POTENTIAL
    )
    with pytest.raises(ValueError, match="Trọng số không có"):
        weights_for({"bogus": 1})
    assert weights_for(None) == DEFAULT_WEIGHTS


@pytest.mark.parametrize("outcome", ["promised", "considering"])
def test_a_kept_follow_up_is_no_longer_due(outcome):
    history = [PastOutcome(date(2026, 11, 1), outcome, date(2026, 11, 20))]
    kept = [PastOutcome(date(2026, 11, 1), outcome, date(2026, 11, 20), kept=True)]
    assert top(person_priority(LAPSED_MONTHLY, history, today=TODAY)) == Reason.FOLLOW_UP_DUE
    reasons = {line.reason for line in person_priority(LAPSED_MONTHLY, kept, today=TODAY).reasons}
    assert Reason.FOLLOW_UP_DUE not in reasons
    # What the lists say still counts (a payments list also moves the paid-through month).
    assert not person_priority(PersonFacts(), kept, today=TODAY).reasons
