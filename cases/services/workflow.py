"""The investigation workflow and its due-process gate (Computer Matching Act (p)), 4-eyes sign-off,
assignment, membership, handoff and the employer escalation ladder.

Every function is one business action: atomic, re-checks the actor's scope under a row lock,
writes its timeline line and audit event in the same transaction, and returns the case.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from cases import access
from cases.models import (
    ADVERSE_CLOSURES,
    FLAGGED_STAGE,
    OPEN_STATUSES,
    Case,
    CaseKind,
    CaseStatus,
    Closure,
    ContestOutcome,
    DeliveryMethod,
    Escalation,
    NotificationKind,
)
from cases.services.common import (
    audit,
    closure_outcome,
    findings_feedback,
    lock_visible,
    notify,
    now,
    timeline,
    today,
)
from cases.services.evidence import notice_document_store
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from crossref.models import Disposition
from privacy.models import Role, Unit, User

INVESTIGATION_STATUSES = (
    CaseStatus.INVESTIGATING,
    CaseStatus.PENDING_VERIFICATION,
    CaseStatus.NOTICE_ISSUED,
    CaseStatus.CONTEST_WINDOW,
)


def _require_status(case: Case, allowed: tuple[str, ...], what: str) -> None:
    if case.status not in allowed:
        raise IllegalTransition(
            f"A case that is {case.get_status_display().lower()} cannot {what}."
        )


def _user_in_agency(user: User | None, case: Case) -> User:
    if user is None or not user.is_active or user.agency_id != case.owning_agency_id:
        raise ValidationFailed(
            "Choose a user of the owning agency.",
            field_errors={"user": ["Not a user of the owning agency."]},
        )
    return user


def assign(case: Case, *, actor: Any, assignee: User) -> None:
    """Assign without audit (the callers record one event, single or bulk)."""
    _user_in_agency(assignee, case)
    if not (assignee.has_role(Role.ANALYST) or assignee.has_role(Role.SUPERVISOR)):
        raise ValidationFailed(
            "Only analysts and supervisors take cases.",
            field_errors={"assignee": ["Not an analyst."]},
        )
    previous = case.assignee
    case.assignee = assignee
    if case.status == CaseStatus.FLAGGED:
        case.status = CaseStatus.IN_TRIAGE
    case.save(update_fields=["assignee", "status", "updated_at"])
    access.grant_membership(case, assignee)
    timeline(
        case,
        actor,
        "assigned",
        f"Assigned to {assignee}",
        assignee=assignee.pk,
        previous=getattr(previous, "pk", None),
    )
    if assignee.pk != getattr(actor, "pk", None):
        notify(
            user=assignee,
            kind=NotificationKind.ASSIGNMENT,
            case=case,
            message=f"Case {case.number} was assigned to you.",
        )


@transaction.atomic
def case_assign(*, actor: User, case: Case, assignee: User) -> Case:
    """Assign a case to an analyst of its owning agency (manual assignment)."""
    case = lock_visible(actor=actor, case=case)
    if case.is_closed:
        raise IllegalTransition("A closed case cannot be assigned.")
    before = case.assignee_id
    assign(case, actor=actor, assignee=assignee)
    audit("cases.assigned", actor=actor, case=case, changes={"assignee": [before, assignee.pk]})
    return case


def round_robin_pick(*, unit: Unit) -> User | None:
    """The analyst of the unit with the fewest open cases, under the per-analyst cap."""
    cap = settings.CASES_ANALYST_CAP
    analysts = (
        User.objects.filter(unit=unit, is_active=True, roles__contains=[Role.ANALYST])
        .annotate(load=Count("assigned_cases", filter=Q(assigned_cases__status__in=OPEN_STATUSES)))
        .filter(load__lt=cap)
        .order_by("load", "last_login", "pk")
    )
    return analysts.first()


@transaction.atomic
def case_assign_round_robin(*, actor: User, case: Case) -> Case:
    """Assign to the least-loaded analyst of the routed unit below the cap; refuse if all are full."""
    case = lock_visible(actor=actor, case=case)
    unit_id = case.routed_unit_id
    if unit_id is None:
        raise ValidationFailed("The case is not routed to a unit.")
    # Serialise round-robin per unit so two concurrent picks do not both pass the cap.
    unit = Unit.objects.select_for_update().get(pk=unit_id)
    assignee = round_robin_pick(unit=unit)
    if assignee is None:
        raise ValidationFailed(
            f"Every analyst of {unit.name} is at the cap of {settings.CASES_ANALYST_CAP} open cases."
        )
    before = case.assignee_id
    assign(case, actor=actor, assignee=assignee)
    audit(
        "cases.assigned",
        actor=actor,
        case=case,
        changes={"assignee": [before, assignee.pk]},
        detail={"mode": "round_robin"},
    )
    return case


@transaction.atomic
def case_member_add(*, actor: User, case: Case, user: User) -> Case:
    """Share an investigation with a colleague of the owning agency (need-to-know)."""
    case = lock_visible(actor=actor, case=case)
    _user_in_agency(user, case)
    access.grant_membership(case, user)
    timeline(case, actor, "member_added", f"{user} added to the case", user=user.pk)
    audit("cases.member_added", actor=actor, case=case, changes={"member": [None, user.pk]})
    return case


@transaction.atomic
def case_member_remove(*, actor: User, case: Case, user: User) -> Case:
    """Take a member off an investigation; the case agent and supervisor stay."""
    case = lock_visible(actor=actor, case=case)
    if user.pk in (case.case_agent_id, case.supervisor_id):
        raise ValidationFailed("Change the case agent or supervisor before removing them.")
    access.revoke_membership(case, user)
    timeline(case, actor, "member_removed", f"{user} removed from the case", user=user.pk)
    audit("cases.member_removed", actor=actor, case=case, changes={"member": [user.pk, None]})
    return case


@transaction.atomic
def case_open_investigation(
    *, actor: User, case: Case, supervisor: User | None = None, kind: str | None = None
) -> Case:
    """Open an investigation from a flagged case: the actor becomes case agent; members only from now."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, FLAGGED_STAGE, "be opened as an investigation")
    if supervisor is None and case.routed_unit_id is not None:
        supervisor = (
            User.objects.filter(
                unit_id=case.routed_unit_id, is_active=True, roles__contains=[Role.SUPERVISOR]
            )
            .order_by("pk")
            .first()
        )
    if supervisor is not None:
        _user_in_agency(supervisor, case)
        if not supervisor.has_role(Role.SUPERVISOR):
            raise ValidationFailed("The supervisor must hold the supervisor role.")
    if kind:
        if kind not in CaseKind.values:
            raise ValidationFailed("Unknown case kind.")
        case.kind = kind
    case.status = CaseStatus.INVESTIGATING
    case.case_agent = actor
    case.assignee = actor
    case.supervisor = supervisor
    case.opened_at = now()
    case.triaged_at = case.triaged_at or case.opened_at
    if case.kind == CaseKind.EMPLOYER_COMPLIANCE and not case.escalation:
        case.escalation = Escalation.CONTACT
    case.save()
    access.grant_membership(case, actor)
    if supervisor is not None:
        access.grant_membership(case, supervisor)
    timeline(
        case,
        actor,
        "opened",
        "Investigation opened",
        agent=actor.pk,
        supervisor=getattr(supervisor, "pk", None),
    )
    audit(
        "cases.investigation_opened",
        actor=actor,
        case=case,
        changes={"status": ["flagged", case.status]},
    )
    return case


