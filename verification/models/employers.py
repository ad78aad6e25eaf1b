"""Employers enrolled in E-Verify, their hiring sites and their API keys."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from core.models import BaseModel
from verification.models.scoping import EmployerScopedQuerySet


class EmployerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


class Employer(BaseModel):
    """An employer that signed the E-Verify enrollment MOU (not an inter-agency agreement)."""

    ein = models.CharField("EIN", max_length=9, unique=True, help_text="Nine digits, no hyphen.")
    name = models.CharField(max_length=200)
    naics = models.CharField("NAICS", max_length=6)
    state = models.CharField(max_length=2)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    mou_signed_on = models.DateField("E-Verify MOU signed on")
    is_federal_contractor = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=EmployerStatus.choices, default=EmployerStatus.ACTIVE
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The event types of the employer's live webhook subscriptions (their union), kept by
    # verification.webhooks.services in the transaction that changes a subscription. A submit
    # reads it from the row its API key already loaded, and asks for the subscriptions only
    # when one of them wants an event it implies.
    webhook_events = ArrayField(
        models.CharField(max_length=48), default=list, db_default=[], blank=True, editable=False
    )

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["naics", "state"], name="employer_naics_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ein__regex=r"^[0-9]{9}$"), name="employer_ein_nine_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ein_display})"

    @property
    def ein_display(self) -> str:
        """The EIN as written on forms: 12-3456789."""
        return f"{self.ein[:2]}-{self.ein[2:]}"


class HiringSite(BaseModel):
    """A place where the employer hires; cases may name one."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=10, blank=True)
    is_active = models.BooleanField(default=True)

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["employer_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["employer", "name"], name="hiring_site_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.city} {self.state}".strip()


class ApiScope(models.TextChoices):
    SUBMIT = "submit", "Submit cases (single and batch)"
    READ = "read", "Read cases and imports"
    CLOSE = "close", "Work cases: notice, decision, referral, closure"


def _all_scopes() -> list[str]:
    return list(ApiScope.values)


class EmployerApiKey(BaseModel):
    """A key an employer's system uses: 256 random bits, shown once, stored as its SHA-256."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    scopes = ArrayField(
        models.CharField(max_length=16, choices=ApiScope.choices), default=_all_scopes
    )
    rate_per_minute = models.PositiveIntegerField(
        default=0, help_text="Requests a minute before 429; 0 means the default setting."
    )

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def rate(self) -> int:
        """Requests a minute this key may make."""
        return self.rate_per_minute or settings.VERIFICATION_API_KEY_RATE_PER_MINUTE


class ApiKeyExpiryWarning(models.Model):
    """One warning that an employer API key expires in N days (30/7/1), sent once per expiry."""

    key = models.ForeignKey(EmployerApiKey, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveSmallIntegerField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "days_before", "expires_at"], name="apikey_expiry_warning_once"
            )
        ]

    def __str__(self) -> str:
        return f"key {self.key_id}: {self.days_before} days before {self.expires_at:%Y-%m-%d}"
