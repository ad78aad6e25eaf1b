"""Legal holds (privacy registry): records cited by an open investigation must not be purged."""

from __future__ import annotations

from collections.abc import Sequence


def open_investigation_holds(source: str, record_ids: Sequence[str]) -> set[str]:
    """Of `record_ids` in `source`, those an open investigation cites (verification cases, findings)."""
    from cases.models import FLAGGED_STAGE, CaseFinding, CaseStatus

    if not record_ids:
        return set()
    links = CaseFinding.objects.exclude(case__status__in=[*FLAGGED_STAGE, CaseStatus.CLOSED])
    if source.startswith("verification"):
        ids = [int(i) for i in record_ids if str(i).isdigit()]
        held = links.filter(finding__case_id__in=ids).values_list("finding__case_id", flat=True)
    elif source.startswith("cases"):
        # An open investigation is its own hold: it is never a retention candidate.
        ids = [int(i) for i in record_ids if str(i).isdigit()]
        held = links.filter(case_id__in=ids).values_list("case_id", flat=True)
    elif source.startswith("crossref"):
        ids = [int(i) for i in record_ids if str(i).isdigit()]
        held = links.filter(finding_id__in=ids).values_list("finding_id", flat=True)
    else:
        return set()
    return {str(i) for i in held}


def register_holds() -> None:
    """Register the hold provider and the cases source with the privacy registry."""
    from cases.privacy_sources import CaseSource
    from privacy import registry

    registry.register_hold_provider(open_investigation_holds)
    registry.register(CaseSource())
