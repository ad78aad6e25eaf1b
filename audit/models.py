"""The append-only, hash-chained audit trail, its seals and its review.

The two big tables (`audit_event`, `audit_seal`) are range-partitioned by month in PostgreSQL and
are created by hand-written SQL in migration 0001 (Django cannot declare partitioned tables). The
models below describe them for the ORM: Django sees `id` as the primary key, which is unique
because it comes from one sequence, while the database key is `(id, occurred_at)` as partitioning
requires. The columns `txid` (the inserting transaction) exists only in SQL; the ORM never writes it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Reads of the trail, scoped to who may review it."""

    def visible_to(self, user: Any, action: str = "view") -> AuditEventQuerySet:
        """Auditors read every agency's trail; supervisors their own agency's; nobody else any."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.has_role("auditor"):
            return self.all()
        if user.has_role("supervisor") and user.agency_id:
            return self.filter(actor_agency=user.agency.code)
        return self.none()


class AuditEvent(models.Model):
    """One audited action: who did what to whom, when, where, why, and with what outcome.

    Rows are never updated or deleted (database triggers refuse it). Actor and subjects are
    stored as plain values, not foreign keys, so the trail outlives the rows it describes.
    Identifiers (SSN, A-Number, document numbers) are never stored, at most their last four.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    catalogue_version = models.PositiveSmallIntegerField(default=1)
    # who
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(
        max_length=128, blank=True, help_text="The actor's roles, comma-separated."
    )
    api_key_id = models.BigIntegerField(null=True, blank=True)
    employer_id = models.BigIntegerField(null=True, blank=True)
    # what
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    subjects = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    search_kind = models.CharField(max_length=32, blank=True)
    search_hmac = models.CharField(
        max_length=64, blank=True, help_text="HMAC of the normalized searched value."
    )
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
    break_glass = models.BooleanField(default=False)
    # outcome and change
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    changes = models.JSONField(default=dict, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        managed = True
        db_table = "audit_event"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_username or '-'}"


class AuditSeal(models.Model):
    """The chain link of one event: its place in the chain, the previous hash and its own hash.

    Written only by the sealer (`audit.chain.seal_pending`), append-only like the events, and
    partitioned by the event's month so retention drops an event and its seal together.
    """

    seq = models.BigIntegerField(primary_key=True)
    event_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    prev_hash = models.BinaryField()
    hash = models.BinaryField()
    sealed_at = models.DateTimeField()
    format = models.PositiveSmallIntegerField(
        default=1, help_text="The canonical format the hash was computed over (1 or 2)."
    )

    class Meta:
        managed = True
        db_table = "audit_seal"
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"seal {self.seq} of event {self.event_id}"


class RetentionAnchor(models.Model):
    """What a retention drop removed, so the verifier knows where the kept chain may begin."""

    month = models.DateField(unique=True)
    dropped_at = models.DateTimeField(auto_now_add=True)
    events = models.BigIntegerField()
    max_seq = models.BigIntegerField(null=True)
    max_seq_hash = models.BinaryField(null=True)

    class Meta:
        db_table = "audit_retention_anchor"
        ordering = ["month"]

    def __str__(self) -> str:
        return f"dropped {self.month:%Y-%m} ({self.events} events)"


class VerificationRun(models.Model):
    """One run of the chain verifier, for the supervisors' status panel."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    from_seq = models.BigIntegerField(null=True)
    to_seq = models.BigIntegerField(null=True)
    checked = models.BigIntegerField(default=0)
    ok = models.BooleanField(null=True)
    first_bad_seq = models.BigIntegerField(null=True)
    first_bad_event_id = models.BigIntegerField(null=True)
    problem = models.TextField(blank=True)
    checkpoints_checked = models.IntegerField(default=0)
    unsealed = models.BigIntegerField(default=0)
    trigger = models.CharField(max_length=32, default="schedule")

    class Meta:
        db_table = "audit_verification_run"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"verification {self.started_at:%Y-%m-%d %H:%M} ok={self.ok}"


class ReviewReason(models.TextChoices):
    SAMPLE = "sample", "Random sample"
    FLAG = "flag", "Anomaly flag"


class ReviewAssignmentQuerySet(models.QuerySet["ReviewAssignment"]):
    """Review work, scoped to its reviewer."""

    def open(self) -> ReviewAssignmentQuerySet:
        """Not reviewed yet."""
        return self.filter(reviewed_at__isnull=True)

    def for_reviewer(self, user: Any) -> ReviewAssignmentQuerySet:
        """Assigned to `user`."""
        return self.filter(reviewer=user)


class ReviewAssignment(models.Model):
    """An audit event a supervisor must review: a random sample, or one raised by an anomaly rule."""

    event_id = models.BigIntegerField()
    event_occurred_at = models.DateTimeField()
    event_actor_id = models.BigIntegerField(null=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_reviews"
    )
    reason = models.CharField(max_length=8, choices=ReviewReason.choices)
    rule = models.CharField(max_length=48, blank=True)
    explanation = models.TextField(blank=True)
    assigned_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = ReviewAssignmentQuerySet.as_manager()

    class Meta:
        db_table = "audit_review_assignment"
        ordering = ["reviewed_at", "-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "reviewer", "rule"], name="audit_review_once_per_rule"
            ),
            models.CheckConstraint(
                condition=models.Q(reviewed_at__isnull=True) | ~models.Q(note=""),
                name="audit_review_needs_note",
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "reviewed_at"], name="audit_review_queue")]

    def __str__(self) -> str:
        return f"review of event {self.event_id} by {self.reviewer_id}"


class RowChange(models.Model):
    """Row history of a domain table, written by a database trigger (writes that bypass services).

    Identifier columns are left out by the trigger; see `audit.history`.
    """

    id = models.BigAutoField(primary_key=True)
    changed_at = models.DateTimeField()
    table_name = models.CharField(max_length=63)
    row_pk = models.CharField(max_length=64)
    operation = models.CharField(max_length=8)
    old = models.JSONField(null=True)
    new = models.JSONField(null=True)
    db_user = models.CharField(max_length=63)
    app_user_id = models.BigIntegerField(null=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "audit_row_change"
        ordering = ["-id"]
        indexes = [models.Index(fields=["table_name", "row_pk", "id"], name="audit_rowchange_row")]

    def __str__(self) -> str:
        return f"{self.operation} {self.table_name}:{self.row_pk}"
