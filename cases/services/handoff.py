"""Employer compliance cases climb the escalation ladder; investigations are handed to another agency
only under an agreement that allows it, with the accounting of disclosures.
"""

from __future__ import annotations

from django.db import transaction

from cases import access
from cases.models import (
    Case,
    CaseKind,
    Escalation,
    NotificationKind,
)
from cases.selectors import case_members
from cases.services.common import (
    audit,
    lock_visible,
    notify,
    timeline,
)
from cases.services.workflow import INVESTIGATION_STATUSES, _require_status
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from privacy.models import Agreement, Role, Unit, User
from privacy.policy import decide
from privacy.services import disclosures_record

LADDER = list(Escalation.values)


@transaction.atomic
def case_escalate(*, actor: User, case: Case, note: str = "") -> Case:
    """Climb the employer compliance ladder one rung: contact → monitoring → desk review → site visit → referral."""
    case = lock_visible(actor=actor, case=case)
    if case.kind != CaseKind.EMPLOYER_COMPLIANCE:
        raise IllegalTransition("Only employer compliance cases follow the escalation ladder.")
    _require_status(case, INVESTIGATION_STATUSES, "escalate")
    current = case.escalation or Escalation.CONTACT
    position = LADDER.index(current)
    if position == len(LADDER) - 1:
        raise IllegalTransition("The case is already at referral.")
    case.escalation = LADDER[position + 1]
    case.save(update_fields=["escalation", "updated_at"])
    timeline(
        case, actor, "escalated", f"Escalated to {case.get_escalation_display()}", note=note[:500]
    )
    audit(
        "cases.escalated",
        actor=actor,
        case=case,
        changes={"escalation": [current, case.escalation]},
    )
    return case


def _agreement_allows_handoff(agreement_id: int, to_agency_id: int, from_agency_id: int) -> bool:
    """An agreement in force, from the owning agency to the receiving one, covering handoffs of investigations."""

    agreement = Agreement.objects.filter(
        pk=agreement_id, source_agency_id=from_agency_id, recipient_agency_id=to_agency_id
    ).first()
    return bool(
        agreement and agreement.in_force() and agreement.covers("investigations", "receive_handoff")
    )


def _account_handoff(case: Case, receivers: list[User], previous_agency_id: int) -> None:
    """The accounting of disclosures (552a(c)) for the people of a handed-off case."""

    for user in receivers:
        decision = decide(
            user,
            action="receive_handoff",
            category="investigations",
            owner_agency=previous_agency_id,
        )
        disclosures_record(
            actor=user,
            decision=decision,
            category="investigations",
            record_type="cases.case",
            records=[(case.pk, case.subject_ref)],
            nature="handoff",
            purpose=f"Handoff of case {case.number}",
        )


@transaction.atomic
def case_handoff(
    *, actor: User, case: Case, to_unit: Unit, agreement_id: int | None, note: str = ""
) -> Case:
    """Hand the case to another agency's unit under an agreement: ownership and access move."""
    case = lock_visible(actor=actor, case=case)
    if case.is_closed:
        raise IllegalTransition("A closed case cannot be handed off.")
    if to_unit.agency_id == case.owning_agency_id:
        raise ValidationFailed("Hand-offs go to another agency; route within the agency instead.")
    if agreement_id is None or not _agreement_allows_handoff(
        agreement_id, to_unit.agency_id, case.owning_agency_id
    ):
        raise Forbidden("No active agreement lets that agency receive this case.")
    previous_agency = case.owning_agency_id
    receivers = list(
        User.objects.filter(unit=to_unit, is_active=True, roles__contains=[Role.SUPERVISOR])
    )
    if not receivers and case.opened_at is not None:
        # An investigation is seen by its members only: with nobody to receive it, no one could.
        raise ValidationFailed("That unit has no active supervisor to receive the investigation.")
    for member in case_members(case):
        access.revoke_membership(case, member)
    case.owning_agency_id = to_unit.agency_id
    case.routed_unit = to_unit
    case.assignee = None
    case.case_agent = None
    case.supervisor = receivers[0] if receivers else None
    case.handoff_agreement_id = agreement_id
    case.save()
    for user in receivers:
        access.grant_membership(case, user)
        notify(
            user=user,
            kind=NotificationKind.HANDOFF,
            case=case,
            message=f"Case {case.number} was handed off to {to_unit.name}.",
        )
    _account_handoff(case, receivers, previous_agency)
    timeline(
        case, actor, "handoff", f"Handed off to {to_unit}", agreement=agreement_id, note=note[:500]
    )
    audit(
        "cases.handoff",
        actor=actor,
        case=case,
        changes={"owning_agency": [previous_agency, to_unit.agency_id], "unit": [None, to_unit.pk]},
        detail={"agreement": agreement_id},
    )
    return case
