"""Celery adapters of webhook delivery (STYLE.md rule 11): ids in, the delivery module called.

Registered through `verification.tasks`, which Celery's autodiscovery imports.
"""

from __future__ import annotations

from celery import shared_task

from audit import context
from verification.webhooks import delivery


@shared_task(name=delivery.DELIVER_TASK, acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    """One attempt of a delivery if it is due (a duplicate message finds it taken and does nothing)."""
    token = context.bind(task_name=delivery.DELIVER_TASK)
    try:
        return delivery.attempt(delivery_id)
    finally:
        context.reset(token)


@shared_task(name="verification.webhooks.dispatch_due", acks_late=True, ignore_result=True)
def dispatch_due() -> int:
    """Beat: queue every delivery that is due and not held (retries, and anything Redis lost)."""
    ids = delivery.due()
    for pk in ids:
        deliver.apply_async(args=(pk,))
    return len(ids)


@shared_task(name="verification.webhooks.prune", acks_late=True, ignore_result=True)
def prune() -> int:
    """Beat, daily: drop finished deliveries older than WEBHOOK_KEEP_DAYS."""
    token = context.bind(task_name="verification.webhooks.prune")
    try:
        return delivery.prune()
    finally:
        context.reset(token)
