"""Retention schedules, legal holds, purge runs and the tombstones they leave."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import BaseModel


class RetentionSchedule(BaseModel):
    """How long one type of record is kept (verification records: 10 years)."""

    source = models.CharField(max_length=64, unique=True, help_text="Registry source name.")
    years = models.PositiveSmallIntegerField()
    authority = models.CharField(
        max_length=200, help_text="The records schedule (e.g. NARA DAA-0563-2013-0001)."
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source}: {self.years} years"


class LegalHold(BaseModel):
    """A hold that stops destruction of one record or every record about one person."""

    source = models.CharField(
        max_length=64, blank=True, help_text="Registry source; blank for all sources."
    )
    record_id = models.CharField(max_length=64, blank=True)
    person_ref = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=300)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(record_id="") | ~models.Q(person_ref=""),
                name="legal_hold_names_a_target",
            )
        ]

    def __str__(self) -> str:
        return f"Hold {self.source or '*'}:{self.record_id or self.person_ref}"


class PurgeStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed"
    APPROVED = "approved", "Approved, destroying"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class PurgeRun(BaseModel):
    """A retention purge: first a preview (counts per type), then approved destruction in chunks."""

    cutoff_at = models.DateTimeField(help_text="The moment retention is measured from.")
    status = models.CharField(
        max_length=10, choices=PurgeStatus.choices, default=PurgeStatus.PREVIEWED
    )
    preview = models.JSONField(default=dict, help_text="{source: {due, held, to_destroy}}")
    destroyed = models.JSONField(default=dict, help_text="{source: count destroyed}")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Purge {self.pk} ({self.get_status_display()})"


class Tombstone(models.Model):
    """What is left of a destroyed record: its type, id and when and why it went. No personal data."""

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64)
    destroyed_at = models.DateTimeField()
    purge_run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="tombstones")
    authority = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-destroyed_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "record_id"], name="tombstone_once")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.record_id} destroyed {self.destroyed_at:%Y-%m-%d}"