@transaction.atomic
def case_request_verification(*, actor: User, case: Case) -> Case:
    """Ask for independent verification of the match (the first step of the gate)."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.INVESTIGATING,), "go to verification")
    case.status = CaseStatus.PENDING_VERIFICATION
    case.save(update_fields=["status", "updated_at"])
    timeline(case, actor, "verification_requested", "Independent verification requested")
    audit(
        "cases.verification_requested",
        actor=actor,
        case=case,
        changes={"status": ["investigating", case.status]},
    )
    return case


@transaction.atomic
def case_verify_match(*, actor: User, case: Case, note: str) -> Case:
    """Independent verification of the match, by someone other than the case agent and assignee."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.PENDING_VERIFICATION,), "be verified")
    if actor.pk in (case.case_agent_id, case.assignee_id, case.proposed_by_id):
        raise Forbidden(
            "The match must be verified by a different user than the one who worked it."
        )
    if not note.strip():
        raise ValidationFailed("Say what was checked.", field_errors={"note": ["Required."]})
    case.verified_by = actor
    case.verified_at = now()
    case.save(update_fields=["verified_by", "verified_at", "updated_at"])
    timeline(case, actor, "verified", "Match independently verified", note=note[:500])
    findings_feedback(actor, case, Disposition.VERIFIED)
    audit("cases.match_verified", actor=actor, case=case, detail={"note_length": len(note)})
    return case


@transaction.atomic
def case_notice_issue(*, actor: User, case: Case, language: str = "") -> Case:
    """Generate the notice to the person (findings, how to contest, deadline) as a PDF in their
    language (or `language`), kept as evidence."""

    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.PENDING_VERIFICATION,), "issue a notice")
    if case.verified_by_id is None:
        raise IllegalTransition(
            "A notice can only be issued after independent verification of the match."
        )
    case.status = CaseStatus.NOTICE_ISSUED
    case.notice_issued_at = now()
    case.save(update_fields=["status", "notice_issued_at", "updated_at"])
    evidence = notice_document_store(actor=actor, case=case, language=language)
    timeline(case, actor, "notice_issued", "Notice to the person generated", evidence=evidence.pk)
    audit(
        "cases.notice_issued",
        actor=actor,
        case=case,
        detail={
            "evidence": evidence.pk,
            "sha256": evidence.sha256,
            "language": evidence.original_name.rsplit("-", 1)[-1].removesuffix(".pdf"),
        },
    )
    return case


