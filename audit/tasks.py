"""Celery adapters of the audit trail's scheduled work (beat: config/settings/base.py)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audit import review, services_admin
from audit.chain import seal_pending
from audit.models import VerificationRun


@shared_task(name="audit.tasks.seal", ignore_result=True, acks_late=True)
def seal() -> int:
    """Chain the events that have committed since the last run (every few seconds)."""

    return seal_pending()


@shared_task(name="audit.tasks.checkpoint", ignore_result=True, acks_late=True)
def checkpoint() -> dict[str, Any] | None:
    """Sign the chain head and write it outside the database (every few minutes)."""
    cp = services_admin.checkpoint_record()
    return None if cp is None else {"seq": cp.seq, "hash": cp.hash}


@shared_task(name="audit.tasks.verify", ignore_result=True, acks_late=True)
def verify(trigger: str = "schedule", full: bool = False) -> dict[str, Any]:
    """Verify the chain against itself and the signed checkpoints.

    Hourly runs go on from the last intact run (its last link re-checked); the weekly run and a
    supervisor's "Verify now" check everything.
    """

    from_seq = None
    if not full:
        last = (
            VerificationRun.objects.filter(ok=True, from_seq__isnull=False)
            .order_by("-started_at")
            .first()
        )
        if last is not None and last.to_seq:
            from_seq = last.to_seq
    run = services_admin.chain_verify(
        actor=None, trigger=trigger if not full else f"{trigger}:full", from_seq=from_seq
    )
    return {"ok": run.ok, "first_bad_seq": run.first_bad_seq}


@shared_task(name="audit.tasks.partitions", ignore_result=True, acks_late=True)
def partitions() -> dict[str, Any]:
    """Create the coming months' partitions and drop the months past retention."""
    return services_admin.partitions_maintain(actor=None)


@shared_task(name="audit.tasks.review_assign", ignore_result=True, acks_late=True)
def review_assign() -> int:
    """Assign yesterday's sampled and flagged events to supervisors."""

    return len(review.review_assign(actor=None))
