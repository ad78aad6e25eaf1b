"""Legal holds (privacy registry): records cited by an open investigation must not be purged.

An open investigation (past triage, not closed) holds the findings linked to it and every
verification case those findings cite: the case a finding is about, and the cases its evidence
lists (the SSN rules cite several). Flagged cases still in triage hold nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q

from cases.models import FLAGGED_STAGE, CaseFinding, CaseStatus
from cases.privacy_sources import CaseSource
from core.ids import parse_id
from crossref.retention import cited_case_ids
from privacy import registry


def _open_links() -> Any:
    return CaseFinding.objects.exclude(case__status__in=[*FLAGGED_STAGE, CaseStatus.CLOSED])


def _digits(record_ids: Sequence[str]) -> list[int]:
    return [n for i in record_ids if (n := parse_id(i)) is not None]


def _cited_by_open_investigations(ids: list[int] | None = None) -> set[int]:
    """Verification cases cited by the findings of open investigations (all, or among `ids`)."""

    links = _open_links()
    # `case_id` is indexed; the few findings whose evidence lists several cases are read whole.
    by_case = (
        links.filter(finding__case_id__in=ids)
        if ids is not None
        else links.exclude(finding__case_id=None)
    )
    cited = set(by_case.values_list("finding__case_id", flat=True))
    listing = links.filter(
        Q(finding__evidence__has_key="case_ids") | Q(finding__evidence__has_key="identities")
    )
    for case_id, evidence in listing.values_list("finding__case_id", "finding__evidence"):
        cited |= cited_case_ids(case_id, evidence)
    return cited if ids is None else cited & set(ids)


def open_investigation_holds(source: str, record_ids: Sequence[str]) -> set[str]:
    """Of `record_ids` in `source`, those an open investigation cites (verification cases, findings)."""
    if not record_ids:
        return set()
    ids = _digits(record_ids)
    if source.startswith("verification"):
        held: Any = _cited_by_open_investigations(ids)
    elif source.startswith("cases"):
        # An open investigation is its own hold: it is never a retention candidate.
        held = _open_links().filter(case_id__in=ids).values_list("case_id", flat=True)
    elif source.startswith("crossref"):
        held = _open_links().filter(finding_id__in=ids).values_list("finding_id", flat=True)
    else:
        return set()
    return {str(i) for i in held}


def open_investigation_holds_listing(source: str) -> set[str]:
    """Every record an open investigation holds in `source` (the set-wise form, for the purge preview)."""
    if source.startswith("verification"):
        held: Any = _cited_by_open_investigations()
    elif source.startswith("cases"):
        held = _open_links().values_list("case_id", flat=True).distinct()
    elif source.startswith("crossref"):
        held = _open_links().values_list("finding_id", flat=True)
    else:
        return set()
    return {str(i) for i in held}


def register_holds() -> None:
    """Register the hold provider and the cases source with the privacy registry."""

    registry.register_hold_provider(
        open_investigation_holds, listing=open_investigation_holds_listing
    )
    registry.register(CaseSource())
