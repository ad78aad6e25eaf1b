"""Flagged cases and investigations: one `Case` model from the first finding to the disposition.

A flagged case is the triage stage: it is routed to a unit, and all analysts of that unit see it.
Once opened as an investigation, only its members see it (guardian object permissions given and
taken by `cases.services`). Findings join cases through `CaseFinding`; the ingest ledger
(`FindingIngest`) records that each finding was pulled exactly once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cases.access import case_scope
from core.models import BaseModel, ScopedQuerySet


class CaseKind(models.TextChoices):
    IDENTITY_FRAUD = "identity_fraud", "Identity fraud"
    UNAUTHORIZED_EMPLOYMENT = "unauthorized_employment", "Unauthorized employment"
    EMPLOYER_COMPLIANCE = "employer_compliance", "Employer compliance"


class CaseStatus(models.TextChoices):
    FLAGGED = "flagged", "Flagged"
    IN_TRIAGE = "in_triage", "In triage"
    INVESTIGATING = "investigating", "Investigating"
    PENDING_VERIFICATION = "pending_verification", "Pending verification"
    NOTICE_ISSUED = "notice_issued", "Notice issued"
    CONTEST_WINDOW = "contest_window", "Contest window"
    CLOSED = "closed", "Disposition"


# The triage stage: visible to the routed unit. Every later status is an investigation.
FLAGGED_STAGE = (CaseStatus.FLAGGED, CaseStatus.IN_TRIAGE)
OPEN_STATUSES = tuple(s for s in CaseStatus.values if s != CaseStatus.CLOSED)


class Closure(models.TextChoices):
    FALSE_POSITIVE = "false_positive", "False positive"
    NO_VIOLATION = "no_violation", "No violation"
    ADMINISTRATIVE_ACTION = "administrative_action", "Administrative action"
    REFERRAL = "referral", "Referral to the Justice Department / prosecution"
    MERGED = "merged", "Merged into another case"


# Dispositions that act against a person or employer: only past the due-process gate and 4-eyes.
ADVERSE_CLOSURES = (Closure.ADMINISTRATIVE_ACTION, Closure.REFERRAL)


class DismissReason(models.TextChoices):
    """The one coded reason a false-positive dismissal carries (counted against the rule)."""

    NAME_VARIANT = "name_variant", "Name variant / transliteration"
    CLERICAL = "clerical", "Clerical or keying error"
    REFERENCE_STALE = "reference_stale", "Reference record outdated"
    DUPLICATE_RECORD = "duplicate_record", "Duplicate record"
    LAWFUL_EXPLAINED = "lawful_explained", "Lawful situation explained"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


SEVERITY_RANK: dict[str, int] = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class SubjectKind(models.TextChoices):
    WORKER = "worker", "Worker"
    EMPLOYER = "employer", "Employer"


class Escalation(models.TextChoices):
    """The employer compliance ladder, climbed one rung at a time."""

    CONTACT = "contact", "Contact"
    MONITORING = "monitoring", "Monitoring"
    DESK_REVIEW = "desk_review", "Desk review"
    SITE_VISIT = "site_visit", "Site visit"
    REFERRAL = "referral", "Referral"


class DeliveryMethod(models.TextChoices):
    MAIL = "mail", "First-class mail"
    CERTIFIED_MAIL = "certified_mail", "Certified mail"
    IN_PERSON = "in_person", "In person"
    EMAIL = "email", "E-mail"


class ContestOutcome(models.TextChoices):
    UPHELD = "upheld", "Match upheld"
    OVERTURNED = "overturned", "Match overturned"


class CaseQuerySet(ScopedQuerySet):
    """Reads of cases, always through `visible_to`."""

    def visible_to(self, user: Any, action: str = "view") -> CaseQuerySet:
        """Flagged cases of the user's unit (until opened as investigations), and cases the user is a member of."""
        scope = case_scope(user, action)
        if scope is None:
            return self.none()
        return self.filter(scope.q())

    def flagged_stage(self) -> CaseQuerySet:
        """Cases still in triage."""
        return self.filter(status__in=FLAGGED_STAGE)

    def open(self) -> CaseQuerySet:
        """Cases without a disposition."""
        return self.exclude(status=CaseStatus.CLOSED)

    def investigations(self) -> CaseQuerySet:
        """Cases past triage (open or closed)."""
        return self.exclude(status__in=FLAGGED_STAGE).exclude(opened_at__isnull=True)

    def not_snoozed(self, today: date) -> CaseQuerySet:
        """Cases whose snooze, if any, has ended (snoozes end by themselves)."""
        return self.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lt=today))


