"""Identifier reveals, the sensitive-operation rate limit, and break-glass access."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.services import event_record
from core.errors import DomainError, Forbidden, IllegalTransition, RateLimited, ValidationFailed
from privacy.middleware import OTP_VERIFIED_AT
from privacy.models import BreakGlassGrant, Role, User
from privacy.models.mail import MailKind
from privacy.services.notifications import notify

MIN_PURPOSE = 10
MIN_JUSTIFICATION = 30


class ReverifyRequired(DomainError):
    """Revealing an identifier needs a second-factor check within the last few minutes."""

    status_code = 403
    code = "reverify_required"


def _supervisors_of(user: Any) -> list[User]:
    if not getattr(user, "unit_id", None):
        return []
    return list(
        User.objects.filter(
            is_active=True, unit_id=user.unit_id, roles__contains=[Role.SUPERVISOR]
        ).exclude(pk=user.pk)
    )


def sensitive_rate_check(user: Any, kind: str) -> None:
    """Count one sensitive operation (kind: "reveal", "ssn_search"); over N a minute raises RateLimited.

    The first refusal in a minute raises an anomaly for the user's supervisors (an audit event in
    its own transaction, so it stays even though the refused request writes nothing else).
    Call it before opening the transaction of the operation it guards.
    """
    limit = settings.PRIVACY_SENSITIVE_RATE_PER_MINUTE
    window = int(time.time() // 60)
    key = f"privacy:rate:{kind}:{user.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count <= limit:
        return
    if cache.add(f"privacy:anomaly:{kind}:{user.pk}:{window}", 1, timeout=120):
        with transaction.atomic():
            event_record(
                action="access.anomaly",
                actor=user,
                outcome="denied",
                detail={"kind": kind, "limit_per_minute": limit, "count": count},
            )
            for supervisor in _supervisors_of(user):
                notify(
                    user=supervisor,
                    title=f"Unusual activity: {user.username}",
                    body=f"More than {limit} {kind.replace('_', ' ')} operations in one minute were refused.",
                    link="/audit/review/",
                    kind=MailKind.ACCESS_REVIEW,
                )
    raise RateLimited(f"Too many {kind.replace('_', ' ')} operations; wait a minute.")


def otp_verified_recently(request: HttpRequest) -> bool:
    """True when this session passed a second-factor check within the reveal window."""
    at = request.session.get(OTP_VERIFIED_AT)
    return at is not None and time.time() - float(at) <= settings.PRIVACY_REVEAL_REVERIFY_SECONDS


def identifier_reveal(
    *,
    request: HttpRequest,
    actor: User,
    purpose: str,
    record_type: str,
    record_id: Any,
    field: str,
    reveal: Callable[[], str],
    person_ref: str = "",
    case_id: int | None = None,
) -> str:
    """Show one identifier in full: a stated purpose, a recent 2FA check, rate-limited and audited.

    `reveal` decrypts the value; it is called only after every check passed, inside the
    transaction that records the event.
    """
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE:
        raise ValidationFailed(
            "State why you need the full number.",
            field_errors={"purpose": [f"At least {MIN_PURPOSE} characters."]},
        )
    if not otp_verified_recently(request):
        raise ReverifyRequired("Confirm your second factor again to reveal identifiers.")
    sensitive_rate_check(actor, "reveal")
    with transaction.atomic():
        event_record(
            action="identifier.revealed",
            actor=actor,
            object_type=record_type,
            object_id=record_id,
            subjects=[person_ref] if person_ref else [],
            case_id=case_id,
            justification=purpose,
            detail={"field": field},
        )
        return reveal()


@transaction.atomic
def break_glass_open(*, actor: User, subject_ref: str, justification: str) -> BreakGlassGrant:
    """Open time-boxed access to a subject outside one's assignments; supervisors review each use."""
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise ValidationFailed(
            "Write why you need this record now.",
            field_errors={"justification": [f"At least {MIN_JUSTIFICATION} characters."]},
        )
    if not subject_ref:
        raise ValidationFailed("Name what to open.", field_errors={"subject_ref": ["Required."]})
    now = timezone.now()
    grant = BreakGlassGrant.objects.create(
        user=actor,
        subject_ref=subject_ref[:160],
        justification=justification,
        started_at=now,
        expires_at=now + timedelta(hours=settings.PRIVACY_BREAK_GLASS_HOURS),
    )
    event_record(
        action="access.break_glass_opened",
        actor=actor,
        object_type="break_glass",
        object_id=grant.pk,
        subjects=[subject_ref],
        justification=justification,
        detail={"expires_at": grant.expires_at.isoformat(), "review": True},
    )
    for supervisor in _supervisors_of(actor):
        notify(
            user=supervisor,
            title=f"Break-glass access by {actor.username}",
            body=f"{actor.get_full_name() or actor.username} opened {subject_ref} outside their assignments: {justification}",
            link="/audit/review/",
            kind=MailKind.ACCESS_REVIEW,
        )
    return grant


@transaction.atomic
def break_glass_use(*, user: User, subject_ref: str) -> BreakGlassGrant | None:
    """Use an open break-glass grant (each use is an audit event for review); None if none is open."""
    grant = (
        BreakGlassGrant.objects.active()
        .select_for_update()
        .filter(user=user, subject_ref=subject_ref)
        .order_by("-expires_at")
        .first()
    )
    if grant is None:
        return None
    grant.uses += 1
    grant.save(update_fields=["uses"])
    event_record(
        action="access.break_glass_used",
        actor=user,
        object_type="break_glass",
        object_id=grant.pk,
        subjects=[subject_ref],
        justification=grant.justification,
        detail={"use": grant.uses, "review": True},
    )
    return grant


@transaction.atomic
def break_glass_review(*, actor: User, grant: BreakGlassGrant, note: str = "") -> BreakGlassGrant:
    """A supervisor marks a break-glass grant reviewed."""
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden("Supervisors review break-glass use.")
    grant = BreakGlassGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.user_id == actor.pk:
        raise Forbidden("Nobody reviews their own break-glass use.")
    if grant.reviewed_at:
        raise IllegalTransition("Already reviewed.")
    grant.reviewed_at = timezone.now()
    grant.reviewed_by = actor
    grant.save(update_fields=["reviewed_at", "reviewed_by"])
    event_record(
        action="access.break_glass_reviewed",
        actor=actor,
        object_type="break_glass",
        object_id=grant.pk,
        subjects=[grant.subject_ref],
        justification=note,
    )
    return grant
