"""In-app notifications, with their e-mail twin delivered as the user chose for its kind."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from privacy.models import Notification
from privacy.models.mail import MailKind
from privacy.services.mail import mail_send


def notify(
    *,
    user: Any,
    title: str,
    body: str = "",
    link: str = "",
    email: bool = True,
    kind: str = MailKind.GENERAL,
) -> Notification:
    """Leave a message in the user's inbox and e-mail it (at once, in the digest, or not) by kind."""
    note = Notification.objects.create(user=user, title=title[:200], body=body, link=link)
    if email:
        mail_send(user=user, kind=kind, subject=title, body=body, link=link)
    return note


def notification_mark_read(*, actor: Any, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read."""
    if notification.user_id == actor.pk and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
