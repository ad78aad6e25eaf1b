"""Flagged cases and investigations as a personal-data source of the privacy registry."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Left

from audit.history import retention_purge
from cases.models import (
    FLAGGED_STAGE,
    Case,
    CaseFinding,
    CaseStatus,
    CaseTask,
    CustodyEvent,
    Evidence,
)
from cases.services.common import timeline
from core.errors import IllegalTransition
from core.ids import parse_id
from privacy import registry
from privacy.crypto import mask
from privacy.policy import DataCategory
from privacy.registry import PersonQuery, RecordRef
from privacy.services.retention import held_ids


class CaseSource:
    """Cases about a person (grouped by SSN blind index); kept 10 years after their disposition."""

    name = "cases.case"
    label = "Flagged case or investigation"
    category = DataCategory.INVESTIGATIONS
    default_retention_years = 10

    def find(self, query: PersonQuery) -> Iterable[RecordRef]:
        """Cases by SSN blind index, else by name (cases keep no date of birth of their own)."""

        if query.ssn_index:
            qs, how = Case.objects.filter(subject_key=f"ssn:{query.ssn_index}"), "ssn"
        elif query.last_name:
            full = f"{query.first_name} {query.last_name}".strip()
            qs, how = Case.objects.filter(subject_name__iexact=full), "name"
        else:
            return []
        return [
            RecordRef(
                source=self.name,
                record_id=str(c.pk),
                person_ref=c.subject_ref,
                match=how,
                summary=f"Case {c.number} ({c.get_kind_display()}), {c.get_status_display()}, opened {c.created_at:%Y-%m-%d}",
            )
            for c in qs.order_by("id")[:500]
        ]

    def export(self, record_id: str) -> dict[str, Any]:
        """The case as the person may receive it: findings' compared fields, identifiers masked, no notes."""

        c = Case.objects.get(pk=int(record_id))
        return {
            "case": c.number,
            "kind": c.kind,
            "status": c.status,
            "closure": c.closure,
            "subject": c.subject_name,
            "ssn": mask(c.subject_last4),
            "employer": c.employer_name,
            "created_at": c.created_at.isoformat(),
            "findings": [
                {
                    "rule": link.finding.rule_code,
                    "summary": link.finding.summary,
                    "fields": link.finding.fields,
                }
                for link in c.case_findings.select_related("finding")
            ],
            "notice_delivered_on": c.notice_delivered_on.isoformat()
            if c.notice_delivered_on
            else None,
            "contest_outcome": c.contest_outcome,
        }

    def amendable_fields(self) -> Sequence[str]:
        """The subject's name as shown on the case."""
        return ("subject_name",)

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        """Apply a granted correction to the displayed name."""

        if field != "subject_name":
            raise ValueError(f"{field} cannot be amended.")
        Case.objects.filter(pk=int(record_id)).update(subject_name=value[:200])

    def retention_candidates(
        self, *, before: datetime, after_id: str = "", limit: int = 500
    ) -> Sequence[RecordRef]:
        """Closed cases whose disposition is older than `before` (open ones are never candidates)."""
        qs = self._due(before)
        if after_id:
            qs = qs.filter(pk__gt=int(after_id))
        return [
            RecordRef(source=self.name, record_id=str(c.pk), person_ref=c.subject_ref)
            for c in qs.order_by("pk")[:limit]
        ]

    def retention_count(
        self,
        *,
        before: datetime,
        record_ids: Collection[str] | None = None,
        person_refs: Collection[str] | None = None,
    ) -> int:
        """How many cases `retention_candidates` lists; with ids or persons, only those among them."""

        qs = self._due(before)
        if record_ids is None and person_refs is None:
            return qs.count()
        ids = [n for i in record_ids or () if (n := parse_id(i, canonical=True)) is not None]
        refs = list(person_refs or ())
        # The person a case names is `subject_ref`, the first 80 characters of its subject key.
        return (
            qs.annotate(ref=Left("subject_key", 80)).filter(Q(pk__in=ids) | Q(ref__in=refs)).count()
        )

    @staticmethod
    def _due(before: datetime) -> Any:
        return Case.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=before)

    def purge(self, record_ids: Sequence[str]) -> int:
        """Destroy the cases with their timeline, notes, tasks, links, permissions and evidence files.

        The files go once the transaction commits, so a chunk that fails leaves them in place.
        """

        ids = [int(i) for i in record_ids]
        with transaction.atomic():
            Case.objects.filter(merged_into_id__in=ids).update(merged_into=None)
            files = [
                (e.file.storage, e.file.name)
                for e in Evidence.objects.filter(case_id__in=ids)
                if e.file
            ]
            CustodyEvent.objects.filter(evidence__case_id__in=ids).delete()
            Evidence.objects.filter(case_id__in=ids).delete()
            # Row history is a copy of the record: it goes with it, and the deletes write none.
            with retention_purge() as purge:
                tasks = [
                    str(t)
                    for t in CaseTask.objects.filter(case_id__in=ids).values_list("pk", flat=True)
                ]
                purge.history(table=CaseTask._meta.db_table, row_pks=tasks)
                purge.history(table=Case._meta.db_table, row_pks=[str(i) for i in ids])
                deleted, _ = Case.objects.filter(pk__in=ids).delete()
            for storage, name in files:
                transaction.on_commit(partial(storage.delete, name))
        return len(ids) if deleted else 0


