"""The checks of one submitted case, field by field then across fields (Form I-9 rules).

The single submit, the screens and the bulk import all clean a case here: there is no second
copy of these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.errors import ValidationFailed
from core.ids import parse_id
from verification import validation
from verification.models import (
    CitizenshipStatus,
    DocumentType,
    DuplicateReason,
    Employer,
    HiringSite,
    LateReason,
)
from verification.validation import FieldInvalid

CASE_TEXT_FIELDS = (
    "first_name",
    "middle_initial",
    "last_name",
    "other_last_names",
    "employee_email",
    "citizenship_status",
    "passport_country",
    "document_type",
    "employer_case_id",
    "late_reason",
    "late_reason_text",
    "duplicate_reason",
    "duplicate_reason_text",
)


# The choices as plain strings, computed once: `TextChoices.values` builds a list on every call
# and enum attribute access is slow, which a bulk import of a million rows notices.
_STATUSES = tuple(str(v) for v in CitizenshipStatus.values)
_DOCUMENTS = tuple(str(v) for v in DocumentType.values)
_CODES = {
    "late_reason": tuple(str(v) for v in LateReason.values),
    "duplicate_reason": tuple(str(v) for v in DuplicateReason.values),
}
_PERMANENT_RESIDENT = str(CitizenshipStatus.PERMANENT_RESIDENT.value)
_AUTHORIZED_ALIEN = str(CitizenshipStatus.AUTHORIZED_ALIEN.value)
_CITIZEN_OR_NATIONAL = (
    str(CitizenshipStatus.CITIZEN.value),
    str(CitizenshipStatus.NONCITIZEN_NATIONAL.value),
)
_LIST_B_AND_C = str(DocumentType.LIST_B_AND_C.value)

IDENTIFIER_FIELDS = ("ssn", "a_number", "i94", "passport", "document_number")


DATE_FIELDS = (
    "date_of_birth",
    "offer_accepted_on",
    "i9_completed_on",
    "hire_date",
    "document_expires_on",
    "work_authorization_expires_on",
)


@dataclass(frozen=True)
class CleanCase:
    """Validated I-9 input: identifiers normalized, still in clear (memory only)."""

    values: dict[str, Any]
    identifiers: dict[str, str]


class _Cleaner:
    """The checks of one submission, field by field then across fields, gathering every error."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        employer: Employer,
        on: date,
        sites: dict[int, HiringSite] | None = None,
    ) -> None:
        self.data, self.employer, self.on, self.sites = data, employer, on, sites
        self.errors: dict[str, list[str]] = {}
        self.values: dict[str, Any] = {}
        self.ids: dict[str, str] = {}

    def check(self, field: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FieldInvalid as exc:
            self.errors.setdefault(field, []).append(str(exc))
            return None

    def text(self, field: str) -> str:
        value = self.data.get(field) or ""
        if not isinstance(value, str):
            self.errors.setdefault(field, []).append("Must be text.")
            return ""
        return value

    def _names_and_dates(self) -> None:
        """The names, the dates and the rules between the dates."""
        self.values["first_name"] = self.check(
            "first_name", validation.name, self.text("first_name")
        )
        self.values["last_name"] = self.check("last_name", validation.name, self.text("last_name"))
        self.values["middle_initial"] = self.check(
            "middle_initial", validation.middle_initial, self.text("middle_initial")
        )
        self.values["other_last_names"] = self.check(
            "other_last_names", validation.other_last_names, self.text("other_last_names")
        )
        self.values["employee_email"] = self.text("employee_email")
        for field in DATE_FIELDS:
            value = self.data.get(field)
            if value is not None and not isinstance(value, date):
                self.errors.setdefault(field, []).append("Enter a date as YYYY-MM-DD.")
                value = None
            self.values[field] = value
        for field in ("date_of_birth", "offer_accepted_on", "i9_completed_on", "hire_date"):
            if self.values[field] is None and field not in self.errors:
                self.errors.setdefault(field, []).append("This date is required.")
        if self.values["date_of_birth"] and self.values["hire_date"]:
            self.check(
                "date_of_birth",
                validation.date_of_birth,
                self.values["date_of_birth"],
                hire_date=self.values["hire_date"],
                today=self.on,
            )
        if (
            self.values["offer_accepted_on"]
            and self.values["i9_completed_on"]
            and self.values["hire_date"]
        ):
            for field, messages in validation.i9_dates(
                offer_accepted_on=self.values["offer_accepted_on"],
                i9_completed_on=self.values["i9_completed_on"],
                hire_date=self.values["hire_date"],
                today=self.on,
            ).items():
                self.errors.setdefault(field, []).extend(messages)

    def _choices(self) -> None:
        """The attested status, the document type and the worker's language, from their lists."""
        status = self.text("citizenship_status")
        if status not in _STATUSES:
            self.errors.setdefault("citizenship_status", []).append(
                f"Choose one of: {', '.join(_STATUSES)}."
            )
        self.values["citizenship_status"] = status
        doc = self.text("document_type")
        if doc not in _DOCUMENTS:
            self.errors.setdefault("document_type", []).append(
                f"Choose one of: {', '.join(_DOCUMENTS)}."
            )
        self.values["document_type"] = doc
        self.values["preferred_language"] = self.check(
            "preferred_language", validation.language, self.text("preferred_language")
        )

    def _identifiers(self) -> None:
        """The identifiers (kept apart: they are sealed, never stored in clear)."""
        self.ids["ssn"] = self.check("ssn", validation.ssn, self.text("ssn")) or ""
        for field, fn in (
            ("a_number", validation.a_number),
            ("i94", validation.i94),
            ("passport", validation.passport),
            ("document_number", validation.document_number),
        ):
            raw = self.text(field)
            self.ids[field] = (self.check(field, fn, raw) or "") if raw else ""
        country = self.text("passport_country")
        self.values["passport_country"] = (
            (self.check("passport_country", validation.country, country) or "") if country else ""
        )

    def _status_rules(self) -> None:
        """Which identifiers the attested status needs (Form I-9 Section 1)."""
        status = self.values["citizenship_status"]
        # Which identifiers the attested status needs (Form I-9 Section 1).
        if (
            status == _PERMANENT_RESIDENT
            and not self.ids["a_number"]
            and "a_number" not in self.errors
        ):
            self.errors.setdefault("a_number", []).append(
                "A lawful permanent resident gives the A-Number/USCIS number."
            )
        if status == _AUTHORIZED_ALIEN:
            if (
                not (self.ids["a_number"] or self.ids["i94"] or self.ids["passport"])
                and not {"a_number", "i94", "passport"} & self.errors.keys()
            ):
                self.errors.setdefault("a_number", []).append(
                    "A noncitizen authorized to work gives an A-Number, an I-94 number, or a foreign passport and country."
                )
            if (
                self.ids["passport"]
                and not self.values["passport_country"]
                and "passport_country" not in self.errors
            ):
                self.errors.setdefault("passport_country", []).append(
                    "Give the country that issued the passport."
                )
        if status in _CITIZEN_OR_NATIONAL and (self.ids["i94"] or self.ids["passport"]):
            self.errors.setdefault("citizenship_status", []).append(
                "A citizen or national gives no I-94 or foreign passport."
            )

    def _document_rules(self) -> None:
        """The document fits the status, has its number and had not expired."""
        status, doc = self.values["citizenship_status"], self.values["document_type"]
        if (
            status in validation.DOCUMENTS_FOR_STATUS
            and doc in _DOCUMENTS
            and doc not in validation.DOCUMENTS_FOR_STATUS[status]
        ):
            self.errors.setdefault("document_type", []).append(
                "This document does not fit the attested status."
            )
        if (
            doc != _LIST_B_AND_C
            and doc in _DOCUMENTS
            and not self.ids["document_number"]
            and "document_number" not in self.errors
        ):
            self.errors.setdefault("document_number", []).append(
                "Give the number of the List A document."
            )
        expires = self.values["document_expires_on"]
        if (
            doc in validation.EXPIRING_DOCUMENTS
            and expires is None
            and "document_expires_on" not in self.errors
        ):
            self.errors.setdefault("document_expires_on", []).append(
                "This document has an expiry date."
            )
        if expires and self.values["i9_completed_on"] and expires < self.values["i9_completed_on"]:
            self.errors.setdefault("document_expires_on", []).append(
                "The document had expired when the I-9 was completed."
            )

    def _site_and_codes(self) -> None:
        """The hiring site of this employer, the employer's case id, the coded reasons."""
        site_id = self.data.get("hiring_site")
        self.values["hiring_site"] = None
        if site_id not in (None, ""):
            site_pk = parse_id(site_id)
            site_pk = -1 if site_pk is None else site_pk
            site = (
                self.sites.get(site_pk)
                if self.sites is not None
                else HiringSite.objects.filter(employer=self.employer, pk=site_pk).first()
            )
            if site is None:
                self.errors.setdefault("hiring_site", []).append(
                    "No hiring site of this employer has this id."
                )
            self.values["hiring_site"] = site
        case_id = self.text("employer_case_id")
        if len(case_id) > 64 or (case_id and not case_id.isprintable()):
            self.errors.setdefault("employer_case_id", []).append(
                "At most 64 printable characters."
            )
        self.values["employer_case_id"] = case_id
        for code_field, choices, text_field in (
            ("late_reason", _CODES["late_reason"], "late_reason_text"),
            ("duplicate_reason", _CODES["duplicate_reason"], "duplicate_reason_text"),
        ):
            code = self.text(code_field)
            if code and code not in choices:
                self.errors.setdefault(code_field, []).append(
                    f"Choose one of: {', '.join(choices)}."
                )
            self.values[code_field] = code
            self.values[text_field] = (
                self.check(text_field, validation.free_text, self.text(text_field)) or ""
            )
            if code == "other" and not self.values[text_field] and text_field not in self.errors:
                self.errors.setdefault(text_field, []).append("Explain the reason 'other'.")


def clean_case(
    data: dict[str, Any],
    *,
    employer: Employer,
    on: date,
    sites: dict[int, HiringSite] | None = None,
) -> CleanCase:
    """Validate every I-9 field and the rules across fields; one ValidationFailed with all errors.

    `sites` (the employer's hiring sites by id) spares a bulk import one query per row.
    """
    c = _Cleaner(data, employer=employer, on=on, sites=sites)
    c._names_and_dates()
    c._choices()
    c._identifiers()
    c._status_rules()
    c._document_rules()
    c._site_and_codes()
    if c.errors:
        raise ValidationFailed("The case has invalid fields.", field_errors=c.errors)
    return CleanCase(values=c.values, identifiers=c.ids)
