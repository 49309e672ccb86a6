"""Half-month report periods: day 1–15 (the 15th summary) and day 16–end (the 30th summary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from outreach.core.clock import VIETNAM, month_end
from outreach.models import ReportPeriod


@dataclass(frozen=True)
class Period:
    """A half-month: its first and last day and the day its summary is called by (15 or 30)."""

    starts_on: date
    ends_on: date

    @property
    def label_day(self) -> int:
        """15 for the first half; 30 for the second, even in February and 31-day months."""
        return 15 if self.starts_on.day == 1 else 30

    @property
    def starts_at(self) -> datetime:
        """Midnight (Vietnam) of the first day, in UTC."""
        return local_midnight(self.starts_on)

    @property
    def ends_before(self) -> datetime:
        """Midnight (Vietnam) after the last day, in UTC: the period is [starts_at, ends_before)."""
        return local_midnight(self.ends_on + timedelta(days=1))

    @property
    def key(self) -> str:
        """The period's name in URLs and on the command line: the date of its summary."""
        return f"{self.starts_on:%Y-%m}-{self.label_day:02d}"


def local_midnight(day: date) -> datetime:
    """The start of a Vietnamese calendar day, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=VIETNAM).astimezone(UTC)


def half_month_start(day: date) -> date:
    """The first day of the half-month period containing `day` (1st or 16th)."""
    return day.replace(day=1 if day.day <= 15 else 16)


def period_containing(day: date) -> Period:
    """The half-month period a day falls in."""
    if day.day <= 15:
        return Period(day.replace(day=1), day.replace(day=15))
    return Period(day.replace(day=16), month_end(day.year, day.month))


def period_from_key(key: str) -> Period:
    """The period named by `YYYY-MM-15` or `YYYY-MM-30` (any day of it is accepted too)."""
    year, month, day = (int(part) for part in key.strip().split("-"))
    # "The 30th" of February names the second half although February has no 30th.
    return period_containing(date(year, month, min(day, month_end(year, month).day)))


def previous_period(period: Period) -> Period:
    """The half-month before this one."""
    return period_containing(period.starts_on - timedelta(days=1))


def recent_periods(today: date, count: int) -> list[Period]:
    """The period containing today and the ones before it, newest first."""
    periods = [period_containing(today)]
    while len(periods) < count:
        periods.append(previous_period(periods[-1]))
    return periods


def ensure_period(session: Session, *, period: Period) -> ReportPeriod:
    """The stored row of a period, created (not committed) the first time it is needed."""
    row = session.exec(
        select(ReportPeriod).where(ReportPeriod.starts_on == period.starts_on)
    ).first()
    if row is None:
        row = ReportPeriod(
            starts_on=period.starts_on, ends_on=period.ends_on, label_day=period.label_day
        )
        session.add(row)
        session.flush()
    return row
