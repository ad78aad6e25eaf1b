"""Person search behind the search page: scoped reads only, identifiers compared by blind index."""

from __future__ import annotations

from typing import Any

from cases.models import Case
from privacy.crypto import blind_index, mask, normalize_identifier
from verification.models import VerificationCase


def person_search(
    *, user: Any, data: dict[str, Any], limit: int = 50
) -> tuple[list[dict[str, Any]], str, str]:
    """Records about a person the user may see: cases (investigations data) and verification cases.

    Returns the results, the kind of search key and its normalized value (the caller audits only
    a keyed hash of it).
    """

    kind = data["kind"]
    vcases = VerificationCase.objects.visible_to(user, "search").select_related("employer")
    cases = Case.objects.visible_to(user, "search")
    if kind == "ssn":
        normalized = normalize_identifier(data["identifier"])
        bidx = blind_index(normalized, kind="ssn")
        vcases = vcases.filter(ssn_bidx=bidx)
        cases = cases.filter(subject_key=f"ssn:{bidx}")
    elif kind == "a_number":
        normalized = normalize_identifier(data["identifier"])
        bidx = blind_index(normalized, kind="a_number")
        vcases = vcases.filter(a_number_bidx=bidx)
        cases = cases.filter(
            subject_key__in=[f"ssn:{b}" for b in vcases.values_list("ssn_bidx", flat=True)[:limit]]
        )
    else:
        last, first, dob = (
            data["last_name"].strip(),
            (data.get("first_name") or "").strip(),
            data["date_of_birth"],
        )
        normalized = f"{last.upper()}|{first.upper()}|{dob.isoformat()}"
        vcases = vcases.filter(last_name__iexact=last, date_of_birth=dob)
        if first:
            vcases = vcases.filter(first_name__iexact=first)
        cases = cases.filter(subject_name__icontains=last)
    people: dict[str, dict[str, Any]] = {}
    for v in vcases.order_by("-created_at")[:limit]:
        ref = f"ssn:{v.ssn_bidx}"
        person = people.setdefault(
            ref,
            {
                "person_ref": ref,
                "name": f"{v.first_name} {v.last_name}",
                "dob": v.date_of_birth,
                "ssn": mask(v.ssn_last4),
                "employers": set(),
                "verification_cases": [],
                "cases": [],
            },
        )
        person["employers"].add(v.employer.name)
        person["verification_cases"].append(v.pk)
    for c in cases.only("id", "number", "status", "subject_key", "subject_name", "subject_last4")[
        :limit
    ]:
        person = people.setdefault(
            c.subject_key,
            {
                "person_ref": c.subject_ref,
                "name": c.subject_name,
                "dob": None,
                "ssn": mask(c.subject_last4),
                "employers": set(),
                "verification_cases": [],
                "cases": [],
            },
        )
        person["cases"].append(c)
    results = list(people.values())
    for r in results:
        r["employers"] = sorted(r["employers"])
    return results, kind, normalized
