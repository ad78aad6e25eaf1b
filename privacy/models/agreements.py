"""Inter-agency agreements, the role grants that flow from them, and their recertification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped,unused-ignore]
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.models import BaseModel
from privacy.categories import Action, DataCategory
from privacy.models.directory import Agency, Role

# CMPPA, 5 U.S.C. 552a(o)(2)(C)/(D): 18 months at most, one renewal of at most 12 months.
MATCHING_MAX_MONTHS = 18
MATCHING_RENEWAL_MAX_MONTHS = 12


class AgreementKind(models.TextChoices):
    MOU = "mou", "Memorandum of understanding"
    MATCHING = "matching", "Computer matching agreement"
    INTERCONNECTION = "interconnection", "Interconnection security agreement"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


class DisclosureBasisChoice(models.TextChoices):
    """The Privacy Act basis an agreement relies on when data crosses departments."""

    ROUTINE_USE = "b3", "(b)(3) routine use"
    LAW_ENFORCEMENT = "b7", "(b)(7) law-enforcement written request"
    COURT_ORDER = "b11", "(b)(11) court order"
    CONSENT = "consent", "Consent of the individual"


class AgreementQuerySet(models.QuerySet["Agreement"]):
    def in_force(self, on: date | None = None) -> AgreementQuerySet:
        """Active agreements whose validity window covers `on` (today by default)."""
        on = on or timezone.localdate()
        return self.filter(status=AgreementStatus.ACTIVE, effective_on__lte=on, expires_on__gte=on)

    def visible_to(self, user: Any, action: str = "view") -> AgreementQuerySet:
        """Admins, supervisors and auditors see every agreement; others the ones of their agency."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if set(user.roles or []) & {Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR}:
            return self.all()
        return self.filter(
            models.Q(source_agency_id=user.agency_id) | models.Q(recipient_agency_id=user.agency_id)
        )


