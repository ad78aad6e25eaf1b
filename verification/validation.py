"""Validation of Form I-9 fields, shared by the API, the screens, the loaders and the services.

Every check is a plain function that returns the cleaned value or raises `FieldInvalid` with a
message fit for the person who typed the value. None of the messages repeats an identifier.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from django.conf import settings

from verification.models import CitizenshipStatus, DocumentType


class FieldInvalid(ValueError):
    """One field's value breaks a rule; the message says which, never echoing an identifier."""


# Letters of any script (with their combining marks), space, apostrophe and hyphen (DOMAIN.md §1).
_NAME_PUNCTUATION = {" ", "'", "\u2019", "-"}
_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
_A_NUMBER = re.compile(r"^A?-?(\d{7,9})$", re.IGNORECASE)
_I94 = re.compile(r"^[0-9]{9}[A-Z][0-9]$|^[0-9]{11}$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")
_DOCUMENT = re.compile(r"^[A-Z0-9]{4,20}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
_EIN = re.compile(r"^(\d{2})-?(\d{7})$")
_NAICS = re.compile(r"^\d{2,6}$")
# EIN prefixes the IRS has never assigned (IRS "How EINs are assigned").
_EIN_UNUSED_PREFIXES = {
    "00",
    "07",
    "08",
    "09",
    "17",
    "18",
    "19",
    "28",
    "29",
    "49",
    "69",
    "70",
    "78",
    "79",
    "89",
    "96",
    "97",
}
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
    ]
)
# IRCA: Form I-9 exists for hires after 6 November 1986.
IRCA_START = date(1986, 11, 7)

# Documents each attested status may present (List A, or List B+C for anyone).
DOCUMENTS_FOR_STATUS: dict[str, set[str]] = {
    CitizenshipStatus.CITIZEN: {
        DocumentType.US_PASSPORT,
        DocumentType.US_PASSPORT_CARD,
        DocumentType.LIST_B_AND_C,
    },
    CitizenshipStatus.NONCITIZEN_NATIONAL: {
        DocumentType.US_PASSPORT,
        DocumentType.US_PASSPORT_CARD,
        DocumentType.LIST_B_AND_C,
    },
    CitizenshipStatus.PERMANENT_RESIDENT: {
        DocumentType.PERMANENT_RESIDENT_CARD,
        DocumentType.FOREIGN_PASSPORT_I551,
        DocumentType.LIST_B_AND_C,
    },
    CitizenshipStatus.AUTHORIZED_ALIEN: {
        DocumentType.EMPLOYMENT_AUTHORIZATION,
        DocumentType.FOREIGN_PASSPORT_I94,
        DocumentType.LIST_B_AND_C,
    },
}
# Documents that carry an expiry date on the I-9.
EXPIRING_DOCUMENTS = {
    DocumentType.US_PASSPORT,
    DocumentType.US_PASSPORT_CARD,
    DocumentType.EMPLOYMENT_AUTHORIZATION,
    DocumentType.FOREIGN_PASSPORT_I94,
    DocumentType.FOREIGN_PASSPORT_I551,
}


def name(value: str, *, required: bool = True, max_length: int = 80) -> str:
    """A name as entered: letters of any script, space, apostrophe, hyphen; at least one letter."""
    if value is None or value.strip() == "":
        if required:
            raise FieldInvalid("This name is required.")
        return ""
    if len(value) > max_length:
        raise FieldInvalid(f"At most {max_length} characters.")
    if value.isalpha():  # letters only (Unicode categories L*), as most names are: valid
        return value
    if value != value.strip():
        raise FieldInvalid("Remove the spaces at the start or end.")
    has_letter = False
    for ch in value:
        category = unicodedata.category(ch)
        if category.startswith("L"):
            has_letter = True
        elif category.startswith("M") and has_letter:
            continue  # a combining mark on a letter (decomposed diacritics)
        elif ch not in _NAME_PUNCTUATION:
            raise FieldInvalid("Use only letters, spaces, apostrophes and hyphens.")
    if not has_letter:
        raise FieldInvalid("A name needs at least one letter.")
    return value


def middle_initial(value: str) -> str:
    """Empty, or one letter."""
    if not value:
        return ""
    if len(value) != 1 or not unicodedata.category(value).startswith("L"):
        raise FieldInvalid("One letter, or leave it empty.")
    return value


def other_last_names(value: str) -> str:
    """Other last names used, comma-separated, each a valid name."""
    if not value:
        return ""
    for part in value.split(","):
        name(part.strip(), max_length=80)
    if len(value) > 200:
        raise FieldInvalid("At most 200 characters.")
    return value


def ssn(value: str) -> str:
    """A Social Security number as 9 digits: area not 000/666/9xx, group not 00, serial not 0000."""
    match = _SSN.match((value or "").strip())
    if not match:
        raise FieldInvalid("Enter 9 digits, as 123-45-6789 or 123456789.")
    area, group, serial = match.groups()
    if area in {"000", "666"} or area.startswith("9"):
        raise FieldInvalid(
            "This is not a valid SSN area number (000, 666 and 900-999 are never issued)."
        )
    if group == "00" or serial == "0000":
        raise FieldInvalid("This is not a valid SSN: the group or serial number is zero.")
    return area + group + serial


def a_number(value: str) -> str:
    """An A-Number/USCIS number: optional 'A', 7 to 9 digits; stored as 9 digits."""
    match = _A_NUMBER.match((value or "").strip().replace(" ", ""))
    if not match:
        raise FieldInvalid("Enter 7 to 9 digits, with or without a leading A.")
    digits = match.group(1).zfill(9)
    if int(digits) == 0:
        raise FieldInvalid("An A-Number cannot be all zeros.")
    return digits


