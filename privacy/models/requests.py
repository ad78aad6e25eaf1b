"""Subject access and amendment requests (5 U.S.C. 552a(d)), with stop-the-clock pauses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from core.models import BaseModel
from privacy.models.directory import Role


class SubjectRequestKind(models.TextChoices):
    ACCESS = "access", "Access to records"
    AMENDMENT = "amendment", "Amendment of a record"


class SubjectRequestStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    PAUSED = "paused", "Clock stopped"
    RESPONDED = "responded", "Responded (access package sent)"
    AMENDED = "amended", "Amendment made"
    REFUSED = "refused", "Amendment refused"
    CLOSED = "closed", "Closed"


class SubjectRequestQuerySet(models.QuerySet["SubjectRequest"]):
    def open(self) -> SubjectRequestQuerySet:
        """Requests still being worked."""
        return self.filter(
            status__in=[
                SubjectRequestStatus.RECEIVED,
                SubjectRequestStatus.ACKNOWLEDGED,
                SubjectRequestStatus.PAUSED,
            ]
        )

    def visible_to(self, user: Any, action: str = "view") -> SubjectRequestQuerySet:
        """Privacy staff (admins and supervisors) work requests; auditors read them."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        roles = set(user.roles or [])
        if roles & {Role.ADMIN, Role.SUPERVISOR}:
            return self.all()
        if Role.AUDITOR in roles and action == "view":
            return self.all()
        return self.none()


class SubjectRequest(BaseModel):
    """A person's request to see, or to correct, the records about them."""

    reference = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=10, choices=SubjectRequestKind.choices)
    status = models.CharField(
        max_length=12, choices=SubjectRequestStatus.choices, default=SubjectRequestStatus.RECEIVED
    )
    # who asks: enough to match records, nothing more ((e)(1))
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    ssn_index = models.CharField(
        max_length=128, blank=True, help_text="Blind index of the SSN given; never the SSN."
    )
    ssn_last4 = models.CharField(max_length=4, blank=True)
    contact_address = models.TextField(help_text="Where the acknowledgement and the response go.")
    identity_verified = models.BooleanField(default=False)
    identity_evidence = models.CharField(max_length=300, blank=True)
    # amendment: which record, which field, what the person says it should be
    amendment_record = models.CharField(max_length=160, blank=True, help_text="source:record id")
    amendment_field = models.CharField(max_length=64, blank=True)
    amendment_value = models.CharField(max_length=300, blank=True)
    amendment_reason = models.TextField(blank=True)
    # clock, in federal working days
    received_on = models.DateField()
    acknowledge_due_on = models.DateField()
    respond_due_on = models.DateField()
    acknowledged_on = models.DateField(null=True, blank=True)
    responded_on = models.DateField(null=True, blank=True)
    # work product
    matched_records = models.JSONField(default=list, blank=True)
    decision_reason = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SubjectRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_kind_display()})"

    @property
    def person_refs(self) -> list[str]:
        """The person references of the matched records."""
        return sorted({r["person_ref"] for r in self.matched_records if r.get("person_ref")})

    @property
    def is_paused(self) -> bool:
        """True while the clock is stopped."""
        return self.status == SubjectRequestStatus.PAUSED


class ClockPause(models.Model):
    """A stop-the-clock period (waiting for the person's identity proof or clarification)."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=300)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["started_on"]

    def __str__(self) -> str:
        return f"{self.started_on} to {self.ended_on or 'now'}: {self.reason}"


class DisagreementStatement(BaseModel):
    """A person's statement of disagreement with a refused amendment; it travels with later disclosures."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.PROTECT, related_name="statements")
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64)
    person_ref = models.CharField(max_length=128, db_index=True)
    text = models.TextField()
    filed_on = models.DateField()

    class Meta:
        ordering = ["-filed_on"]
        indexes = [models.Index(fields=["source", "record_id"], name="disagreement_record")]

    def __str__(self) -> str:
        return f"Statement of disagreement on {self.source}:{self.record_id}"


class AmendmentNotice(BaseModel):
    """A notice to an earlier recipient that a record was corrected or disputed ((c)(4))."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.PROTECT, related_name="notices")
    disclosure = models.ForeignKey("privacy.Disclosure", on_delete=models.PROTECT, related_name="+")
    recipient_agency = models.ForeignKey(
        "privacy.Agency", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(
        max_length=12, choices=[("corrected", "Corrected"), ("disputed", "Disputed")]
    )
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "recipient_agency", "kind"],
                name="amendment_notice_once_per_agency",
            )
        ]
