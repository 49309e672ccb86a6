"""SQLModel tables only. Importing this package registers every table on SQLModel.metadata."""

from .audit import AuditLog
from .campaigns import Campaign, PolicyRate, Target
from .geography import GeoUnit
from .households import Household, Person, PriorityRefresh
from .imports import ImportBatch, ImportMapping, Payment
from .reports import ReportPeriod, Summary
from .tallies import CampaignReach, DailyTally, LatestOutcome
from .users import User
from .visits import Visit, VisitOutcome

__all__ = [
    "AuditLog",
    "Campaign",
    "CampaignReach",
    "DailyTally",
    "GeoUnit",
    "Household",
    "ImportBatch",
    "ImportMapping",
    "LatestOutcome",
    "Payment",
    "Person",
    "PriorityRefresh",
    "PolicyRate",
    "ReportPeriod",
    "Summary",
    "Target",
    "User",
    "Visit",
    "VisitOutcome",
]
