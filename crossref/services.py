"""Writes of the cross-reference engine: start, cancel and close runs; sweep leases; feedback."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from celery import current_app
from celery.schedules import crontab
from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from audit.models import Outcome
from audit.services import event_record
from core.errors import Forbidden, NotFound, ValidationFailed
from crossref import engine, registry, sources
from crossref.models import (
    Disposition,
    Finding,
    LinkageModel,
    Partition,
    PartitionStatus,
    Run,
    RunMode,
    RunStatus,
    ScheduledRun,
)
from crossref.registry import Rule
from privacy.policy import decide

PARTITION_TASK = "crossref.tasks.partition_run"  # crossref.tasks, sent by name


def _select_rules(*, codes: Iterable[str] | None, mode: str) -> dict[str, Any]:
    """code -> version (normal) or [current, candidate] (shadow)."""
    codes = [c for c in (codes or []) if c]
    if mode == RunMode.SHADOW:
        cands = registry.candidates()
        if codes:
            cands = [r for r in cands if r.code in codes]
        if not cands:
            raise ValidationFailed(
                "A shadow run needs a candidate rule version.",
                field_errors={"rules": ["No candidate version."]},
            )
        return {r.code: [registry.get_current(r.code).version, r.version] for r in cands}
    chosen = registry.current_rules()
    if codes:
        unknown = set(codes) - {r.code for r in chosen}
        if unknown:
            raise ValidationFailed(
                "Unknown rules.", field_errors={"rules": [f"Unknown: {', '.join(sorted(unknown))}"]}
            )
        chosen = [r for r in chosen if r.code in codes]
    return {r.code: r.version for r in chosen}


def run_authorize(*, actor: Any, rules: list[Rule]) -> dict[str, dict[str, Any]]:
    """The policy's decision for each category the rules read; Forbidden if any is not covered."""
    out: dict[str, dict[str, Any]] = {}
    missing = []
    for category in registry.categories_of(rules):
        d = decide(actor, action="run_matching", category=category)
        if not d.allowed:
            missing.append(category)
        out[category] = {
            "allowed": d.allowed,
            "basis": d.basis,
            "agreement_id": d.agreement_id,
            "reason": d.reason,
        }
    if missing:
        raise Forbidden(
            "No active matching agreement covers: " + ", ".join(missing),
            field_errors={"rules": [f"Not covered: {c}" for c in missing]},
        )
    return out


# The agreement a run is recorded under: the first of its categories in this order.
_AGREEMENT_ORDER = [
    "ssa_identity",
    "dhs_immigration",
    "enforcement",
    "verification_cases",
    "employer_data",
]


def _run_agreements(
    *, actor: Any, chosen: list[Rule], versions: dict[str, Any], schedule: ScheduledRun | None
) -> tuple[dict[str, Any], list[int]]:
    """The authorization of a run and its agreements in order; a refusal is audited, then raised."""
    try:
        authorization = run_authorize(actor=actor, rules=chosen)
        ranked = sorted(
            authorization.items(),
            key=lambda kv: _AGREEMENT_ORDER.index(kv[0]) if kv[0] in _AGREEMENT_ORDER else 99,
        )
        agreements = [a["agreement_id"] for _, a in ranked if a["agreement_id"]]
        if (
            schedule is not None
            and schedule.agreement_id
            and schedule.agreement_id not in agreements
        ):
            raise Forbidden("The schedule's agreement no longer authorizes this run.")
    except Forbidden as exc:
        with transaction.atomic():
            event_record(
                action="crossref.run_refused",
                actor=actor,
                object_type="crossref.run",
                outcome=Outcome.DENIED,
                detail={
                    "rules": sorted(versions),
                    "reason": exc.message,
                    "schedule": getattr(schedule, "pk", None),
                },
            )
        raise
    return authorization, agreements


