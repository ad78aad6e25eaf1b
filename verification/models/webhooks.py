"""Signed webhooks for employers' systems (issue 20 §3): subscriptions, the event outbox, deliveries.

An event is written to the outbox (`WebhookEvent`, one `WebhookDelivery` per subscription that
wants it) in the same transaction as the case change it reports, so nothing is lost when Redis or
a worker is down: Celery only carries "deliver this row now", and a beat sweep picks up any row
that is due. The body is serialized once, at emission, and every attempt signs exactly those bytes.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from core.models import BaseModel
from verification.models.employers import Employer, EmployerApiKey
from verification.models.scoping import EmployerScopedQuerySet


class WebhookEventType(models.TextChoices):
    STATUS_CHANGED = "case.status_changed", "Case status changed"
    FAN_DUE = "case.further_action_notice_due", "Further Action Notice due"
    REFERRAL_DEADLINE = "case.referral_deadline", "Referral deadline"
    CLOSED = "case.closed", "Case closed"
    PING = "ping", "Ping (a test delivery asked for by the employer)"


SUBSCRIBABLE = [c for c in WebhookEventType.values if c != WebhookEventType.PING]


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Delivered"
    DEAD = "dead", "Dead letter"
    CANCELLED = "cancelled", "Cancelled (subscription deleted)"


IN_FLIGHT = (DeliveryState.PENDING, DeliveryState.RETRYING)


class WebhookSubscription(BaseModel):
    """An employer's endpoint and the events it wants; its signing secret is stored encrypted."""

    employer = models.ForeignKey(
        Employer, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=48, choices=WebhookEventType.choices))
    description = models.CharField(max_length=200, blank=True)
    # AES-GCM tokens (privacy.crypto) bound to this table, column and row; `manage.py rotate_keys`
    # re-encrypts them with the identifiers.
    secret_enc = models.TextField(blank=True)
    previous_secret_enc = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        EmployerApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["employer_id", "id"]
        indexes = [
            models.Index(
                fields=["employer"],
                name="webhook_sub_live",
                condition=models.Q(deleted_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"

    @property
    def is_live(self) -> bool:
        """Not deleted."""
        return self.deleted_at is None

    @property
    def in_overlap(self) -> bool:
        """True while the previous secret still signs deliveries beside the new one."""
        return bool(
            self.previous_secret_enc
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > timezone.now()
        )


class WebhookEvent(models.Model):
    """One event of the outbox: its id (receivers deduplicate on it) and its body, fixed at emission."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=48, choices=WebhookEventType.choices)
    case_id = models.BigIntegerField(null=True, blank=True)
    # Which occurrence this is (e.g. "due_soon:2026-12-08"): a sweep run twice emits nothing twice.
    dedupe_key = models.CharField(max_length=80, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case_id", "type", "dedupe_key"],
                name="webhook_event_once",
                condition=~models.Q(dedupe_key=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event owed to one subscription: its state, the last answer, when to try next.

    A replay is a new delivery of the same event (same event id), so the history stays whole.
    """

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(state__in=["pending", "retrying"]),
            ),
            models.Index(fields=["employer", "-id"], name="webhook_delivery_employer"),
            models.Index(fields=["state", "-id"], name="webhook_delivery_state"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: when, how long, the answer's code and excerpt, or the error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    truncated = models.BooleanField(default=False, help_text="The answer passed the size cap.")
    error = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"


class WebhookHostAllowance(BaseModel):
    """An admin's exception to the outbound-address rule: a host name, or an IP network (CIDR)."""

    host = models.CharField(max_length=255, unique=True)
    note = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EmployerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host
