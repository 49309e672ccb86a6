"""Which BHXH list categories a person falls in on a given day (DESIGN §5, Law 41/2024 Art. 36).

The lists are derived from the facts (paid-through month, payment frequency, benefit dates), never
stored, so a list never goes stale.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from .clock import add_months_end

# Months after the paid-through month within which the next payment must be made:
# monthly within the month, 3-monthly within the 3 months, 6-monthly in the first 4 months,
# 12-monthly in the first 7 months.
GRACE_MONTHS = {1: 1, 3: 3, 6: 4, 12: 7}
COMING_DUE_DAYS = 30  # BHXH sends "coming due" lists 30 days before expiry
BENEFIT_ENDING_DAYS = 30


class ListCategory(StrEnum):
    LAPSED = "lapsed"
    COMING_DUE = "coming_due"
    BENEFIT_ENDING = "benefit_ending"
    BENEFIT = "benefit"
    RESERVED = "reserved"
    POTENTIAL = "potential"


def payment_deadline(paid_through: date, frequency: int) -> date:
    """The last day to pay for the period after `paid_through`, by payment frequency in months."""
    return add_months_end(paid_through, GRACE_MONTHS.get(frequency, 1))


def list_categories(
    *,
    today: date,
    is_participant: bool = False,
    paid_through: date | None = None,
    payment_frequency: int | None = None,
    benefit_start: date | None = None,
    benefit_end: date | None = None,
    reserved_months: int | None = None,
    is_potential: bool = False,
) -> set[ListCategory]:
    """Every list category a person with these facts belongs to on `today`."""
    found: set[ListCategory] = set()
    if is_participant and paid_through is not None:
        deadline = payment_deadline(paid_through, payment_frequency or 1)
        if today > deadline:
            found.add(ListCategory.LAPSED)
        elif paid_through <= today + timedelta(days=COMING_DUE_DAYS):
            # Expiring within 30 days, or expired and still inside the payment window.
            found.add(ListCategory.COMING_DUE)
    if (
        benefit_end is not None
        and (benefit_start is None or benefit_start <= today)
        and today <= benefit_end
    ):
        found.add(ListCategory.BENEFIT)
        if benefit_end <= today + timedelta(days=BENEFIT_ENDING_DAYS):
            found.add(ListCategory.BENEFIT_ENDING)
    if reserved_months:
        found.add(ListCategory.RESERVED)
    if is_potential:
        found.add(ListCategory.POTENTIAL)
    return found
