"""Lifecycle transitions of a verification case after its instant result: notice, decision, referral,
contact, resolution, closure, escalations and the audited reveal of an identifier.

Each service is atomic, checks the lifecycle table, records its audit event in the same
transaction and returns the case. Creation and submission live in `verification.services.submit`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import event_record
from core.calendar import add_working_days, working_days_between
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from privacy.services.access import ReverifyRequired, otp_verified_recently, sensitive_rate_check
from verification import lifecycle, selectors, validation
from verification.identifiers import reveal
from verification.lifecycle import require
from verification.models import (
    ClosureCode,
    EmployeeDecision,
    TncSource,
    VerificationCase,
)
from verification.services.case_common import (
    S,
    _actor_user,
    _close,
    _lock,
    _set_status,
    _subjects,
    _transition_event,
    today,
)
from verification.validation import FieldInvalid


@transaction.atomic
def case_fan_issue(
    *, actor: Any, case: VerificationCase, issued_on: date | None = None, language: str = ""
) -> VerificationCase:
    """Record that the employer gave the worker the Further Action Notice of a mismatch (and the
    worker's language, when the worker named one then)."""
    case = _lock(case)
    require(case.status, "issue_fan")
    if language:
        try:
            case.preferred_language = validation.language(language)
        except FieldInvalid as exc:
            raise ValidationFailed(
                "Unknown language.", field_errors={"preferred_language": [str(exc)]}
            ) from exc
    on = issued_on or today()
    if case.tnc_issued_on and on < case.tnc_issued_on:
        raise ValidationFailed(
            "The notice cannot precede the mismatch.",
            field_errors={"issued_on": ["Before the mismatch was issued."]},
        )
    if on > today():
        raise ValidationFailed(
            "The notice date is in the future.", field_errors={"issued_on": ["In the future."]}
        )
    case.fan_issued_on = on
    case.save(update_fields=["fan_issued_on", "preferred_language", "updated_at"])
    _transition_event(
        "vcase.fan_issued",
        actor,
        case,
        case.status,
        issued_on=on.isoformat(),
        language=case.preferred_language,
    )
    return case


@transaction.atomic
def case_decide(*, actor: Any, case: VerificationCase, decision: str) -> VerificationCase:
    """Record the worker's decision on a mismatch: take action (then refer) or not (final)."""
    case = _lock(case)
    require(case.status, "decide")
    if decision not in (EmployeeDecision.TAKE_ACTION, EmployeeDecision.NO_ACTION):
        raise ValidationFailed(
            "Unknown decision.", field_errors={"decision": ["Choose take_action or no_action."]}
        )
    if case.fan_issued_on is None:
        raise ValidationFailed(
            "Give the worker the Further Action Notice before recording a decision.",
            field_errors={"decision": ["The Further Action Notice has not been issued."]},
        )
    if case.decision:
        raise ValidationFailed(
            "The decision is already recorded.", field_errors={"decision": ["Already recorded."]}
        )
    before = case.status
    case.decision = decision
    case.decided_at = timezone.now()
    if decision == EmployeeDecision.NO_ACTION:
        _set_status(case, S.FINAL_NONCONFIRMATION)
    case.save()
    _transition_event("vcase.decision_recorded", actor, case, before, decision=decision)
    return case


@transaction.atomic
def case_refer(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """Refer a contested mismatch to SSA/DHS; the worker's contact deadline starts (a setting)."""
    case = _lock(case)
    require(case.status, "refer")
    if case.decision != EmployeeDecision.TAKE_ACTION:
        raise ValidationFailed(
            "Only a mismatch the worker decided to contest is referred.",
            field_errors={"decision": ["Record the decision 'take_action' first."]},
        )
    before, on = case.status, today()
    case.referred_on = on
    case.contact_due_on = add_working_days(on, settings.REFERRAL_CONTACT_WORKING_DAYS)
    _set_status(case, S.REFERRED)
    case.save()
    _transition_event(
        "vcase.referred", actor, case, before, contact_due_on=case.contact_due_on.isoformat()
    )
    return case


@transaction.atomic
def case_contact_record(
    *, actor: Any, case: VerificationCase, contacted_on: date | None = None
) -> VerificationCase:
    """A status verifier records that the worker contacted SSA/DHS (no no-show then)."""
    case = _lock(case)
    require(case.status, "record_contact")
    on = contacted_on or today()
    # The contact window is enforced here as well as by the sweep: a contact after the deadline
    # is a no-show (DHS No Show, or final for SSA), whether or not the sweep has run yet.
    problem = ""
    if on > today():
        problem = "The contact date is in the future."
    elif case.referred_on and on < case.referred_on:
        problem = f"The contact date is before the referral ({case.referred_on.isoformat()})."
    elif case.contact_due_on and on > case.contact_due_on:
        problem = (
            f"The contact deadline was {case.contact_due_on.isoformat()} "
            f"({settings.REFERRAL_CONTACT_WORKING_DAYS} federal working days after the referral); "
            "a later contact is a no-show."
        )
    if problem:
        raise ValidationFailed(problem, field_errors={"contacted_on": [problem]})
    case.contacted_on = on
    case.save(update_fields=["contacted_on", "updated_at"])
    _transition_event(
        "vcase.contact_recorded", actor, case, case.status, contacted_on=on.isoformat()
    )
    return case


@transaction.atomic
def case_resolve(
    *, actor: Any, case: VerificationCase, resolution: str, note: str = ""
) -> VerificationCase:
    """A status verifier resolves a Needs More Time or referred case (confirmed, corrected, FNC, ...)."""
    case = _lock(case)
    require(case.status, "resolve")
    if resolution not in lifecycle.RESOLUTIONS:
        raise ValidationFailed(
            "Unknown resolution.",
            field_errors={"resolution": [f"Choose one of: {', '.join(lifecycle.RESOLUTIONS)}."]},
        )
    allowed_from, target = lifecycle.RESOLUTIONS[resolution]
    if case.status not in allowed_from:
        raise IllegalTransition(
            f"A case in status {str(S(case.status).label)!r} cannot be resolved as {resolution!r}."
        )
    try:
        note = validation.free_text(note)
    except FieldInvalid as exc:
        raise ValidationFailed("The note holds PII.", field_errors={"note": [str(exc)]}) from exc
    if resolution == "corrected_record" and not note:
        raise ValidationFailed(
            "Say what was corrected.", field_errors={"note": ["Describe the correction."]}
        )
    before, on, now = case.status, today(), timezone.now()
    case.resolved_by = _actor_user(actor)
    case.resolution_note = note
    _set_status(case, target, now=now)
    if target == S.TENTATIVE_NONCONFIRMATION:
        case.tnc_source = TncSource.DHS
        case.tnc_issued_on = on
        case.decision_due_on = add_working_days(on, settings.VERIFICATION_DECISION_WORKING_DAYS)
    elif target == S.CASE_IN_CONTINUANCE:
        case.continuance_since = on
    elif target == S.EMPLOYMENT_AUTHORIZED:
        _close(case, ClosureCode.EA_AUTOMATIC, now=now)
    case.save()
    _transition_event("vcase.resolved", actor, case, before, resolution=resolution)
    return case


@transaction.atomic
def case_close(
    *, actor: Any, case: VerificationCase, code: str, text: str = ""
) -> VerificationCase:
    """Close a case with a coded reason; free text (for 'other') must hold no SSN/A-Number."""
    case = _lock(case)
    require(case.status, "close")
    if code in lifecycle.SYSTEM_CLOSURE_CODES or code not in lifecycle.CLOSURE_FROM:
        raise ValidationFailed(
            "Unknown closure code.",
            field_errors={"code": [f"Choose one of: {', '.join(lifecycle.CLOSURE_FROM)}."]},
        )
    try:
        text = validation.free_text(text)
    except FieldInvalid as exc:
        raise ValidationFailed(
            "The closure text holds PII.", field_errors={"text": [str(exc)]}
        ) from exc
    if code in lifecycle.CLOSURE_NEEDS_TEXT and not text.strip():
        raise ValidationFailed(
            "Explain this closure.",
            field_errors={"text": ["This closure code needs an explanation."]},
        )
    if case.status not in lifecycle.CLOSURE_FROM[code]:
        raise IllegalTransition(
            f"A case in status {str(S(case.status).label)!r} cannot be closed as {code!r}."
        )
    before = case.status
    _close(case, code, text=text)
    case.save()
    _transition_event("vcase.closed", actor, case, before, code=code)
    return case


@transaction.atomic
def case_no_show(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """The contact deadline of a referral passed without contact: DHS No Show, or SSA final."""
    case = _lock(case)
    require(case.status, "no_show")
    if case.contacted_on or not case.contact_due_on or case.contact_due_on >= today():
        return case
    before = case.status
    _set_status(
        case,
        S.DHS_NO_SHOW
        if case.tnc_source in (TncSource.DHS, TncSource.BOTH)
        else S.FINAL_NONCONFIRMATION,
    )
    case.save()
    _transition_event(
        "vcase.no_show", actor, case, before, contact_due_on=case.contact_due_on.isoformat()
    )
    return case


@transaction.atomic
def case_auto_close_draft(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """Close a draft untouched for 180 federal working days."""
    case = _lock(case)
    require(case.status, "auto_close_draft")
    cutoff = add_working_days(today(), -settings.VERIFICATION_DRAFT_EXPIRY_WORKING_DAYS)
    if timezone.localdate(case.updated_at) > cutoff:
        return case
    before = case.status
    _close(case, ClosureCode.DRAFT_EXPIRED)
    case.save()
    _transition_event("vcase.auto_closed", actor, case, before, code=ClosureCode.DRAFT_EXPIRED)
    return case


@transaction.atomic
def case_auto_close_no_decision(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """A mismatch with no worker decision by the 10th working day is closed as if final."""
    case = _lock(case)
    require(case.status, "auto_close_no_decision")
    if case.decision or not case.decision_due_on or case.decision_due_on >= today():
        return case
    before = case.status
    _set_status(case, S.FINAL_NONCONFIRMATION)
    _close(case, ClosureCode.NO_DECISION)
    case.save()
    _transition_event("vcase.auto_closed", actor, case, before, code=ClosureCode.NO_DECISION)
    return case


@transaction.atomic
def case_escalate_continuance(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """Flag a case in continuance for 60 working days or more (once)."""
    case = _lock(case)
    require(case.status, "escalate_continuance")
    on = today()
    cutoff = add_working_days(on, -settings.VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS)
    if (
        case.continuance_escalated_at
        or not case.continuance_since
        or case.continuance_since > cutoff
    ):
        return case
    case.continuance_escalated_at = timezone.now()
    case.save(update_fields=["continuance_escalated_at", "updated_at"])
    _transition_event(
        "vcase.continuance_escalated",
        actor,
        case,
        case.status,
        since=case.continuance_since.isoformat(),
        working_days=working_days_between(case.continuance_since, on),
        threshold=settings.VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS,
    )
    return case


@transaction.atomic
def case_escalate_nmt(*, actor: Any, case: VerificationCase) -> VerificationCase:
    """Flag a Needs More Time case whose DHS manual check passed its deadline unresolved (once)."""
    case = _lock(case)
    require(case.status, "escalate_nmt")
    on = today()
    if case.nmt_escalated_at or not case.nmt_due_on or case.nmt_due_on >= on:
        return case
    case.nmt_escalated_at = timezone.now()
    case.save(update_fields=["nmt_escalated_at", "updated_at"])
    _transition_event(
        "vcase.nmt_escalated",
        actor,
        case,
        case.status,
        due_on=case.nmt_due_on.isoformat(),
        working_days_overdue=working_days_between(case.nmt_due_on, on),
    )
    return case


REVEALABLE = tuple(selectors.REVEALABLE)


@transaction.atomic
def case_identifier_reveal(
    *, actor: Any, case: VerificationCase, field: str, reason: str, request: Any
) -> str:
    """The full identifier of a case for a person who needs it, with a written reason, audited.

    Only an identifier the case page offers this person (`selectors.reveal_offer`): the page
    shows what is revealed, so the audit records only what was shown. The privacy rules for
    reveals apply: a second-factor check within the last few minutes and the per-user rate
    limit (over it, 429 and an anomaly for supervisors).
    """

    if field not in REVEALABLE:
        raise ValidationFailed(
            "Unknown identifier.", field_errors={"field": [f"One of: {', '.join(REVEALABLE)}."]}
        )
    if field not in selectors.reveal_offer(user=_actor_user(actor), case=case):
        raise Forbidden("This case does not offer that identifier to you.")
    try:
        reason = validation.free_text(reason.strip())
    except FieldInvalid as exc:
        raise ValidationFailed(
            "The reason holds PII.", field_errors={"reason": [str(exc)]}
        ) from exc
    if len(reason) < 10:
        raise ValidationFailed(
            "Say why you need the full number.",
            field_errors={"reason": ["At least 10 characters."]},
        )
    if not otp_verified_recently(request):
        raise ReverifyRequired("Confirm your second factor again to reveal identifiers.")
    sensitive_rate_check(_actor_user(actor), "reveal")
    value = reveal(case, field)
    if not value:
        raise ValidationFailed(
            "The case has no such identifier.", field_errors={"field": ["Empty on this case."]}
        )
    event_record(
        action="vcase.identifier_revealed",
        actor=_actor_user(actor),
        object_type="verification_case",
        object_id=case.pk,
        subjects=_subjects(case),
        justification=reason,
        detail={"field": field},
    )
    return value
