"""The notices a worker receives about their verification case, as PDFs in the worker's language.

- the Further Action Notice (FAN) of a mismatch;
- the Referral Date Confirmation (RDC) once a contested mismatch is referred;
- the case closure notice.

Each is a template under `templates/notices/` rendered with the case's facts, under the worker's
language (`VerificationCase.preferred_language`, or one the reader asks for), then laid out as a
PDF. A notice shows only what it needs: the worker's name, the SSN's last four, the case number
and the dates. Deadlines count federal working days (core.calendar).

These functions only render; printing one for somebody is `verification.services.case_notice_print`,
which audits it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.calendar import add_working_days
from core.errors import IllegalTransition, ValidationFailed
from verification import validation
from verification.models import CaseStatus, ClosureCode, TncSource, VerificationCase
from verification.notices.pdf import html_to_pdf
from verification.validation import FieldInvalid

# The notices of a verification case, by the code used in URLs and audit events.
NOTICE_KINDS: dict[str, Any] = {
    "fan": gettext_lazy("Further Action Notice"),
    "rdc": gettext_lazy("Referral Date Confirmation"),
    "closure": gettext_lazy("Case closure notice"),
}

# The case fields a notice prints beyond the case itself (name, number, dates): their data
# categories decide who may print it (verification.selectors.CASE_FIELD_CATEGORIES). Not the
# employer: the worker knows who gave the notice, and the case number names the case.
NOTICE_FIELDS = ("ssn_last4",)

_AUTHORIZED = {ClosureCode.EA_AUTOMATIC, ClosureCode.EMPLOYEE_CONTINUES_AFTER_EA}
_FINAL = {
    ClosureCode.TERMINATED_AFTER_FNC,
    ClosureCode.CONTINUES_AFTER_FNC,
    ClosureCode.NO_DECISION,
}


@dataclass(frozen=True)
class Notice:
    """A rendered notice: its kind, language and PDF bytes."""

    kind: str
    language: str
    case_id: int
    content: bytes

    @property
    def filename(self) -> str:
        """The download name: kind, case and language, nothing personal."""
        return f"{self.kind}-{self.case_id}-{self.language}.pdf"

    @property
    def sha256(self) -> str:
        """The digest the audit event records, so a printed copy can be matched to its print."""
        return hashlib.sha256(self.content).hexdigest()


def pick_language(asked: str | None, preferred: str = "") -> str:
    """The language to print in: the one asked for (checked: ValidationFailed if not offered),
    else the person's `preferred` one while it is still offered, else the default (English)."""
    if asked:
        try:
            return validation.language(asked)
        except FieldInvalid as exc:
            raise ValidationFailed(
                "Unknown language.", field_errors={"language": [str(exc)]}
            ) from exc
    try:
        return validation.language(preferred)
    except FieldInvalid:  # a catalogue removed since the case was submitted
        return validation.default_language()


def notice_language(case: VerificationCase, language: str | None = None) -> str:
    """The language a notice of `case` is printed in: the one asked for, else the worker's."""
    return pick_language(language, case.preferred_language)


def notices_available(case: VerificationCase) -> list[str]:
    """The notices `case` has reached: a FAN once mismatched, an RDC once referred, a closure once closed."""
    out = []
    if case.tnc_issued_on:
        out.append("fan")
    if case.referred_on and case.contact_due_on:
        out.append("rdc")
    if case.status == CaseStatus.CLOSED:
        out.append("closure")
    return out


def render_notice(case: VerificationCase, kind: str, language: str | None = None) -> Notice:
    """Render notice `kind` ("fan", "rdc", "closure") of `case` as a PDF in `language`."""
    if kind not in NOTICE_KINDS:
        raise ValidationFailed(
            "Unknown notice.", field_errors={"kind": [f"One of: {', '.join(NOTICE_KINDS)}."]}
        )
    if kind not in notices_available(case):
        raise IllegalTransition(
            f"This case has no {NOTICE_KINDS[kind]} (status {CaseStatus(case.status).label})."
        )
    lang = notice_language(case, language)
    with translation.override(lang):
        context = {**_common(case), **_CONTEXTS[kind](case)}
        html = render_to_string(f"notices/{kind}.html", context)
        title = str(NOTICE_KINDS[kind])
        footer = _("E-Verify case %(number)s · %(title)s") % {
            "number": case.pk,
            "title": title,
        }
    created = datetime.combine(
        context["issued_on"], time(12), tzinfo=timezone.get_current_timezone()
    )
    content = html_to_pdf(html, title=title, language=lang, footer_text=footer, created=created)
    return Notice(kind=kind, language=lang, case_id=case.pk, content=content)


