"""Single sign-on (OpenID Connect) per agency, and staff's requests for access.

An agency that runs an identity provider registers it here (issuer and client); its admin maps
claims to the agency and its units. The provider never gives roles: those come only from grants
and agreements, after the new user asks for access (`AccessRequest`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django_otp.models import Device

from core.models import BaseModel
from privacy.models.directory import Agency, Role, Unit


class MfaTrust(models.TextChoices):
    """Whether a sign-in through the provider counts as the second factor."""

    NEVER = "never", "Never: staff also use a local authenticator (TOTP)"
    ACR_AMR = "acr_amr", "When the provider asserts MFA (acr or amr claim)"


class IdentityProvider(BaseModel):
    """An agency's OpenID Connect provider: issuer, client, claim mapping and MFA trust."""

    agency = models.OneToOneField(
        Agency, on_delete=models.CASCADE, related_name="identity_provider"
    )
    issuer = models.URLField(
        max_length=300, help_text="The issuer URL; its /.well-known/openid-configuration is read."
    )
    client_id = models.CharField(max_length=200)
    client_secret_enc = models.TextField(
        blank=True,
        help_text="The client secret, encrypted with the data key (never shown again); "
        "`manage.py rotate_keys` re-encrypts it with the identifiers.",
    )
    scopes = models.CharField(max_length=200, default="openid email profile")
    enabled = models.BooleanField(default=True)
    agency_claim = models.CharField(
        max_length=100,
        blank=True,
        help_text="A claim that must hold the value below for the person to belong to this agency "
        "(empty: everyone this client signs in belongs to it).",
    )
    agency_claim_value = models.CharField(max_length=200, blank=True)
    unit_claim = models.CharField(
        max_length=100, blank=True, help_text="The claim whose value picks the unit (see mappings)."
    )
    default_unit = models.ForeignKey(
        Unit,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The unit when no mapping matches (empty: none until an admin sets it).",
    )
    mfa_trust = models.CharField(max_length=16, choices=MfaTrust.choices, default=MfaTrust.NEVER)
    mfa_acr_values = models.CharField(
        max_length=300, blank=True, help_text="acr values that mean MFA, separated by spaces."
    )
    mfa_amr_values = models.CharField(
        max_length=300,
        default="mfa otp hwk swk sc",
        blank=True,
        help_text="amr values (RFC 8176) any one of which means MFA, separated by spaces.",
    )

    class Meta:
        ordering = ["agency__name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mfa_trust__in=MfaTrust.values), name="idp_mfa_trust_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}: {self.issuer}"

    def clean(self) -> None:
        """The default unit belongs to the provider's agency; an agency claim needs its value."""
        if self.default_unit is not None and self.default_unit.agency_id != self.agency_id:
            raise ValidationError({"default_unit": "Pick a unit of this agency."})
        if bool(self.agency_claim) != bool(self.agency_claim_value):
            raise ValidationError(
                {"agency_claim_value": "Give both the claim and its value, or neither."}
            )


class UnitClaimMapping(BaseModel):
    """One value of the provider's unit claim, and the unit of the agency it places people in."""

    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.CASCADE, related_name="unit_mappings"
    )
    value = models.CharField(max_length=200)
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "value"], name="unit_claim_value_once")
        ]

    def __str__(self) -> str:
        return f"{self.value} → {self.unit}"


class ExternalIdentity(models.Model):
    """A person at a provider (issuer and subject) and the Crosscheck user they sign in as."""

    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.PROTECT, related_name="identities"
    )
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.subject} → {self.user_id}"


class IdentityProviderDevice(Device):  # type: ignore[misc]  # django-otp ships no types
    """The second factor a provider asserted (acr/amr): django-otp counts the session verified.

    It verifies no token of its own: it is only ever put in a session by the SSO sign-in.
    """

    user: models.ForeignKey[Any, Any] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The user this device belongs to.",
    )
    provider: models.ForeignKey[IdentityProvider, IdentityProvider] = models.ForeignKey(
        IdentityProvider, on_delete=models.CASCADE, related_name="+"
    )

    def verify_token(self, token: str) -> bool:
        """Never: a provider's MFA is asserted at sign-in, not typed in."""
        return False


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class AccessRequest(BaseModel):
    """A signed-in user's request for roles (e.g. after a first SSO sign-in), decided by an admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    roles = ArrayField(models.CharField(max_length=32, choices=Role.choices))
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    justification = models.TextField()
    status = models.CharField(
        max_length=16, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="access_request_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {','.join(self.roles)} ({self.status})"