class Case(BaseModel):
    """A flagged case and, once opened, the investigation that follows it."""

    number = models.CharField(max_length=20, unique=True, help_text="CC-YYYY-NNNNNNN")
    kind = models.CharField(max_length=32, choices=CaseKind.choices)
    status = models.CharField(max_length=24, choices=CaseStatus.choices, default=CaseStatus.FLAGGED)
    priority = models.PositiveSmallIntegerField(default=3, help_text="1 = most urgent, 4 = least")
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.LOW)
    score = models.FloatField(default=0.0)
    owning_agency = models.ForeignKey(
        "privacy.Agency", on_delete=models.PROTECT, related_name="cases"
    )
    routed_unit = models.ForeignKey(
        "privacy.Unit", on_delete=models.PROTECT, related_name="cases", null=True, blank=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    case_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent_cases",
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supervised_cases",
    )
    # The grouping key: one person (SSN blind index) or one employer makes one open case.
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    subject_key = models.CharField(max_length=96, db_index=True)
    # Denormalised, masked display values so the queue reads one table (no joins at 1M rows).
    subject_name = models.CharField(max_length=200, blank=True)
    subject_last4 = models.CharField(max_length=4, blank=True)
    employer_name = models.CharField(max_length=200, blank=True)
    employer_ref = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="verification employer id"
    )
    worker_ref = models.BigIntegerField(null=True, blank=True, help_text="verification worker id")
    state = models.CharField(max_length=2, blank=True, help_text="US state of the hiring site")
    rule_codes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    rule_families = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    finding_count = models.PositiveIntegerField(default=0)
    has_new_evidence = models.BooleanField(default=False)
    due_date = models.DateField(help_text="SLA due date in federal working days by severity")
    snoozed_until = models.DateField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="when it became an investigation"
    )
    escalation = models.CharField(max_length=16, choices=Escalation.choices, blank=True)
    # Due-process gate (Computer Matching Act (p)).
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    notice_issued_at = models.DateTimeField(null=True, blank=True)
    notice_delivery_method = models.CharField(
        max_length=16, choices=DeliveryMethod.choices, blank=True
    )
    notice_delivered_on = models.DateField(null=True, blank=True)
    contest_deadline = models.DateField(null=True, blank=True)
    contest_received_at = models.DateTimeField(null=True, blank=True)
    contest_decided_at = models.DateTimeField(null=True, blank=True)
    contest_outcome = models.CharField(max_length=16, choices=ContestOutcome.choices, blank=True)
    proposed_closure = models.CharField(max_length=24, choices=Closure.choices, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closure = models.CharField(max_length=24, choices=Closure.choices, blank=True)
    dismiss_reason = models.CharField(max_length=24, choices=DismissReason.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_cases"
    )
    handoff_agreement_id = models.BigIntegerField(
        null=True, blank=True, help_text="privacy agreement of the last handoff"
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "id"]
        permissions = [
            ("assign_case", "Can assign the case"),
            ("signoff_case", "Can sign off dispositions"),
        ]
        indexes = [
            # The triage queue: one ordered range scan per sort, whatever the page (keyset).
            models.Index(
                fields=["routed_unit", "priority", "id"],
                condition=Q(status__in=FLAGGED_STAGE),
                name="case_triage_priority",
            ),
            models.Index(
                fields=["routed_unit", "due_date", "id"],
                condition=Q(status__in=FLAGGED_STAGE),
                name="case_triage_due",
            ),
            models.Index(
                fields=["routed_unit", "created_at", "id"],
                condition=Q(status__in=FLAGGED_STAGE),
                name="case_triage_age",
            ),
            models.Index(fields=["assignee", "status", "due_date"], name="case_assignee_due"),
            # Dispositions awaiting sign-off: a handful among a million (the supervisor's home).
            models.Index(
                fields=["id"], condition=~Q(proposed_closure=""), name="case_awaiting_signoff"
            ),
            models.Index(fields=["subject_key", "status"], name="case_subject_status"),
            GinIndex(fields=["rule_codes"], name="case_rule_codes_gin"),
            GinIndex(fields=["tags"], name="case_tags_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=4), name="case_priority_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(status=CaseStatus.CLOSED) | Q(closure=""),
                name="case_closure_only_when_closed",
            ),
            models.CheckConstraint(
                condition=~Q(closure=Closure.FALSE_POSITIVE) | ~Q(dismiss_reason=""),
                name="case_false_positive_has_reason",
            ),
            # One open case per subject: the ingest groups on this.
            models.UniqueConstraint(
                fields=["subject_key"],
                condition=~Q(status=CaseStatus.CLOSED),
                name="case_one_open_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_flagged_stage(self) -> bool:
        """True while the case is in triage."""
        return self.status in FLAGGED_STAGE

    @property
    def is_closed(self) -> bool:
        """True once the case has a disposition."""
        return self.status == CaseStatus.CLOSED

    @property
    def subject_ref(self) -> str:
        """The person or employer that audit events and disclosures name: `ssn:<blind index>` or `employer:<id>`."""
        return self.subject_key[:80]


class CaseUserObjectPermission(UserObjectPermissionBase):
    """Need-to-know of one user on one case (guardian, direct foreign key)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    """Need-to-know of a group on one case (guardian, direct foreign key)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class RoutingRule(BaseModel):
    """Where flagged cases go: by rule family and state. The most specific active rule wins."""

    rule_family = models.CharField(max_length=32, blank=True, help_text="blank = any family")
    state = models.CharField(max_length=2, blank=True, help_text="blank = any state")
    unit = models.ForeignKey("privacy.Unit", on_delete=models.PROTECT, related_name="routing_rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["rule_family", "state"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_family", "state"],
                condition=Q(is_active=True),
                name="routing_one_active_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_family or '*'} / {self.state or '*'} → {self.unit}"


class Suppression(BaseModel):
    """A snooze of a subject (or of one rule for a subject) until a date; it ends by itself."""

    subject_key = models.CharField(max_length=96, db_index=True)
    rule_code = models.CharField(max_length=64, blank=True, help_text="blank = every rule")
    until = models.DateField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-until"]

    def __str__(self) -> str:
        return f"{self.subject_key} {self.rule_code or '*'} until {self.until}"


class SavedView(BaseModel):
    """A named queue filter: personal, or shared with the unit; one may be the unit default."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    unit = models.ForeignKey(
        "privacy.Unit", on_delete=models.CASCADE, null=True, blank=True, related_name="saved_views"
    )
    query = models.CharField(max_length=1000, help_text="the queue's query string")
    is_unit_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(is_unit_default=True),
                name="savedview_one_default_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(is_unit_default=False) | Q(unit__isnull=False),
                name="savedview_default_is_shared",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CaseEvent(models.Model):
    """One line of a case's timeline (what the people on the case see; the audit trail is separate)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="caseevent_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CaseNote(BaseModel):
    """A note on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=10000)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.case_id}"


def evidence_path(instance: Evidence, filename: str) -> str:
    """Files are stored under their hash, never under the uploaded name."""
    return f"evidence/{instance.case_id}/{instance.sha256}"


class EvidenceKind(models.TextChoices):
    UPLOAD = "upload", "Upload"
    NOTICE = "notice", "Notice to the person"


class Evidence(BaseModel):
    """A file kept as evidence, with its SHA-256 and its chain of custody."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(
        max_length=10, choices=EvidenceKind.choices, default=EvidenceKind.UPLOAD
    )
    file = models.FileField(upload_to=evidence_path, max_length=300)
    original_name = models.CharField(max_length=255)
    declared_type = models.CharField(
        max_length=120, blank=True, help_text="as the uploader's browser said; never served"
    )
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CustodyEvent(models.Model):
    """Chain of custody: who added, downloaded or handed over a piece of evidence, and when."""

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20)
    sha256 = models.CharField(max_length=64, help_text="the hash at the time of the event")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.evidence_id} {self.action}"


