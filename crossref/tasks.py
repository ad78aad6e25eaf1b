"""Celery adapters of the engine: ids in, services called, safe to run twice (STYLE.md rule 11)."""

from __future__ import annotations

from celery import shared_task

from audit import context
from crossref import engine
from crossref.services import PARTITION_TASK, partitions_sweep, scheduled_runs_start_due


@shared_task(
    name=PARTITION_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def partition_run(partition_id: int) -> str:
    """Run one partition; a duplicate or late message finds it claimed or done and does nothing."""
    token = context.bind(task_name="crossref.partition_run", run_id=str(partition_id))
    try:
        return engine.partition_execute(partition_id)
    finally:
        context.reset(token)


@shared_task(name="crossref.tasks.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """Beat: re-queue partitions whose lease expired or whose message may have been lost."""
    return partitions_sweep()


@shared_task(name="crossref.tasks.scheduled_runs", acks_late=True, ignore_result=True)
def scheduled_runs() -> list[int]:
    """Beat: start the scheduled runs that are due, each as its owner under its agreement."""
    return scheduled_runs_start_due()