def run_start(
    *,
    actor: Any,
    rules: Iterable[str] | None = None,
    scope: dict[str, Any] | None = None,
    mode: str = RunMode.NORMAL,
    schedule: ScheduledRun | None = None,
    ssn_partitions: int | None = None,
    employer_partitions: int | None = None,
    enqueue: bool = True,
) -> Run:
    """Start a run as `actor`, under the agreements covering its rules' categories; enqueue its partitions."""
    scope = _clean_scope(scope or {})
    versions = _select_rules(codes=rules or scope.get("rules"), mode=mode)
    chosen = [
        registry.get(c, int(v))
        for c, vs in versions.items()
        for v in (vs if isinstance(vs, list) else [vs])
    ]
    authorization, agreements = _run_agreements(
        actor=actor, chosen=chosen, versions=versions, schedule=schedule
    )
    with transaction.atomic():
        run = Run.objects.create(
            owner=actor,
            mode=mode,
            status=RunStatus.RUNNING,
            scope=scope,
            rule_versions=versions,
            agreement_id=(
                schedule.agreement_id
                if schedule and schedule.agreement_id
                else (agreements[0] if agreements else None)
            ),
            authorization=authorization,
            reference_loads=sources.current_load_ids(),
            linkage_model=LinkageModel.objects.current(),
            linkage_candidate=(
                LinkageModel.objects.candidate() if mode == RunMode.SHADOW else None
            ),
            schedule=schedule,
            started_at=timezone.now(),
        )
        parts = _run_plan(run, ssn_partitions, employer_partitions)
        event_record(
            action="crossref.run_started",
            actor=actor,
            object_type="crossref.run",
            object_id=run.pk,
            agreement_id=run.agreement_id,
            detail={
                "mode": mode,
                "rules": versions,
                "scope": scope,
                "partitions": len(parts),
                "schedule": getattr(schedule, "pk", None),
            },
        )
        if enqueue:
            # Employer partitions first: they read the cases table itself, so one worker runs them
            # while another builds the staging copy the SSN partitions wait for.
            ids = [
                p.pk
                for p in sorted(parts, key=lambda p: (p.kind != Partition.Kind.EMPLOYER, p.number))
            ]
            transaction.on_commit(lambda: partitions_enqueue(partition_ids=ids))
    if not parts:
        engine.run_finish_if_complete(run.pk)
    return run


def _run_plan(
    run: Run, ssn_partitions: int | None, employer_partitions: int | None
) -> list[Partition]:
    """Create the partitions of a new run and record how many there are and the rows in scope.

    Unless given or set (CROSSREF_SSN_PARTITIONS), the SSN partitions follow the cases in scope:
    one per CROSSREF_CASES_PER_PARTITION, at least two. A partition's memory and time then stay
    the same at every size, and a small database is not cut into tasks of a few rows each.
    """
    rows = sources.cases_in_scope(run.scope)
    per = max(1, int(settings.CROSSREF["CASES_PER_PARTITION"]))
    parts = engine.plan_partitions(
        run,
        ssn_partitions=ssn_partitions
        or int(settings.CROSSREF["SSN_PARTITIONS"])
        or max(2, math.ceil(rows / per)),
        employer_partitions=employer_partitions or int(settings.CROSSREF["EMPLOYER_PARTITIONS"]),
    )
    Partition.objects.bulk_create(parts)
    run.partitions_total = len(parts)
    run.rows_estimated = rows
    run.save(update_fields=["partitions_total", "rows_estimated"])
    return parts


def _clean_scope(scope: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("date_from", "date_to"):
        value = scope.get(key)
        if value:
            try:
                out[key] = datetime.fromisoformat(str(value)).date().isoformat()
            except ValueError as exc:
                raise ValidationFailed(
                    "Bad date.", field_errors={key: ["Use YYYY-MM-DD."]}
                ) from exc
    if scope.get("employer_ids"):
        try:
            out["employer_ids"] = sorted({int(e) for e in scope["employer_ids"]})
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                "Bad employer ids.", field_errors={"employer_ids": ["Integers only."]}
            ) from exc
    if scope.get("rules"):
        out["rules"] = sorted({str(r) for r in scope["rules"]})
    return out


