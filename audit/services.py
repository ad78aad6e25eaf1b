"""Recording audit events. Every service calls `event_record` inside its own transaction."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit import context
from audit.catalogue import CATALOGUE
from audit.models import AuditEvent, Outcome
from core.errors import DomainError

# Nine or more digits in a row (an SSN or an A-Number); never allowed in an audit row.
_IDENTIFIER_RUN = re.compile(r"\d[\d -]{7,}\d")


class AuditWriteFailed(DomainError):
    """The audit row could not be written, so the action it records must not happen either."""

    status_code = 500
    code = "audit_unavailable"


def _scrub(value: Any) -> Any:
    """Drop anything that looks like a full identifier from free values."""
    if isinstance(value, str):
        return _IDENTIFIER_RUN.sub("[redacted]", value)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _primary_role(user: Any) -> str:
    roles = getattr(user, "roles", None) or []
    return str(roles[0]) if roles else ""


def event_record(
    *,
    action: str,
    actor: Any = None,
    object_type: str = "",
    object_id: Any = "",
    subjects: Iterable[str] = (),
    outcome: str = Outcome.ALLOWED,
    changes: Mapping[str, Any] | None = None,
    case_id: int | None = None,
    agreement_id: int | None = None,
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent | None:
    """Record one audit event in the caller's transaction; the action fails if this does."""
    if action not in CATALOGUE:
        raise ValueError(f"Audit action {action!r} is not in the event catalogue.")
    if not settings.AUDIT_ENABLED:
        return None
    ctx = context.current()
    who = actor if actor is not None else ctx.user
    agency = getattr(who, "agency", None) if who is not None else None
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_id=getattr(who, "pk", None),
        actor_username=getattr(who, "username", "") or "",
        actor_agency=getattr(agency, "code", "") or "",
        actor_role=_primary_role(who),
        api_key_id=ctx.api_key_id,
        employer_id=ctx.employer_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        subjects=sorted({str(s) for s in subjects}),
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        task_name=ctx.task_name,
        run_id=ctx.run_id,
        case_id=case_id,
        agreement_id=agreement_id,
        justification=_scrub(justification or ctx.purpose),
        outcome=outcome,
        changes=_scrub(dict(changes or {})),
        detail=_scrub(dict(detail or {})),
    )
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except DatabaseError as exc:
        raise AuditWriteFailed("The action could not be recorded, so it was not carried out.") from exc
    return event
