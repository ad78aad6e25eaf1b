"""Writes on webhooks: subscriptions, their secrets, replays and the admins' host allowances.

Each service is atomic, validates with field-level messages, records its audit event in the same
transaction and returns what it changed. The API (an employer's key) and the admin screens call
the same functions. A secret is returned in clear by the service that makes it, once; only its
encrypted token is stored.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import event_record
from core.errors import Conflict, ValidationFailed
from verification import validation
from verification.models import (
    DeliveryState,
    Employer,
    EmployerApiKey,
    WebhookDelivery,
    WebhookEvent,
    WebhookHostAllowance,
    WebhookSubscription,
)
from verification.models.webhooks import IN_FLIGHT, SUBSCRIBABLE, WebhookEventType
from verification.validation import FieldInvalid
from verification.webhooks import network, outbox, signing

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _user(actor: Any) -> Any:
    """The user to record; an API key acts through the audit context (key and employer ids)."""
    return None if actor is None or isinstance(actor, EmployerApiKey) else actor


def _audit(action: str, actor: Any, sub: WebhookSubscription, **detail: Any) -> None:
    event_record(
        action=action,
        actor=_user(actor),
        object_type="webhook_subscription",
        object_id=sub.pk,
        subjects=[f"employer:{sub.employer_id}"],
        detail={"url": sub.url, "events": list(sub.events), **detail},
    )


# The union of the events of an employer's live subscriptions, kept on its row (what a submit
# reads to know whether anything listens). The caller holds the employer's row lock, so two
# changes of one employer's subscriptions cannot interleave and leave a stale union.
_EVENTS_SQL = """
UPDATE verification_employer SET webhook_events = COALESCE((
    SELECT array_agg(DISTINCT ev ORDER BY ev)::varchar(48)[]
    FROM verification_webhooksubscription, unnest(events) AS ev
    WHERE employer_id = %(employer)s AND deleted_at IS NULL
), '{}')
WHERE id = %(employer)s
"""


def _events_refresh(employer_id: int, *instances: Any) -> None:
    """Recompute the employer's union; the caller's own Employer objects see it too."""
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL + " RETURNING webhook_events", {"employer": employer_id})
        events = list(cursor.fetchone()[0])
    for instance in instances:
        if instance is not None:
            instance.webhook_events = events


def _clean_events(events: Any, errors: dict[str, list[str]]) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        errors["events"] = [f"Choose at least one of: {', '.join(SUBSCRIBABLE)}."]
        return []
    unknown = [str(e) for e in events if e not in SUBSCRIBABLE]
    if unknown:
        errors["events"] = [
            f"Unknown event {', '.join(map(repr, unknown))}; choose from: {', '.join(SUBSCRIBABLE)}."
        ]
        return []
    return sorted(set(events))


@transaction.atomic
def subscription_create(
    *, actor: Any, employer: Employer, url: str, events: list[str], description: str = ""
) -> tuple[WebhookSubscription, str]:
    """Subscribe an employer's endpoint to events; returns the subscription and its secret (once)."""
    errors: dict[str, list[str]] = {}
    url = (url or "").strip()
    try:
        network.check_url(url)  # resolves the host: before the lock, which it must not hold up
    except network.Refused as exc:
        errors["url"] = [str(exc)]
    caller_employer = employer
    employer = Employer.objects.select_for_update().get(pk=employer.pk)  # serializes the cap check
    clean_events = _clean_events(events, errors)
    try:
        description = validation.free_text((description or "").strip(), max_length=200)
    except FieldInvalid as exc:
        errors["description"] = [str(exc)]
    live = WebhookSubscription.objects.filter(employer=employer, deleted_at__isnull=True)
    if "url" not in errors and live.filter(url=url).exists():
        errors["url"] = ["This employer already has a subscription to this URL."]
    if live.count() >= settings.WEBHOOK_MAX_SUBSCRIPTIONS:
        errors.setdefault("non_field_errors", []).append(
            f"At most {settings.WEBHOOK_MAX_SUBSCRIPTIONS} subscriptions per employer."
        )
    if errors:
        raise ValidationFailed("The subscription has invalid fields.", field_errors=errors)
    sub = WebhookSubscription.objects.create(
        employer=employer,
        url=url,
        events=clean_events,
        description=description,
        created_by=_user(actor),
        created_by_key=actor if isinstance(actor, EmployerApiKey) else None,
    )
    secret = signing.new_secret()
    sub.secret_enc = signing.seal(sub, "secret_enc", secret)
    sub.save(update_fields=["secret_enc", "updated_at"])
    _events_refresh(employer.pk, employer, caller_employer)
    _audit("webhook.subscription_created", actor, sub)
    return sub, secret