def partitions_enqueue(*, partition_ids: Iterable[int]) -> int:
    """Send one task per partition (ids only) and note when, for the sweeper."""
    ids = list(partition_ids)
    # The database's clock, as the sweeper reads it (engine.stale_pending), whatever this worker's.
    Partition.objects.filter(pk__in=ids).update(enqueued_at=Now())
    # By name: the task module calls these services, so the services never import it.
    for pk in ids:
        current_app.send_task(PARTITION_TASK, args=[pk])
    return len(ids)


def partitions_sweep() -> dict[str, int]:
    """Re-queue partitions whose lease expired and pending ones whose message may be lost."""
    expired = list(engine.expired_leases())
    stale = list(engine.stale_pending())
    if expired or stale:
        partitions_enqueue(partition_ids=expired + stale)
    for run_id in Run.objects.active().values_list("pk", flat=True):
        engine.run_finish_if_complete(run_id)
    return {"expired": len(expired), "resent": len(stale), "stages_dropped": stages_drop_finished()}


def run_cancel(*, actor: Any, run: Run) -> Run:
    """Cancel a running run: pending partitions never start, running ones do not commit."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if run.owner_id != actor.pk and not actor.has_role("admin"):
            raise Forbidden("Only the run's owner or an admin may cancel it.")
        if run.status != RunStatus.RUNNING:
            return run
        run.status = RunStatus.CANCELLED
        run.cancelled_by = actor
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "cancelled_by", "finished_at", "updated_at"])
        run.partitions.filter(status=PartitionStatus.PENDING).update(
            status=PartitionStatus.CANCELLED
        )
        event_record(
            action="crossref.run_cancelled",
            actor=actor,
            object_type="crossref.run",
            object_id=run.pk,
            agreement_id=run.agreement_id,
        )
    return run


def stages_drop_finished() -> int:
    """Drop staging tables of runs that ended (a cancelled run's partitions may still hold theirs)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname ~ '^crossref_stage_[0-9]+(_ssa|_dhs)?$'"
        )
        run_ids = sorted({int(r[0].split("_")[2]) for r in cur.fetchall()})
    dropped = 0
    for run_id in run_ids:
        if (
            not Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists()
            and not Partition.objects.filter(run_id=run_id, status=PartitionStatus.RUNNING).exists()
        ):
            engine.stage_drop(run_id)
            dropped += 1
    return dropped


