"""The list categories of brief §5, derived from facts and "today"."""

from datetime import date

import pytest

from outreach.core.lists import ListCategory, payment_deadline
from outreach.worklist.priority import list_categories


@pytest.mark.parametrize(
    ("paid_through", "frequency", "deadline"),
    [
        (date(2026, 10, 31), 1, date(2026, 11, 30)),  # monthly: within the next month
        (date(2026, 12, 31), 1, date(2027, 1, 31)),  # across the year end
        (date(2027, 1, 31), 1, date(2027, 2, 28)),  # February, common year
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # February, leap year
        (date(2026, 9, 30), 3, date(2026, 12, 31)),  # 3-monthly: within the 3 months
        (date(2026, 6, 30), 6, date(2026, 10, 31)),  # 6-monthly: first 4 months
        (date(2026, 7, 31), 12, date(2027, 2, 28)),  # 12-monthly: first 7 months, lands in Feb
    ],
)
def test_payment_deadline_by_frequency(paid_through, frequency, deadline):
    assert payment_deadline(paid_through, frequency) == deadline


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 30), {ListCategory.COMING_DUE}),  # last day of the window: still due
        (date(2026, 12, 1), {ListCategory.LAPSED}),  # the day after: lapsed
        (date(2026, 10, 1), {ListCategory.COMING_DUE}),  # expires in 30 days
        (date(2026, 9, 30), set()),  # 31 days ahead: not yet on the list
    ],
)
def test_monthly_participant_coming_due_then_lapsed(today, expected):
    facts = {"is_participant": True, "paid_through": date(2026, 10, 31), "payment_frequency": 1}
    assert list_categories(today=today, **facts) == expected


def test_benefit_ending_within_30_days_is_also_receiving_benefit():
    facts = {"benefit_start": date(2026, 6, 1), "benefit_end": date(2026, 12, 12)}
    assert list_categories(today=date(2026, 11, 22), **facts) == {
        ListCategory.BENEFIT,
        ListCategory.BENEFIT_ENDING,
    }
    assert list_categories(today=date(2026, 10, 1), **facts) == {ListCategory.BENEFIT}
    assert list_categories(today=date(2026, 12, 13), **facts) == set()


def test_reserved_and_potential():
    assert list_categories(today=date(2026, 11, 22), reserved_months=36) == {ListCategory.RESERVED}
    assert list_categories(today=date(2026, 11, 22), is_potential=True) == {ListCategory.POTENTIAL}
