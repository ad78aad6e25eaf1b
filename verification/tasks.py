"""Celery adapters of the verification services (STYLE.md rule 11): ids in, services called."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit import context
from verification.services.apikey_expiry import apikey_expiry_warnings_send
from verification.services.sweeps import deadlines_sweep as run_deadlines_sweep

# Webhook delivery tasks live with the webhooks; imported here so Celery's autodiscovery finds them.
from verification.webhooks.tasks import deliver, dispatch_due, prune

__all__ = ["deadlines_sweep", "deliver", "dispatch_due", "prune"]


@shared_task(name="verification.tasks.deadlines_sweep", acks_late=True, ignore_result=True)
def deadlines_sweep() -> dict[str, Any]:
    """Beat: auto-close drafts and undecided mismatches, record no-shows, escalate overdue Needs More
    Time and continuance cases (services/sweeps.py holds the rules)."""
    token = context.bind(task_name="verification.tasks.deadlines_sweep")
    try:
        return run_deadlines_sweep()
    finally:
        context.reset(token)


@shared_task(name="verification.tasks.apikey_expiry_warnings", acks_late=True, ignore_result=True)
def apikey_expiry_warnings() -> int:
    """Daily: warn 30, 7 and 1 days before an employer API key expires."""
    return apikey_expiry_warnings_send()
