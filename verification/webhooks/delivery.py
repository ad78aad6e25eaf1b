"""Sending one delivery: claim it, sign it, send it, record the answer, schedule the retry.

At-least-once: a delivery stays pending until a 2xx answer is recorded. Each attempt first
claims the row with a lease (one UPDATE), so two copies of the same Celery message, or the
sweep and a countdown, never send it twice at once; a worker that dies mid-attempt leaves a
lease that expires, and the sweep sends the delivery again. Retries wait base * 2^(n-1)
seconds, capped, with "equal jitter" (half fixed, half random) so receivers coming back after an
outage are not hit by every retry at once, until the retry window (24 hours) has passed since the
delivery was created; then the delivery is a dead letter, which an admin can replay.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import event_record
from verification.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEvent
from verification.models.webhooks import IN_FLIGHT
from verification.webhooks import network, signing

USER_AGENT = "Crosscheck-Webhooks/1.0"
DELIVER_TASK = "verification.webhooks.deliver"


def backoff(failures: int) -> float:
    """Seconds to wait after the `failures`-th failed attempt (1-based): exponential, capped, jittered."""
    delay = min(
        settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS,
        settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (failures - 1),
    )
    return delay / 2 + random.uniform(0, delay / 2)


def _lease_seconds() -> float:
    return settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30


def claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery for one attempt if it is due and nobody holds it; None otherwise."""
    now = timezone.now()
    taken = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, state__in=IN_FLIGHT, next_attempt_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + timedelta(seconds=_lease_seconds()))
    )
    if not taken:
        return None
    return WebhookDelivery.objects.select_related("event", "subscription").get(pk=delivery_id)


def headers_for(delivery: WebhookDelivery, *, timestamp: int, body: bytes) -> dict[str, str]:
    """The request headers of an attempt, signed with every secret in force."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Crosscheck-Event-Id": str(delivery.event.event_id),
        "Crosscheck-Event-Type": delivery.event.type,
        "Crosscheck-Delivery-Id": str(delivery.pk),
        "Crosscheck-Delivery-Attempt": str(delivery.attempts + 1),
        signing.SIGNATURE_HEADER: signing.signature_header(
            signing.signing_secrets(delivery.subscription), timestamp, body
        ),
    }


def attempt(delivery_id: int) -> str | None:
    """One attempt of a delivery, if it is due; the delivery's state after it (None if not due)."""
    delivery = claim(delivery_id)
    if delivery is None:
        return None
    if delivery.subscription.deleted_at is not None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.CANCELLED, leased_until=None
        )
        return DeliveryState.CANCELLED
    body = delivery.event.body.encode()
    started = timezone.now()
    answer = network.post(
        delivery.subscription.url,
        body=body,
        headers=headers_for(delivery, timestamp=int(started.timestamp()), body=body),
    )
    return record(delivery=delivery, answer=answer, started=started).state


def _outcome(delivery: WebhookDelivery, answer: network.Answer, now: Any) -> tuple[str, Any]:
    """The state after this answer, and when to try next (None if no retry)."""
    if answer.ok:
        return DeliveryState.SUCCEEDED, None
    deadline = delivery.created_at + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    if now >= deadline:
        return DeliveryState.DEAD, None
    wait = timedelta(seconds=backoff(delivery.attempts + 1))
    return DeliveryState.RETRYING, min(now + wait, deadline)


@transaction.atomic
def record(*, delivery: WebhookDelivery, answer: network.Answer, started: Any) -> WebhookDelivery:
    """Write an attempt's answer, the delivery's new state and the audit event; queue the retry."""
    now = timezone.now()
    before = delivery.state
    state, next_at = _outcome(delivery, answer, now)
    # Deleted (cancelled) while this attempt was under way: record it, keep it cancelled.
    current = (
        WebhookDelivery.objects.select_for_update()
        .filter(pk=delivery.pk)
        .values_list("state", flat=True)
        .first()
    )
    if current == DeliveryState.CANCELLED and state != DeliveryState.SUCCEEDED:
        state, next_at = DeliveryState.CANCELLED, None
    number = delivery.attempts + 1
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        started_at=started,
        finished_at=now,
        response_code=answer.status,
        response_excerpt=answer.excerpt,
        truncated=answer.truncated,
        error=answer.error,
        address=answer.address,
        next_attempt_at=next_at,
    )
    delivery.attempts = number
    delivery.state = state
    delivery.last_attempt_at = now
    delivery.response_code = answer.status
    delivery.response_excerpt = answer.excerpt
    delivery.error = answer.error
    delivery.leased_until = None
    if next_at is not None:
        delivery.next_attempt_at = next_at
    if state == DeliveryState.SUCCEEDED:
        delivery.delivered_at = now
    elif state == DeliveryState.DEAD:
        delivery.dead_at = now
    delivery.save()
    subjects = [f"employer:{delivery.employer_id}"] + (
        [f"vcase:{delivery.event.case_id}"] if delivery.event.case_id else []
    )
    event_record(
        action="webhook.delivery_attempted",
        changes={"state": [before, state]},
        detail={
            "attempt": number,
            "event_id": str(delivery.event.event_id),
            "response_code": answer.status,
            "error": answer.error,
            "truncated": answer.truncated,
        },
        object_type="webhook_delivery",
        object_id=delivery.pk,
        subjects=subjects,
    )
    if state == DeliveryState.DEAD:
        event_record(
            action="webhook.delivery_dead_lettered",
            detail={"attempts": number, "event_id": str(delivery.event.event_id)},
            object_type="webhook_delivery",
            object_id=delivery.pk,
            subjects=subjects,
        )
    if next_at is not None:
        _schedule(delivery.pk, (next_at - now).total_seconds())
    return delivery


def _schedule(delivery_id: int, delay: float) -> None:
    """A near retry goes out with a countdown; a far one is left to the sweep (beat)."""
    if delay > settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
        return

    def send() -> None:
        try:
            current_app.send_task(DELIVER_TASK, args=[delivery_id], countdown=max(delay, 0))
        except Exception:  # the broker is down: the sweep sends it when due
            return

    transaction.on_commit(send)


def due(*, limit: int = 5000) -> list[int]:
    """Deliveries due now that nobody holds, oldest due first."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(state__in=IN_FLIGHT, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def prune(*, keep_days: int | None = None, chunk: int = 10000) -> int:
    """Delete events older than WEBHOOK_KEEP_DAYS whose deliveries all finished (with their
    deliveries and attempts), one audited chunk at a time; how many events went."""
    days = settings.WEBHOOK_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                WebhookEvent.objects.filter(created_at__lt=cutoff)
                .exclude(deliveries__state__in=IN_FLIGHT)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                return total
            WebhookEvent.objects.filter(pk__in=ids).delete()
            event_record(
                action="webhook.pruned",
                object_type="webhook_event",
                detail={"events": len(ids), "older_than": cutoff.isoformat(), "keep_days": days},
            )
        total += len(ids)
