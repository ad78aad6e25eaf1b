"""Reads of the employer portal: only the employers a person acts for, and only their cases.

Employer users reach nothing through the privacy policy (no data category): their scope is their
active `EmployerAccess` grants. Another employer's case, a missing one and a forged id all give
the same NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from core.calendar import working_days_between
from core.errors import NotFound
from core.ids import parse_id
from verification.lifecycle import ALLOWED, CLOSURE_FROM
from verification.models import (
    CaseStatus,
    Employer,
    EmployerAccess,
    EmployerApiKey,
    EmployerRole,
    ImportJob,
    VerificationCase,
)

S = CaseStatus
# The employer must act: give the notice, record the decision, refer, resubmit, close.
ACTION_NEEDED = Q(
    status__in=[
        S.DRAFT,
        S.TENTATIVE_NONCONFIRMATION,
        S.CLOSE_AND_RESUBMIT,
        S.FINAL_NONCONFIRMATION,
        S.DHS_NO_SHOW,
    ]
) | Q(status=S.EMPLOYMENT_AUTHORIZED)
WAITING = Q(status__in=[S.NEEDS_MORE_TIME, S.REFERRED, S.CASE_IN_CONTINUANCE])


def _id(value: Any) -> int:
    """An id taken from a URL (`core.ids.parse_id`), or -1, which matches nothing."""
    pk = parse_id(value)
    return -1 if pk is None else pk


def portal_accesses(*, user: Any) -> QuerySet[EmployerAccess]:
    """The person's active grants, with their employers, by employer name."""
    return EmployerAccess.objects.of(user).select_related("employer").order_by("employer__name")


def portal_access(*, user: Any, employer_id: Any) -> EmployerAccess:
    """The person's grant for one employer; NotFound when there is none (or the id is forged)."""
    access = portal_accesses(user=user).filter(employer_id=_id(employer_id)).first()
    if access is None:
        raise NotFound("No such employer.")
    return access


def portal_admin_access(*, user: Any, employer_id: Any) -> EmployerAccess:
    """The person's administrator grant for one employer; NotFound otherwise (not even a 403)."""
    access = portal_access(user=user, employer_id=employer_id)
    if access.role != EmployerRole.ADMINISTRATOR:
        raise NotFound("No such employer.")
    return access


def portal_cases(*, employer: Employer, status: str = "") -> QuerySet[VerificationCase]:
    """The employer's cases: those needing the employer's action first, then those waiting on
    SSA or DHS, then the closed ones; newest first within each."""
    qs = VerificationCase.objects.filter(employer=employer)
    if status:
        qs = qs.filter(status=status)
    return qs.annotate(
        urgency=Case(
            When(ACTION_NEEDED, then=Value(0)),
            When(WAITING, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("urgency", "-id")


def portal_case(*, employer: Employer, pk: Any) -> VerificationCase:
    """One case of the employer; NotFound for another employer's, a missing or a forged id."""
    case = (
        VerificationCase.objects.filter(pk=_id(pk), employer=employer)
        .select_related("hiring_site")
        .prefetch_related("comparisons")
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def portal_import(*, employer: Employer, pk: Any) -> ImportJob:
    """One import of the employer; NotFound otherwise."""
    job = ImportJob.objects.filter(pk=_id(pk), employer=employer).first()
    if job is None:
        raise NotFound("No such import.")
    return job


def portal_key(*, employer: Employer, pk: Any) -> EmployerApiKey:
    """One API key of the employer; NotFound for another employer's, a missing or a forged id."""
    key = EmployerApiKey.objects.filter(pk=_id(pk), employer=employer).first()
    if key is None:
        raise NotFound("No such key.")
    return key


def portal_person(*, employer: Employer, pk: Any) -> EmployerAccess:
    """One active grant of access to the employer; NotFound otherwise."""
    access = EmployerAccess.objects.active().filter(pk=_id(pk), employer=employer).first()
    if access is None:
        raise NotFound("No such access.")
    return access


@dataclass(frozen=True)
class NextStep:
    """What the employer does next with a case, in words, and which actions the page offers."""

    text: str
    actions: frozenset[str]
    clock_due: date | None = None
    clock_left: int | None = None
    clock_label: str = ""


def next_step(case: VerificationCase, *, today: date) -> NextStep:
    """The instant result explained: what to do next, and the clock that runs, in working days."""
    actions = {a for a in ("issue_fan", "decide", "refer", "close") if case.status in ALLOWED[a]}
    if case.status == S.CLOSED:
        actions.discard("close")
    if case.status in CLOSURE_FROM["info_not_correct"] or (
        case.status == S.CLOSED and case.closure_code == "info_not_correct"
    ):
        actions.add("resubmit")
    if case.status == S.TENTATIVE_NONCONFIRMATION:
        if not case.fan_issued_on:
            text = (
                f"Mismatch with {case.get_tnc_source_display()} records. Give the worker the Further "
                "Action Notice privately, in their language, and record that you did. Take no "
                "adverse action while the case is open."
            )
            actions -= {"decide", "refer"}
        elif not case.decision:
            text = "Record the worker's decision: take action (contest) or not."
            actions.discard("refer")
        else:
            text = "The worker contests: refer the case so the contact clock starts."
            actions.discard("decide")
        due = case.decision_due_on
        return NextStep(text, frozenset(actions), due, _left(today, due), "Decision due")
    if case.status == S.REFERRED:
        due = case.contact_due_on
        return NextStep(
            f"Referred on {case.referred_on}. The worker must contact "
            f"{'SSA' if case.tnc_source == 'ssa' else 'DHS' if case.tnc_source == 'dhs' else 'SSA and DHS'} "
            f"within {settings.REFERRAL_CONTACT_WORKING_DAYS} federal working days. Let them work meanwhile.",
            frozenset(actions),
            due,
            _left(today, due),
            "Worker must contact by",
        )
    texts: dict[str, str] = {
        S.DRAFT: "A draft: submit it for the instant result, or close it.",
        S.EMPLOYMENT_AUTHORIZED: "Employment Authorized. The names differ slightly from the records: "
        "check them, then close the case.",
        S.NEEDS_MORE_TIME: "DHS is checking by hand (up to 3 federal working days). Nothing to do yet.",
        S.CASE_IN_CONTINUANCE: "SSA or DHS needs more time after the worker's visit. Nothing to do yet.",
        S.CLOSE_AND_RESUBMIT: "The agency asks for a new case: close this one and resubmit the corrected data.",
        S.FINAL_NONCONFIRMATION: "Final Nonconfirmation: close the case, saying whether the worker stays.",
        S.DHS_NO_SHOW: "The worker did not contact DHS in time (final): close the case.",
        S.CLOSED: "Closed.",
    }
    due = case.nmt_due_on if case.status == S.NEEDS_MORE_TIME else None
    return NextStep(
        texts.get(case.status, ""), frozenset(actions), due, _left(today, due), "DHS answer due"
    )


def _left(today: date, due: date | None) -> int | None:
    return working_days_between(today, due) if due else None
