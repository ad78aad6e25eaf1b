"""Flagged cases and investigations as a personal-data source of the privacy registry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from privacy.crypto import mask
from privacy.policy import DataCategory
from privacy.registry import PersonQuery, RecordRef


class CaseSource:
    """Cases about a person (grouped by SSN blind index); kept 10 years after their disposition."""

    name = "cases.case"
    label = "Flagged case or investigation"
    category = DataCategory.INVESTIGATIONS
    default_retention_years = 10

    def find(self, query: PersonQuery) -> Iterable[RecordRef]:
        """Cases by SSN blind index, else by name (cases keep no date of birth of their own)."""
        from cases.models import Case

        if query.ssn_index:
            qs, how = Case.objects.filter(subject_key=f"ssn:{query.ssn_index}"), "ssn"
        elif query.last_name:
            full = f"{query.first_name} {query.last_name}".strip()
            qs, how = Case.objects.filter(subject_name__iexact=full), "name"
        else:
            return []
        return [
            RecordRef(source=self.name, record_id=str(c.pk), person_ref=c.subject_ref, match=how,
                      summary=f"Case {c.number} ({c.get_kind_display()}), {c.get_status_display()}, opened {c.created_at:%Y-%m-%d}")
            for c in qs.order_by("id")[:500]
        ]

    def export(self, record_id: str) -> dict[str, Any]:
        """The case as the person may receive it: findings' compared fields, identifiers masked, no notes."""
        from cases.models import Case

        c = Case.objects.get(pk=int(record_id))
        return {
            "case": c.number, "kind": c.kind, "status": c.status, "closure": c.closure, "subject": c.subject_name,
            "ssn": mask(c.subject_last4), "employer": c.employer_name, "created_at": c.created_at.isoformat(),
            "findings": [
                {"rule": link.finding.rule_code, "summary": link.finding.summary, "fields": link.finding.fields}
                for link in c.case_findings.select_related("finding")
            ],
            "notice_delivered_on": c.notice_delivered_on.isoformat() if c.notice_delivered_on else None,
            "contest_outcome": c.contest_outcome,
        }

    def amendable_fields(self) -> Sequence[str]:
        """The subject's name as shown on the case."""
        return ("subject_name",)

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        """Apply a granted correction to the displayed name."""
        from cases.models import Case

        if field != "subject_name":
            raise ValueError(f"{field} cannot be amended.")
        Case.objects.filter(pk=int(record_id)).update(subject_name=value[:200])

    def retention_candidates(self, *, before: datetime, after_id: str = "", limit: int = 500) -> Sequence[RecordRef]:
        """Closed cases whose disposition is older than `before` (open ones are never candidates)."""
        from cases.models import Case, CaseStatus

        qs = Case.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=before)
        if after_id:
            qs = qs.filter(pk__gt=int(after_id))
        return [RecordRef(source=self.name, record_id=str(c.pk), person_ref=c.subject_ref) for c in qs.order_by("pk")[:limit]]

    def purge(self, record_ids: Sequence[str]) -> int:
        """Destroy the cases with their timeline, notes, tasks, links, permissions and evidence files."""
        from audit.history import retention_purge
        from cases.models import Case, CaseTask, CustodyEvent, Evidence

        ids = [int(i) for i in record_ids]
        with transaction.atomic():
            Case.objects.filter(merged_into_id__in=ids).update(merged_into=None)
            for evidence in Evidence.objects.filter(case_id__in=ids):
                evidence.file.delete(save=False)
            CustodyEvent.objects.filter(evidence__case_id__in=ids).delete()
            Evidence.objects.filter(case_id__in=ids).delete()
            # Row history is a copy of the record: it goes with it, and the deletes write none.
            with retention_purge() as purge:
                tasks = [str(t) for t in CaseTask.objects.filter(case_id__in=ids).values_list("pk", flat=True)]
                purge.history(table=CaseTask._meta.db_table, row_pks=tasks)
                purge.history(table=Case._meta.db_table, row_pks=[str(i) for i in ids])
                deleted, _ = Case.objects.filter(pk__in=ids).delete()
        return len(ids) if deleted else 0