def run_retry_failed(*, actor: Any, run: Run) -> Run:
    """Put a failed run's failed partitions back to pending and run them again."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if run.status not in (RunStatus.FAILED, RunStatus.RUNNING):
            raise ValidationFailed("Only a failed run can be retried.")
        ids = list(
            run.partitions.filter(status=PartitionStatus.FAILED).values_list("pk", flat=True)
        )
        run.partitions.filter(pk__in=ids).update(status=PartitionStatus.PENDING, error="")
        run.status = RunStatus.RUNNING
        run.finished_at = None
        run.error = ""
        run.save(update_fields=["status", "finished_at", "error", "updated_at"])
        event_record(
            action="crossref.run_started",
            actor=actor,
            object_type="crossref.run",
            object_id=run.pk,
            agreement_id=run.agreement_id,
            detail={"retry_partitions": len(ids)},
        )
        transaction.on_commit(lambda: partitions_enqueue(partition_ids=ids))
    return run


# --- Scheduled runs ----------------------------------------------------------------------------
def schedule_save(
    *,
    actor: Any,
    name: str,
    owner: Any,
    agreement_id: int | None,
    scope: dict[str, Any] | None = None,
    minute: str = "0",
    hour: str = "2",
    day_of_week: str = "*",
    enabled: bool = True,
    schedule: ScheduledRun | None = None,
) -> ScheduledRun:
    """Create or change a scheduled run (admins only)."""
    if not actor.has_role("admin"):
        raise Forbidden("Only admins configure scheduled runs.")
    with transaction.atomic():
        obj = schedule or ScheduledRun()
        obj.name, obj.owner, obj.agreement_id = name, owner, agreement_id
        obj.scope = _clean_scope(scope or {})
        obj.minute, obj.hour, obj.day_of_week, obj.enabled = minute, hour, day_of_week, enabled
        obj.save()
        event_record(
            action="crossref.schedule_changed",
            actor=actor,
            object_type="crossref.schedule",
            object_id=obj.pk,
            agreement_id=agreement_id,
            detail={"name": name, "owner": owner.pk, "cron": f"{minute} {hour} * * {day_of_week}"},
        )
    return obj


def scheduled_runs_start_due(*, now: datetime | None = None) -> list[int]:
    """Start every enabled schedule that is due, each as its owner under its agreement."""

    now = now or timezone.now()
    started = []
    for sched in ScheduledRun.objects.filter(enabled=True).select_related("owner"):
        cron = crontab(
            minute=sched.minute, hour=sched.hour, day_of_week=sched.day_of_week, nowfun=lambda: now
        )
        if not cron.is_due(sched.last_started_at or sched.created_at).is_due:
            continue
        ScheduledRun.objects.filter(pk=sched.pk).update(last_started_at=now)
        try:
            run = run_start(actor=sched.owner, scope=sched.scope, schedule=sched)
        except (Forbidden, ValidationFailed) as exc:
            ScheduledRun.objects.filter(pk=sched.pk).update(
                last_outcome=f"refused: {exc.message}"[:300]
            )
            continue
        ScheduledRun.objects.filter(pk=sched.pk).update(last_outcome=f"run {run.pk} started")
        started.append(run.pk)
    return started


# --- Findings ----------------------------------------------------------------------------------
def finding_ingest_claim(*, limit: int = 500) -> list[Finding]:
    """Claim up to `limit` new findings for the caller's open transaction (SKIP LOCKED ledger).

    Call inside `transaction.atomic()`, then `findings_mark_ingested` in the same transaction.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("finding_ingest_claim must run inside transaction.atomic().")
    return list(
        Finding.objects.pending_ingest().order_by("id").select_for_update(skip_locked=True)[:limit]
    )


def findings_mark_ingested(*, finding_ids: Iterable[int]) -> int:
    """Record that the cases app turned these findings into flagged cases."""
    return Finding.objects.filter(pk__in=list(finding_ids), ingested_at__isnull=True).update(
        ingested_at=timezone.now()
    )


def finding_feedback_record(
    *, actor: Any, finding_id: int, outcome: str, reason: str = ""
) -> Finding:
    """Feed a triage outcome back to the rule's quality counts (M8).

    One disposition per finding, the latest: a case reopened and decided again moves its findings
    from one count to another, never into two.
    """
    if outcome not in Disposition.values:
        raise ValidationFailed(
            "Unknown outcome.", field_errors={"outcome": [f"Not one of {Disposition.values}."]}
        )
    with transaction.atomic():
        finding = Finding.objects.select_for_update().filter(pk=finding_id).first()
        if finding is None:
            raise NotFound("No such finding.")
        before = finding.disposition
        finding.disposition = outcome
        finding.disposition_at = timezone.now()
        finding.save(update_fields=["disposition", "disposition_at"])
        event_record(
            action="crossref.finding_feedback",
            actor=actor,
            object_type="crossref.finding",
            object_id=finding.pk,
            changes={"disposition": [before, outcome]},
            detail={"rule": finding.rule_code},
            justification=reason,
        )
    return cast(Finding, finding)


def run_execute_inline(*, run: Run) -> Run:
    """Execute a run's pending partitions in this process (command line `--inline`, benchmarks, tests)."""
    for pk in run.partitions.filter(status=PartitionStatus.PENDING).values_list("pk", flat=True):
        engine.partition_execute(pk)
    run.refresh_from_db()
    return run
