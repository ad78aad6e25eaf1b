"""Celery adapters of the verification services (STYLE.md rule 11): ids in, services called."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from audit import context
from verification.imports import jobs
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


@shared_task(
    name="verification.tasks.import_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def import_run(job_id: int) -> str:
    """Run or resume a bulk case import (validation, then its chunks); safe to run twice."""
    token = context.bind(task_name="verification.tasks.import_run")
    try:
        return str(jobs.import_run(job_id=job_id).status)
    finally:
        context.reset(token)


def enqueue_import(job_id: int) -> None:
    """Queue a job's runs (after the staging transaction commits): one per runner, so that
    several workers import its chunks side by side (the all-or-nothing pass runs once)."""
    for _ in range(max(1, settings.VERIFICATION_IMPORT_RUNNERS)):
        import_run.delay(job_id)


@shared_task(name="verification.tasks.imports_resume", acks_late=True, ignore_result=True)
def imports_resume(older_than_seconds: int | None = None) -> list[int]:
    """Beat: queue again the imports that made no progress for a while (their worker died)."""
    wait = (
        settings.VERIFICATION_IMPORT_STALLED_SECONDS
        if older_than_seconds is None
        else older_than_seconds
    )
    stalled = jobs.stalled_jobs(older_than_seconds=wait)
    for job_id in stalled:
        import_run.delay(job_id)
    return stalled
