"""Small display helpers for case templates."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def age_days(value: datetime | None) -> int:
    """Whole days since `value`."""
    if value is None:
        return 0
    return (timezone.localdate() - timezone.localtime(value).date()).days


@register.filter
def due_state(value: date | None) -> str:
    """'overdue', 'today', 'soon' or '' for a due date."""
    if value is None:
        return ""
    today = timezone.localdate()
    if value < today:
        return "overdue"
    if value == today:
        return "today"
    if (value - today).days <= 3:
        return "soon"
    return ""


@register.filter
def masked(last4: str) -> str:
    """An identifier shown masked: bullets and the last four."""
    return f"•••{last4}" if last4 else "—"


@register.filter
def pct(value: float | None) -> str:
    """A 0-1 score as a percentage."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"
