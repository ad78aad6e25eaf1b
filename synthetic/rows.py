"""Small per-row helpers of the synthetic world: employers, sites, enforcement subjects, labels."""

from __future__ import annotations

from typing import Any

from synthetic import columns as cols
from synthetic import names as nm
from synthetic.world import COUNTRIES, DETAILS, LABELS, NAICS, STATES, World

ENF_STATUSES = ["wanted", "under_investigation", "removed", "closed"]
_A_NUMBER = cols.CASE_FIELDS.index("a_number")
_DOCUMENT = cols.CASE_FIELDS.index("document_number")


def enforcement_row(w: World, k: int) -> dict[str, Any]:
    """Enforcement subject k: a worker (a planted hit) or a stranger drawn from the workers' name pools and birth years."""
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
            "subject_ref": f"ENF-{w.seed}-{k:06d}",
            "first_name": first,
            "last_name": " ".join(parts),
            "aliases": nm.strip_accents(f"{first} {parts[0]}"),
            "date_of_birth": day(w.pl["dob"][person]),
            "nationality": COUNTRIES[w.pl["country"][person]],
            "documents": "|".join(docs),
            "status": status,
        }
    # A stranger: names from the workers' pools, an alias in plain ASCII, perhaps a document of their own.
    origin = w.sl["origin"][k]
    fpool, lpool = nm.ORIGINS[origin][0], nm.ORIGINS[origin][1]
    first = fpool[w.sl["first"][k] % len(fpool)]
    last = lpool[w.sl["last"][k] % len(lpool)]
    second = w.sl["last2"][k]
    if second >= 0 and lpool[second % len(lpool)] != last:
        last = f"{last} {lpool[second % len(lpool)]}"
    kind, number = w.sl["doc_kind"][k], w.sl["doc"][k]
    return {
        "subject_ref": f"ENF-{w.seed}-{k:06d}",
        "first_name": first,
        "last_name": last,
        "aliases": nm.strip_accents(f"{first} {last.split()[0]}") if k % 3 else "",
        "date_of_birth": day(w.sl["dob"][k]),
        "nationality": COUNTRIES[w.sl["country"][k]],
        "documents": f"{number:09d}"
        if kind == 1
        else (f"{'KLMNRT'[number % 6]}{number % 100_000_000:08d}" if kind == 2 else ""),
        "status": status,
    }


def employer_row(w: World, e: int) -> dict[str, Any]:
    """Employer e."""
    ein = w.el["ein"][e]
    words = [
        "Acme",
        "Summit",
        "Harbor",
        "Prairie",
        "Lone Star",
        "Pacific",
        "Evergreen",
        "Liberty",
        "Sunrise",
        "Keystone",
        "Granite",
        "Riverbend",
    ]
    kinds = [
        "Farms",
        "Builders",
        "Foods",
        "Logistics",
        "Staffing",
        "Dental",
        "Grill",
        "Electric",
        "Packing",
        "Auto Care",
        "Bakery",
        "Market",
    ]
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
    return {
        "name": f"Site {k + 1}",
        "city": ["Houston", "Dallas", "Fresno", "Miami", "Phoenix", "Atlanta"][(e + k) % 6],
        "state": STATES[w.el["state"][e]],
    }


def label_row(w: World, c: int) -> dict[str, str]:
    """The ground truth of case c."""
    return {
        "employer_case_id": f"S{w.seed}-{c:08d}",
        "employer_ein": f"{w.el['ein'][w.cl['employer'][c]]:09d}",
        "label": LABELS[w.cl["label"][c]],
        "detail": DETAILS[w.cl["detail"][c]],
    }
