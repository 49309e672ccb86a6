"""Running counts kept beside the visits, so province-wide figures never rescan millions of rows.

Both tables are maintained in the same transaction as the visit they count (visits are
append-only) and can be rebuilt from the raw visits at any time; tests prove they agree.
"""

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class DailyTally(SQLModel, table=True):
    """How many visits, and outcomes of each kind, a commune recorded on a Vietnamese day."""

    __tablename__ = "daily_tally"
    __table_args__ = (
        Index("ix_daily_tally_province_day", "province_id", "day", "commune_id", "metric", "count"),
    )

    commune_id: int = Field(foreign_key="geo_unit.id", primary_key=True)
    day: date = Field(primary_key=True)  # the visit's calendar day in Vietnam
    # "visits", an outcome code ("enrolled_new"...), or "refused:<reason>".
    metric: str = Field(max_length=40, primary_key=True)
    province_id: int = Field(foreign_key="geo_unit.id")
    count: int = Field(default=0)


class CampaignReach(SQLModel, table=True):
    """A household reached during a campaign, with the time of its first visit in it."""

    __tablename__ = "campaign_reach"
    __table_args__ = (
        Index("ix_campaign_reach_first", "campaign_id", "first_visit_at", "commune_id"),
        # One commune's households reached (the commune dashboard), without the province's.
        Index("ix_campaign_reach_commune", "campaign_id", "commune_id", "first_visit_at"),
    )

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    household_id: int = Field(foreign_key="household.id", primary_key=True)
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    first_visit_at: datetime


class LatestOutcome(SQLModel, table=True):
    """Each visited person's latest outcome (by visit time, then outcome id), and the follow-up
    date it set if it is a promise or "considering": overdue follow-ups without rescanning."""

    __tablename__ = "latest_outcome"
    __table_args__ = (
        Index("ix_latest_outcome_province_follow_up", "province_id", "follow_up_on"),
        Index("ix_latest_outcome_commune_follow_up", "commune_id", "follow_up_on"),
    )

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")  # of the visit, like VisitOutcome's
    visited_at: datetime
    # Which outcome (the tie-break between two at the same time); a copy, like the counts above,
    # not a reference, so tidying raw rows (tests, repairs) is never blocked by it.
    outcome_id: int
    outcome: str = Field(max_length=20)
    follow_up_on: date | None = None  # only for a promise or "considering"
