"""Column-wise rows of the synthetic world: people (Numident + DHS) and cases, as lists of strings.

Building columns with tight list comprehensions over the world's lists is several times faster
than building one dict per row, which matters at a million cases. Identifiers are in clear
here; the CSV writer writes them as they are, the database loader seals them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from synthetic import names as nm
from synthetic import variants as va
from synthetic.world import (
    ALIEN_CLASSES,
    COUNTRIES,
    DETAILS,
    LABELS,
    LPR_CLASSES,
    NO_DAY,
    STATUS_ALIEN,
    STATUS_CITIZEN,
    STATUS_LPR,
    World,
    from_day,
    to_day,
)

CITIZENSHIP = {
    STATUS_CITIZEN: "citizen",
    STATUS_LPR: "permanent_resident",
    STATUS_ALIEN: "authorized_alien",
}
DOC_TYPES = [
    "us_passport",
    "us_passport_card",
    "permanent_resident_card",
    "foreign_passport_i551",
    "employment_authorization",
    "foreign_passport_i94",
    "list_b_and_c",
]
LATE_REASONS = ["awaiting_ssn", "technical_problems", "audit_revealed", "federal_contractor"]
_FIRST_POOLS = [o[0] for o in nm.ORIGINS]
_LAST_POOLS = [o[1] for o in nm.ORIGINS]


class Days:
    """Day number -> ISO date string, from a precomputed table (a data set spans ~70 years)."""

    def __init__(self, lo: int, hi: int):
        self.lo = lo
        self.table = [from_day(d).isoformat() for d in range(lo, hi + 1)]

    def __call__(self, d: int) -> str:
        return "" if d == NO_DAY else self.table[d - self.lo]


def days_for(w: World) -> Days:
    """The day table of a world (cached on it)."""
    cached = getattr(w, "_days", None)
    if cached is None:
        cached = Days(to_day(date(1900, 1, 1)), to_day(w.as_of) + 4000)
        w._days = cached  # type: ignore[attr-defined]
    return cached


def person_names(w: World, i: int) -> tuple[str, str, tuple[str, ...]]:
    """(first, second given, surname parts) that SSA knows for person i."""
    return va.names_of(w.pl, i)


@dataclass
class People:
    """Columns of people [lo, hi): their Numident row and, where they have one, their DHS row."""

    lo: int
    ssn: list[str]
    first: list[str]
    middle: list[str]
    last: list[str]
    dob: list[str]
    citizenship: list[str]
    death: list[str]
    locked: list[bool]
    dhs: list[int]  # indexes (relative to lo) of people with a DHS record
    a_number: list[str]
    i94: list[str]
    passport: list[str]
    passport_country: list[str]
    country: list[str]
    class_of_admission: list[str]
    work_from: list[str]
    work_until: list[str]
    naturalized: list[str]


def people(w: World, lo: int, hi: int) -> People:
    """Numident and DHS columns of people [lo, hi)."""
    pl, day = w.pl, days_for(w)
    rng = range(lo, hi)
    names = [va.names_of(pl, i) for i in rng]
    record = w.p["record"][lo:hi]
    for j in np.flatnonzero(record).tolist():  # a record that writes the names its own way
        names[j] = va.record_names(int(record[j]), *names[j])
    status, stale = pl["status"][lo:hi], pl["stale"][lo:hi]
    alien = [s == STATUS_ALIEN for s in status]
    anum, i94, pp, country = (
        pl["anum"][lo:hi],
        pl["i94"][lo:hi],
        pl["passport"][lo:hi],
        pl["country"][lo:hi],
    )
    coa = pl["coa"][lo:hi]
    return People(
        lo=lo,
        ssn=[f"{s:09d}" for s in pl["ssn"][lo:hi]],
        first=[n[0] for n in names],
        middle=[n[1] for n in names],
        last=[" ".join(n[2]) for n in names],
        dob=[day(d) for d in pl["dob"][lo:hi]],
        citizenship=[
            "citizen" if s == STATUS_CITIZEN and not st else "alien_authorized"
            for s, st in zip(status, stale, strict=True)
        ],
        death=[day(d) for d in pl["death"][lo:hi]],
        locked=pl["locked"][lo:hi],
        dhs=[
            j
            for j, (s, st) in enumerate(zip(status, stale, strict=True))
            if s != STATUS_CITIZEN or st
        ],
        a_number=[f"{a:09d}" if a else "" for a in anum],
        i94=[f"{x:011d}" if x and al else "" for x, al in zip(i94, alien, strict=True)],
        passport=[f"P{x:09d}" if x and al else "" for x, al in zip(pp, alien, strict=True)],
        passport_country=[
            COUNTRIES[c] if x and al else "" for x, c, al in zip(pp, country, alien, strict=True)
        ],
        country=[COUNTRIES[c] for c in country],
        class_of_admission=[
            (
                LPR_CLASSES[k % len(LPR_CLASSES)]
                if s == STATUS_LPR or st
                else ALIEN_CLASSES[k % len(ALIEN_CLASSES)]
            )
            for k, s, st in zip(coa, status, stale, strict=True)
        ],
        work_from=[day(d) for d in pl["wa_from"][lo:hi]],
        work_until=[day(d) for d in pl["wa_until"][lo:hi]],
        naturalized=[day(d) if st else "" for d, st in zip(pl["natz"][lo:hi], stale, strict=True)],
    )


def dhs_dict(p: People, j: int) -> dict[str, Any]:
    """The DHS row of person p.lo + j, in load_reference's clean form."""
    return {
        "a_number": p.a_number[j],
        "i94": p.i94[j],
        "passport": p.passport[j],
        "passport_country": p.passport_country[j],
        "first_name": p.first[j],
        "last_name": p.last[j],
        "date_of_birth": p.dob[j],
        "country_of_birth": p.country[j],
        "class_of_admission": p.class_of_admission[j],
        "work_authorized_from": p.work_from[j] or None,
        "work_authorized_until": p.work_until[j] or None,
        "naturalized_on": p.naturalized[j] or None,
    }


