"""Audit events for authentication steps that happen inside Django and django-axes."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import event_record


@receiver(user_locked_out, dispatch_uid="privacy.audit_lockout")
def _audit_lockout(
    sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any
) -> None:
    # django-axes signals again for every attempt made while locked; the lockout itself is one
    # event, and the later attempts are refused sign-ins.

    name = (username or "")[:150]
    already = AuditEvent.objects.filter(
        action="auth.lockout",
        ip=ip_address,
        detail__username=name,
        occurred_at__gte=timezone.now() - settings.AXES_COOLOFF_TIME,
    ).exists()
    if already:
        event_record(
            action="auth.login_failed", outcome="denied", detail={"username": name, "locked": True}
        )
    else:
        event_record(action="auth.lockout", outcome="denied", detail={"username": name})


@receiver(user_logged_out, dispatch_uid="privacy.audit_logout")
def _audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and not getattr(request, "session_expired", False):
        event_record(action="auth.logout", actor=user)
