"""Privacy's own personal-data source for the registry: the Privacy Act requests themselves."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from privacy.models import AmendmentNotice, SubjectRequest
from privacy.policy import DataCategory
from privacy.registry import PersonQuery, RecordRef


class SubjectRequestSource:
    """Requests name the person who made them; they are kept 3 years after the response (GRS 4.2 item 020)."""

    name = "privacy.subject_request"
    label = "Privacy Act request"
    category = DataCategory.INVESTIGATIONS
    default_retention_years = 3

    @staticmethod
    def _ref(request: SubjectRequest, match: str = "") -> RecordRef:
        person = request.ssn_index or f"request:{request.reference}"
        return RecordRef(
            SubjectRequestSource.name,
            str(request.pk),
            person,
            summary=f"{request.reference} ({request.get_kind_display()}, {request.received_on})",
            match=match,
        )

    def find(self, query: PersonQuery) -> Iterable[RecordRef]:
        """Earlier requests by the same SSN, or the same last name and date of birth."""
        condition = Q(pk__in=[])
        if query.ssn_index:
            condition |= Q(ssn_index=query.ssn_index)
        if query.last_name and query.date_of_birth:
            condition |= Q(last_name__iexact=query.last_name, date_of_birth=query.date_of_birth)
        for request in SubjectRequest.objects.filter(condition):
            yield self._ref(
                request,
                "ssn" if query.ssn_index and request.ssn_index == query.ssn_index else "name+dob",
            )

    def export(self, record_id: str) -> dict[str, Any]:
        """What the person asked and what was decided (no SSN: only its last four)."""
        r = SubjectRequest.objects.get(pk=record_id)
        return {
            "reference": r.reference,
            "kind": r.kind,
            "status": r.status,
            "received_on": r.received_on.isoformat(),
            "name": f"{r.first_name} {r.last_name}",
            "date_of_birth": r.date_of_birth.isoformat(),
            "ssn_last4": r.ssn_last4,
            "decision": r.decision_reason,
        }

    def amendable_fields(self) -> Sequence[str]:
        """Contact details only; the rest is the record of what happened."""
        return ["contact_address"]

    def amend(self, record_id: str, *, field: str, value: str, actor: Any) -> None:
        """Correct the requester's contact address."""
        SubjectRequest.objects.filter(pk=record_id).update(**{field: value})

    def retention_candidates(
        self, *, before: datetime, after_id: str = "", limit: int = 500
    ) -> Sequence[RecordRef]:
        """Answered or closed requests whose response is older than the cut-off, without a statement of disagreement."""
        qs = self._due(before).filter(pk__gt=int(after_id or 0)).order_by("pk")
        return [self._ref(r) for r in qs[:limit]]

    def retention_count(
        self,
        *,
        before: datetime,
        record_ids: Collection[str] | None = None,
        person_refs: Collection[str] | None = None,
    ) -> int:
        """How many requests `retention_candidates` lists; with ids or persons, only those among them."""
        qs = self._due(before)
        if record_ids is None and person_refs is None:
            return qs.count()
        ids = [int(i) for i in record_ids or () if i.isdigit() and str(int(i)) == i]
        refs = set(person_refs or ())
        # The person is the SSN blind index, or `request:<reference>` for a request made without one.
        references = [p[len("request:") :] for p in refs if p.startswith("request:")]
        by_person = Q(ssn_index__in=refs - {""}) | Q(ssn_index="", reference__in=references)
        return qs.filter(Q(pk__in=ids) | by_person).count()

    @staticmethod
    def _due(before: datetime) -> QuerySet[SubjectRequest]:
        return (
            SubjectRequest.objects.filter(responded_on__lt=before.date())
            .exclude(status__in=["received", "acknowledged", "paused"])
            .filter(statements__isnull=True)
        )

    def purge(self, record_ids: Sequence[str]) -> int:
        """Delete the requests (their clock pauses go with them)."""

        ids = [int(i) for i in record_ids]
        AmendmentNotice.objects.filter(request_id__in=ids).delete()
        count, _ = SubjectRequest.objects.filter(pk__in=ids).delete()
        return len(ids) if count else 0
