"""The employer portal: who acts for which employer, and bulk case imports (jobs, chunks, errors)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import BaseModel
from verification.models.employers import Employer, EmployerApiKey


class EmployerRole(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    USER = "user", "User"


class EmployerAccessQuerySet(models.QuerySet["EmployerAccess"]):
    """Chainable filters over employer access grants."""

    def active(self) -> EmployerAccessQuerySet:
        """Grants not revoked."""
        return self.filter(revoked_at__isnull=True)

    def of(self, user: Any) -> EmployerAccessQuerySet:
        """The active grants of one user (an agent holds several)."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.active().filter(user_id=user.pk)


class EmployerAccess(BaseModel):
    """A person's grant to act for one employer in the portal (a role grant scoped to an employer).

    The employer's administrators are invited by an admin; they grant and revoke the access of
    their employer's users, or of an agent who acts for several employers (one grant each).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="employer_access"
    )
    employer = models.ForeignKey(Employer, on_delete=models.CASCADE, related_name="access")
    role = models.CharField(max_length=16, choices=EmployerRole.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EmployerAccessQuerySet.as_manager()

    class Meta:
        ordering = ["employer_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "employer"],
                condition=models.Q(revoked_at__isnull=True),
                name="employer_access_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.role} · employer {self.employer_id}"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing: refuse the file if any row is bad"
    GOOD_ROWS = "good_rows", "Good rows only: import them, report the bad ones"
    ASK = "ask", "Show me the report first, then I choose"


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", "Validating"
    AWAITING_CHOICE = "awaiting_choice", "Bad rows found: waiting for your choice"
    REFUSED = "refused", "Refused: nothing imported"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(BaseModel):
    """One bulk import of cases from a file (UI upload, command or API), its state and counts.

    The state lives here and in its chunks, so a job resumes after its worker dies; rows carry
    an idempotency key, so importing the same file again creates nothing twice.
    """

    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        EmployerApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16)  # "portal", "command", "api"
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=8)  # "csv", "jsonl"
    mode = models.CharField(max_length=16, choices=ImportMode.choices)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.VALIDATING
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_invalid = models.PositiveIntegerField(default=0)
    rows_validated = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_already = models.PositiveIntegerField(
        default=0, help_text="Rows an earlier import of the same rows already created."
    )
    rows_processed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True, help_text="Imported cases by status.")
    message = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["employer", "-id"], name="import_employer_id")]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.file_name})"

    @property
    def progress(self) -> int:
        """Percent done: validation is the first half, the import the second."""
        if not self.rows_total:
            return 100 if self.is_finished else 0
        if self.status == ImportStatus.VALIDATING:
            if self.mode == ImportMode.ALL_OR_NOTHING:  # one pass: checked and written together
                return int(100 * self.rows_processed / self.rows_total)
            return int(50 * self.rows_validated / self.rows_total)
        if self.status == ImportStatus.IMPORTING:
            if self.rows_validated >= self.rows_total:  # after a validation pass
                return 50 + int(50 * self.rows_processed / self.rows_total)
            return int(100 * self.rows_processed / self.rows_total)
        return 100 if self.is_finished else 50

    @property
    def is_finished(self) -> bool:
        """Refused, done or failed: nothing more will happen."""
        return self.status in (ImportStatus.REFUSED, ImportStatus.DONE, ImportStatus.FAILED)


class ImportChunk(models.Model):
    """A slice of an import's rows, sealed (AES-GCM, bound to this row) until it is imported.

    `validated` and `imported` record where the job stands: a resumed job skips both.
    """

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField()
    row_count = models.PositiveIntegerField()
    payload_enc = models.TextField(
        blank=True, help_text="The chunk's rows, sealed; emptied when done."
    )
    validated = models.BooleanField(default=False)
    invalid = models.PositiveIntegerField(default=0)
    imported = models.BooleanField(default=False)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="import_chunk_number_unique")
        ]

    def __str__(self) -> str:
        return f"chunk {self.number} of import {self.job_id}"


class ImportRowError(models.Model):
    """One reason a row was refused: line, field, message (never the value itself)."""

    id = models.BigAutoField(primary_key=True)
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=64)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job_id", "line", "id"]
        indexes = [models.Index(fields=["job", "line"], name="import_error_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"
