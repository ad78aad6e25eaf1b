"""Reads of webhooks: an employer's own subscriptions and deliveries, and the admins' view of all.

An employer's key reads only its employer's rows: another employer's subscription or delivery is
the same 404 as a missing one. People read through `visible_to` (employer data, change: admins).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.errors import NotFound
from core.ids import parse_id
from verification.models import (
    WebhookDelivery,
    WebhookHostAllowance,
    WebhookSubscription,
)


def _pk(value: Any) -> int:
    pk = parse_id(value)
    if pk is None:
        raise NotFound("No such object.")
    return pk


def subscriptions_of(employer_id: int) -> QuerySet[WebhookSubscription]:
    """An employer's live subscriptions, oldest first."""
    return WebhookSubscription.objects.filter(employer_id=employer_id, deleted_at__isnull=True)


def subscription_of(employer_id: int, pk: Any) -> WebhookSubscription:
    """One live subscription of the employer; NotFound for a missing, deleted or foreign one."""
    sub = subscriptions_of(employer_id).filter(pk=_pk(pk)).first()
    if sub is None:
        raise NotFound("No such subscription.")
    return sub


def deliveries_of(employer_id: int) -> QuerySet[WebhookDelivery]:
    """An employer's deliveries, newest first."""
    return (
        WebhookDelivery.objects.filter(employer_id=employer_id)
        .select_related("event")
        .order_by("-id")
    )


def delivery_of(employer_id: int, pk: Any) -> WebhookDelivery:
    """One delivery of the employer; NotFound for a missing or foreign one."""
    delivery = deliveries_of(employer_id).filter(pk=_pk(pk)).first()
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def deliveries_for_user(user: Any, *, filters: dict[str, Any]) -> QuerySet[WebhookDelivery]:
    """Every delivery an admin may see, filtered (state, employer, type, case), newest first."""
    qs = (
        WebhookDelivery.objects.visible_to(user, action="change")
        .select_related("event", "subscription", "employer")
        .order_by("-id")
    )
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("employer"):
        qs = qs.filter(employer_id=filters["employer"])
    if filters.get("type"):
        qs = qs.filter(event__type=filters["type"])
    if filters.get("case"):
        qs = qs.filter(event__case_id=filters["case"])
    return qs


def delivery_for_user(user: Any, pk: Any) -> WebhookDelivery:
    """One delivery for an admin, with its attempts; NotFound if missing or not visible."""
    delivery = (
        WebhookDelivery.objects.visible_to(user, action="change")
        .select_related("event", "subscription", "employer", "replay_of", "replayed_by")
        .filter(pk=_pk(pk))
        .first()
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def subscriptions_for_user(user: Any) -> QuerySet[WebhookSubscription]:
    """Every live subscription an admin may manage, by employer."""
    return (
        WebhookSubscription.objects.visible_to(user, action="change")
        .filter(deleted_at__isnull=True)
        .select_related("employer")
        .order_by("employer__name", "id")
    )


def subscription_for_user(user: Any, pk: Any) -> WebhookSubscription:
    """One live subscription for an admin; NotFound otherwise."""
    sub = subscriptions_for_user(user).filter(pk=_pk(pk)).first()
    if sub is None:
        raise NotFound("No such subscription.")
    return sub


def allowances_for_user(user: Any) -> QuerySet[WebhookHostAllowance]:
    """The host allowances, for admins."""
    return WebhookHostAllowance.objects.visible_to(user, action="change").select_related(
        "created_by"
    )


def allowance_for_user(user: Any, pk: Any) -> WebhookHostAllowance:
    """One allowance for an admin; NotFound otherwise."""
    allowance = allowances_for_user(user).filter(pk=_pk(pk)).first()
    if allowance is None:
        raise NotFound("No such allowance.")
    return allowance
