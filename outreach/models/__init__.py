"""SQLModel tables only. Importing this package registers every table on SQLModel.metadata."""

from outreach.models.audit import AuditLog
from outreach.models.campaigns import Campaign, PolicyRate, Target
from outreach.models.corrections import Correction
from outreach.models.geography import GeoUnit
from outreach.models.households import Household, Person, PriorityRefresh
from outreach.models.imports import ImportBatch, ImportMapping, Payment
from outreach.models.jobs import BackgroundJob, StoredFile
from outreach.models.mail import BulletinDelivery, Notice
from outreach.models.meetings import Commitment, Milestone, ReviewMeeting, ReviewMeetingUnit
from outreach.models.reports import ReportPeriod, Summary
from outreach.models.tallies import CampaignReach, DailyTally, LatestOutcome
from outreach.models.teams import Team, TeamMember
from outreach.models.users import FollowedUnit, User
from outreach.models.visits import Visit, VisitOutcome

__all__ = [
    "AuditLog",
    "BackgroundJob",
    "BulletinDelivery",
    "Campaign",
    "CampaignReach",
    "Correction",
    "Commitment",
    "DailyTally",
    "FollowedUnit",
    "GeoUnit",
    "Household",
    "ImportBatch",
    "ImportMapping",
    "LatestOutcome",
    "Milestone",
    "Notice",
    "Payment",
    "Person",
    "PriorityRefresh",
    "PolicyRate",
    "ReportPeriod",
    "ReviewMeeting",
    "ReviewMeetingUnit",
    "StoredFile",
    "Summary",
    "Target",
    "Team",
    "TeamMember",
    "User",
    "Visit",
    "VisitOutcome",
]
