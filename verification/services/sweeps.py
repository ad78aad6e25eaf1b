"""Deadline sweeps: the automatic closures and escalations of the lifecycle, in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from core.calendar import add_working_days
from core.errors import IllegalTransition
from verification.models import CaseStatus, VerificationCase
from verification.services import cases as case_services
from verification.services.cases import today

CHUNK = 500


def _each(qs: QuerySet[VerificationCase], service: Callable[..., VerificationCase], limit: int | None) -> int:
    """Apply `service` to each case id of `qs` in its own transaction; count the cases it changed."""
    done = 0
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
                done += 1
            if limit is not None and done >= limit:
                return done
        last_id = ids[-1]


def deadlines_sweep(*, limit: int | None = None) -> dict[str, Any]:
    """Run every deadline rule once; safe to run twice (each service re-checks under a row lock)."""
    on = today()
    draft_cutoff = add_working_days(on, -settings.VERIFICATION_DRAFT_EXPIRY_WORKING_DAYS)
    continuance_cutoff = add_working_days(on, -settings.VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS)
    cases = VerificationCase.objects
    return {
        "drafts_closed": _each(
            cases.filter(status=CaseStatus.DRAFT, updated_at__date__lte=draft_cutoff),
            case_services.case_auto_close_draft, limit,
        ),
        "no_decision_closed": _each(
            cases.filter(status=CaseStatus.TENTATIVE_NONCONFIRMATION, decision="", decision_due_on__lt=on),
            case_services.case_auto_close_no_decision, limit,
        ),
        "no_shows": _each(
            cases.filter(status=CaseStatus.REFERRED, contacted_on__isnull=True, contact_due_on__lt=on),
            case_services.case_no_show, limit,
        ),
        "continuances_escalated": _each(
            cases.filter(
                status=CaseStatus.CASE_IN_CONTINUANCE, continuance_escalated_at__isnull=True,
                continuance_since__lte=continuance_cutoff,
            ),
            case_services.case_escalate_continuance, limit,
        ),
    }
