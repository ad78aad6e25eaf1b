"""Small per-row helpers of the synthetic world: employers, sites, enforcement subjects, labels."""

from __future__ import annotations

from typing import Any

from verification.synthetic import columns as cols
from verification.synthetic import names as nm
from verification.synthetic.world import COUNTRIES, DETAILS, LABELS, NAICS, STATES, World

ENF_STATUSES = ["wanted", "under_investigation", "removed", "closed"]
_A_NUMBER = cols.CASE_FIELDS.index("a_number")
_DOCUMENT = cols.CASE_FIELDS.index("document_number")


def enforcement_row(w: World, k: int) -> dict[str, Any]:
    """Enforcement subject k: a worker (a planted hit) or a stranger born before any worker."""
    person = w.sl["person"][k]
    status = ENF_STATUSES[k % len(ENF_STATUSES)]
    day = cols.days_for(w)
    if person >= 0:
        first, _, parts = cols.person_names(w, person)
        docs: list[str] = []
        if w.sl["by_document"][k]:
            values = cols.case_values(w, w.sl["case"][k])
            doc = values[_A_NUMBER] or values[_DOCUMENT]
            if doc:
                docs.append(doc)
        return {
            "subject_ref": f"ENF-{w.seed}-{k:06d}", "first_name": first, "last_name": " ".join(parts),
            "aliases": nm.strip_accents(f"{first} {parts[0]}"), "date_of_birth": day(w.pl["dob"][person]),
            "nationality": COUNTRIES[w.pl["country"][person]], "documents": "|".join(docs), "status": status,
        }
    first = nm.ENFORCEMENT_FIRST[w.sl["first"][k] % len(nm.ENFORCEMENT_FIRST)]
    last = nm.ENFORCEMENT_LAST[w.sl["last"][k] % len(nm.ENFORCEMENT_LAST)]
    return {
        "subject_ref": f"ENF-{w.seed}-{k:06d}", "first_name": first, "last_name": last,
        "aliases": f"{first[0]} {last}", "date_of_birth": day(w.sl["dob"][k]),
        "nationality": COUNTRIES[w.sl["country"][k]], "documents": f"E{w.sl['doc'][k]:09d}", "status": status,
    }


def employer_row(w: World, e: int) -> dict[str, Any]:
    """Employer e."""
    ein = w.el["ein"][e]
    words = ["Acme", "Summit", "Harbor", "Prairie", "Lone Star", "Pacific", "Evergreen", "Liberty", "Sunrise", "Keystone", "Granite", "Riverbend"]
    kinds = ["Farms", "Builders", "Foods", "Logistics", "Staffing", "Dental", "Grill", "Electric", "Packing", "Auto Care", "Bakery", "Market"]
    return {
        "ein": f"{ein:09d}",
        "name": f"{words[ein % len(words)]} {kinds[(ein // 7) % len(kinds)]} {e}",
        "naics": NAICS[w.el["naics"][e]],
        "state": STATES[w.el["state"][e]],
        "mou_signed_on": cols.days_for(w)(w.el["mou"][e]),
        "is_federal_contractor": "true" if ein % 23 == 0 else "false",
        "kind": LABELS[w.el["kind"][e]] if w.el["kind"][e] >= 0 else "",
    }


def site_row(w: World, e: int, k: int) -> dict[str, Any]:
    """Site k of employer e."""
    return {"name": f"Site {k + 1}", "city": ["Houston", "Dallas", "Fresno", "Miami", "Phoenix", "Atlanta"][(e + k) % 6],
            "state": STATES[w.el["state"][e]]}


def label_row(w: World, c: int) -> dict[str, str]:
    """The ground truth of case c."""
    return {
        "employer_case_id": f"S{w.seed}-{c:08d}",
        "employer_ein": f"{w.el['ein'][w.cl['employer'][c]]:09d}",
        "label": LABELS[w.cl["label"][c]],
        "detail": DETAILS[w.cl["detail"][c]],
    }
