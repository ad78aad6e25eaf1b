"""Verification cases as a personal-data source of the privacy registry (subject access, amendment, retention)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from audit.history import retention_purge
from core.ids import parse_id
from privacy.crypto import mask
from privacy.policy import DataCategory
from privacy.registry import PersonQuery, RecordRef
from verification import validation
from verification.models import VerificationCase, Worker

AMENDABLE = ("first_name", "middle_initial", "last_name", "other_last_names", "date_of_birth")


class VerificationCaseSource:
    """E-Verify verification cases (with their comparisons); kept 10 years (DOMAIN.md §4)."""

    name: str = "verification.case"
    # Partner reads were accounted as "verification_case" before they took the source's name.
    record_aliases: tuple[str, ...] = ("verification_case",)
    label: str = "E-Verify verification case"
    category: str = DataCategory.VERIFICATION_CASES
    default_retention_years: int = 10

    def find(self, query: PersonQuery) -> Iterable[RecordRef]:
        """Cases by SSN blind index, else by name and date of birth."""
        qs = VerificationCase.objects.select_related("employer")
        if query.ssn_index:
            qs, how = qs.filter(ssn_bidx=query.ssn_index), "ssn"
        elif query.last_name and query.date_of_birth:
            qs, how = (
                qs.filter(last_name__iexact=query.last_name, date_of_birth=query.date_of_birth),
                "name+dob",
            )
            if query.first_name:
                qs = qs.filter(first_name__iexact=query.first_name)
        else:
            return []
        return [
            RecordRef(
                source=self.name,
                record_id=str(c.pk),
                person_ref=f"worker:{c.worker_id}",
                summary=f"E-Verify case {c.pk} at {c.employer.name}, {c.get_status_display()}, created {c.created_at:%Y-%m-%d}",
                match=how,
            )
            for c in qs.order_by("id")[:500]
        ]

    def export(self, record_id: str) -> dict[str, Any]:
        """The case as the person may receive it: identifiers masked, comparisons included."""
        c = VerificationCase.objects.select_related("employer").get(pk=int(record_id))
        return {
            "case": c.pk,
            "employer": c.employer.name,
            "first_name": c.first_name,
            "middle_initial": c.middle_initial,
            "last_name": c.last_name,
            "other_last_names": c.other_last_names,
            "date_of_birth": c.date_of_birth.isoformat(),
            "ssn": mask(c.ssn_last4),
            "a_number": mask(c.a_number_last4),
            "citizenship_status": c.citizenship_status,
            "document_type": c.document_type,
            "hire_date": c.hire_date.isoformat(),
            "status": c.status,
            "result": c.result,
            "closure_code": c.closure_code,
            "created_at": c.created_at.isoformat(),
            "comparisons": [
                {
                    "source": x.source,
                    "field": x.field,
                    "outcome": x.outcome,
                    "submitted": x.submitted_value,
                    "reference": x.reference_value,
                    "score": x.score,
                }
                for x in c.comparisons.all()
            ],
        }

    def amendable_fields(self) -> Sequence[str]:
        """Names and date of birth."""
        return AMENDABLE

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        """Apply a granted correction, validated like the I-9 field."""
        if field not in AMENDABLE:
            raise ValueError(f"{field} cannot be amended.")
        case = VerificationCase.objects.select_for_update().get(pk=int(record_id))
        clean: Any
        if field == "date_of_birth":
            clean = date.fromisoformat(value)
        elif field == "middle_initial":
            clean = validation.middle_initial(value)
        elif field == "other_last_names":
            clean = validation.other_last_names(value)
        else:
            clean = validation.name(value)
        setattr(case, field, clean)
        case.save(update_fields=[field, "updated_at"])

    def retention_candidates(
        self, *, before: datetime, after_id: str = "", limit: int = 500
    ) -> Sequence[RecordRef]:
        """Cases created before `before`, by id."""
        qs = VerificationCase.objects.filter(
            created_at__lt=before, id__gt=int(after_id or 0)
        ).order_by("id")[:limit]
        return [
            RecordRef(source=self.name, record_id=str(c.pk), person_ref=f"worker:{c.worker_id}")
            for c in qs.only("id", "worker_id")
        ]

    def retention_count(
        self,
        *,
        before: datetime,
        record_ids: Collection[str] | None = None,
        person_refs: Collection[str] | None = None,
    ) -> int:
        """How many cases `retention_candidates` lists; with ids or persons (`worker:<id>`), only those among them."""
        qs = VerificationCase.objects.filter(created_at__lt=before)
        if record_ids is None and person_refs is None:
            return qs.count()
        ids = [n for i in record_ids or () if (n := parse_id(i, canonical=True)) is not None]
        workers = [
            n
            for p in person_refs or ()
            if p.startswith("worker:") and (n := parse_id(p[7:], canonical=True)) is not None
        ]
        return qs.filter(Q(pk__in=ids) | Q(worker_id__in=workers)).count()

    @transaction.atomic
    def purge(self, record_ids: Sequence[str]) -> int:
        """Delete the cases (comparisons and idempotency rows go with them) and workers left without cases.

        Row history is a copy of the record, so it goes with it, and the deletes write none. What
        other apps derived from the cases (findings, shadow hits, case links) is destroyed by the
        derived purgers they registered for "verification.case", which retention runs first.
        """

        ids = [int(r) for r in record_ids]
        with retention_purge() as purge:
            purge.history(table=VerificationCase._meta.db_table, row_pks=[str(i) for i in ids])
            workers = set(
                VerificationCase.objects.filter(pk__in=ids).values_list("worker_id", flat=True)
            )
            VerificationCase.objects.filter(duplicate_of_id__in=ids).update(duplicate_of=None)
            VerificationCase.objects.filter(resubmission_of_id__in=ids).update(resubmission_of=None)
            _, per_model = VerificationCase.objects.filter(pk__in=ids).delete()
            orphans = list(
                Worker.objects.filter(pk__in=workers, cases__isnull=True).values_list(
                    "pk", flat=True
                )
            )
            purge.history(table=Worker._meta.db_table, row_pks=[str(w) for w in orphans])
            Worker.objects.filter(pk__in=orphans).delete()
        return per_model.get(VerificationCase._meta.label, 0)
