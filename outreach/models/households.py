"""Households and the persons in them, with the facts the BHXH lists carry."""

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from outreach.models.base import utcnow


class Household(SQLModel, table=True):
    """A household to visit. Carries its province and commune so scope filters hit one index."""

    __tablename__ = "household"
    __table_args__ = (
        # A commune's never-visited households (and by village) from the index alone.
        Index("ix_household_commune_last_visit", "commune_id", "last_visit_at", "village_id"),
        Index("ix_household_province_commune", "province_id", "commune_id"),
        Index("ix_household_commune_code", "commune_id", "code"),
        Index("ix_household_commune_address_key", "commune_id", "address_key"),
        # The worklist: a canvasser's households, best first, straight from the index (and any
        # look-up by canvasser: no index of its own, see migration 0011).
        Index("ix_household_worklist", "assigned_canvasser_id", "priority_score"),
        Index("ix_household_commune_priority", "commune_id", "priority_score"),
        Index("ix_household_worklist_top", "assigned_canvasser_id", "priority_top"),
        # Leaders' counts: households never visited (or not lately) in a scope.
        Index("ix_household_province_last_visit", "province_id", "last_visit_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    village_id: int | None = Field(default=None, foreign_key="geo_unit.id")
    # Household code (mã hộ gia đình) when the list has one.
    code: str | None = Field(default=None, max_length=32)
    address: str = Field(default="", max_length=300)
    # Normalized address + head, used to group persons when there is no household code.
    address_key: str = Field(default="", max_length=400)
    head_name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)  # E.164
    latitude: float | None = None
    longitude: float | None = None
    assigned_canvasser_id: int | None = Field(default=None, foreign_key="app_user.id")
    last_visit_at: datetime | None = None
    # Precomputed by worklist.service from the priority engine; refreshed daily and on each visit.
    priority_score: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    priority_reasons: str = Field(
        default="", max_length=2000, sa_column_kwargs={"server_default": ""}
    )
    # The strongest reason's code, for the worklist's filter and counts.
    priority_top: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    priority_on: date | None = None
    # The first day the priority may change by the date alone (Priority.until); None: only new
    # facts or visits change it. The nightly refresh recomputes from that day on.
    priority_until: date | None = None
    # For a score rising one a day until then (Priority.rises): the day number (date.toordinal)
    # it counts from, the score on a day being that day's number less this.
    priority_origin: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Person(SQLModel, table=True):
    """A person from one or more BHXH lists, with the facts that decide their priority."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_household", "household_id"),
        Index("ix_person_commune_name", "commune_id", "name_key"),
        Index("ix_person_commune_paid_through", "commune_id", "paid_through"),
        Index("ix_person_commune_benefit_end", "commune_id", "benefit_end"),
        # Persons per commune over a province, from the index alone.
        Index("ix_person_province", "province_id", "commune_id"),
        # None on the phone: the search matches its last digits (LIKE '%…'), see migration 0011.
        Index("uq_person_bhxh", "bhxh_number", unique=True),
        Index("uq_person_citizen_id", "citizen_id", unique=True),
        # The few persons off every list ("off_list > ''": a range of this index).
        Index("ix_person_off_list", "off_list"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id")
    province_id: int = Field(foreign_key="geo_unit.id")
    commune_id: int = Field(foreign_key="geo_unit.id")
    full_name: str = Field(max_length=200)
    # Lowercase, no diacritics: "nguyen van a" finds "Nguyễn Văn A".
    name_key: str = Field(default="", max_length=200)
    date_of_birth: date | None = None
    # Only the year is known ("1978" on the list): stored as 1 January, shown as the year.
    birth_year_only: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    sex: str | None = Field(default=None, max_length=8)
    bhxh_number: str | None = Field(default=None, max_length=10)  # mã số BHXH, 10 digits
    citizen_id: str | None = Field(default=None, max_length=12)  # CCCD 12 digits or CMND 9
    citizen_id_is_legacy: bool = Field(default=False)  # a 9-digit CMND, flagged
    phone: str | None = Field(default=None, max_length=20)  # E.164
    support_group: str | None = Field(default=None, max_length=20)
    # Voluntary participant facts.
    is_participant: bool = Field(default=False)
    paid_through: date | None = None  # last day of the month paid through
    payment_frequency: int | None = None  # months: 1, 3, 6, 12
    income_basis: int | None = None  # VND per month
    # Unemployment benefit.
    benefit_start: date | None = None
    benefit_end: date | None = None
    # Reserved contribution record (bảo lưu), in months.
    reserved_months: int | None = None
    is_potential: bool = Field(default=False)
    # Why the person is off every list (codes.OffList): they objected to being contacted, or a
    # leader approved their move or death. "" for everyone else (corrections/).
    off_list: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PriorityRefresh(SQLModel, table=True):
    """The day a commune's household scores were last recomputed as a whole.

    One small row per commune makes "is this commune's list from today?" a key lookup, instead
    of a scan of its households on every worklist request.
    """

    __tablename__ = "priority_refresh"

    commune_id: int = Field(foreign_key="geo_unit.id", primary_key=True)
    refreshed_on: date