class CaseTask(BaseModel):
    """A task on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["done_at", "due_date", "id"]

    def __str__(self) -> str:
        return self.title


class NotificationKind(models.TextChoices):
    ASSIGNMENT = "assignment", "Assignment"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    HANDOFF = "handoff", "Handoff received"
    CONTEST = "contest", "Contest received"
    SIGNOFF = "signoff", "Sign-off requested"


class Notification(models.Model):
    """An in-app notification (also sent by e-mail after commit)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]
        constraints = [
            # Due-soon and overdue reminders go out once per case and user.
            models.UniqueConstraint(
                fields=["user", "case", "kind"],
                condition=Q(kind__in=["due_soon", "overdue"]),
                name="notification_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"


class CaseFinding(models.Model):
    """A lead behind a case: one finding belongs to exactly one case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_findings")
    finding = models.OneToOneField(
        "crossref.Finding", on_delete=models.PROTECT, related_name="case_link"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    is_new = models.BooleanField(
        default=False, help_text="joined an existing case and not yet reviewed"
    )

    class Meta:
        ordering = ["added_at", "id"]
        indexes = [models.Index(fields=["case", "added_at"], name="casefinding_case_added")]

    def __str__(self) -> str:
        return f"{self.case_id} ← finding {self.finding_id}"