def _presented(
    w: World, c: int, first: str, second: str, parts: tuple[str, ...]
) -> tuple[str, str]:
    """First and last name as typed, with the case's lawful variant."""
    variant = DETAILS[w.cl["detail"][c]]
    last = " ".join(parts)
    if not variant or variant in ("stale_citizenship", "dob_day_month_swap", "ssn_transposition"):
        return first, last
    if variant == "compound_reordered" and len(parts) == 2:
        return first, f"{parts[1]} {parts[0]}"
    if variant == "compound_truncated" and len(parts) == 2:
        return first, parts[0]
    if variant == "hyphen_space" and len(parts) == 2:
        return first, f"{parts[0]}-{parts[1]}"
    if variant == "diacritics":
        return nm.strip_accents(first), nm.strip_accents(last)
    if variant == "upper_case":
        return first.upper(), last.upper()
    if variant == "second_given_name":
        return f"{first} {second or ('Maria' if first != 'Maria' else 'Jose')}", last
    if variant == "name_typo" and len(last) >= 9:
        return first, nm.typo(last, c)
    return va.present(variant, first, second, parts, va.mix(w.seed, c))


# Lifecycle values per label: status, result, closure_code, tnc_source, decision, closure_text,
# and which dates are set (tnc, fan, referred, closed).
_EA = ("closed", "employment_authorized", "ea_automatic", "", "", "", False, False, False, True)
_FNC = (
    "closed",
    "final_nonconfirmation",
    "terminated_after_fnc",
    "ssa",
    "no_action",
    "",
    True,
    True,
    False,
    True,
)
LIFECYCLE: dict[str, tuple[Any, ...]] = {
    "none": _EA,
    "fraud:ssn_reuse": _EA,
    "fraud:enforcement_hit": _EA,
    "employer:late_case": _EA,
    "employer:prescreening": _EA,
    "employer:doc_type_share": _EA,
    "clerical": (
        "closed",
        "employment_authorized",
        "ea_automatic",
        "ssa",
        "take_action",
        "",
        True,
        True,
        True,
        True,
    ),
    "employer:idle_tnc": (
        "tentative_nonconfirmation",
        "",
        "",
        "ssa",
        "",
        "",
        True,
        False,
        False,
        False,
    ),
    "fraud:deceased": _FNC,
    "fraud:locked": _FNC,
    "fraud:multi_identity": _FNC,
    "fraud:expired_authorization": (
        "closed",
        "final_nonconfirmation",
        "terminated_after_fnc",
        "dhs",
        "no_action",
        "",
        True,
        True,
        False,
        True,
    ),
    "employer:fnc_retained": (
        "closed",
        "final_nonconfirmation",
        "continues_after_fnc",
        "ssa",
        "no_action",
        "Kept on the payroll pending review",
        True,
        True,
        False,
        True,
    ),
}
CASE_FIELDS = [
    "employer_case_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "ssn",
    "citizenship_status",
    "a_number",
    "i94",
    "passport",
    "passport_country",
    "work_authorization_expires_on",
    "document_type",
    "document_number",
    "document_expires_on",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "created_at",
    "late_reason",
    "status",
    "result",
    "tnc_source",
    "tnc_issued_on",
    "fan_issued_on",
    "decision",
    "referred_on",
    "closure_code",
    "closure_text",
    "closed_at",
    "label",
    "detail",
]


_CLOCK: list[str] = []


def _clock() -> list[str]:
    """ " HH:MM:SS+00" of every second of a day (created_at's time of day), built once."""
    if not _CLOCK:
        _CLOCK.extend(
            f" {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+00" for s in range(86_400)
        )
    return _CLOCK