def finding_links_purge(finding_ids: Sequence[str]) -> dict[str, list[str]]:
    """Findings about to be destroyed under retention: the cases' copies of them go first.

    Registered in `CasesConfig.ready` as the privacy registry's derived purger of
    "crossref.finding"; runs in the purge's transaction, before the findings are deleted.

    - Their links (`CaseFinding`) go.
    - A case never opened as an investigation is only a grouping of its findings (with masked
      copies of the subject's name and SSN): left with no finding, it goes too, with its
      timeline and row history, and is tombstoned as a "cases.case" record. A legal hold on it
      (or on its subject) keeps it.
    - An investigation stays, whatever is left of its findings: it is a record of its own, with
      its own timeline and audit trail and its own retention clock (10 years after disposition).
      An open one never gets here: it holds its findings and the verification cases they cite
      (`cases.holds`); if it did, the purge would stop rather than strip it.
    - A case that stays gets its finding count corrected and a line on its timeline.

    Returns {"cases.casefinding": link ids, "cases.case": case ids destroyed}.
    """

    ids = [int(i) for i in finding_ids]
    links = list(CaseFinding.objects.filter(finding_id__in=ids).values_list("pk", "case_id"))
    if not links:
        return {}
    affected = {case_id for _, case_id in links}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=affected).select_for_update()}
    if any(c.status not in (*FLAGGED_STAGE, CaseStatus.CLOSED) for c in cases.values()):
        raise IllegalTransition(
            "An open investigation relies on these findings; retention may not strip it."
        )
    link_ids = [str(pk) for pk, _ in links]
    with retention_purge() as purge:
        purge.history(table=CaseFinding._meta.db_table, row_pks=link_ids)
        CaseFinding.objects.filter(pk__in=[int(i) for i in link_ids]).delete()
    left = dict(
        CaseFinding.objects.filter(case_id__in=affected)
        .values_list("case_id")
        .annotate(n=Count("id"))
    )
    empty = [c for pk, c in cases.items() if not left.get(pk) and c.opened_at is None]
    held = (
        held_ids(
            CaseSource.name, [RecordRef(CaseSource.name, str(c.pk), c.subject_ref) for c in empty]
        )
        if empty
        else set()
    )
    doomed = sorted(str(c.pk) for c in empty if str(c.pk) not in held)
    gone: dict[str, list[str]] = {"cases.casefinding": link_ids}
    if doomed:
        for kind, more in registry.purge_derived(CaseSource.name, doomed).items():
            gone.setdefault(kind, []).extend(more)
        CaseSource().purge(doomed)
        gone.setdefault(CaseSource.name, []).extend(doomed)
    removed: dict[int, int] = {}
    for _, case_id in links:
        removed[case_id] = removed.get(case_id, 0) + 1
    for pk, case in cases.items():
        if str(pk) in doomed:
            continue
        case.finding_count = left.get(pk, 0)
        case.save(update_fields=["finding_count", "updated_at"])
        timeline(
            case,
            None,
            "retention",
            f"{removed[pk]} finding(s) destroyed under the retention schedule.",
        )
    return gone
