"""SQLModel tables only. Importing this package registers every table on SQLModel.metadata."""

from outreach.models.audit import AuditLog
from outreach.models.campaigns import Campaign, PolicyRate, Target
from outreach.models.geography import GeoUnit
from outreach.models.households import Household, Person, PriorityRefresh
from outreach.models.imports import ImportBatch, ImportFile, ImportMapping, Payment
from outreach.models.reports import ReportPeriod, Summary
from outreach.models.tallies import CampaignReach, DailyTally, LatestOutcome
from outreach.models.users import User
from outreach.models.visits import Visit, VisitOutcome

__all__ = [
    "AuditLog",
    "Campaign",
    "CampaignReach",
    "DailyTally",
    "GeoUnit",
    "Household",
    "ImportBatch",
    "ImportFile",
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
