"""Small per-row helpers of the synthetic world: employers, sites, enforcement subjects, labels."""

from __future__ import annotations

from typing import Any

from synthetic import columns as cols
from synthetic import names as nm
from synthetic import subjects as sj
from synthetic import variants as va
from synthetic.world import COUNTRIES, DETAILS, LABELS, NAICS, STATES, World

ENF_STATUSES = ["wanted", "under_investigation", "removed", "closed"]
_F = {name: i for i, name in enumerate(cols.CASE_FIELDS)}
_CASE_DOCUMENT = {
    "a_number": "a_number",
    "passport": "passport",
    "i94": "i94",
    "document_number": "document_number",
}
_FIRST_POOLS = [o[0] for o in nm.ORIGINS]
_LAST_POOLS = [o[1] for o in nm.ORIGINS]


def _own_names(w: World, k: int) -> tuple[str, tuple[str, ...]]:
    """The given name and surname parts a subject's own pool draws give (strangers, decoys)."""
    origin = w.sl["origin"][k]
    fpool, lpool = _FIRST_POOLS[origin], _LAST_POOLS[origin]
    first = fpool[w.sl["first"][k] % len(fpool)]
    last = lpool[w.sl["last"][k] % len(lpool)]
    second = w.sl["last2"][k]
    if second < 0:
        return first, (last,)
    other = lpool[second % len(lpool)]  # two parts always, as a worker's (variants.names_of)
    return first, (last, other if other != last else lpool[(second + 1) % len(lpool)])


def subject_document(w: World, k: int) -> str:
    """Subject k's document, typed by kind ("ssn:...", "a_number:..."), or untyped (a List A number)."""
    sl = w.sl
    kind, number = sj.DOCUMENTS[sl["doc_kind"][k]], sl["doc"][k]
    if not kind:
        return ""
    if kind in ("ssn", "ssn_typo"):
        return f"ssn:{number:09d}"
    if sl["kind"][k] == sj.LINK:  # the case's own document
        value = cols.case_values(w, sl["case"][k])[_F[_CASE_DOCUMENT[kind]]]
        return value if kind == "document_number" else f"{kind}:{value}"
    if kind == "a_number":
        return f"a_number:{number:09d}"
    if kind == "passport":
        return f"passport:{'KLMNRT'[number % 6]}{number:08d}"
    if kind == "i94":  # nine digits, a letter, a digit: a form no worker's I-94 here has
        return f"i94:{number:09d}{'ABCDEFGH'[number % 8]}{number % 10}"
    return f"IOE{number:010d}"


def enforcement_row(w: World, k: int) -> dict[str, Any]:
    """Enforcement subject k: a link (a worker, with the errors of its record), a decoy or a stranger."""
    sl = w.sl
    day = cols.days_for(w)
    primary, second = sj.VARIANTS[sl["variant"][k]], sj.VARIANTS[sl["variant2"][k]]
    person = sl["person"][k]
    if sl["kind"][k] == sj.LINK and primary != "document_only":
        first, _middle, parts = cols.person_names(w, person)
        origin = w.pl["origin"][person]
        replacement = _FIRST_POOLS[origin][sl["first"][k] % len(_FIRST_POOLS[origin])]
        r = va.mix(w.seed, 1_000_000_000 + k)
        first, parts = sj.recorded_names(primary, first, parts, r, replacement)
        first, parts = sj.recorded_names(second, first, parts, r // 7919, replacement)
    else:
        first, parts = _own_names(w, k)
    nationality = COUNTRIES[w.pl["country"][person] if person >= 0 else sl["country"][k]]
    alias = nm.strip_accents(f"{first} {parts[0]}") if sl["alias"][k] else ""
    last = " ".join(parts)
    if primary == "alias_only":
        first = last = ""
    elif primary == "surname_document":
        first = ""
    return {
        "subject_ref": subject_ref(w, k),
        "first_name": first,
        "last_name": last,
        "aliases": alias,
        "date_of_birth": day(sl["dob"][k])
        or None,  # None: no date (the CSV writer leaves it empty)
        "nationality": nationality,
        "documents": subject_document(w, k),
        "status": ENF_STATUSES[k % len(ENF_STATUSES)],
    }


def subject_ref(w: World, k: int) -> str:
    """The reference of subject k in the enforcement file."""
    return f"ENF-{w.seed}-{k:06d}"


SUBJECT_LABEL_COLUMNS = [
    "subject_ref",
    "kind",
    "employer_case_id",
    "look_alike_of",
    "variant",
    "documents",
]


def subject_label_row(w: World, k: int) -> dict[str, str]:
    """The ground truth of subject k: a link (to the case named), a decoy (of the case named) or a stranger.

    `variant` is the kind of error or gap of its record ("+" between two), `documents` the kind of
    its document (ssn_typo: the worker's SSN with one digit wrong). See synthetic.subjects.
    """
    sl = w.sl
    kind, case, target = sl["kind"][k], sl["case"][k], sl["target"][k]
    variant = "+".join(
        v for v in (sj.VARIANTS[sl["variant"][k]], sj.VARIANTS[sl["variant2"][k]]) if v
    )
    return {
        "subject_ref": subject_ref(w, k),
        "kind": sj.SUBJECT_KINDS[kind],
        "employer_case_id": f"S{w.seed}-{case:08d}" if case >= 0 else "",
        "look_alike_of": f"S{w.seed}-{target:08d}" if target >= 0 else "",
        "variant": variant,
        "documents": sj.DOCUMENTS[sl["doc_kind"][k]],
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
