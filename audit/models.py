"""The append-only audit trail."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AuditEvent(models.Model):
    """One audited action: who did what to whom, when, where, why, and with what outcome.

    Rows are never updated or deleted (database triggers refuse it). Actor and subjects are
    stored as plain values, not foreign keys, so the trail outlives the rows it describes.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    # who
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    employer_id = models.BigIntegerField(null=True, blank=True)
    # what
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    subjects = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    # where
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    task_name = models.CharField(max_length=128, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    # why
    case_id = models.BigIntegerField(null=True, blank=True)
    agreement_id = models.BigIntegerField(null=True, blank=True)
    justification = models.TextField(blank=True)
    # outcome and change
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    changes = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["actor_id", "occurred_at"], name="audit_actor_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_username or '-'}"
