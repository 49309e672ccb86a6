"""Dates in Vietnam's time zone and month arithmetic."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today_local() -> date:
    """Today's date in Vietnam (UTC+7), whatever the server's clock zone."""
    return datetime.now(VIETNAM).date()


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months_end(day: date, months: int) -> date:
    """The last day of the month `months` after the month of `day`."""
    index = day.year * 12 + (day.month - 1) + months
    return month_end(index // 12, index % 12 + 1)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as aware UTC: they are UTC, and SQLite hands them back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
