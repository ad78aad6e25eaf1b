"""Reference sources (SSA-like Numident, DHS-like immigration records, enforcement subjects).

Each file loaded is a `ReferenceLoad` with its provenance. Exactly one load per source is
current; a new vintage becomes current in one transaction, and the old one stays recorded
(superseded) until retention removes it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from core.models import BaseModel
from verification.models.scoping import (
    DhsScopedQuerySet,
    EnforcementScopedQuerySet,
    SsaScopedQuerySet,
)

# The collation of every blind-index column (`*_bidx`): hex digests, only ever compared for
# equality (look-ups, IN, joins) or against the run partitions' hex bounds, where byte order and
# any locale's order agree. Under "C" a comparison is a memcmp and sorts use abbreviated keys,
# so the B-tree builds after a bulk load run about twice as fast as under a locale collation.
# Every column joined to one of them must be "C" too (crossref's staging copies take it along).
BLIND_INDEX_COLLATION = "C"


class ReferenceSource(models.TextChoices):
    SSA = "ssa", "SSA Numident"
    DHS = "dhs", "DHS immigration records"
    ENFORCEMENT = "enforcement", "Enforcement subjects"


class LoadStatus(models.TextChoices):
    LOADING = "loading", "Loading"
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"
    FAILED = "failed", "Failed"


class ReferenceLoad(BaseModel):
    """One file of one source, with provenance: agency, file, vintage, rows, checksum, who."""

    source = models.CharField(max_length=16, choices=ReferenceSource.choices)
    source_agency = models.CharField(
        max_length=32, help_text="Code of the agency that sent the extract."
    )
    file_name = models.CharField(max_length=255)
    vintage = models.DateField(help_text="The date the extract describes.")
    row_count = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file.")
    status = models.CharField(max_length=16, choices=LoadStatus.choices, default=LoadStatus.LOADING)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    loaded_by_name = models.CharField(
        max_length=150, blank=True, help_text="OS user for command-line loads."
    )
    became_current_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(status="current"),
                name="reference_one_current_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.vintage} ({self.file_name})"


class ReferenceQuerySetMixin:
    """Rows of the current vintage only."""

    def current(self):  # type: ignore[no-untyped-def,unused-ignore]
        """Rows of the load that is current for this source."""
        return self.filter(load__status=LoadStatus.CURRENT)  # type: ignore[attr-defined]


class NumidentQuerySet(ReferenceQuerySetMixin, SsaScopedQuerySet):
    pass


class ImmigrationQuerySet(ReferenceQuerySetMixin, DhsScopedQuerySet):
    pass


class EnforcementQuerySet(ReferenceQuerySetMixin, EnforcementScopedQuerySet):
    pass


class NumidentCitizenship(models.TextChoices):
    CITIZEN = "citizen", "U.S. citizen"
    ALIEN_AUTHORIZED = "alien_authorized", "Legal alien allowed to work"
    ALIEN_NOT_AUTHORIZED = "alien_not_authorized", "Legal alien not allowed to work"
    OTHER = "other", "Other or unknown"


class Numident(models.Model):
    """An SSA-like master-file record of one SSN."""

    load = models.ForeignKey(ReferenceLoad, on_delete=models.CASCADE, related_name="+")
    ssn_enc = models.TextField()
    ssn_bidx = models.CharField(max_length=64, db_collation=BLIND_INDEX_COLLATION)
    ssn_last4 = models.CharField(max_length=4)
    first_name = models.CharField(max_length=80)
    middle_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    citizenship = models.CharField(max_length=24, choices=NumidentCitizenship.choices)
    death_date = models.DateField(null=True, blank=True)
    locked = models.BooleanField(default=False)

    objects = NumidentQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ssn_bidx", "load"], name="numident_ssn_bidx")]

    def __str__(self) -> str:
        return f"Numident •••{self.ssn_last4}"


class ImmigrationRecord(models.Model):
    """A DHS-like immigration record: identifiers, names, admission and work authorization."""

    load = models.ForeignKey(ReferenceLoad, on_delete=models.CASCADE, related_name="+")
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
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    country_of_birth = models.CharField(max_length=3, blank=True)
    class_of_admission = models.CharField(max_length=8, blank=True)
    work_authorized_from = models.DateField(null=True, blank=True)
    work_authorized_until = models.DateField(
        null=True, blank=True, help_text="Empty: no end (e.g. LPR)."
    )
    naturalized_on = models.DateField(null=True, blank=True)

    objects = ImmigrationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["a_number_bidx"],
                name="immig_a_number_bidx",
                condition=~models.Q(a_number_bidx=""),
            ),
            models.Index(
                fields=["i94_bidx"], name="immig_i94_bidx", condition=~models.Q(i94_bidx="")
            ),
            models.Index(
                fields=["passport_bidx"],
                name="immig_passport_bidx",
                condition=~models.Q(passport_bidx=""),
            ),
            models.Index(
                fields=["date_of_birth"],
                name="immig_naturalized_dob",
                condition=models.Q(naturalized_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"DHS record {self.pk}"


class EnforcementSubject(models.Model):
    """A subject of the enforcement database: names, aliases, DOB, nationality, documents."""

    load = models.ForeignKey(ReferenceLoad, on_delete=models.CASCADE, related_name="+")
    subject_ref = models.CharField(max_length=32)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    aliases = ArrayField(models.CharField(max_length=160), default=list, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    nationality = models.CharField(max_length=3, blank=True)
    documents_enc = ArrayField(models.TextField(), default=list, blank=True)
    documents_bidx = ArrayField(
        models.CharField(max_length=64, db_collation=BLIND_INDEX_COLLATION),
        default=list,
        blank=True,
    )
    # The kind of each document ("ssn", "a_number", "passport", "i94", "document_number"), in the
    # order of documents_bidx: the linkage model tells a subject without an SSN (no evidence) from
    # one with another SSN (evidence against). Empty on rows loaded before kinds were kept.
    documents_kind = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    status = models.CharField(max_length=24)

    objects = EnforcementQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            GinIndex(fields=["documents_bidx"], name="enf_documents_bidx"),
            models.Index(fields=["date_of_birth"], name="enf_dob"),
        ]

    def __str__(self) -> str:
        return f"Enforcement subject {self.subject_ref}"
