"""Celery adapters (STYLE.md rule 11): each calls one service, takes ids, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from audit import context
from cases.home_counts import prune_change_log
from cases.services import findings_ingest_all
from cases.services import reminders_send as send


@shared_task(name="cases.tasks.findings_ingest", ignore_result=True, acks_late=True)
def findings_ingest(batch: int = 500) -> int:
    """Pull new findings into flagged cases until none are pending (the ledger makes re-runs harmless)."""
    token = context.bind(task_name="cases.tasks.findings_ingest")
    try:
        return findings_ingest_all(batch=batch)
    finally:
        context.reset(token)


@shared_task(name="cases.tasks.reminders_send", ignore_result=True, acks_late=True)
def reminders_send() -> dict[str, int]:
    """Due-soon and overdue reminders (each goes out once per case and user)."""
    token = context.bind(task_name="cases.tasks.reminders_send")
    try:
        return send()
    finally:
        context.reset(token)


@shared_task(name="cases.tasks.change_log_prune", ignore_result=True, acks_late=True)
def change_log_prune() -> int:
    """Drop the old rows of the log the home's cached counts are checked against."""
    return prune_change_log()


def run_finished(run_id: int) -> None:
    """crossref's "a run finished" listener (registered in `CasesConfig.ready`): ingest now.

    The engine calls it after the run's closing transaction committed, so every finding of the
    run is visible to the ingest; the 30-second beat stays as the safety net.
    """
    findings_ingest.delay()