class Agreement(BaseModel):
    """An MOU, computer matching or interconnection agreement: who may do what with whose data.

    The source agency discloses; users of the recipient agency act on the source's data within
    the scope (data categories x actions) while the agreement is active and inside its dates.
    """

    reference = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=AgreementKind.choices, default=AgreementKind.MOU)
    source_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="agreements_as_source"
    )
    recipient_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="agreements_as_recipient"
    )
    purpose = models.TextField()
    legal_authority = models.TextField()
    routine_use = models.CharField(
        max_length=300, blank=True, help_text="The published routine use (SORN) it relies on."
    )
    disclosure_basis = models.CharField(
        max_length=8,
        choices=DisclosureBasisChoice.choices,
        default=DisclosureBasisChoice.ROUTINE_USE,
    )
    justification = models.TextField(
        blank=True, help_text="Justification and expected results (matching agreements)."
    )
    data_elements = models.TextField(
        blank=True, help_text="The records and each data element involved."
    )
    scope = models.JSONField(default=dict, blank=True, help_text="{data category: [actions]}")
    effective_on = models.DateField()
    expires_on = models.DateField()
    renewed_on = models.DateField(null=True, blank=True)
    original_expires_on = models.DateField(null=True, blank=True)
    dib_approved_on = models.DateField(null=True, blank=True)
    dib_reference = models.CharField(max_length=100, blank=True)
    signed_document = models.FileField(upload_to="agreements/", blank=True)
    status = models.CharField(
        max_length=12, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    status_reason = models.TextField(blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_on", "reference"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("effective_on")),
                name="agreement_dates_ordered",
            ),
            models.CheckConstraint(
                condition=~models.Q(source_agency=models.F("recipient_agency")),
                name="agreement_between_two_agencies",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def clean(self) -> None:
        """Scope names known categories and actions; matching agreements respect the CMPPA limits."""
        errors: dict[str, list[str]] = {}
        if not isinstance(self.scope, dict):
            errors["scope"] = ["Scope must map data categories to actions."]
        else:
            for category, actions in self.scope.items():
                if category not in DataCategory.values:
                    errors.setdefault("scope", []).append(f"Unknown data category {category!r}.")
                if not isinstance(actions, list) or set(actions) - set(Action.values):
                    errors.setdefault("scope", []).append(f"Unknown actions for {category!r}.")
        if self.effective_on and self.expires_on:
            if self.expires_on < self.effective_on:
                errors.setdefault("expires_on", []).append(
                    "An agreement cannot expire before it takes effect."
                )
            if self.kind == AgreementKind.MATCHING:
                first_term_end = self.original_expires_on or self.expires_on
                if first_term_end > self.effective_on + relativedelta(months=MATCHING_MAX_MONTHS):
                    errors.setdefault("expires_on", []).append(
                        "A matching agreement lasts at most 18 months."
                    )
                renewal_end = (
                    self.original_expires_on + relativedelta(months=MATCHING_RENEWAL_MAX_MONTHS)
                    if self.original_expires_on
                    else None
                )
                if self.renewed_on and renewal_end and self.expires_on > renewal_end:
                    errors.setdefault("expires_on", []).append("A renewal lasts at most 12 months.")
        if self.source_agency_id and self.source_agency_id == self.recipient_agency_id:
            errors.setdefault("recipient_agency", []).append(
                "An agreement is between two different agencies."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def needs_dib_approval(self) -> bool:
        """Matching agreements need the Data Integrity Board before they become active."""
        return self.kind == AgreementKind.MATCHING

    def covers(self, category: str, action: str) -> bool:
        """True if the scope names this category and action."""
        return action in (self.scope or {}).get(category, [])

    def in_force(self, on: date | None = None) -> bool:
        """Active and inside its dates on `on` (today by default)."""
        on = on or timezone.localdate()
        return self.status == AgreementStatus.ACTIVE and self.effective_on <= on <= self.expires_on

    @property
    def crosses_departments(self) -> bool:
        """Disclosures under it are accountable (552a(c)) when the agencies sit in different departments."""
        return self.source_agency.department_id != self.recipient_agency.department_id


class RoleGrantQuerySet(models.QuerySet["RoleGrant"]):
    def valid(self, on: date | None = None) -> RoleGrantQuerySet:
        """Grants not revoked or lapsed whose window covers `on`."""
        on = on or timezone.localdate()
        return self.filter(
            revoked_at__isnull=True, lapsed_at__isnull=True, valid_from__lte=on
        ).filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=on))

    def effective(self, on: date | None = None) -> RoleGrantQuerySet:
        """Valid grants whose agreement (if any) is in force on `on`."""
        on = on or timezone.localdate()
        in_force = models.Q(
            agreement__status=AgreementStatus.ACTIVE,
            agreement__effective_on__lte=on,
            agreement__expires_on__gte=on,
        )
        return self.valid(on).filter(models.Q(agreement__isnull=True) | in_force)

    def visible_to(self, user: Any, action: str = "view") -> RoleGrantQuerySet:
        """Admins and auditors see all grants; supervisors those of their unit; users their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        roles = set(user.roles or [])
        if roles & {Role.ADMIN, Role.AUDITOR}:
            return self.all()
        if Role.SUPERVISOR in roles and user.unit_id:
            return self.filter(models.Q(user__unit_id=user.unit_id) | models.Q(user=user))
        return self.filter(user=user)


class RoleGrant(BaseModel):
    """A role held by a user for a time: over home data (no agreement) or under an agreement."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lapsed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a recertification deadline passed unconfirmed."
    )
    last_certified_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="grant_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        where = self.agreement.reference if self.agreement else "home"
        return f"{self.user} · {self.role} · {where}"

    def is_valid(self, on: date | None = None) -> bool:
        """Not revoked or lapsed, and inside its own window."""
        on = on or timezone.localdate()
        if self.revoked_at or self.lapsed_at or self.valid_from > on:
            return False
        return self.valid_until is None or self.valid_until >= on

    @property
    def ended_at(self) -> datetime | None:
        """When the grant was revoked or lapsed, if it was."""
        return self.revoked_at or self.lapsed_at


class AgreementExpiryWarning(models.Model):
    """One warning sent to admins N days before an agreement expires (30/7/1), sent once."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="expiry_warnings"
    )
    days_before = models.PositiveSmallIntegerField()
    expires_on = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "days_before", "expires_on"], name="expiry_warning_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id}: {self.days_before} days before {self.expires_on}"


class CampaignStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class RecertificationCampaign(BaseModel):
    """A round in which each supervisor confirms or revokes every grant in their unit."""

    name = models.CharField(max_length=200)
    deadline = models.DateField()
    status = models.CharField(
        max_length=8, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ItemDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    REVOKED = "revoked", "Revoked"
    LAPSED = "lapsed", "Lapsed (not confirmed by the deadline)"


class RecertificationItem(BaseModel):
    """One grant to confirm or revoke in a campaign."""

    campaign = models.ForeignKey(
        RecertificationCampaign, on_delete=models.CASCADE, related_name="items"
    )
    grant = models.ForeignKey(RoleGrant, on_delete=models.CASCADE, related_name="recertifications")
    unit = models.ForeignKey("privacy.Unit", on_delete=models.PROTECT, null=True, related_name="+")
    decision = models.CharField(
        max_length=10, choices=ItemDecision.choices, default=ItemDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["grant__user__username"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "grant"], name="recert_item_once_per_grant")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.grant}"
