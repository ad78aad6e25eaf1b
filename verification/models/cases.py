"""Workers, verification cases (every I-9 field and the E-Verify lifecycle) and their comparisons.

Identifiers are never stored in clear: each has an AES-GCM token (`*_enc`, bound to table,
column and row), a keyed blind index (`*_bidx`) for equality and joins, and its last four.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel
from verification.models.employers import Employer, EmployerApiKey, HiringSite
from verification.models.reference import BLIND_INDEX_COLLATION
from verification.models.scoping import VerificationScopedQuerySet


class CitizenshipStatus(models.TextChoices):
    CITIZEN = "citizen", "A citizen of the United States"
    NONCITIZEN_NATIONAL = "noncitizen_national", "A noncitizen national of the United States"
    PERMANENT_RESIDENT = "permanent_resident", "A lawful permanent resident"
    AUTHORIZED_ALIEN = "authorized_alien", "A noncitizen authorized to work"


class DocumentType(models.TextChoices):
    US_PASSPORT = "us_passport", "U.S. passport (List A)"
    US_PASSPORT_CARD = "us_passport_card", "U.S. passport card (List A)"
    PERMANENT_RESIDENT_CARD = "permanent_resident_card", "Permanent Resident Card, I-551 (List A)"
    FOREIGN_PASSPORT_I551 = "foreign_passport_i551", "Foreign passport with I-551 stamp (List A)"
    EMPLOYMENT_AUTHORIZATION = (
        "employment_authorization",
        "Employment Authorization Document, I-766 (List A)",
    )
    FOREIGN_PASSPORT_I94 = "foreign_passport_i94", "Foreign passport with Form I-94 (List A)"
    LIST_B_AND_C = "list_b_and_c", "List B identity document and List C employment document"


class CaseStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    EMPLOYMENT_AUTHORIZED = "employment_authorized", _("Employment Authorized")
    NEEDS_MORE_TIME = "needs_more_time", _("Needs More Time")
    TENTATIVE_NONCONFIRMATION = (
        "tentative_nonconfirmation",
        _("Tentative Nonconfirmation (mismatch)"),
    )
    REFERRED = "referred", _("Referred")
    CASE_IN_CONTINUANCE = "case_in_continuance", _("Case in Continuance")
    CLOSE_AND_RESUBMIT = "close_and_resubmit", _("Close Case and Resubmit")
    FINAL_NONCONFIRMATION = "final_nonconfirmation", _("Final Nonconfirmation")
    DHS_NO_SHOW = "dhs_no_show", _("DHS No Show")
    CLOSED = "closed", _("Closed")


class TncSource(models.TextChoices):
    NONE = "", "None"
    SSA = "ssa", "SSA"
    DHS = "dhs", "DHS"
    BOTH = "both", "SSA and DHS"


class EmployeeDecision(models.TextChoices):
    NONE = "", "Not yet recorded"
    TAKE_ACTION = "take_action", "Will take action (contest)"
    NO_ACTION = "no_action", "Will not take action"


class ClosureCode(models.TextChoices):
    # Chosen by the employer
    EMPLOYEE_CONTINUES_AFTER_EA = (
        "continues_after_ea",
        _("Employee continues to work after Employment Authorized"),
    )
    TERMINATED_AFTER_FNC = (
        "terminated_after_fnc",
        _("Employee terminated after Final Nonconfirmation"),
    )
    CONTINUES_AFTER_FNC = (
        "continues_after_fnc",
        _("Employee continues to work after Final Nonconfirmation (reason given)"),
    )
    INFO_NOT_CORRECT = "info_not_correct", _("Information not correct; case resubmitted")
    DUPLICATE = "duplicate", _("Duplicate case")
    VOLUNTARILY_QUIT = "voluntarily_quit", _("Employee voluntarily quit")
    NOT_HIRED = "not_hired", _("Employee not hired")
    OTHER = "other", _("Other (explained in free text)")
    # Set by the system only
    EA_AUTOMATIC = "ea_automatic", _("Employment Authorized, closed automatically")
    DRAFT_EXPIRED = "draft_expired", _("Draft closed automatically after 180 working days")
    NO_DECISION = "no_decision", _("No employee decision by the 10th working day; closed as final")


class LateReason(models.TextChoices):
    AWAITING_SSN = "awaiting_ssn", "Awaiting Social Security number"
    TECHNICAL_PROBLEMS = "technical_problems", "Technical problems"
    AUDIT_REVEALED = "audit_revealed", "Audit revealed new hire was not run"
    FEDERAL_CONTRACTOR = (
        "federal_contractor",
        "Federal contractor with E-Verify clause verifying existing employee",
    )
    OTHER = "other", "Other (explained in free text)"


class DuplicateReason(models.TextChoices):
    INCORRECT_DATA = "incorrect_data", "Incorrect data was submitted on the previous case"
    RESUBMIT = "resubmit", "Previous case result was Close Case and Resubmit"
    REHIRE = "rehire", "The employee was rehired"
    OTHER = "other", "Other (explained in free text)"


class ComparisonOutcome(models.TextChoices):
    MATCH = "match", "Match"
    VARIANT = "variant", "Lawful variant"
    NEAR = "near", "Near match (review)"
    MISMATCH = "mismatch", "Mismatch"
    NOT_FOUND = "not_found", "No record"
    FLAG = "flag", "Flag on the record"


class Worker(BaseModel):
    """A person as known to one employer, by the blind index of their SSN."""

    # No index of its own: the unique (employer, ssn_bidx) index serves lookups by employer.
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="workers", db_index=False
    )
    ssn_bidx = models.CharField(max_length=64, db_collation=BLIND_INDEX_COLLATION)
    ssn_last4 = models.CharField(max_length=4)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)

    objects = VerificationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "ssn_bidx"], name="worker_unique_per_employer"
            )
        ]
        indexes = [models.Index(fields=["ssn_bidx"], name="worker_ssn_bidx")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} (•••{self.ssn_last4})"


class CaseQuerySet(VerificationScopedQuerySet):
    """Chainable filters over verification cases."""

    def open(self) -> CaseQuerySet:
        """Cases not yet closed."""
        return self.exclude(status=CaseStatus.CLOSED)

    def for_employer(self, employer: Employer | int) -> CaseQuerySet:
        """The cases of one employer."""
        return self.filter(employer=employer)


class VerificationCase(BaseModel):
    """One E-Verify case: the I-9 data an employer submitted, its result and where it stands."""

    # Overrides BaseModel's btree index: a BRIN index (Meta) keeps a 400M-row table partitionable.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # FK indexes only where reads need them: (employer, -id) in Meta serves the employer's lists.
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    hiring_site = models.ForeignKey(
        HiringSite,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        db_index=False,
    )
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="cases")
    employer_case_id = models.CharField(max_length=64, blank=True)
    submitted_by_key = models.ForeignKey(
        EmployerApiKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # Section 1 of Form I-9
    first_name = models.CharField(max_length=80)
    middle_initial = models.CharField(max_length=1, blank=True)
    last_name = models.CharField(max_length=80)
    other_last_names = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField()
    ssn_enc = models.TextField()
    ssn_bidx = models.CharField(max_length=64, db_collation=BLIND_INDEX_COLLATION)
    ssn_last4 = models.CharField(max_length=4)
    employee_email = models.EmailField(blank=True)
    preferred_language = models.CharField(
        max_length=15,
        default="en",
        help_text="The worker's language for notices: a code of settings.LANGUAGES.",
    )
    citizenship_status = models.CharField(max_length=24, choices=CitizenshipStatus.choices)
    a_number_enc = models.TextField(blank=True)
    a_number_bidx = models.CharField(max_length=64, blank=True, db_collation=BLIND_INDEX_COLLATION)
    a_number_last4 = models.CharField(max_length=4, blank=True)
    i94_enc = models.TextField(blank=True)
    i94_bidx = models.CharField(max_length=64, blank=True, db_collation=BLIND_INDEX_COLLATION)
    i94_last4 = models.CharField(max_length=4, blank=True)
    passport_enc = models.TextField(blank=True)
    passport_bidx = models.CharField(max_length=64, blank=True, db_collation=BLIND_INDEX_COLLATION)
    passport_last4 = models.CharField(max_length=4, blank=True)
    passport_country = models.CharField(max_length=3, blank=True)
    work_authorization_expires_on = models.DateField(null=True, blank=True)
    # Section 2
    document_type = models.CharField(max_length=32, choices=DocumentType.choices)
    document_number_enc = models.TextField(blank=True)
    document_number_bidx = models.CharField(
        max_length=64, blank=True, db_collation=BLIND_INDEX_COLLATION
    )
    document_number_last4 = models.CharField(max_length=4, blank=True)
    document_expires_on = models.DateField(null=True, blank=True)
    offer_accepted_on = models.DateField()
    i9_completed_on = models.DateField()
    hire_date = models.DateField(help_text="The first day of work for pay.")
    late_reason = models.CharField(max_length=24, choices=LateReason.choices, blank=True)
    late_reason_text = models.CharField(max_length=500, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    duplicate_reason = models.CharField(max_length=24, choices=DuplicateReason.choices, blank=True)
    duplicate_reason_text = models.CharField(max_length=500, blank=True)
    # Lifecycle
    status = models.CharField(max_length=32, choices=CaseStatus.choices, default=CaseStatus.DRAFT)
    status_changed_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    tnc_source = models.CharField(max_length=4, choices=TncSource.choices, blank=True)
    tnc_issued_on = models.DateField(null=True, blank=True)
    name_review_requested = models.BooleanField(default=False)
    nmt_due_on = models.DateField(null=True, blank=True)
    nmt_escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the DHS manual check passed its deadline unresolved.",
    )
    fan_issued_on = models.DateField("Further Action Notice issued on", null=True, blank=True)
    decision = models.CharField(max_length=16, choices=EmployeeDecision.choices, blank=True)
    decision_due_on = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    referred_on = models.DateField(null=True, blank=True)
    contact_due_on = models.DateField(null=True, blank=True)
    contacted_on = models.DateField(null=True, blank=True)
    continuance_since = models.DateField(null=True, blank=True)
    continuance_escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    resolution_note = models.CharField(max_length=500, blank=True)
    result = models.CharField(
        max_length=32,
        choices=CaseStatus.choices,
        blank=True,
        help_text="The last result before closure.",
    )
    closure_code = models.CharField(max_length=24, choices=ClosureCode.choices, blank=True)
    closure_text = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resubmission_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    import_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="A bulk import's key of the row this case came from: a second import of it creates nothing.",
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            BrinIndex(fields=["created_at"], name="vcase_created_brin"),
            models.Index(fields=["employer", "-id"], name="vcase_employer_id"),
            models.Index(fields=["ssn_bidx"], name="vcase_ssn_bidx"),
            models.Index(
                fields=["status", "status_changed_at"],
                name="vcase_open_status",
                condition=~models.Q(status="closed"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "employer_case_id"],
                name="vcase_employer_case_id_unique",
                condition=~models.Q(employer_case_id=""),
            ),
            models.UniqueConstraint(
                fields=["employer", "import_key"],
                name="vcase_import_key_unique",
                condition=~models.Q(import_key=""),
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed", closure_code__gt="")
                | (~models.Q(status="closed") & models.Q(closure_code="")),
                name="vcase_closed_iff_coded",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.get_status_display()})"

    @property
    def escalated_at(self) -> Any:
        """When the wait the case is in now (Needs More Time, continuance) was escalated; None if not."""
        if self.status == CaseStatus.NEEDS_MORE_TIME:
            return self.nmt_escalated_at
        if self.status == CaseStatus.CASE_IN_CONTINUANCE:
            return self.continuance_escalated_at
        return None

    @property
    def subject(self) -> str:
        """The audit subject string of this case."""
        return f"vcase:{self.pk}"


class CaseComparison(models.Model):
    """Which field of which source agreed or disagreed at the instant result, with a score.

    Identifier values appear only as their last four; names and dates in clear (DESIGN.md).
    The cross-reference engine turns these rows into findings.
    """

    case = models.ForeignKey(VerificationCase, on_delete=models.CASCADE, related_name="comparisons")
    source = models.CharField(max_length=16)  # "ssa" | "dhs"
    field = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=ComparisonOutcome.choices)
    submitted_value = models.CharField(max_length=200, blank=True)
    reference_value = models.CharField(max_length=200, blank=True)
    score = models.FloatField(null=True, blank=True)
    hint = models.CharField(
        max_length=48, blank=True, help_text="e.g. dob_day_month_swap, ssn_transposition"
    )
    reference_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = VerificationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["case_id", "id"]

    def __str__(self) -> str:
        return f"{self.source}.{self.field}: {self.outcome}"


class IdempotencyRecord(models.Model):
    """A submit seen under an Idempotency-Key: a retry gets the same case, never a second one."""

    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    case = models.ForeignKey(
        VerificationCase, null=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employer", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.employer_id}:{self.key}"
