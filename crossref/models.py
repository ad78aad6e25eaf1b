"""Runs, their leased partitions, findings, schedules and shadow hits.

Subjects (verification cases, employers) are referred to by id columns rather than foreign
keys: findings are written in bulk by set-based SQL (INSERT ... SELECT), and the engine's
migrations stay independent of the verification app's. Findings and shadow hits are derived copies
of the cases they cite and are destroyed with them under retention (`crossref.retention`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q

from core.models import BaseModel, ScopedQuerySet
from verification.models import VerificationCase


class Severity(models.TextChoices):
    LOW = "low", "Low (review)"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class RunMode(models.TextChoices):
    NORMAL = "normal", "Normal (writes findings)"
    SHADOW = "shadow", "Shadow (compares rule versions, no findings)"


class PartitionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running (leased)"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Disposition(models.TextChoices):
    OPEN = "", "Open"
    DISMISSED = "dismissed", "Dismissed as false positive"
    VERIFIED = "verified", "Independently verified"
    ADVERSE = "adverse", "Adverse disposition"
    NO_ACTION = "no_action", "Closed with no violation found"


def _can_see_runs(user: Any) -> bool:
    roles = set(getattr(user, "roles", None) or [])
    return bool(getattr(user, "is_authenticated", False) and roles & {"admin", "supervisor"})


class LinkageModelQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> LinkageModelQuerySet:
        """Model parameters hold no personal data; admins and supervisors see them, as they see runs."""
        return self.all() if _can_see_runs(user) else self.none()

    def current(self) -> LinkageModel | None:
        """The newest active model: what a new run scores ENF-LINK with (None: the stated defaults)."""
        return self.filter(active=True).order_by("-version").first()

    def candidate(self) -> LinkageModel | None:
        """The newest model trained as a candidate (not active) after the current one: what a shadow
        run scores ENF-LINK's candidate version with."""
        current = self.current()
        newer = self.filter(active=False, version__gt=current.version if current else 0)
        return newer.order_by("-version").first()


class LinkageModel(models.Model):
    """One trained set of ENF-LINK's Fellegi-Sunter parameters (`crossref.linkage`), versioned.

    Rows are never edited: retraining adds a version, and findings name the version and digest
    that scored them (M8). `active` lets an admin stand a version down without deleting it.
    """

    version = models.PositiveIntegerField(unique=True)
    parameters = models.JSONField(help_text="{m: {field: [...]}, u: {...}, prior}")
    digest = models.CharField(max_length=12, help_text="Hash of the parameters.")
    training = models.JSONField(
        default=dict, help_text="What it was trained on: loads, sample sizes, EM rounds."
    )
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trained_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)

    objects = LinkageModelQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Linkage model v{self.version} ({self.digest})"


class RunQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> RunQuerySet:
        """Admins and supervisors see runs; a user outside those roles sees none."""
        if not _can_see_runs(user):
            return self.none()
        if action == "view":
            return self.all()
        return self.filter(owner=user)

    def active(self) -> RunQuerySet:
        """Runs whose partitions are still being worked."""
        return self.filter(status=RunStatus.RUNNING)


