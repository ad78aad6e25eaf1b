"""Reminders (due soon, overdue) and reading notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from cases.models import Case, Notification, NotificationKind
from cases.services.common import notify, now, today
from core.calendar import add_working_days


def reminders_send() -> dict[str, int]:
    """Tell assignees of cases due soon or overdue; once per case, user and kind (safe to re-run)."""
    sent = {"due_soon": 0, "overdue": 0}
    day = today()
    soon = add_working_days(day, settings.CASES_DUE_SOON_WORKING_DAYS)
    open_assigned = Case.objects.open().filter(assignee__isnull=False).select_related("assignee")
    with transaction.atomic():
        for case in open_assigned.filter(due_date__lt=day).iterator(chunk_size=500):
            if notify(
                user=case.assignee,
                kind=NotificationKind.OVERDUE,
                case=case,
                message=f"Case {case.number} is overdue (due {case.due_date}).",
            ):
                sent["overdue"] += 1
        for case in open_assigned.filter(due_date__gte=day, due_date__lte=soon).iterator(
            chunk_size=500
        ):
            if notify(
                user=case.assignee,
                kind=NotificationKind.DUE_SOON,
                case=case,
                message=f"Case {case.number} is due on {case.due_date}.",
            ):
                sent["due_soon"] += 1
    return sent


def notifications_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's notifications (all, or the given ones) as read."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=now())
