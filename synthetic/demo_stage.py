"""The demo world's working state, so every persona's home has real numbers (development only).

After `demo_world` has loaded the synthetic cases and ingested their findings, this stages what a
working office looks like: a few weeks of history (the cases' ages and SLA due dates spread over
the last weeks, some already triaged), flagged cases assigned round-robin, two investigations
awaiting sign-off, an audit review sample, a break-glass use to review, a recertification
campaign, a pending Privacy Act request. Each step goes through the services (so the audit
trail holds it), and each is skipped when its result is already there: staging is idempotent.

The history is the one liberty taken: the cases' creation times are moved back (an UPDATE of demo
rows, never done by the product) so that the queue ages, clocks run late and charts have weeks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import ReviewAssignment
from audit.review import review_assign
from cases.models import FLAGGED_STAGE, Case, CaseStatus, Closure, DismissReason
from cases.services import (
    case_assign_round_robin,
    case_close,
    case_contest_decide,
    case_contest_receive,
    case_dismiss,
    case_disposition_propose,
    case_notice_delivered,
    case_notice_issue,
    case_open_investigation,
    case_request_verification,
    case_verify_match,
)
from cases.services.ingest import sla_due_date
from core.errors import DomainError
from privacy.models import BreakGlassGrant, RecertificationCampaign, Role, SubjectRequest, User
from privacy.services import break_glass_open, campaign_open, subject_request_create
from verification.models import CaseStatus as VStatus
from verification.models import EmployeeDecision, VerificationCase
from verification.services import case_decide, case_fan_issue, case_refer

HISTORY_DAYS = 45
ASSIGNED_SHARE = 0.7
DISMISSED_SHARE = 0.15
CONFIRMED_SHARE = 0.4  # of the cases triaged in the past: leads that held, the rest dismissed
SIGNOFF_CASES = 2
REFERRED_SHARE = 0.7


def demo_stage(*, seed: int = 2026, say: Callable[[str], None] = print) -> None:
    """Stage every part that is missing; say what was done."""
    rng = random.Random(seed)
    users = {u.username: u for u in User.objects.filter(is_active=True)}
    steps: list[tuple[str, Callable[[], int]]] = [
        ("cases given a history", lambda: _history(rng)),
        ("cases triaged in the past weeks", lambda: _triaged(rng, users)),
        ("flagged cases assigned round-robin", lambda: _assign(rng)),
        ("investigations awaiting sign-off", lambda: _signoffs(users)),
        ("break-glass uses to review", lambda: _break_glass(users)),
        ("recertification campaigns opened", lambda: _campaign(users)),
        ("Privacy Act requests received", lambda: _subject_request(users)),
        ("mismatches referred to SSA/DHS", lambda: _referrals(rng)),
        ("audit events given for review", lambda: _review(users)),
    ]
    for label, step in steps:
        say(f"Demo: {step():>4} {label}")


def _history(rng: random.Random) -> int:
    """Spread the flagged cases' creation over the last weeks, with their SLA due dates."""
    cases = list(Case.objects.filter(status__in=FLAGGED_STAGE, triaged_at__isnull=True))
    now = timezone.now()
    if not cases or any(c.created_at < now - timedelta(days=2) for c in cases):
        return 0
    for case in cases:
        # Younger cases are more common: most of a queue is recent.
        days = min(int(rng.expovariate(1 / 9)), HISTORY_DAYS)
        created = now - timedelta(days=days, minutes=rng.randint(0, 600))
        case.created_at = created
        case.due_date = sla_due_date(case.severity, start=timezone.localtime(created).date())
    Case.objects.bulk_update(cases, ["created_at", "due_date"], batch_size=500)
    return len(cases)


def _analysts_by_unit() -> dict[int, list[User]]:
    out: dict[int, list[User]] = {}
    # The units that own flagged cases (routing sends them to ICE-HSI's worksite units).
    staff = User.objects.filter(is_active=True, unit__isnull=False, agency__code="ice-hsi")
    for user in staff.order_by("username"):
        if user.has_role(Role.ANALYST) and user.unit_id is not None:
            out.setdefault(user.unit_id, []).append(user)
    return out


def _triaged(rng: random.Random, users: dict[str, User]) -> int:
    """Some older cases triaged in the past weeks: most dismissed, some confirmed (precision, time to triage)."""
    if Case.objects.filter(status=CaseStatus.CLOSED).exists():
        return 0
    analysts = _analysts_by_unit()
    done = 0
    old = Case.objects.filter(
        status__in=FLAGGED_STAGE, created_at__lt=timezone.now() - timedelta(days=3)
    ).order_by("id")
    for case in old:
        team = analysts.get(case.routed_unit_id or 0)
        if not team or rng.random() > DISMISSED_SHARE * 2:
            continue
        actor = rng.choice(team)
        if rng.random() < CONFIRMED_SHARE:
            if not _confirmed(case, actor):
                continue
        else:
            reason = rng.choice([DismissReason.NAME_VARIANT, DismissReason.CLERICAL])
            case_dismiss(actor=actor, case=case, reason=reason, note="Demo triage")
        triaged = case.created_at + timedelta(hours=rng.randint(2, 24 * 6))
        Case.objects.filter(pk=case.pk).update(triaged_at=triaged, closed_at=triaged)
        done += 1
    return done


