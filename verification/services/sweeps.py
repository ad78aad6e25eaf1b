"""Deadline sweeps: the automatic closures and escalations of the lifecycle, in chunks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from core.calendar import add_working_days
from core.errors import IllegalTransition
from verification.models import CaseStatus, VerificationCase
from verification.services import cases as case_services
from verification.services.case_common import today
from verification.services.escalations import Escalated, escalations_notify
from verification.webhooks.outbox import deadline_reminders

CHUNK = 500


def _each(
    qs: QuerySet[VerificationCase], service: Callable[..., VerificationCase], limit: int | None
) -> list[Escalated]:
    """Apply `service` to each case id of `qs` in its own transaction; the cases it changed."""
    done: list[Escalated] = []
    last_id = 0
    while True:
        ids = list(qs.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:CHUNK])
        if not ids:
            return done
        for pk in ids:
            case = VerificationCase(pk=pk)
            try:
                before = VerificationCase.objects.values_list("status", "updated_at").get(pk=pk)
                after = service(actor=None, case=case)
            except (IllegalTransition, VerificationCase.DoesNotExist):
                continue  # moved on since the query: another worker or the employer got there first
            if (after.status, after.updated_at) != before:
                done.append(Escalated.of(after))
            if limit is not None and len(done) >= limit:
                return done
        last_id = ids[-1]


def deadlines_sweep(*, limit: int | None = None) -> dict[str, Any]:
    """Run every deadline rule once; safe to run twice (each service re-checks under a row lock).

    Every rule counts federal working days (core.calendar) from today:
    - a draft untouched for VERIFICATION_DRAFT_EXPIRY_WORKING_DAYS (180) is closed;
    - a mismatch with no worker decision after its decision deadline (10) is closed as final;
    - a referral with no contact after its contact deadline (REFERRAL_CONTACT_WORKING_DAYS, 8 or
      10) becomes DHS No Show, or final for SSA;
    - a Needs More Time case past its manual-check deadline (3) is escalated;
    - a case in continuance for VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS (60) is escalated.
    The status verifiers concerned get one message per sweep listing the escalated cases, and
    employers subscribed to deadline webhooks get a "due soon" event for each deadline near.
    """
    on = today()
    draft_cutoff = add_working_days(on, -settings.VERIFICATION_DRAFT_EXPIRY_WORKING_DAYS)
    continuance_cutoff = add_working_days(
        on, -settings.VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS
    )
    cases = VerificationCase.objects
    drafts = _each(
        # A day of margin for the time zone of __date; the service decides on the local date.
        cases.filter(
            status=CaseStatus.DRAFT, updated_at__date__lte=draft_cutoff + timedelta(days=1)
        ),
        case_services.case_auto_close_draft,
        limit,
    )
    no_decision = _each(
        cases.filter(
            status=CaseStatus.TENTATIVE_NONCONFIRMATION, decision="", decision_due_on__lt=on
        ),
        case_services.case_auto_close_no_decision,
        limit,
    )
    no_shows = _each(
        cases.filter(status=CaseStatus.REFERRED, contacted_on__isnull=True, contact_due_on__lt=on),
        case_services.case_no_show,
        limit,
    )
    nmt = _each(
        cases.filter(
            status=CaseStatus.NEEDS_MORE_TIME, nmt_escalated_at__isnull=True, nmt_due_on__lt=on
        ),
        case_services.case_escalate_nmt,
        limit,
    )
    continuances = _each(
        cases.filter(
            status=CaseStatus.CASE_IN_CONTINUANCE,
            continuance_escalated_at__isnull=True,
            continuance_since__lte=continuance_cutoff,
        ),
        case_services.case_escalate_continuance,
        limit,
    )
    with transaction.atomic():
        notified = escalations_notify(cases=[*nmt, *continuances])
    return {
        "drafts_closed": len(drafts),
        "no_decision_closed": len(no_decision),
        "no_shows": len(no_shows),
        "nmt_escalated": len(nmt),
        "continuances_escalated": len(continuances),
        "verifiers_notified": notified,
        "webhook_reminders": deadline_reminders(on=on),
    }
