"""Privacy and access models, one module per concern; import them from `privacy.models`."""

from privacy.models.access import BreakGlassGrant, Invitation, Notification, UserSession
from privacy.models.agreements import (
    Agreement,
    AgreementExpiryWarning,
    AgreementKind,
    AgreementStatus,
    RecertificationCampaign,
    RecertificationItem,
    RoleGrant,
)
from privacy.models.directory import EMPLOYER_ROLES, Agency, Department, Role, Unit, User
from privacy.models.disclosures import Disclosure, DisclosureBasis, DisclosureNature
from privacy.models.requests import (
    AmendmentNotice,
    ClockPause,
    DisagreementStatement,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from privacy.models.retention import LegalHold, PurgeRun, RetentionSchedule, Tombstone

__all__ = [
    "EMPLOYER_ROLES",
    "Agency",
    "Agreement",
    "AgreementExpiryWarning",
    "AgreementKind",
    "AgreementStatus",
    "AmendmentNotice",
    "BreakGlassGrant",
    "ClockPause",
    "Department",
    "DisagreementStatement",
    "Disclosure",
    "DisclosureBasis",
    "DisclosureNature",
    "Invitation",
    "LegalHold",
    "Notification",
    "PurgeRun",
    "RecertificationCampaign",
    "RecertificationItem",
    "RetentionSchedule",
    "Role",
    "RoleGrant",
    "SubjectRequest",
    "SubjectRequestKind",
    "SubjectRequestStatus",
    "Tombstone",
    "Unit",
    "User",
    "UserSession",
]
