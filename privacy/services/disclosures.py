"""The accounting of disclosures (552a(c)): written by whoever shows another agency's data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import context
from privacy.models import Agency, Agreement, DisagreementStatement, Disclosure, DisclosureBasis
from privacy.policy import Decision


def _disputed(record_type: str, record_ids: Iterable[str]) -> set[str]:
    return set(
        DisagreementStatement.objects.filter(
            source=record_type, record_id__in=list(record_ids)
        ).values_list("record_id", flat=True)
    )


def disclosures_record(
    *,
    actor: Any,
    decision: Decision,
    category: str,
    record_type: str,
    records: Iterable[tuple[Any, str]],
    nature: str,
    purpose: str,
) -> list[Disclosure]:
    """Account for showing records (record id, person ref) to `actor` under `decision`.

    Writes nothing when the data did not leave its owning agency (basis "home"). Within one
    department the entry is kept as (b)(1), not accountable; across departments it carries the
    agreement's basis and is accountable. One entry per person per record per request: a repeat
    inside the same request adds nothing. Runs in the caller's transaction.
    """
    if not decision.allowed or decision.basis == "home" or decision.owner_agency_id is None:
        return []
    records = [(str(rid), str(pref)) for rid, pref in records if pref]
    if not records:
        return []
    agency = Agency.objects.get(pk=actor.agency_id)
    agreement = (
        Agreement.objects.filter(pk=decision.agreement_id).only("routine_use").first()
        if decision.agreement_id
        else None
    )
    disputed = _disputed(record_type, [r for r, _ in records])
    ctx = context.current()
    now = timezone.now()
    rows = [
        Disclosure(
            occurred_at=now,
            nature=nature,
            purpose=(purpose or ctx.purpose or "Duties under the agreement")[:500],
            category=category,
            recipient_agency=agency,
            recipient_agency_name=agency.name,
            recipient_agency_address=agency.address,
            recipient_user_id=actor.pk,
            recipient_username=actor.username,
            owner_agency_id=decision.owner_agency_id,
            basis=decision.basis or DisclosureBasis.ROUTINE_USE,
            accountable=decision.accountable and decision.basis != DisclosureBasis.NEED_TO_KNOW,
            routine_use=(agreement.routine_use if agreement else "")[:300],
            agreement_id=decision.agreement_id,
            record_type=record_type,
            record_id=record_id,
            person_ref=person_ref,
            request_id=ctx.request_id,
            with_disagreement=record_id in disputed,
        )
        for record_id, person_ref in dict.fromkeys(records)
    ]
    with transaction.atomic():
        if ctx.request_id:
            return Disclosure.objects.bulk_create(rows, ignore_conflicts=True)
        return Disclosure.objects.bulk_create(rows)


def disclosure_record(
    *,
    actor: Any,
    decision: Decision,
    category: str,
    record_type: str,
    record_id: Any,
    person_ref: str,
    nature: str,
    purpose: str,
) -> Disclosure | None:
    """Account for showing one record about one person; see `disclosures_record`."""
    rows = disclosures_record(
        actor=actor,
        decision=decision,
        category=category,
        record_type=record_type,
        records=[(record_id, person_ref)],
        nature=nature,
        purpose=purpose,
    )
    return rows[0] if rows else None


def disclosure_report(*, person_refs: Iterable[str], for_subject: bool) -> QuerySet[Disclosure]:
    """The accountable disclosures about a person; without (b)(7) entries when it goes to the person."""
    qs = Disclosure.objects.filter(
        person_ref__in=list(person_refs), accountable=True
    ).select_related("agreement", "owner_agency")
    if for_subject:
        qs = qs.exclude(basis=DisclosureBasis.LAW_ENFORCEMENT)
    return qs.order_by("occurred_at", "id")
