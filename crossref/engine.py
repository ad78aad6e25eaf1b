"""Executing one partition: claim its lease, run its rules, commit findings and the done mark.

Everything a partition writes (findings or shadow hits, its counters, its done mark) happens in
one transaction whose last statement checks the lease token. A worker killed half-way leaves
nothing behind; a worker whose lease expired and was taken over cannot mark the partition done
a second time; and the unique key on findings makes any overlap harmless.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from audit.services import event_record
from crossref import finished
from crossref.context import HIT_COLUMNS, LeaseLost, PartitionContext, agreement_for, run_rules
from crossref.models import Partition, PartitionStatus, Run, RunStatus
from crossref.staging import (
    SSA_STAGE_COLUMNS,
    STAGE_COLUMNS,
    STAGE_DHS_COLUMNS,
    stage_dhs_name,
    stage_drop,
    stage_ensure,
    stage_name,
    stage_prepare,
    stage_ssa_name,
)

log = logging.getLogger(__name__)


# --- Leases ------------------------------------------------------------------------------------
def lease_seconds() -> int:
    """How long a claim on a partition lasts before the sweeper may hand it to another worker."""
    return int(settings.CROSSREF["LEASE_SECONDS"])


def partition_claim(partition_id: int) -> tuple[Partition, str] | None:
    """Take the lease on a pending (or lease-expired) partition of a running run; None if not ours."""
    token = uuid.uuid4().hex
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE crossref_partition p
               SET status = 'running', lease_token = %s, lease_expires_at = clock_timestamp() + make_interval(secs => %s),
                   attempts = p.attempts + 1, started_at = coalesce(p.started_at, clock_timestamp()), error = ''
              FROM crossref_run r
             WHERE p.id = %s AND r.id = p.run_id AND r.status = 'running'
               AND (p.status = 'pending' OR (p.status = 'running' AND p.lease_expires_at < clock_timestamp()))
            RETURNING p.id
            """,
            [token, lease_seconds(), partition_id],
        )
        if cur.fetchone() is None:
            return None
    return Partition.objects.select_related("run").get(pk=partition_id), token


def _test_pause() -> None:
    # A pause before the commit, for the kill-mid-partition test only (a real worker is killed
    # while it holds an open transaction with findings written but not committed).
    pause = float(os.environ.get("CROSSREF_TEST_PAUSE_BEFORE_COMMIT", "0") or 0)
    if pause:
        time.sleep(pause)


