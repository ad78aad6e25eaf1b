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
from privacy.models.mail import (
    Delivery,
    GrantExpiryWarning,
    MailDigestItem,
    MailKind,
    MailPreference,
)
from privacy.models.requests import (
    AmendmentNotice,
    ClockPause,
    DisagreementStatement,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from privacy.models.retention import LegalHold, PurgeRun, RetentionSchedule, Tombstone
from privacy.models.sso import (
    AccessRequest,
    AccessRequestStatus,
    ExternalIdentity,
    IdentityProvider,
    IdentityProviderDevice,
    MfaTrust,
    UnitClaimMapping,
)

__all__ = [
    "EMPLOYER_ROLES",
    "AccessRequest",
    "AccessRequestStatus",
    "Agency",
    "Agreement",
    "AgreementExpiryWarning",
    "AgreementKind",
    "AgreementStatus",
    "AmendmentNotice",
    "BreakGlassGrant",
    "ClockPause",
    "Delivery",
    "Department",
    "DisagreementStatement",
    "Disclosure",
    "DisclosureBasis",
    "DisclosureNature",
    "ExternalIdentity",
    "GrantExpiryWarning",
    "IdentityProvider",
    "IdentityProviderDevice",
    "Invitation",
    "LegalHold",
    "MailDigestItem",
    "MailKind",
    "MailPreference",
    "MfaTrust",
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
    "UnitClaimMapping",
    "User",
    "UserSession",
]
