"""Staff e-mail: each user's delivery choice per kind of message, the daily digest's queue, and
the once-only expiry warnings of role grants."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MailKind(models.TextChoices):
    """The kinds of staff e-mail a user can choose a delivery for."""

    ASSIGNMENT = "assignment", "A case is assigned to me"
    HANDOFF = "handoff", "A case is handed off to my unit"
    CONTEST = "contest", "A person contests a notice on my case"
    SIGNOFF = "signoff", "A disposition awaits my sign-off"
    REMINDER = "reminder", "Reminders: my cases due soon or overdue"
    ESCALATION = "escalation", "Verification cases escalated to me"
    ACCESS_REVIEW = "access_review", "Access to review: break-glass, unusual activity, requests"
    RECORD_AMENDED = "record_amended", "A record my agency received was amended or disputed"
    AGREEMENT_EXPIRY = "agreement_expiry", "An agreement is about to expire"
    GRANT_EXPIRY = "grant_expiry", "A role grant is about to expire"
    API_KEY_EXPIRY = "api_key_expiry", "An employer API key is about to expire"
    GENERAL = "general", "Other messages"


class Delivery(models.TextChoices):
    """How a kind of message reaches a user's mailbox."""

    IMMEDIATE = "immediate", "At once"
    DAILY = "daily", "In a daily digest"
    NEVER = "never", "Never (in-app only)"


class MailPreference(models.Model):
    """A user's delivery for one kind of message; no row means the default, at once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preferences"
    )
    kind = models.CharField(max_length=32, choices=MailKind.choices)
    delivery = models.CharField(max_length=16, choices=Delivery.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="mail_preference_once"),
            models.CheckConstraint(
                condition=models.Q(delivery__in=Delivery.values), name="mail_preference_delivery"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} {self.delivery}"


class MailDigestItem(models.Model):
    """A message waiting for its user's next daily digest (sent_at is set once it went out)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=MailKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="mail_digest_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.subject}"


class GrantExpiryWarning(models.Model):
    """One warning that a role grant ends in N days (30/7/1), sent once per end date."""

    grant = models.ForeignKey(
        "privacy.RoleGrant", on_delete=models.CASCADE, related_name="expiry_warnings"
    )
    days_before = models.PositiveSmallIntegerField()
    valid_until = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "days_before", "valid_until"], name="grant_expiry_warning_once"
            )
        ]

    def __str__(self) -> str:
        return f"grant {self.grant_id}: {self.days_before} days before {self.valid_until}"
