"""Closed vocabularies stored as short strings (portable across SQLite and PostgreSQL)."""

from enum import StrEnum


class Role(StrEnum):
    CANVASSER = "canvasser"
    LEADER = "leader"
    ADMIN = "admin"
    MEDIA = "media"


class UnitKind(StrEnum):
    NATION = "nation"  # the one unit above the provinces, for national leaders, admins, media
    PROVINCE = "province"
    GROUP = "group"  # optional: an old district some provinces still report by
    COMMUNE = "commune"
    VILLAGE = "village"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class SupportGroup(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"
    ETHNIC_MINORITY = "ethnic_minority"
    OTHER = "other"


class Channel(StrEnum):
    HOME = "home"
    PHONE = "phone"
    MEETING = "meeting"


class Outcome(StrEnum):
    ENROLLED_NEW = "enrolled_new"
    RENEWED = "renewed"
    PROMISED = "promised"
    CONSIDERING = "considering"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    ALREADY_COVERED = "already_covered"
    MOVED = "moved"
    DECEASED = "deceased"
    WRONG_INFO = "wrong_info"


# Outcomes that set a date to come back: a promise to pay, or "considering" (revisit).
FOLLOW_UP_OUTCOMES = frozenset({Outcome.PROMISED, Outcome.CONSIDERING})

# Outcomes after which a person leaves the worklist (brief §5).
CLOSING_OUTCOMES = frozenset(
    {
        Outcome.ENROLLED_NEW,
        Outcome.RENEWED,
        Outcome.MOVED,
        Outcome.DECEASED,
        Outcome.ALREADY_COVERED,
    }
)


class RefusalReason(StrEnum):
    NO_MONEY = "no_money"
    DISTRUST = "distrust"
    ALREADY_COMPULSORY = "already_compulsory"
    WANTS_WITHDRAWAL = "wants_withdrawal"
    TOO_OLD = "too_old"
    OTHER = "other"


class ReviewStatus(StrEnum):
    NONE = "none"
    FLAGGED = "flagged"
    CONFIRMED = "confirmed"
    RETURNED = "returned"


class ImportKind(StrEnum):
    PARTICIPANTS = "participants"
    UNEMPLOYMENT = "unemployment"
    RESERVED = "reserved"
    POTENTIAL = "potential"
    PAYMENTS = "payments"


class BatchStatus(StrEnum):
    UPLOADED = "uploaded"
    CHECKING = "checking"  # reading and validating, nothing written (the preview)
    MAPPING = "mapping"  # a required column was not recognised: the admin maps it
    PREVIEWED = "previewed"
    IMPORTING = "importing"  # writing, in one transaction
    DONE = "done"
    FAILED = "failed"


RUNNING_STATUSES = frozenset({BatchStatus.CHECKING, BatchStatus.IMPORTING})


class SummaryStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class MilestoneKind(StrEnum):
    TARGET_SHARE = "target_share"  # a share of the target reached by a date
    REVIEW = "review"  # units behind hold a review meeting by this date
    FINISH = "finish"  # the unit's own finish date


class MeetingDecision(StrEnum):
    NONE = "none"
    PRAISE = "praise"  # biểu dương
    CRITICISM = "criticism"  # phê bình, nhắc nhở


class DeliveryStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"


# Payment frequencies in months allowed by Law 41/2024 Art. 36(2).
PAYMENT_FREQUENCIES = (1, 3, 6, 12)


class CorrectionKind(StrEnum):
    """What a canvasser corrected at the door (corrections/)."""

    ADD_PERSON = "add_person"  # a walk-in or a new member of the household
    PHONE = "phone"
    MOVED = "moved"
    DECEASED = "deceased"
    OBJECTION = "objection"  # "do not contact me again" (Decree 13/2023, Art. 9)
    LOCATION = "location"  # the household's place, from a visit's GPS, with consent


class CorrectionStatus(StrEnum):
    PENDING = "pending"  # waits for a leader
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"  # in force at once, no approval needed (an objection, a first location)
    LIFTED = "lifted"  # an objection a leader lifted


# Corrections that change BHXH's facts: they wait for a leader (docs/decisions.md, "Corrections").
NEEDS_APPROVAL = frozenset(
    {
        CorrectionKind.ADD_PERSON,
        CorrectionKind.PHONE,
        CorrectionKind.MOVED,
        CorrectionKind.DECEASED,
    }
)


class OffList(StrEnum):
    """Why a person is off every list (Person.off_list; "" = on the lists)."""

    OBJECTION = "objection"
    MOVED = "moved"
    DECEASED = "deceased"