def case_values(
    w: World, c: int, names_cache: dict[int, tuple[str, str, tuple[str, ...]]] | None = None
) -> list[str]:
    """The values of case c in CASE_FIELDS order ('' for none), identifiers in clear."""
    # Called a million times by a bulk load: day strings come straight from the day table
    # where the day always exists, and the time of day from a table too.
    cl, pl, day = w.cl, w.pl, days_for(w)
    table, lo = day.table, day.lo
    person, name_person = cl["person"][c], cl["name_person"][c]
    detail = cl["detail"][c]
    first, last = _case_names(w, c, name_person, names_cache)
    status = pl["status"][person]
    alien = status == STATUS_ALIEN
    dob_override = cl["dob_override"][c]
    created = cl["created"][c]
    created_day = table[created - lo]
    created_at = created_day + _clock()[cl["created_secs"][c]]
    pp = pl["passport"][person] if alien else 0
    wa_until = pl["wa_until"][person] if alien else NO_DAY
    doc_type, doc_number, doc_expires = _case_document(w, c, table, lo, pp=pp, wa_until=wa_until)
    label = LABELS[cl["label"][c]]
    life = _case_lifecycle(label, c, owns_name=name_person == person)
    override = cl["ssn_override"][c]
    anum = pl["anum"][person] if status != STATUS_CITIZEN else 0
    i94 = pl["i94"][person] if alien else 0
    next_day = table[created + 1 - lo]
    return [
        f"S{w.seed}-{c:08d}",
        first,
        last,
        table[(dob_override if dob_override != NO_DAY else pl["dob"][name_person]) - lo],
        f"{override if override else pl['ssn'][person]:09d}",
        CITIZENSHIP[status],
        f"{anum:09d}" if anum else "",
        f"{i94:011d}" if i94 else "",
        f"P{pp:09d}" if pp else "",
        COUNTRIES[pl["country"][person]] if pp else "",
        "" if wa_until == NO_DAY else table[wa_until - lo],
        doc_type,
        doc_number,
        doc_expires,
        table[cl["offer"][c] - lo],
        table[cl["i9"][c] - lo],
        table[cl["hire"][c] - lo],
        created_at,
        LATE_REASONS[c % len(LATE_REASONS)] if label == "employer:late_case" else "",
        life[0],
        life[1],
        life[3],
        created_day if life[6] else "",
        next_day if life[7] else "",
        life[4],
        next_day if life[8] else "",
        life[2],
        life[5],
        created_at if life[9] else "",
        label,
        DETAILS[detail],
    ]


def _case_names(
    w: World,
    c: int,
    name_person: int,
    names_cache: dict[int, tuple[str, str, tuple[str, ...]]] | None,
) -> tuple[str, str]:
    """First and last name as the employer typed them for case c (its lawful variant applied)."""
    cache = names_cache if names_cache is not None else {}
    names = cache.get(name_person)
    if names is None:
        names = cache[name_person] = va.names_of(w.pl, name_person)
    if w.cl["detail"][c]:
        return _presented(w, c, *names)
    return names[0], " ".join(names[2])


def _case_document(
    w: World, c: int, table: list[str], lo: int, *, pp: int, wa_until: int
) -> tuple[str, str, str]:
    """(type, number, expiry) of the I-9 document of case c; `pp` and `wa_until` are the alien's
    passport number and end of work authorization (0 and NO_DAY for others)."""
    cl = w.cl
    doc_type = DOC_TYPES[cl["doc_type"][c]]
    n = cl["doc_number"][c]
    if doc_type in ("us_passport", "us_passport_card"):
        doc_number = f"{n:09d}"
    elif doc_type == "list_b_and_c":
        doc_number = ""
    elif doc_type == "foreign_passport_i94":
        doc_number = f"P{pp:09d}" if pp else ""
    else:
        doc_number = f"IOE{n:010d}"
    if doc_type == "employment_authorization" and wa_until != NO_DAY:
        doc_expires = table[wa_until - lo]
    elif doc_type == "list_b_and_c":
        doc_expires = ""
    else:
        doc_expires = table[cl["created"][c] + 400 + c % 2500 - lo]
    return doc_type, doc_number, doc_expires


def _case_lifecycle(label: str, c: int, *, owns_name: bool) -> tuple[Any, ...]:
    """The lifecycle of case c (LIFECYCLE by label, with the exceptions within a label)."""
    if label == "fraud:multi_identity" and owns_name:
        return _EA  # the SSN's owner matches; the other identities on it do not
    if label == "employer:prescreening" and c % 3 == 0:
        return (*_EA[:2], "not_hired", *_EA[3:])
    return LIFECYCLE[label]


__all__ = ["CASE_FIELDS", "People", "case_values", "dhs_dict", "people", "person_names"]
