"""In-app notifications, with their e-mail twin sent after commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from privacy.models import Notification


def notify(
    *, user: Any, title: str, body: str = "", link: str = "", email: bool = True
) -> Notification:
    """Leave a message in the user's inbox and e-mail it after the transaction commits."""
    note = Notification.objects.create(user=user, title=title[:200], body=body, link=link)
    address = getattr(user, "email", "")
    if email and address:

        def _send() -> None:
            text = body + (f"\n\n{settings.PRIVACY_SITE_URL}{link}" if link else "")
            send_mail(f"[Crosscheck] {title}", text, None, [address], fail_silently=True)

        transaction.on_commit(_send)
    return note


def notification_mark_read(*, actor: Any, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read."""
    if notification.user_id == actor.pk and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
