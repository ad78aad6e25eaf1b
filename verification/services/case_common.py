"""Helpers of the verification-case services: the actor, the audit subjects, the clock, closing."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from audit.services import event_record
from verification.models import (
    CaseStatus,
    EmployerApiKey,
    VerificationCase,
)
from verification.webhooks import outbox

S = CaseStatus


def _actor_user(actor: Any) -> Any:
    """The user to record as actor; API keys and the system act through the audit context."""
    return None if actor is None or isinstance(actor, EmployerApiKey) else actor


def _subjects(case: VerificationCase) -> list[str]:
    return [f"vcase:{case.pk}", f"worker:{case.worker_id}", f"employer:{case.employer_id}"]


def today() -> date:
    """Today in the project's time zone (deadlines are counted in federal working days from it)."""
    return timezone.localdate()


def _set_status(case: VerificationCase, status: str, *, now: Any = None) -> None:
    case.status = status
    case.status_changed_at = now or timezone.now()


def _lock(case: VerificationCase) -> VerificationCase:
    return VerificationCase.objects.select_for_update().get(pk=case.pk)


def _close(case: VerificationCase, code: str, *, text: str = "", now: Any = None) -> None:
    case.result = case.status
    case.closure_code = code
    case.closure_text = text
    case.closed_at = now or timezone.now()
    _set_status(case, S.CLOSED, now=case.closed_at)


def _transition_event(
    action: str, actor: Any, case: VerificationCase, before: str, **detail: Any
) -> None:
    event_record(
        action=action,
        actor=_actor_user(actor),
        object_type="verification_case",
        object_id=case.pk,
        subjects=_subjects(case),
        changes={"status": [before, case.status]},
        detail=detail,
    )
    outbox.case_changed(case=case, before=before)
