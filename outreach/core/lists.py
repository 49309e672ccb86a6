"""The BHXH list categories and the payment-deadline rule (brief §5, Law 41/2024 Art. 36).

Which categories a person falls in on a day is decided in one place, the priority engine
(`worklist/priority.py::list_categories`), from the facts and the date, never stored.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache

from outreach.core.clock import add_months_end

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


@lru_cache(maxsize=8192)  # the nightly refresh asks it of a million persons, on few dates
def payment_deadline(paid_through: date, frequency: int) -> date:
    """The last day to pay for the period after `paid_through`, by payment frequency in months."""
    return add_months_end(paid_through, GRACE_MONTHS.get(frequency, 1))