@transaction.atomic
def case_notice_delivered(*, actor: User, case: Case, method: str, delivered_on: date) -> Case:
    """Record how and when the notice reached the person; the contest window starts then."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.NOTICE_ISSUED,), "record a delivery")
    if method not in DeliveryMethod.values:
        raise ValidationFailed("Unknown delivery method.", field_errors={"method": ["Unknown."]})
    issued = case.notice_issued_at.date() if case.notice_issued_at else today()
    if delivered_on > today() or delivered_on < issued - timedelta(days=1):
        raise ValidationFailed(
            "The delivery date must be between the notice date and today.",
            field_errors={"delivered_on": ["Out of range."]},
        )
    case.notice_delivery_method = method
    case.notice_delivered_on = delivered_on
    case.contest_deadline = delivered_on + timedelta(days=settings.CASES_CONTEST_WINDOW_DAYS)
    case.status = CaseStatus.CONTEST_WINDOW
    case.save()
    timeline(
        case,
        actor,
        "notice_delivered",
        f"Notice delivered by {case.get_notice_delivery_method_display()} on {delivered_on}; contest by {case.contest_deadline}",
    )
    audit(
        "cases.notice_delivered",
        actor=actor,
        case=case,
        changes={"status": ["notice_issued", case.status]},
        detail={"method": method, "delivered_on": str(delivered_on)},
    )
    return case


@transaction.atomic
def case_contest_receive(*, actor: User, case: Case, note: str = "") -> Case:
    """The person contests the findings; the agent and supervisor are told."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.CONTEST_WINDOW,), "receive a contest")
    if case.contest_received_at:
        raise IllegalTransition("A contest has already been received.")
    case.contest_received_at = now()
    case.save(update_fields=["contest_received_at", "updated_at"])
    timeline(case, actor, "contest_received", "Contest received from the person", note=note[:500])
    audit("cases.contest_received", actor=actor, case=case)
    for user in {case.case_agent, case.supervisor} - {None}:
        notify(
            user=user,
            kind=NotificationKind.CONTEST,
            case=case,
            message=f"A contest was received on case {case.number}.",
        )
    return case


@transaction.atomic
def case_contest_decide(*, actor: User, case: Case, outcome: str, note: str = "") -> Case:
    """Decide a received contest. A decision upholding the match lets the gate open before day 30."""
    case = lock_visible(actor=actor, case=case)
    _require_status(case, (CaseStatus.CONTEST_WINDOW,), "decide a contest")
    if not case.contest_received_at:
        raise IllegalTransition("No contest has been received.")
    if case.contest_decided_at:
        raise IllegalTransition("The contest has already been decided.")
    if outcome not in ContestOutcome.values:
        raise ValidationFailed("Unknown outcome.", field_errors={"outcome": ["Unknown."]})
    if actor.pk == case.case_agent_id:
        raise Forbidden("The case agent cannot decide the contest of their own case.")
    case.contest_decided_at = now()
    case.contest_outcome = outcome
    case.save(update_fields=["contest_decided_at", "contest_outcome", "updated_at"])
    timeline(
        case,
        actor,
        "contest_decided",
        f"Contest decided: {case.get_contest_outcome_display()}",
        note=note[:500],
    )
    audit(
        "cases.contest_decided", actor=actor, case=case, changes={"contest_outcome": ["", outcome]}
    )
    return case


def _close(case: Case, *, actor: Any, closure: str, reason: str = "") -> None:
    case.status = CaseStatus.CLOSED
    case.closure = closure
    case.dismiss_reason = reason
    case.closed_at = now()
    case.closed_by = actor
    case.triaged_at = case.triaged_at or case.closed_at
    case.has_new_evidence = False
    case.save()
    findings_feedback(actor, case, closure_outcome(closure), reason)


@transaction.atomic
def case_close(*, actor: User, case: Case, closure: str, note: str = "") -> Case:
    """Close without adverse action (no violation, false positive needs `case_dismiss`)."""
    case = lock_visible(actor=actor, case=case)
    if closure in ADVERSE_CLOSURES:
        raise IllegalTransition(
            "An adverse disposition is proposed and signed off, not closed directly."
        )
    if closure != Closure.NO_VIOLATION:
        raise ValidationFailed("Use dismiss for false positives and merge for merges.")
    _require_status(case, INVESTIGATION_STATUSES, "be closed")
    before = case.status
    _close(case, actor=actor, closure=closure)
    timeline(case, actor, "closed", f"Closed: {case.get_closure_display()}", note=note[:500])
    audit(
        "cases.closed",
        actor=actor,
        case=case,
        changes={"status": [before, "closed"], "closure": ["", closure]},
    )
    return case