@transaction.atomic
def subscription_delete(*, actor: Any, subscription: WebhookSubscription) -> WebhookSubscription:
    """Delete a subscription (kept for the delivery history); its pending deliveries are cancelled."""
    # The employer's row first (as subscription_create), then the subscription's.
    Employer.objects.select_for_update().filter(pk=subscription.employer_id).first()
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if sub.deleted_at is not None:
        return sub
    sub.deleted_at = timezone.now()
    sub.secret_enc = sub.previous_secret_enc = ""  # nothing signs for it any more
    sub.previous_secret_expires_at = None
    sub.save()
    cancelled = WebhookDelivery.objects.filter(subscription=sub, state__in=IN_FLIGHT).update(
        state=DeliveryState.CANCELLED, leased_until=None
    )
    _events_refresh(sub.employer_id, subscription._state.fields_cache.get("employer"))
    _audit("webhook.subscription_deleted", actor, sub, cancelled=cancelled)
    return sub


@transaction.atomic
def subscription_secret_rotate(
    *, actor: Any, subscription: WebhookSubscription, overlap_hours: int | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret; the current one keeps signing beside it for `overlap_hours` (0: stops now)."""
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS if overlap_hours is None else overlap_hours
    if not isinstance(hours, int) or not 0 <= hours <= settings.WEBHOOK_SECRET_OVERLAP_MAX_HOURS:
        raise ValidationFailed(
            "Invalid overlap.",
            field_errors={
                "overlap_hours": [
                    f"A whole number of hours from 0 to {settings.WEBHOOK_SECRET_OVERLAP_MAX_HOURS}."
                ]
            },
        )
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if sub.deleted_at is not None:
        raise Conflict("The subscription was deleted.")
    now = timezone.now()
    current = signing.signing_secrets(sub)[0]
    secret = signing.new_secret()
    sub.secret_enc = signing.seal(sub, "secret_enc", secret)
    sub.previous_secret_enc = signing.seal(sub, "previous_secret_enc", current) if hours else ""
    sub.previous_secret_expires_at = now + timedelta(hours=hours) if hours else None
    sub.secret_rotated_at = now
    sub.save()
    _audit("webhook.secret_rotated", actor, sub, overlap_hours=hours)
    return sub, secret


@transaction.atomic
def subscription_ping(*, actor: Any, subscription: WebhookSubscription) -> WebhookEvent:
    """Send a signed test event to one subscription (no case in it)."""
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if sub.deleted_at is not None:
        raise Conflict("The subscription was deleted.")
    return outbox.emit_to(
        subscription=sub, kind=WebhookEventType.PING, data={"subscription": sub.pk}
    )


@transaction.atomic
def delivery_replay(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with a fresh retry window (same event id)."""
    original = WebhookDelivery.objects.select_for_update().select_related("subscription", "event")
    original_delivery = original.get(pk=delivery.pk)
    if original_delivery.state in IN_FLIGHT:
        raise Conflict("This delivery is still being sent; wait for its outcome.")
    if original_delivery.subscription.deleted_at is not None:
        raise Conflict("Its subscription was deleted; nothing would receive it.")
    replay = WebhookDelivery.objects.create(
        event=original_delivery.event,
        subscription=original_delivery.subscription,
        employer_id=original_delivery.employer_id,
        replay_of=original_delivery,
        replayed_by=_user(actor),
    )
    event_record(
        action="webhook.delivery_replayed",
        actor=_user(actor),
        object_type="webhook_delivery",
        object_id=replay.pk,
        subjects=[f"employer:{replay.employer_id}"],
        detail={
            "replay_of": original_delivery.pk,
            "event_id": str(original_delivery.event.event_id),
            "previous_state": original_delivery.state,
        },
    )
    outbox.send_after_commit([replay.pk])
    return replay


def _clean_host(host: str) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_network(host, strict=False))
    except ValueError:
        pass
    if not _HOSTNAME.match(host):
        raise FieldInvalid(
            "A host name (hooks.example.org), an address or a network (10.2.0.0/16)."
        )
    return host


@transaction.atomic
def allowance_add(*, actor: Any, host: str, note: str) -> WebhookHostAllowance:
    """Let webhooks call a host, an address or a network that the address rule refuses."""
    errors: dict[str, list[str]] = {}
    clean = ""
    try:
        clean = _clean_host(host)
    except FieldInvalid as exc:
        errors["host"] = [str(exc)]
    if clean and WebhookHostAllowance.objects.filter(host=clean).exists():
        errors["host"] = ["Already allowed."]
    note = (note or "").strip()
    if not note:
        errors["note"] = ["Say why this host may be called."]
    elif len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    if errors:
        raise ValidationFailed("The allowance has invalid fields.", field_errors=errors)
    allowance = WebhookHostAllowance.objects.create(host=clean, note=note, created_by=actor)
    event_record(
        action="webhook.host_allowed",
        actor=actor,
        object_type="webhook_allowance",
        object_id=allowance.pk,
        detail={"host": clean, "note": note},
    )
    return allowance


@transaction.atomic
def allowance_remove(*, actor: Any, allowance: WebhookHostAllowance) -> None:
    """Take a host back out of the allowances; the next attempt to call it is refused."""
    event_record(
        action="webhook.host_disallowed",
        actor=actor,
        object_type="webhook_allowance",
        object_id=allowance.pk,
        detail={"host": allowance.host, "note": allowance.note},
    )
    WebhookHostAllowance.objects.filter(pk=allowance.pk).delete()
