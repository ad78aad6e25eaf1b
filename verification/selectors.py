"""Reads of the verification app: scoped to the user, fetch-and-authorize in one step."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from core.errors import NotFound
from privacy.policy import DataCategory, decide
from privacy.reads import hidden_fields
from verification.lifecycle import ALLOWED
from verification.models import (
    CaseComparison,
    CaseStatus,
    Employer,
    EmployerApiKey,
    VerificationCase,
)

# What a status verifier's queue holds by default: the cases waiting on SSA/DHS.
VERIFIER_QUEUE = (CaseStatus.NEEDS_MORE_TIME, CaseStatus.REFERRED, CaseStatus.CASE_IN_CONTINUANCE)


def get_case_for_user(*, user: Any, pk: int, action: str = "view") -> VerificationCase:
    """The case if `user` may do `action` on it; NotFound for missing and forbidden alike."""
    case = (
        VerificationCase.objects.visible_to(user, action=action)
        .select_related("employer", "hiring_site", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def case_list_for_user(
    *,
    user: Any,
    statuses: list[str] | None = None,
    tnc_source: str = "",
    employer_query: str = "",
    escalated: bool = False,
) -> QuerySet[VerificationCase]:
    """Cases the user may see, filtered; the verifier queue by default, escalated first, then oldest change.

    `escalated` keeps only the cases whose current wait was escalated (Needs More Time past its
    deadline, continuance past its threshold).
    """
    qs = VerificationCase.objects.visible_to(user).select_related("employer")
    qs = qs.filter(status__in=statuses or VERIFIER_QUEUE)
    if tnc_source:
        qs = qs.filter(tnc_source=tnc_source)
    if employer_query:
        qs = qs.filter(employer__name__icontains=employer_query)
    is_escalated = Q(status=CaseStatus.NEEDS_MORE_TIME, nmt_escalated_at__isnull=False) | Q(
        status=CaseStatus.CASE_IN_CONTINUANCE, continuance_escalated_at__isnull=False
    )
    if escalated:
        qs = qs.filter(is_escalated)
    flag = Case(When(is_escalated, then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(escalation_order=flag).order_by(
        "escalation_order", "status_changed_at", "id"
    )


# The reference data a comparison shows belongs to its source's data category.
COMPARISON_CATEGORIES = {"ssa": DataCategory.SSA_IDENTITY, "dhs": DataCategory.DHS_IMMIGRATION}

# Fields of a verification case by data category (field minimisation, privacy.reads); a field not
# listed is verification-case data. The date of birth and the SSN are what SSA confirms; the
# immigration documents are what DHS holds.
CASE_FIELD_CATEGORIES = {
    "date_of_birth": DataCategory.SSA_IDENTITY,
    "ssn_last4": DataCategory.SSA_IDENTITY,
    "a_number_last4": DataCategory.DHS_IMMIGRATION,
    "i94_last4": DataCategory.DHS_IMMIGRATION,
    "passport_last4": DataCategory.DHS_IMMIGRATION,
    "passport_country": DataCategory.DHS_IMMIGRATION,
    "document_number_last4": DataCategory.VERIFICATION_CASES,
    "employer": DataCategory.EMPLOYER_DATA,
}


# Each identifier a person may reveal in full, and the masked field the case page shows of it.
REVEALABLE = {
    "ssn": "ssn_last4",
    "a_number": "a_number_last4",
    "i94": "i94_last4",
    "passport": "passport_last4",
    "document_number": "document_number_last4",
}
# A case is worked (resolved, its contact recorded) in these statuses; only then is a reveal offered.
WORKED_STATUSES = ALLOWED["resolve"] | ALLOWED["record_contact"]


def reveal_offer(*, user: Any, case: VerificationCase) -> list[str]:
    """The identifiers of `case` its page offers `user` to reveal in full (the endpoint allows no other).

    None unless the user may change verification cases and the case is being worked; then those
    the page shows masked: held by the case, and in a data category the user may see.
    """
    if case.status not in WORKED_STATUSES:
        return []
    if not decide(user, action="change", category=DataCategory.VERIFICATION_CASES).allowed:
        return []
    hidden = hidden_fields(user, CASE_FIELD_CATEGORIES)
    return [f for f, masked in REVEALABLE.items() if masked not in hidden and getattr(case, masked)]


def comparisons_for_case(*, case: VerificationCase, user: Any = None) -> QuerySet[CaseComparison]:
    """The instant-result comparisons of a case, SSA first.

    With `user`, only the sources whose data category the user may view (field minimisation:
    a partner agency without SSA identity data in its agreement sees no Numident values at all).
    """
    qs = CaseComparison.objects.filter(case=case).order_by("source", "id")
    if user is None:
        return qs
    sources = [
        s
        for s, category in COMPARISON_CATEGORIES.items()
        if decide(user, action="view", category=category).allowed
    ]
    return qs.filter(source__in=sources)


def worker_language(*, ssn_bidx: str) -> str:
    """The language the worker named on their latest verification case ("" if no case)."""
    return (
        VerificationCase.objects.filter(ssn_bidx=ssn_bidx)
        .order_by("-id")
        .values_list("preferred_language", flat=True)
        .first()
        or ""
    )


def can_manage_employers(user: Any) -> bool:
    """True if the user may enrol employers and manage their keys."""
    return decide(user, action="change", category=DataCategory.EMPLOYER_DATA).allowed


def get_employer_for_user(*, user: Any, pk: int, action: str = "view") -> Employer:
    """The employer if visible to the user; NotFound otherwise."""
    employer = Employer.objects.visible_to(user, action=action).filter(pk=pk).first()
    if employer is None:
        raise NotFound("No such employer.")
    return employer


def get_apikey_for_user(*, user: Any, pk: int) -> EmployerApiKey:
    """An API key whose employer the user may change; NotFound otherwise."""
    key = (
        EmployerApiKey.objects.visible_to(user, action="change")
        .select_related("employer")
        .filter(pk=pk)
        .first()
    )
    if key is None:
        raise NotFound("No such key.")
    return key