def _confirmed(case: Case, actor: User) -> bool:
    """A lead worth its investigation: opened, then closed (it counts for the rule's precision)."""
    try:
        case = case_open_investigation(actor=actor, case=case)
        case_close(actor=actor, case=case, closure=Closure.NO_VIOLATION, note="Demo: resolved")
    except DomainError:
        return False
    return True


def _assign(rng: random.Random) -> int:
    """Assign most flagged cases round-robin within their unit; leave the rest unassigned."""
    if Case.objects.filter(status__in=FLAGGED_STAGE, assignee__isnull=False).exists():
        return 0
    analysts = _analysts_by_unit()
    done = 0
    for case in Case.objects.filter(status__in=FLAGGED_STAGE, assignee__isnull=True).order_by(
        "created_at", "id"
    ):
        team = analysts.get(case.routed_unit_id or 0)
        if not team or rng.random() > ASSIGNED_SHARE:
            continue
        try:
            case_assign_round_robin(actor=team[0], case=case)
        except DomainError:  # every analyst of the unit is at the cap
            continue
        done += 1
    return done


def _signoffs(users: dict[str, User]) -> int:
    """Investigations taken through the due-process gate, proposed for sign-off."""
    agent, supervisor = users.get("alice"), users.get("sam")
    if agent is None or supervisor is None:
        return 0
    if Case.objects.exclude(proposed_closure="").exists():
        return 0
    candidates = list(
        Case.objects.filter(status__in=FLAGGED_STAGE, assignee=agent).order_by("-score", "id")[
            :SIGNOFF_CASES
        ]
    )
    for case in candidates:
        _through_the_gate(case, agent=agent, supervisor=supervisor)
    return len(candidates)


def _through_the_gate(case: Case, *, agent: User, supervisor: User) -> None:
    case = case_open_investigation(actor=agent, case=case, supervisor=supervisor)
    case = case_request_verification(actor=agent, case=case)
    case = case_verify_match(
        actor=supervisor, case=case, note="Demo: the Numident record was confirmed by phone."
    )
    case = case_notice_issue(actor=agent, case=case)
    case = case_notice_delivered(
        actor=agent, case=case, method="certified_mail", delivered_on=timezone.localdate()
    )
    case = case_contest_receive(actor=agent, case=case, note="Demo: the person wrote back.")
    case = case_contest_decide(
        actor=supervisor, case=case, outcome="upheld", note="Demo: the match stands."
    )
    case_disposition_propose(
        actor=agent, case=case, closure="administrative_action", note="Demo proposal"
    )


def _break_glass(users: dict[str, User]) -> int:
    """An analyst opens a case of the other unit under break-glass (a supervisor reviews it)."""
    analyst = users.get("alice")
    if analyst is None or BreakGlassGrant.objects.exists():
        return 0
    other = Case.objects.exclude(routed_unit_id=analyst.unit_id).order_by("id").first()
    if other is None:
        return 0
    break_glass_open(
        actor=analyst,
        subject_ref=f"case:{other.pk}",
        justification="Demo: the subject called our hotline about this employer today.",
    )
    return 1


def _campaign(users: dict[str, User]) -> int:
    admin = users.get("adam")
    if admin is None or RecertificationCampaign.objects.exists():
        return 0
    campaign_open(
        actor=admin,
        name="Quarterly recertification (demo)",
        deadline=timezone.localdate() + timedelta(days=14),
    )
    return 1


def _subject_request(users: dict[str, User]) -> int:
    admin = users.get("adam")
    if admin is None or SubjectRequest.objects.exists():
        return 0
    subject_request_create(
        actor=admin,
        kind="access",
        first_name="Maria",
        last_name="Lopez",
        date_of_birth=date(1988, 5, 17),
        contact_address="12 Elm St, Austin, TX 78701",
        received_on=timezone.localdate() - timedelta(days=3),
        identity_evidence="Demo: notarized statement of identity",
    )
    return 1


def _referrals(rng: random.Random) -> int:
    """Most open mismatches contested by their worker and referred (the status verifiers' queue)."""
    if VerificationCase.objects.filter(status=VStatus.REFERRED).exists():
        return 0
    done = 0
    for case in VerificationCase.objects.filter(
        status=VStatus.TENTATIVE_NONCONFIRMATION, decision=""
    ).order_by("id"):
        if rng.random() > REFERRED_SHARE:
            continue
        case = case_fan_issue(actor=None, case=case)
        case = case_decide(actor=None, case=case, decision=EmployeeDecision.TAKE_ACTION)
        case_refer(actor=None, case=case)
        done += 1
    return done


def _review(users: dict[str, User]) -> int:
    """Today's sample of audit events for the supervisors (normally the nightly job's, for yesterday)."""
    admin = users.get("adam")
    if admin is None or ReviewAssignment.objects.exists():
        return 0
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    with transaction.atomic():
        made = review_assign(
            actor=admin,
            start=start,
            end=timezone.now(),
            seed=7,
        )
    return len(made)
