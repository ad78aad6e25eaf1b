"""Why two compared values agree or not, in words: the comparison level of `verification.comparison`
(the same scale the identity rules and the linkage model judge by), for the case page."""

from __future__ import annotations

from datetime import date

from verification.comparison import (
    DOB_LEVELS,
    IDENTIFIER_LEVELS,
    NAME_LEVELS,
    dob_level,
    name_level,
)

TEXT = {
    "exact": "exact match",
    "close": "close: Jaro-Winkler ≥ 0.94, or part of a compound name",
    "similar": "similar: Jaro-Winkler ≥ 0.88, or one edit apart (a typo)",
    "alternate": "alternate: same sound, transliteration or a known nickname",
    "initial": "initial only",
    "weak": "weak: Jaro-Winkler ≥ 0.70",
    "different": "different",
    "day_month_swapped": "day and month swapped",
    "one_digit": "one digit differs",
    "year_off": "year one or ten off",
    "one_component": "one of day, month, year differs",
    "two_digits": "two digits differ",
    "one_off": "one keying slip (a digit changed or two exchanged)",
    "two_off": "two keying slips",
    "missing": "missing on one side: no evidence either way",
    "swapped": "given name and surname swapped",
}
NAME_FIELDS = {"first_name", "last_name", "middle_name", "name", "given_name", "surname"}
DATE_FIELDS = {"date_of_birth", "dob"}


def _level(field: str, submitted: str, reference: str) -> str:
    if not submitted or not reference:
        return "missing"
    if field in NAME_FIELDS:
        index = name_level(submitted, reference)
        return NAME_LEVELS[index] if index >= 0 else "missing"
    if field in DATE_FIELDS:
        try:
            index = dob_level(date.fromisoformat(submitted), date.fromisoformat(reference))
        except ValueError:
            return ""
        return DOB_LEVELS[index] if index >= 0 else "missing"
    return ""


def explanation(*, field: str, submitted: str, reference: str, level: str = "") -> str:
    """The match level of a compared field, in words ("" when the field has no level scale)."""
    name = level or _level(field, submitted, reference)
    if name in IDENTIFIER_LEVELS or name in TEXT:
        return TEXT.get(name, name.replace("_", " "))
    return name.replace("_", " ")
