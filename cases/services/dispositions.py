"""The due-process gate and adverse dispositions: proposed by the case agent, signed off by a second
supervisor, only once the match was independently verified, the notice delivered and the
contest window over (DOMAIN.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from audit.services import event_record
from cases import access
from cases.models import (
    ADVERSE_CLOSURES,
    Case,
    CaseStatus,
    ContestOutcome,
    NotificationKind,
)
from cases.services.common import (
    audit,
    lock_visible,
    notify,
    timeline,
    today,
)
from cases.services.workflow import _close, _require_status
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from privacy.models import User


def gate_violations(case: Case, *, proposer: Any, on: date | None = None) -> list[str]:
    """Why an adverse disposition is not yet allowed (empty when the gate is passed)."""
    on = on or today()
    problems = []
    if case.verified_by_id is None:
        problems.append("The match has not been independently verified.")
    elif case.verified_by_id == getattr(proposer, "pk", None):
        problems.append("The verifier cannot also propose the disposition.")
    if case.notice_issued_at is None or case.notice_delivered_on is None:
        problems.append("No notice has been issued and delivered to the person.")
    else:
        window_over = case.contest_deadline is not None and on >= case.contest_deadline
        if case.contest_received_at and not case.contest_decided_at:
            problems.append("The person's contest has not been decided.")
        elif case.contest_outcome == ContestOutcome.OVERTURNED:
            problems.append("The contest overturned the match.")
        elif not window_over and case.contest_outcome != ContestOutcome.UPHELD:
            problems.append(f"The contest window runs until {case.contest_deadline}.")
    return problems


class GateRefused(IllegalTransition):
    """The due-process gate is not passed; the refusal is audited outside the rolled-back work."""

    def __init__(self, case: Case, problems: list[str]):
        super().__init__(" ".join(problems))
        self.case = case
        self.problems = problems


def _gate_refusal_record(actor: Any, exc: GateRefused, closure: str) -> None:
    with transaction.atomic():
        event_record(
            action="cases.gate_refused",
            actor=actor,
            object_type="case",
            object_id=exc.case.pk,
            subjects=[exc.case.subject_ref],
            case_id=exc.case.pk,
            outcome="denied",
            detail={"problems": exc.problems, "closure": closure},
        )


def case_disposition_propose(*, actor: User, case: Case, closure: str, note: str = "") -> Case:
    """Propose an adverse disposition; refused (and the refusal audited) until the due-process gate is passed."""
    try:
        return _disposition_propose(actor=actor, case=case, closure=closure, note=note)
    except GateRefused as exc:
        _gate_refusal_record(actor, exc, closure)
        raise


@transaction.atomic
def _disposition_propose(*, actor: User, case: Case, closure: str, note: str) -> Case:
    case = lock_visible(actor=actor, case=case)
    if closure not in ADVERSE_CLOSURES:
        raise ValidationFailed("Only adverse dispositions are proposed for sign-off.")
    _require_status(case, (CaseStatus.CONTEST_WINDOW,), "take an adverse disposition")
    problems = gate_violations(case, proposer=actor)
    if problems:
        raise GateRefused(case, problems)
    case.proposed_closure = closure
    case.proposed_by = actor
    case.save(update_fields=["proposed_closure", "proposed_by", "updated_at"])
    timeline(
        case,
        actor,
        "disposition_proposed",
        f"Disposition proposed: {case.get_proposed_closure_display()}",
        note=note[:500],
    )
    audit(
        "cases.disposition_proposed",
        actor=actor,
        case=case,
        changes={"proposed_closure": ["", closure]},
    )
    notify(
        user=case.supervisor,
        kind=NotificationKind.SIGNOFF,
        case=case,
        message=f"Case {case.number} awaits your sign-off.",
    )
    return case


def case_disposition_sign_off(
    *, actor: User, case: Case, approve: bool = True, note: str = ""
) -> Case:
    """The supervisor's 4-eyes sign-off (or refusal) of a proposed adverse disposition; the gate is checked again."""
    try:
        return _disposition_sign_off(actor=actor, case=case, approve=approve, note=note)
    except GateRefused as exc:
        _gate_refusal_record(actor, exc, exc.case.proposed_closure)
        raise


@transaction.atomic
def _disposition_sign_off(*, actor: User, case: Case, approve: bool, note: str) -> Case:
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.CONTEST_WINDOW,), "be signed off")
    if not case.proposed_closure:
        raise IllegalTransition("No disposition has been proposed.")
    if not access.is_supervisor(actor):
        raise Forbidden("Only a supervisor signs off adverse dispositions.")
    if actor.pk in (case.proposed_by_id, case.verified_by_id):
        raise Forbidden("Sign-off needs a second pair of eyes: not the proposer or the verifier.")
    if not approve:
        proposed = case.proposed_closure
        case.proposed_closure = ""
        case.proposed_by = None
        case.save(update_fields=["proposed_closure", "proposed_by", "updated_at"])
        timeline(case, actor, "disposition_refused", "Sign-off refused", note=note[:500])
        audit(
            "cases.disposition_refused",
            actor=actor,
            case=case,
            changes={"proposed_closure": [proposed, ""]},
        )
        return case
    problems = gate_violations(case, proposer=case.proposed_by)
    if problems:
        raise GateRefused(case, problems)
    closure = case.proposed_closure
    case.signed_off_by = actor
    _close(case, actor=actor, closure=closure)
    timeline(
        case,
        actor,
        "closed",
        f"Disposition signed off: {case.get_closure_display()}",
        note=note[:500],
    )
    audit(
        "cases.disposition_signed_off",
        actor=actor,
        case=case,
        changes={"status": ["contest_window", "closed"], "closure": ["", closure]},
    )
    return case