def i94(value: str) -> str:
    """A Form I-94 admission number: 11 digits, or 9 digits, a letter and a digit."""
    cleaned = (value or "").strip().upper()
    if not _I94.match(cleaned):
        raise FieldInvalid("Enter the 11-character I-94 number.")
    return cleaned


def passport(value: str) -> str:
    """A passport number: 6 to 12 letters or digits."""
    cleaned = (value or "").strip().upper().replace(" ", "")
    if not _PASSPORT.match(cleaned):
        raise FieldInvalid("Enter 6 to 12 letters or digits.")
    return cleaned


def document_number(value: str) -> str:
    """A document number: 4 to 20 letters or digits (hyphens and spaces dropped)."""
    cleaned = re.sub(r"[\s-]", "", (value or "").strip().upper())
    if not _DOCUMENT.match(cleaned):
        raise FieldInvalid("Enter 4 to 20 letters or digits.")
    return cleaned


def country(value: str) -> str:
    """An ISO 3166 alpha-3 country code."""
    cleaned = (value or "").strip().upper()
    if not _COUNTRY.match(cleaned):
        raise FieldInvalid("Enter the 3-letter country code (ISO 3166), e.g. MEX.")
    return cleaned


def ein(value: str) -> str:
    """An Employer Identification Number: 9 digits (12-3456789), with an IRS-assigned prefix."""
    match = _EIN.match((value or "").strip())
    if not match:
        raise FieldInvalid("Enter 9 digits, as 12-3456789.")
    prefix, rest = match.groups()
    if prefix in _EIN_UNUSED_PREFIXES:
        raise FieldInvalid("This EIN prefix is not assigned by the IRS.")
    return prefix + rest


def naics(value: str) -> str:
    """A NAICS code: 2 to 6 digits."""
    cleaned = (value or "").strip()
    if not _NAICS.match(cleaned):
        raise FieldInvalid("Enter a NAICS code of 2 to 6 digits.")
    return cleaned


def state(value: str) -> str:
    """A US state or territory postal code."""
    cleaned = (value or "").strip().upper()
    if cleaned not in US_STATES:
        raise FieldInvalid("Enter a US state or territory code, e.g. TX.")
    return cleaned


def date_of_birth(value: date, *, hire_date: date | None, today: date) -> date:
    """Not in the future, not before 1900, and old enough to work on the hire date."""
    if value > today:
        raise FieldInvalid("The date of birth is in the future.")
    if value.year < 1900:
        raise FieldInvalid("The date of birth is before 1900.")
    reference = hire_date or today
    age = (
        reference.year - value.year - ((reference.month, reference.day) < (value.month, value.day))
    )
    if age < settings.VERIFICATION_MIN_WORKER_AGE:
        raise FieldInvalid(
            f"The worker is under {settings.VERIFICATION_MIN_WORKER_AGE} on the hire date."
        )
    return value


def i9_dates(
    *, offer_accepted_on: date, i9_completed_on: date, hire_date: date, today: date
) -> dict[str, list[str]]:
    """Field errors of the three I-9 dates (prescreening is a pattern, not refused here)."""
    errors: dict[str, list[str]] = {}
    if i9_completed_on > today:
        errors.setdefault("i9_completed_on", []).append(
            "The I-9 cannot be completed in the future."
        )
    if hire_date < IRCA_START:
        errors.setdefault("hire_date", []).append(
            "Form I-9 applies to hires after 6 November 1986."
        )
    if (hire_date - today).days > 366:
        errors.setdefault("hire_date", []).append("The hire date is more than a year away.")
    if offer_accepted_on > today:
        errors.setdefault("offer_accepted_on", []).append(
            "The offer cannot be accepted in the future."
        )
    if i9_completed_on < offer_accepted_on:
        errors.setdefault("i9_completed_on", []).append(
            "Section 1 is completed after the offer is accepted."
        )
    return errors


def default_language() -> str:
    """The language of a case whose worker named none: the site's (English)."""
    return settings.LANGUAGE_CODE.split("-")[0]


def language(value: str) -> str:
    """A language the notices are printed in: a code of settings.LANGUAGES (one per catalogue)."""
    code = (value or "").strip().lower() or default_language()
    codes = [c for c, _name in settings.LANGUAGES]
    if code not in codes:
        raise FieldInvalid(f"Choose one of: {', '.join(codes)}.")
    return code


def digits_look_like_identifier(text: str) -> bool:
    """True if free text holds a run of digits shaped like an SSN or an A-Number (PII)."""
    return bool(_PII_RUN.search(text or ""))


# 9 digits, with or without separators (SSN 123-45-6789, A-Number A123456789), or 7-8 after an A.
_PII_RUN = re.compile(r"(?<!\d)(?:\d[\s.-]?){8}\d(?!\d)|\bA[\s-]?\d{7,9}\b", re.IGNORECASE)


def free_text(value: str, *, max_length: int = 500) -> str:
    """Free text that must hold no identifier (closure, late and duplicate reasons)."""
    if len(value or "") > max_length:
        raise FieldInvalid(f"At most {max_length} characters.")
    if digits_look_like_identifier(value):
        raise FieldInvalid(
            "Remove the number that looks like an SSN or A-Number: free text must hold no PII."
        )
    return value or ""