def partition_execute(partition_id: int) -> str:
    """Run every rule of one partition and commit its findings with its done mark; idempotent.

    The outcome: "done", "skipped" (not claimable), "lease_lost", "interrupted" (the database went
    away: the lease runs out and the sweeper re-queues it) or "failed".
    """
    claimed = partition_claim(partition_id)
    if claimed is None:
        return "skipped"
    partition, token = claimed
    run = partition.run
    started = time.monotonic()
    # No cyclic garbage collection while the partition runs: its rules fetch tens of thousands of
    # rows into Python (tuples that live until the partition ends), and every full collection on
    # the way walks the whole heap of the worker, reference indexes included, which grow with the
    # data (at 1M cases, GC took about a third of the enforcement rule's blocking time). Reference
    # counting frees the rows; the collector runs again once the partition is over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _execute(partition, token)
    except LeaseLost:
        # Either another worker took the lease over, or the run was cancelled meanwhile.
        Partition.objects.filter(
            pk=partition_id, lease_token=token, run__status=RunStatus.CANCELLED
        ).update(status=PartitionStatus.CANCELLED, finished_at=timezone.now())
        log.warning("crossref partition not committed", extra={"partition": partition_id})
        return "lease_lost"
    except (OperationalError, InterfaceError):
        # PostgreSQL went away (restart, failover): nothing was committed. The lease runs out and
        # the sweeper re-queues the partition; the run is delayed, not failed.
        log.warning(
            "crossref partition interrupted by the database", extra={"partition": partition_id}
        )
        if not connection.in_atomic_block:
            connection.close()
        return "interrupted"
    except Exception as exc:
        log.exception("crossref partition failed", extra={"partition": partition_id})
        Partition.objects.filter(pk=partition_id, lease_token=token).update(
            status=PartitionStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        run_finish_if_complete(run.pk)
        return "failed"
    finally:
        if gc_was_enabled:
            gc.enable()
    log.info(
        "crossref partition done",
        extra={"partition": partition_id, "seconds": round(time.monotonic() - started, 3)},
    )
    run_finish_if_complete(run.pk)
    return "done"


def _execute(partition: Partition, token: str) -> None:
    """The rules of a claimed partition and its done mark, in one transaction (LeaseLost if the
    lease was taken over or the run cancelled meanwhile: nothing is committed)."""
    run = partition.run
    rules = [r for r in run_rules(run) if r.kind == partition.kind]
    stage = ""
    if any(r.staged for r in rules):
        stage = stage_ensure(run)
    elif partition.kind == Partition.Kind.EMPLOYER:
        stage_prepare(run)
    with transaction.atomic(), connection.cursor() as cur:
        # Partitions are the parallelism; one partition is one backend, without JIT start-up.
        cur.execute("SET LOCAL work_mem = '64MB'")
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        ctx = PartitionContext(run=run, partition=partition, cursor=cur, rules=rules, stage=stage)
        _run_families(ctx)
        _test_pause()
        _mark_done(ctx, token)


def _mark_done(ctx: PartitionContext, token: str) -> None:
    """The partition's done mark and statistics, guarded by its lease token and the run's status.

    Its end is the clock's time, not `now()`: that is when the partition's transaction began.
    """
    ctx.cursor.execute(
        """
        UPDATE crossref_partition SET status = 'done', finished_at = clock_timestamp(), lease_expires_at = NULL,
               rows_examined = %s, hits = %s, new_findings = %s, timings = %s, candidates = %s
         WHERE id = %s AND lease_token = %s AND status = 'running'
           AND EXISTS (SELECT 1 FROM crossref_run r WHERE r.id = run_id AND r.status = 'running')
        """,
        [
            ctx.rows_examined,
            json.dumps(ctx.hits),
            json.dumps(ctx.new),
            json.dumps({k: round(v, 4) for k, v in ctx.timings.items()}),
            json.dumps(ctx.candidates),
            ctx.partition.pk,
            token,
        ],
    )
    if ctx.cursor.rowcount != 1:
        raise LeaseLost(f"partition {ctx.partition.pk} lease lost")


def _run_families(ctx: PartitionContext) -> None:
    for rule in ctx.rules:
        started = time.perf_counter()
        rule.implementation(ctx, rule)
        ctx.timings[rule.family] = ctx.timings.get(rule.family, 0.0) + time.perf_counter() - started


def run_finish_if_complete(run_id: int) -> bool:
    """Close a running run once no partition is left pending or running; True if it closed now."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return False
        open_parts = run.partitions.filter(
            status__in=[PartitionStatus.PENDING, PartitionStatus.RUNNING]
        ).exists()
        if open_parts:
            return False
        failed = run.partitions.filter(status=PartitionStatus.FAILED).count()
        run_close(run=run, failed_partitions=failed)
        transaction.on_commit(lambda: finished.announce(run_id))
    stage_drop(run_id)
    return True


def run_close(*, run: Run, failed_partitions: int) -> Run:
    """Mark a run done (or failed) once every partition ended; called inside the caller's lock."""
    run.status = RunStatus.FAILED if failed_partitions else RunStatus.DONE
    run.finished_at = timezone.now()
    if failed_partitions:
        run.error = f"{failed_partitions} partition(s) failed"
    run.save(update_fields=["status", "finished_at", "error", "updated_at"])
    totals = _totals(run)
    event_record(
        action="crossref.run_finished",
        actor=run.owner,
        object_type="crossref.run",
        object_id=run.pk,
        agreement_id=run.agreement_id,
        detail={
            "status": run.status,
            "rows_examined": totals[0],
            "hits": totals[1],
            "failed": failed_partitions,
        },
    )
    return run


def _totals(run: Run) -> tuple[int, int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(rows_examined), 0), coalesce(sum((SELECT coalesce(sum(v::bigint), 0) "
            "FROM jsonb_each_text(hits) AS e(k, v))), 0) FROM crossref_partition WHERE run_id = %s",
            [run.pk],
        )
        rows, hits = cur.fetchone()
    return int(rows), int(hits)


# --- Planning -----------------------------------------------------------------------------------
def ssn_ranges(count: int) -> list[tuple[str, str]]:
    """Split the hex space of the SSN blind index into `count` contiguous ranges [lo, hi)."""
    space = 16**4
    bounds = [round(i * space / count) for i in range(count + 1)]
    out = []
    for i in range(count):
        lo = f"{bounds[i]:04x}" if i else ""
        hi = f"{bounds[i + 1]:04x}" if i + 1 < count else ""
        out.append((lo, hi))
    return out


def plan_partitions(run: Run, *, ssn_partitions: int, employer_partitions: int) -> list[Partition]:
    """The partitions of a run: SSN ranges for person rules, employer buckets for employer rules."""
    kinds = {r.kind for r in run_rules(run)}
    parts: list[Partition] = []
    n = 0
    if "ssn" in kinds:
        for lo, hi in ssn_ranges(ssn_partitions):
            parts.append(Partition(run=run, number=n, kind=Partition.Kind.SSN, lo=lo, hi=hi))
            n += 1
    if "employer" in kinds:
        for bucket in range(employer_partitions):
            parts.append(
                Partition(
                    run=run,
                    number=n,
                    kind=Partition.Kind.EMPLOYER,
                    lo=str(bucket),
                    hi=str(employer_partitions),
                )
            )
            n += 1
    return parts


def expired_leases(now: Any | None = None) -> Iterable[int]:
    """Ids of partitions whose lease ran out (their worker died or stalled).

    On the database's clock, which set the lease (partition_claim): the sweeper may run on a
    worker whose own clock is off, and one ten minutes ahead would see every lease expired.
    """
    return Partition.objects.filter(
        status=PartitionStatus.RUNNING,
        lease_expires_at__lt=now or Now(),
        run__status=RunStatus.RUNNING,
    ).values_list("pk", flat=True)


def stale_pending(now: Any | None = None) -> Iterable[int]:
    """Pending partitions whose message may have been lost (Redis restarted) and need resending
    (on the database's clock, as partitions_enqueue stamps them)."""
    cutoff = (now or Now()) - timedelta(
        seconds=int(settings.CROSSREF["RESEND_PENDING_AFTER_SECONDS"])
    )
    return Partition.objects.filter(
        status=PartitionStatus.PENDING, run__status=RunStatus.RUNNING, enqueued_at__lt=cutoff
    ).values_list("pk", flat=True)


__all__ = [
    "HIT_COLUMNS",
    "SSA_STAGE_COLUMNS",
    "STAGE_COLUMNS",
    "STAGE_DHS_COLUMNS",
    "LeaseLost",
    "PartitionContext",
    "agreement_for",
    "expired_leases",
    "lease_seconds",
    "log",
    "partition_claim",
    "partition_execute",
    "plan_partitions",
    "run_close",
    "run_finish_if_complete",
    "run_rules",
    "ssn_ranges",
    "stage_dhs_name",
    "stage_drop",
    "stage_ensure",
    "stage_name",
    "stage_prepare",
    "stage_ssa_name",
    "stale_pending",
]
