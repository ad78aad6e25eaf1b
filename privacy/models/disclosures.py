"""The accounting of disclosures (5 U.S.C. 552a(c)): append-only, one entry per person per request."""

from __future__ import annotations

from typing import Any

from django.db import models

from privacy.models.directory import Agency, Role


class DisclosureBasis(models.TextChoices):
    NEED_TO_KNOW = "b1", "(b)(1) need to know within the department"
    ROUTINE_USE = "b3", "(b)(3) routine use"
    LAW_ENFORCEMENT = "b7", "(b)(7) law-enforcement written request"
    COURT_ORDER = "b11", "(b)(11) court order"
    CONSENT = "consent", "Consent of the individual"


class DisclosureNature(models.TextChoices):
    VIEW = "view", "Viewed on screen"
    EXPORT = "export", "Exported"
    API_READ = "api_read", "Read over the API"
    HANDOFF = "handoff", "Case handed off"
    SEARCH = "search", "Returned by a search"


class DisclosureQuerySet(models.QuerySet["Disclosure"]):
    def accountable(self) -> DisclosureQuerySet:
        """Entries that cross departments (the (b)(1) ones are kept but not accountable)."""
        return self.filter(accountable=True)

    def for_person(self, person_ref: str) -> DisclosureQuerySet:
        """Entries about one person."""
        return self.filter(person_ref=person_ref)

    def visible_to(self, user: Any, action: str = "view") -> DisclosureQuerySet:
        """Admins, supervisors and auditors read the accounting; nobody else does."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if set(user.roles or []) & {Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR}:
            return self.all()
        return self.none()


class Disclosure(models.Model):
    """One disclosure of one person's record to a user of another agency.

    Rows are never updated; a database trigger refuses UPDATE, and DELETE outside the retention
    purge (which sets `crosscheck.retention_purge` for its own transaction).
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    nature = models.CharField(max_length=16, choices=DisclosureNature.choices)
    purpose = models.CharField(max_length=500)
    category = models.CharField(max_length=32)
    # recipient: agency (name and address as they were) and user
    recipient_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="disclosures_received"
    )
    recipient_agency_name = models.CharField(max_length=200)
    recipient_agency_address = models.TextField(blank=True)
    recipient_user_id = models.BigIntegerField(null=True, blank=True)
    recipient_username = models.CharField(max_length=150, blank=True)
    # owner and legal basis
    owner_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="disclosures_made"
    )
    basis = models.CharField(max_length=8, choices=DisclosureBasis.choices)
    accountable = models.BooleanField()
    routine_use = models.CharField(max_length=300, blank=True)
    agreement = models.ForeignKey(
        "privacy.Agreement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disclosures",
    )
    # the record and the person
    record_type = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64)
    person_ref = models.CharField(max_length=128, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    with_disagreement = models.BooleanField(
        default=False, help_text="A statement of disagreement went with it ((d)(4))."
    )

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id"], name="disclosure_record")]
        constraints = [
            # One entry per person per request (and record, category, nature): a retried write
            # adds nothing. By category: one record may show data of two owners (a finding's SSA
            # and DHS values), each accounted to its own.
            models.UniqueConstraint(
                fields=[
                    "request_id",
                    "person_ref",
                    "record_type",
                    "record_id",
                    "category",
                    "nature",
                    "recipient_user_id",
                ],
                condition=~models.Q(request_id=""),
                name="disclosure_once_per_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.record_type}:{self.record_id} → {self.recipient_agency_name}"

    @property
    def shown_to_subject(self) -> bool:
        """(b)(7) law-enforcement entries are left out of the report that goes to the person."""
        return self.basis != DisclosureBasis.LAW_ENFORCEMENT

    @property
    def recipient_label(self) -> str:
        """Recipient agency and user, as the report prints them."""
        return (
            f"{self.recipient_agency_name} ({self.recipient_username})"
            if self.recipient_username
            else self.recipient_agency_name
        )