def render_fan(case: VerificationCase, language: str | None = None) -> bytes:
    """The Further Action Notice of a mismatched case, as PDF bytes."""
    return render_notice(case, "fan", language).content


def render_rdc(case: VerificationCase, language: str | None = None) -> bytes:
    """The Referral Date Confirmation of a referred case, as PDF bytes."""
    return render_notice(case, "rdc", language).content


def render_closure(case: VerificationCase, language: str | None = None) -> bytes:
    """The closure notice of a closed case, as PDF bytes."""
    return render_notice(case, "closure", language).content


def _today() -> date:
    return timezone.localdate()


def _agency_name(source: str) -> str:
    if source == TncSource.SSA:
        return _("the Social Security Administration (SSA)")
    if source == TncSource.DHS:
        return _("the Department of Homeland Security (DHS)")
    return _(
        "the Social Security Administration (SSA) and the Department of Homeland Security (DHS)"
    )


def _common(case: VerificationCase) -> dict[str, Any]:
    names = [
        case.first_name,
        f"{case.middle_initial}." if case.middle_initial else "",
        case.last_name,
    ]
    return {
        "worker_name": " ".join(n for n in names if n),
        # The last four only (DESIGN.md): the full number is never read to print a notice.
        "ssn_masked": f"XXX-XX-{case.ssn_last4}" if case.ssn_last4 else "",
        "case_number": case.pk,
        "agency_name": _agency_name(case.tnc_source),
        "referral_days": settings.REFERRAL_CONTACT_WORKING_DAYS,
    }


def _fan(case: VerificationCase) -> dict[str, Any]:
    assert case.tnc_issued_on is not None  # notices_available
    issued = case.fan_issued_on or _today()
    return {
        "issued_on": issued,
        "tnc_issued_on": case.tnc_issued_on,
        "decision_days": settings.VERIFICATION_DECISION_WORKING_DAYS,
        "decision_due_on": case.decision_due_on
        or add_working_days(case.tnc_issued_on, settings.VERIFICATION_DECISION_WORKING_DAYS),
        "referred_on": case.referred_on,
        "contact_due_on": case.contact_due_on,
        "contact_due_if_referred_now": add_working_days(
            issued, settings.REFERRAL_CONTACT_WORKING_DAYS
        ),
    }


def _rdc(case: VerificationCase) -> dict[str, Any]:
    return {
        "issued_on": case.referred_on,
        "referred_on": case.referred_on,
        "contact_due_on": case.contact_due_on,
        "contact_ssa": case.tnc_source in (TncSource.SSA, TncSource.BOTH),
        "contact_dhs": case.tnc_source in (TncSource.DHS, TncSource.BOTH),
    }


def _closure(case: VerificationCase) -> dict[str, Any]:
    closed_on = timezone.localdate(case.closed_at) if case.closed_at else _today()
    code = case.closure_code
    if code in _AUTHORIZED or case.result == CaseStatus.EMPLOYMENT_AUTHORIZED:
        outcome = "authorized"
    elif code in _FINAL or case.result in (
        CaseStatus.FINAL_NONCONFIRMATION,
        CaseStatus.DHS_NO_SHOW,
    ):
        outcome = "final"
    elif code == ClosureCode.INFO_NOT_CORRECT or case.result == CaseStatus.CLOSE_AND_RESUBMIT:
        outcome = "resubmit"
    else:
        outcome = "other"
    return {
        "issued_on": closed_on,
        "closed_on": closed_on,
        "result": str(CaseStatus(case.result).label) if case.result else "",
        "closure_reason": str(ClosureCode(code).label) if code else "",
        "outcome": outcome,
    }


_CONTEXTS = {"fan": _fan, "rdc": _rdc, "closure": _closure}
