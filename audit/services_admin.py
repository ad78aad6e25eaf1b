"""Writes that keep the trail itself: verification runs, checkpoints, partitions and retention."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain, db
from audit.models import Outcome, RetentionAnchor, VerificationRun
from audit.services import event_record


def chain_verify(
    *,
    actor: Any,
    trigger: str = "manual",
    from_seq: int | None = None,
    to_seq: int | None = None,
    thorough: bool = False,
) -> VerificationRun:
    """Seal what has committed, verify the chain (or a range), and record the run and its outcome."""
    chain.seal_pending()
    started = timezone.now()
    result = chain.verify(from_seq=from_seq, to_seq=to_seq, thorough=thorough)
    problem = result.problem
    with transaction.atomic():
        run = VerificationRun.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            from_seq=result.from_seq,
            to_seq=result.to_seq,
            checked=result.checked,
            ok=result.ok,
            first_bad_seq=problem.seq if problem else None,
            first_bad_event_id=problem.event_id if problem else None,
            problem=problem.message if problem else "",
            checkpoints_checked=result.checkpoints_checked,
            unsealed=result.unsealed,
            trigger=trigger[:32],
        )
        event_record(
            action="audit.verified",
            actor=actor,
            object_type="audit.verification",
            object_id=run.pk,
            outcome=Outcome.ALLOWED,
            detail={
                "ok": result.ok,
                "checked": result.checked,
                "from_seq": result.from_seq,
                "to_seq": result.to_seq,
                "first_bad_seq": run.first_bad_seq,
                "first_bad_event_id": run.first_bad_event_id,
                "problem": problem.kind if problem else "",
                "checkpoints": result.checkpoints_checked,
                "thorough": thorough,
                "trigger": trigger,
            },
        )
    return run


def checkpoint_record() -> chain.Checkpoint | None:
    """Sign the chain head into the checkpoint file, and record that it was signed."""
    cp = chain.checkpoint_sign()
    if cp is not None:
        with transaction.atomic():
            event_record(
                action="audit.checkpoint_signed",
                object_type="audit.checkpoint",
                object_id=cp.seq,
                detail={
                    "seq": cp.seq,
                    "hash": cp.hash,
                    "key": cp.key,
                    "path": str(chain.checkpoint_path()),
                },
            )
    return cp


def retention_cutoff(today: date | None = None) -> date:
    """The first day of the oldest month still kept."""
    today = today or timezone.now().date()
    years = int(settings.AUDIT_RETENTION_YEARS)
    try:
        edge = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        edge = today.replace(year=today.year - years, day=28)
    return edge.replace(day=1)


def partitions_maintain(*, actor: Any, today: date | None = None) -> dict[str, Any]:
    """Create the coming months' partitions; drop whole months older than the retention period.

    Dropped months are sealed first, noted in audit_retention_anchor (so the verifier knows where
    the kept chain begins), and the drop is itself an audit event.
    """
    created = db.partitions_ensure()
    cutoff = retention_cutoff(today)
    dropped: list[str] = []
    chain.seal_pending()
    for name, _bound in db.partitions():
        if not name.startswith("audit_event_p") or name.endswith("pdefault"):
            continue
        month = date(int(name[-6:-2]), int(name[-2:]), 1)
        if month >= cutoff:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT audit_partition_drop(%s)", [month])
            events = int(cursor.fetchone()[0])
            dropped.append(f"{month:%Y-%m}")
            event_record(
                action="audit.partitions_dropped",
                actor=actor,
                object_type="audit.partition",
                object_id=f"{month:%Y-%m}",
                detail={
                    "month": f"{month:%Y-%m}",
                    "events": events,
                    "retention_years": settings.AUDIT_RETENTION_YEARS,
                },
            )
    return {
        "created": created,
        "dropped": dropped,
        "cutoff": cutoff.isoformat(),
        "anchors": RetentionAnchor.objects.count(),
    }
