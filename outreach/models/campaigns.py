"""Campaigns with their targets per unit, and the effective-dated policy figures."""

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class Campaign(SQLModel, table=True):
    """An enrollment drive in a province, with a start and a deadline."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    province_id: int = Field(foreign_key="geo_unit.id", index=True)
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    is_active: bool = Field(default=True)
    # Priority weights for this campaign as JSON; empty means the documented defaults.
    priority_weights: str = Field(default="", max_length=4000)
    created_at: datetime = Field(default_factory=utcnow)


class Target(SQLModel, table=True):
    """How many new participants and renewals a unit should reach in a campaign."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id", name="uq_target_campaign_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    unit_id: int = Field(foreign_key="geo_unit.id", index=True)
    new_participants: int = Field(default=0)
    renewals: int = Field(default=0)


class PolicyRate(SQLModel, table=True):
    """One policy figure in force from a date (and until the next row), with its legal source."""

    __tablename__ = "policy_rate"
    __table_args__ = (Index("ix_policy_rate_key_from", "key", "province_id", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    # contribution_rate, income_floor, base_salary, ceiling_multiple,
    # support_poor, support_near_poor, support_ethnic_minority, support_other, province_top_up_*
    key: str = Field(max_length=40)
    value: float
    valid_from: date
    # A provincial top-up applies only in its province; national rows have none.
    province_id: int | None = Field(default=None, foreign_key="geo_unit.id")
    source: str = Field(max_length=300)
    is_announced: bool = Field(default=False)  # reported before its decree was seen