class Run(BaseModel):
    """One matching run: a scope, an owner, the agreement that authorizes it, and its progress."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crossref_runs"
    )
    mode = models.CharField(max_length=16, choices=RunMode.choices, default=RunMode.NORMAL)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    # {"rules": [...codes], "date_from": "YYYY-MM-DD", "date_to": ..., "employer_ids": [...]}
    scope = models.JSONField(default=dict, blank=True)
    rule_versions = models.JSONField(
        default=dict, help_text="code -> version run (shadow: code -> [current, candidate])."
    )
    agreement_id = models.BigIntegerField(
        null=True, blank=True, help_text="The matching agreement the run is authorized under."
    )
    authorization = models.JSONField(
        default=dict, help_text="category -> basis and agreement, as decided at start."
    )
    reference_loads = models.JSONField(
        default=list, blank=True, help_text="Ids of the reference loads in force at start."
    )
    linkage_model = models.ForeignKey(
        LinkageModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="ENF-LINK's parameters, fixed at start (none: the stated defaults).",
    )
    linkage_candidate = models.ForeignKey(
        LinkageModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shadow_runs",
        help_text="A shadow run's candidate parameters for ENF-LINK's candidate version.",
    )
    schedule = models.ForeignKey(
        "ScheduledRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    partitions_total = models.PositiveIntegerField(default=0)
    rows_estimated = models.BigIntegerField(default=0)
    staged_rows = models.BigIntegerField(
        null=True, blank=True, help_text="Cases copied to the run's staging table."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_shadow(self) -> bool:
        """A shadow run writes shadow hits, never findings."""
        return self.mode == RunMode.SHADOW


class Partition(models.Model):
    """A slice of a run: a hash range of the SSN blind index, or a bucket of employers.

    A worker claims it by taking a lease (status running, lease token, expiry). The findings
    and the done mark commit in one transaction, guarded by the lease token, so a partition whose
    lease was taken over by another worker can never be marked done twice.
    """

    class Kind(models.TextChoices):
        SSN = "ssn", "SSN blind-index range"
        EMPLOYER = "employer", "Employer bucket"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="partitions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    lo = models.CharField(max_length=64, help_text="Inclusive lower bound (hex prefix or bucket).")
    hi = models.CharField(max_length=64, help_text="Exclusive upper bound; empty means unbounded.")
    status = models.CharField(
        max_length=16, choices=PartitionStatus.choices, default=PartitionStatus.PENDING
    )
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    rows_examined = models.BigIntegerField(default=0)
    hits = models.JSONField(default=dict, help_text="rule code -> hits in this partition.")
    new_findings = models.JSONField(
        default=dict, help_text="rule code -> findings first written here."
    )
    timings = models.JSONField(
        default=dict, help_text="rule family -> seconds spent in this partition."
    )
    candidates = models.JSONField(
        default=dict, help_text="blocking rule -> candidate pairs it made in this partition."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "number"], name="crossref_partition_unique_number"
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "lease_expires_at"], name="crossref_partition_lease_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} partition {self.number} ({self.status})"


class FindingQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> FindingQuerySet:
        """Findings are leads about people: admins and supervisors here; analysts see them as flagged cases."""
        if not _can_see_runs(user):
            return self.none()
        return self.all()

    def pending_ingest(self) -> FindingQuerySet:
        """Findings the cases app has not yet turned into flagged cases (uses the partial index)."""
        return self.filter(ingested_at__isnull=True)

    def for_rule(self, code: str) -> FindingQuerySet:
        """Findings of one rule, any version."""
        return self.filter(rule_code=code)


class Finding(models.Model):
    """A lead for a human: which rule, about whom, on what evidence, and how sure.

    Unique on (rule_code, subject_key, evidence_key): every writer uses INSERT ... ON CONFLICT
    DO NOTHING, so re-running a partition, a run or the instant result never duplicates one.

    Ledger for the cases app (DESIGN.md, "verification -> cases"): a finding is new while
    `ingested_at` is NULL (a partial index covers exactly those rows). The cases app claims
    new findings inside its own transaction with
    ``Finding.objects.pending_ingest().order_by("id").select_for_update(skip_locked=True)[:n]``
    (or `services.finding_ingest_claim`), builds its flagged cases, and sets `ingested_at` in the
    same transaction. A finding committed late is still NULL, so it is never skipped; a worker
    that dies rolls back and its rows are claimable again.
    """

    rule_code = models.CharField(max_length=64)
    rule_version = models.PositiveIntegerField()
    family = models.CharField(
        max_length=32, help_text="identity_ssa, identity_dhs, ssn, enforcement, employer"
    )
    severity = models.CharField(max_length=16, choices=Severity.choices)
    is_clerical = models.BooleanField(
        default=False, help_text="A probable keying error, not a fraud lead."
    )
    subject_type = models.CharField(max_length=16, help_text="worker or employer")
    subject_key = models.CharField(
        max_length=128, help_text="case:<id>, ssn:<blind index> or employer:<id>"
    )
    evidence_key = models.CharField(
        max_length=256, help_text="What was compared, e.g. numident:<id>."
    )
    # A real foreign key: a case cannot be destroyed while a finding cites it (retention destroys
    # the findings first, crossref.retention). The engine writes the column directly, in bulk.
    case = models.ForeignKey(
        VerificationCase,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
        db_index=False,  # crossref_finding_case_idx below
        help_text="The verification case concerned.",
    )
    employer_id = models.BigIntegerField(null=True, blank=True)
    ssn_index = models.CharField(
        max_length=128, blank=True, help_text="SSN blind index: groups findings by person."
    )
    fields = models.JSONField(
        default=list,
        help_text="[{field, source, submitted, reference, score}]: per-field comparison; identifiers masked.",
    )
    evidence = models.JSONField(
        default=dict, help_text="The records compared and the figures behind the hit."
    )
    score = models.FloatField(default=1.0)
    summary = models.CharField(max_length=300, help_text="Why this was flagged, in one sentence.")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    reference_loads = ArrayField(models.BigIntegerField(), default=list, blank=True)
    agreement_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(
        max_length=16, choices=Disposition.choices, default=Disposition.OPEN, blank=True
    )
    disposition_at = models.DateTimeField(null=True, blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_code", "subject_key", "evidence_key"],
                name="crossref_finding_unique_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(ingested_at__isnull=True),
                name="crossref_finding_ingest_idx",
            ),
            models.Index(fields=["case_id"], name="crossref_finding_case_idx"),
            models.Index(fields=["employer_id"], name="crossref_finding_employer_idx"),
            models.Index(fields=["rule_code", "disposition"], name="crossref_finding_quality_idx"),
            BrinIndex(fields=["created_at"], name="crossref_finding_created_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} v{self.rule_version} {self.subject_key}"


class ShadowHit(models.Model):
    """What a rule version would have flagged in a shadow run: never a finding, never a flag."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="shadow_hits")
    rule_code = models.CharField(max_length=64)
    rule_version = models.PositiveIntegerField()
    subject_key = models.CharField(max_length=128)
    evidence_key = models.CharField(max_length=256)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    score = models.FloatField(default=1.0)
    summary = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "rule_code", "rule_version", "subject_key", "evidence_key"],
                name="crossref_shadowhit_unique_key",
            )
        ]

    def __str__(self) -> str:
        return f"shadow {self.rule_code} v{self.rule_version} {self.subject_key}"


class ScheduledRun(BaseModel):
    """A run that beat starts on a crontab schedule, as its owner, under its agreement."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crossref_schedules"
    )
    agreement_id = models.BigIntegerField(
        null=True, blank=True, help_text="The agreement each run must be authorized under."
    )
    scope = models.JSONField(default=dict, blank=True)
    minute = models.CharField(max_length=64, default="0")
    hour = models.CharField(max_length=64, default="2")
    day_of_week = models.CharField(max_length=64, default="*")
    enabled = models.BooleanField(default=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
