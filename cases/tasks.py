"""Celery adapters (STYLE.md rule 11): each calls one service, takes ids, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from audit import context


@shared_task(name="cases.tasks.findings_ingest", ignore_result=True, acks_late=True)
def findings_ingest(batch: int = 500) -> int:
    """Pull new findings into flagged cases until none are pending (the ledger makes re-runs harmless)."""
    from cases.services import findings_ingest_all

    token = context.bind(task_name="cases.tasks.findings_ingest")
    try:
        return findings_ingest_all(batch=batch)
    finally:
        context.reset(token)


@shared_task(name="cases.tasks.reminders_send", ignore_result=True, acks_late=True)
def reminders_send() -> dict[str, int]:
    """Due-soon and overdue reminders (each goes out once per case and user)."""
    from cases.services import reminders_send as send

    token = context.bind(task_name="cases.tasks.reminders_send")
    try:
        return send()
    finally:
        context.reset(token)
