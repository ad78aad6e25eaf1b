"""The Computer Matching Act notice to the person (5 U.S.C. 552a(p)): the findings, the right to
contest and its 30-day window, as a PDF in the person's language.

The findings are those the case had when the notice was generated (`selectors.notice_findings`),
each with its disagreeing fields. Identifiers show only their last four.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case, SubjectKind
from privacy.crypto import mask
from verification.notices import html_to_pdf, pick_language
from verification.selectors import worker_language

FIELD_LABELS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "other_last_names": gettext_lazy("Other last names"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "death_date": gettext_lazy("Date of death"),
    "ssn": gettext_lazy("Social Security number"),
    "a_number": gettext_lazy("A-Number"),
    "i94": gettext_lazy("I-94 number"),
    "passport": gettext_lazy("Passport number"),
    "document_number": gettext_lazy("Document number"),
    "citizenship_status": gettext_lazy("Citizenship or immigration status"),
}
# Shown by their last four only, whatever the finding kept (DESIGN.md: identifiers are masked).
IDENTIFIER_FIELDS = frozenset({"ssn", "a_number", "i94", "passport", "document_number"})
SOURCES = {"ssa": "SSA", "dhs": "DHS", "enforcement": "ICE"}


def person_language(case: Case) -> str:
    """The language the person named on their latest verification case, else the default."""
    preferred = ""
    if case.subject_kind == SubjectKind.WORKER and case.subject_key.startswith("ssn:"):
        preferred = worker_language(ssn_bidx=case.subject_key.removeprefix("ssn:"))
    return pick_language(None, preferred)


def _value(field: str, value: str) -> str:
    if field in IDENTIFIER_FIELDS:
        digits = "".join(ch for ch in value if ch.isalnum())
        return mask(digits[-4:]) if digits else ""
    return value


def _findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "title": item["rule_title"],
            "code": item["finding"].rule_code,
            "version": item["finding"].rule_version,
            "summary": item["finding"].summary,
            "rows": [
                {
                    "field": str(FIELD_LABELS.get(r.field, r.field.replace("_", " "))),
                    "source": SOURCES.get(r.source, r.source.upper()),
                    "submitted": _value(r.field, r.submitted),
                    "reference": _value(r.field, r.reference),
                }
                for r in item["rows"]
                if r.mismatch
            ],
        }
        for item in findings
    ]


def render_cma(
    *, case: Case, findings: list[dict[str, Any]], language: str, issued_on: date
) -> bytes:
    """The notice of findings and of the right to contest, in `language`, dated `issued_on`."""
    days = settings.CASES_CONTEST_WINDOW_DAYS
    with translation.override(language):
        html = render_to_string("notices/cma.html", _context(case, findings, issued_on, days))
        title = _("Notice of findings and of your right to contest")
        footer = _("Reference %(number)s · %(title)s") % {"number": case.number, "title": title}
    created = datetime.combine(issued_on, time(12), tzinfo=timezone.get_current_timezone())
    return html_to_pdf(html, title=title, language=language, footer_text=footer, created=created)


def _context(
    case: Case, findings: list[dict[str, Any]], issued_on: date, days: int
) -> dict[str, Any]:
    office = case.owning_agency
    return {
        "case": case,
        "office_name": office.name,
        "office_address": office.address,
        "subject_name": case.subject_name,
        "ssn_masked": f"XXX-XX-{case.subject_last4}" if case.subject_last4 else "",
        "findings": _findings(findings),
        "issued_on": issued_on,
        "contest_days": days,
        # The window is calendar time (DESIGN.md), counted from delivery: the notice gives the
        # date it ends if the person receives it the day it is dated.
        "contest_by_if_received_on_issue": issued_on + timedelta(days=days),
    }
