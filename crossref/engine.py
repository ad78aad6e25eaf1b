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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from audit.services import event_record
from crossref import finished, registry, sources
from crossref.models import Partition, PartitionStatus, Run, RunMode, RunStatus
from crossref.registry import Rule

log = logging.getLogger(__name__)

# Columns every hit carries, in this order, whether it comes from SQL or from Python.
HIT_COLUMNS = (
    "subject_type",
    "subject_key",
    "evidence_key",
    "case_id",
    "employer_id",
    "ssn_index",
    "fields",
    "evidence",
    "score",
    "summary",
    "severity",
    "is_clerical",
)


class LeaseLost(Exception):
    """Another worker holds this partition now; this attempt must roll back."""


@dataclass
class PartitionContext:
    """What a rule sees while it runs over one partition."""

    run: Run
    partition: Partition
    cursor: Any
    rules: list[Rule]
    hits: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    rows_examined: int = 0
    cache: dict[str, Any] = field(default_factory=dict)
    only_case: int | None = None  # set by the instant result: the partition is this one case
    timings: dict[str, float] = field(default_factory=dict)

    stage: str = ""  # the run's staging table of cases; empty: read the cases table itself

    # --- The partition's slice of the data -------------------------------------------------
    @property
    def cases(self) -> str:
        """The table of cases the rules read: the run's staging copy, or the live table."""
        return self.stage or sources.CASES

    @property
    def kind(self) -> str:
        """'ssn' or 'employer'."""
        return self.partition.kind

    def ssn_range_sql(self, column: str) -> tuple[str, dict[str, Any]]:
        """A predicate limiting `column` (an SSN blind index) to this partition's hash range."""
        p = self.partition
        sql = f"{column} >= %(p_lo)s"
        params: dict[str, Any] = {"p_lo": p.lo}
        if p.hi:
            sql += f" AND {column} < %(p_hi)s"
            params["p_hi"] = p.hi
        return sql, params

    def employer_bucket_sql(self, column: str) -> tuple[str, dict[str, Any]]:
        """A predicate limiting `column` (an employer id) to this partition's bucket."""
        p = self.partition
        return f"({column} %% %(p_mod)s) = %(p_bucket)s", {
            "p_mod": int(p.hi),
            "p_bucket": int(p.lo),
        }

    def scope_sql(self, alias: str) -> tuple[str, dict[str, Any]]:
        """The run's scope (dates, employers) as a predicate on a verification-case alias."""
        scope = self.run.scope or {}
        parts, params = ["TRUE"], {}
        if scope.get("date_from"):
            parts.append(f"{alias}.created_at >= %(s_from)s")
            params["s_from"] = scope["date_from"]
        if scope.get("date_to"):
            parts.append(f"{alias}.created_at < (%(s_to)s::date + 1)")
            params["s_to"] = scope["date_to"]
        if scope.get("employer_ids"):
            parts.append(f"{alias}.employer_id = ANY(%(s_emp)s)")
            params["s_emp"] = [int(e) for e in scope["employer_ids"]]
        return " AND ".join(parts), params

    def once(self, key: str, build: Callable[[], Any]) -> Any:
        """Compute something shared by several rules of the partition only once."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def wants(self, code: str) -> list[Rule]:
        """The versions of `code` this partition runs (two in a shadow comparison)."""
        return [r for r in self.rules if r.code == code]

    # --- Writing hits -------------------------------------------------------------------------
    def insert_select(self, rule: Rule, select_sql: str, params: dict[str, Any]) -> int:
        """Write the hits a SELECT yields (columns HIT_COLUMNS) in one set-based statement."""
        target, values = self._target(rule)
        sql = (
            f"WITH hits AS ({select_sql}), ins AS ({target} SELECT {values} FROM hits "  # noqa: S608
            f"ON CONFLICT DO NOTHING RETURNING 1) "
            "SELECT (SELECT count(*) FROM hits), (SELECT count(*) FROM ins)"
        )
        self.cursor.execute(sql, {**params, **self._rule_params(rule)})
        hits, new = self.cursor.fetchone()
        self._count(rule, hits, new)
        return hits

    def emit(self, rule: Rule, rows: Sequence[dict[str, Any]]) -> int:
        """Write hits computed in Python with multi-row INSERT ... ON CONFLICT DO NOTHING."""
        if not rows:
            self._count(rule, 0, 0)
            return 0
        target, values = self._target(rule)
        tuples = [
            (
                r["subject_type"],
                r["subject_key"],
                r["evidence_key"],
                r.get("case_id"),
                r.get("employer_id"),
                r.get("ssn_index") or "",
                json.dumps(r.get("fields") or []),
                json.dumps(r.get("evidence") or {}),
                float(r.get("score", 1.0)),
                r["summary"][:300],
                r.get("severity") or rule.severity,
                bool(r.get("is_clerical", False)),
            )
            for r in rows
        ]
        cols = ", ".join(HIT_COLUMNS)
        sql = (
            f"WITH hits({cols}) AS (VALUES %s), ins AS ({target} SELECT {values} FROM "  # noqa: S608
            "(SELECT subject_type, subject_key, evidence_key, case_id::bigint, employer_id::bigint, ssn_index, "
            "fields::jsonb, evidence::jsonb, score::float8, summary, severity, is_clerical::boolean FROM hits) hits "
            "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins"
        )
        # execute_values takes one %s; bind the rule's own parameters first, then escape the rest.
        raw = self.cursor.cursor if hasattr(self.cursor, "cursor") else self.cursor
        sql = raw.mogrify(
            sql.replace("VALUES %s", "VALUES __ROWS__"), self._rule_params(rule)
        ).decode()
        sql = sql.replace("%", "%%").replace("VALUES __ROWS__", "VALUES %s")
        new = 0
        for start in range(0, len(tuples), 5000):
            chunk = tuples[start : start + 5000]
            result = execute_values(self.cursor, sql, chunk, page_size=len(chunk), fetch=True)
            new += result[0][0]
        self._count(rule, len(tuples), new)
        return len(tuples)

    def _rule_params(self, rule: Rule) -> dict[str, Any]:
        return {
            "r_code": rule.code,
            "r_version": rule.version,
            "r_family": rule.family,
            "r_run": self.run.pk,
            "r_loads": self.run.reference_loads or [],
            "r_agreement": agreement_for(self.run, rule),
        }

    def _target(self, rule: Rule) -> tuple[str, str]:
        if self.run.mode == RunMode.SHADOW:
            return (
                "INSERT INTO crossref_shadowhit (run_id, rule_code, rule_version, subject_key, evidence_key, "
                "severity, score, summary)",
                "%(r_run)s, %(r_code)s, %(r_version)s, subject_key, evidence_key, severity, score, summary",
            )
        return (
            "INSERT INTO crossref_finding (rule_code, rule_version, family, severity, is_clerical, subject_type, "
            "subject_key, evidence_key, case_id, employer_id, ssn_index, fields, evidence, score, summary, run_id, "
            "reference_loads, agreement_id, created_at, disposition)",
            "%(r_code)s, %(r_version)s, %(r_family)s, severity, is_clerical, subject_type, subject_key, "
            "evidence_key, case_id, employer_id, coalesce(ssn_index, ''), fields, evidence, score, summary, "
            "%(r_run)s, %(r_loads)s::bigint[], %(r_agreement)s, now(), ''",
        )

    def _count(self, rule: Rule, hits: int, new: int) -> None:
        key = rule.code if self.run.mode == RunMode.NORMAL else f"{rule.code}@v{rule.version}"
        self.hits[key] = self.hits.get(key, 0) + int(hits)
        self.new[key] = self.new.get(key, 0) + int(new)


def agreement_for(run: Run, rule: Rule) -> int | None:
    """The agreement that authorized this run for the categories the rule reads."""
    auth = run.authorization or {}
    # The reference data's category (listed last) is the one an agreement really governs.
    for category in reversed(rule.categories):
        agreement = (auth.get(category) or {}).get("agreement_id")
        if agreement:
            return int(agreement)
    return run.agreement_id


def run_rules(run: Run) -> list[Rule]:
    """The rule versions a run executes (both versions of each compared rule in a shadow run)."""
    out: list[Rule] = []
    for code, versions in (run.rule_versions or {}).items():
        for v in versions if isinstance(versions, list) else [versions]:
            out.append(registry.get(code, int(v)))
    order = list(registry.FAMILIES)
    return sorted(out, key=lambda r: (order.index(r.family), r.code, r.version))


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
    """Run every rule of one partition and commit its findings with its done mark; idempotent."""
    claimed = partition_claim(partition_id)
    if claimed is None:
        return "skipped"
    partition, token = claimed
    run = partition.run
    rules = [r for r in run_rules(run) if r.kind == partition.kind]
    started = time.monotonic()
    # No cyclic garbage collection while the partition runs: its rules fetch tens of thousands of
    # rows into Python (tuples that live until the partition ends), and every full collection on
    # the way walks the whole heap of the worker, reference indexes included, which grow with the
    # data (at 1M cases, GC took about a third of the enforcement rule's blocking time). Reference
    # counting frees the rows; the collector runs again once the partition is over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
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
            ctx = PartitionContext(
                run=run, partition=partition, cursor=cur, rules=rules, stage=stage
            )
            _run_families(ctx)
            _test_pause()
            cur.execute(
                """
                UPDATE crossref_partition SET status = 'done', finished_at = now(), lease_expires_at = NULL,
                       rows_examined = %s, hits = %s, new_findings = %s, timings = %s
                 WHERE id = %s AND lease_token = %s AND status = 'running'
                   AND EXISTS (SELECT 1 FROM crossref_run r WHERE r.id = run_id AND r.status = 'running')
                """,
                [
                    ctx.rows_examined,
                    json.dumps(ctx.hits),
                    json.dumps(ctx.new),
                    json.dumps({k: round(v, 4) for k, v in ctx.timings.items()}),
                    partition_id,
                    token,
                ],
            )
            if cur.rowcount != 1:
                raise LeaseLost(f"partition {partition_id} lease lost")
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


def _run_families(ctx: PartitionContext) -> None:
    for rule in ctx.rules:
        started = time.perf_counter()
        rule.implementation(ctx, rule)
        ctx.timings[rule.family] = ctx.timings.get(rule.family, 0.0) + time.perf_counter() - started


# --- The run's staging table -------------------------------------------------------------------
# The columns the staged rules (identity, SSN, enforcement) read; the employer rules, which read
# the case lifecycle (status, TNC, closure, dates of offer and decision), run on the cases table.
# Every column left out is bytes not copied at staging and not scanned by every rule after.
STAGE_COLUMNS = (
    "id",
    "employer_id",
    "created_at",
    "submitted_at",
    "ssn_bidx",
    "ssn_last4",
    "first_name",
    "last_name",
    "other_last_names",
    "date_of_birth",
    "citizenship_status",
    "a_number_bidx",
    "a_number_last4",
    "i94_bidx",
    "i94_last4",
    "passport_bidx",
    "passport_last4",
    "document_number_bidx",
    "hire_date",
    "work_authorization_expires_on",
)


def stage_name(run_id: int) -> str:
    """The staging table of a run's cases."""
    return f"crossref_stage_{int(run_id)}"


def stage_ssa_name(run_id: int) -> str:
    """The staging table of a run's Numident records (the current SSA load), sorted by SSN blind index."""
    return f"crossref_stage_{int(run_id)}_ssa"


def stage_dhs_name(run_id: int) -> str:
    """The staging table of the DHS record each noncitizen case's documents lead to (see `_stage_dhs`)."""
    return f"crossref_stage_{int(run_id)}_dhs"


# The DHS record columns the identity rules compare, as the DHS staging table holds them.
STAGE_DHS_COLUMNS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "work_authorized_from",
    "work_authorized_until",
    "naturalized_on",
)


SSA_STAGE_COLUMNS = (
    "id",
    "ssn_bidx",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "citizenship",
    "death_date",
    "locked",
)


def stage_ensure(run: Run) -> str:
    """The run's staging tables, each built once by the first partition that needs it; the cases' name.

    Three steps, each its own table partitioned by range of the SSN blind index on the run's own
    SSN partition bounds (rows are routed as they are copied, so a partition reads exactly its
    own contiguous child table, with no sort and no index), and each under its own lock:
    - `cases`: the run's cases in scope, instead of scanning the wide cases table per partition;
    - `ssa`: the run's SSA load (Numident is stored in load order, so an SSN range of it would
      otherwise touch nearly every page of the table in every partition);
    - `dhs`: the DHS record each noncitizen case leads to, matched once for the whole run
      (`_stage_dhs`), when the run has DHS rules.
    The DHS step reads only the source tables, so another worker can build it while the first
    copies the cases and the SSA load (`stage_prepare`). The child tables are UNLOGGED (derived
    data): after a PostgreSQL crash they come back empty, and the next partition rebuilds each
    step it finds empty (an empty cases step only if `staged_rows` says there were cases).
    """
    for step in ("cases", *_reference_steps(run)):
        _stage_step(run, step)
    return stage_name(run.pk)


def stage_prepare(run: Run) -> None:
    """Build the run's DHS matches ahead of the SSN partitions that will need them, unless a worker already is.

    The employer partition's worker calls this before its own rules, while the first SSN
    partition copies the cases and then the SSA load: the two workers share the staging instead
    of one of them waiting. Only this step: it reads the source tables alone, and it is the
    shortest, so the SSN partitions never wait for it (measured at 5M cases, one worker each:
    cases about 15 s, SSA 12 s, DHS 9 s).
    """
    if "dhs" not in _reference_steps(run) or not any(
        r.staged and r.kind == Partition.Kind.SSN for r in run_rules(run)
    ):
        return
    if run.partitions.filter(
        kind=Partition.Kind.SSN, status__in=[PartitionStatus.PENDING, PartitionStatus.RUNNING]
    ).exists():
        _stage_step(run, "dhs", wait=False)


def _reference_steps(run: Run) -> list[str]:
    return ["ssa", *(["dhs"] if any(r.family == "identity_dhs" for r in run_rules(run)) else [])]


def _stage_step(run: Run, step: str, *, wait: bool = True) -> None:
    """Build one staging step unless it is there already (or, with wait=False, another worker is building it)."""
    table = {"cases": stage_name, "ssa": stage_ssa_name, "dhs": stage_dhs_name}[step](run.pk)
    with transaction.atomic(), connection.cursor() as cur:
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        cur.execute(f"SELECT {lock}(hashtext(%s), %s)", [f"crossref-stage-{step}", run.pk])
        if cur.fetchone()[0] is False:
            return
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        if cur.fetchone()[0]:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608
            if cur.fetchone()[0]:
                return
            if (
                step == "cases"
                and not Run.objects.filter(pk=run.pk).values_list("staged_rows", flat=True).first()
            ):
                return  # no case in scope: empty by right, not emptied by a crash
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute("SET LOCAL jit = off")
        cur.execute("SET LOCAL work_mem = '256MB'")
        # Statistics of the columns the rules filter and join on only: the planner needs row
        # counts and the SSN range's selectivity; histograms of names and dates would cost more
        # than they save.
        cur.execute("SET LOCAL default_statistics_target = 5")  # a sample of 1,500 rows per table
        bounds = list(
            run.partitions.filter(kind=Partition.Kind.SSN).order_by("lo").values_list("lo", "hi")
        ) or [("", "")]
        loads = sources.loads_by_source(run.reference_loads or [])
        scope = PartitionContext(
            run=run, partition=Partition(kind="ssn", lo=""), cursor=cur, rules=[]
        )
        where, params = scope.scope_sql("c")
        where += " AND c.submitted_at IS NOT NULL"
        if step == "cases":
            _stage_create(cur, table, _column_types(cur, sources.CASES, STAGE_COLUMNS), bounds)
            cur.execute(
                f"INSERT INTO {table} SELECT {', '.join('c.' + col for col in STAGE_COLUMNS)} "  # noqa: S608
                f"FROM {sources.CASES} c WHERE {where}",
                params,
            )
            Run.objects.filter(pk=run.pk).update(staged_rows=cur.rowcount)
            cur.execute(f"ANALYZE {table} (ssn_bidx, submitted_at, citizenship_status)")
        elif step == "ssa":
            _stage_create(
                cur, table, _column_types(cur, sources.NUMIDENT, SSA_STAGE_COLUMNS), bounds
            )
            cur.execute(
                f"INSERT INTO {table} SELECT {', '.join('n.' + col for col in SSA_STAGE_COLUMNS)} "  # noqa: S608
                f"FROM {sources.NUMIDENT} n WHERE n.load_id = %s",
                [loads.get("ssa", 0)],
            )
            cur.execute(f"ANALYZE {table} (ssn_bidx)")
        else:
            _stage_dhs(cur, table, where, {**params, "dhs": loads.get("dhs", 0)}, bounds)


def _column_types(
    cur: Any, source: str, columns: Sequence[str], prefix: str = ""
) -> list[tuple[str, str]]:
    """(prefix + column, its SQL type in `source`) for each of `columns`, in their order."""
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        [source],
    )
    types = dict(cur.fetchall())
    return [(prefix + col, types[col]) for col in columns]


def _stage_create(
    cur: Any, name: str, columns: Sequence[tuple[str, str]], bounds: list[tuple[str, str]]
) -> None:
    """A table of `columns` (name, SQL type) partitioned by range of ssn_bidx: one UNLOGGED child per bound."""
    cur.execute(
        f"CREATE TABLE {name} ({', '.join(f'{col} {sql_type}' for col, sql_type in columns)}) "
        "PARTITION BY RANGE (ssn_bidx)"
    )
    for i, (lo, hi) in enumerate(bounds):
        lo_sql = "%s" if lo else "MINVALUE"
        hi_sql = "%s" if hi else "MAXVALUE"
        values = [v for v in (lo, hi) if v]
        # Bounds are literals (DDL takes no parameters); mogrify quotes them.
        raw = cur.cursor if hasattr(cur, "cursor") else cur
        ddl = raw.mogrify(
            f"CREATE UNLOGGED TABLE {name}_p{i} PARTITION OF {name} FOR VALUES FROM ({lo_sql}) TO ({hi_sql})",
            values,
        ).decode()
        cur.execute(ddl.replace("%", "%%"))


def _stage_dhs(
    cur: Any, name: str, where: str, params: dict[str, Any], bounds: list[tuple[str, str]]
) -> None:
    """The DHS record each noncitizen case's documents lead to, for the run's scope, matched once for the whole run.

    A case's A-Number leads first, then its I-94, then its passport number; where one number
    leads to several records (a keying error at DHS), the one that agrees on the date of birth,
    then the lowest id. Three hash joins over the load and one sort, linear in the data: looked
    up case by case instead, every noncitizen case of every partition would probe the identifier
    indexes and the heap of DHS at random, which stop fitting PostgreSQL's buffer cache as the
    load grows (at 5M cases, 1M DHS records). Cases with no record have no row here. The rows
    are routed by the case's SSN blind index, so a partition reads only its own slice.
    """
    columns = [
        *_column_types(cur, sources.CASES, ["ssn_bidx"]),
        ("case_id", "bigint"),
        ("d_id", "bigint"),
        ("matched_by", "text"),
        *_column_types(cur, sources.DHS, STAGE_DHS_COLUMNS, prefix="d_"),
    ]
    _stage_create(cur, name, columns, bounds)
    # The noncitizen cases are read once (a narrow materialized CTE), then
    # hash-joined to the load on each identifier. The planner, left to itself, takes a nested loop
    # of index probes (random reads of DHS, the very cost this table avoids) or a merge join
    # (sorting both sides by a 64-character text key): hash joins only, for this statement.
    by_document = " UNION ALL ".join(
        f"SELECT c.id AS case_id, c.ssn_bidx, x.id AS d_id, {rank} AS rank, '{label}' AS matched_by, "  # noqa: S608
        f"x.date_of_birth IS NOT DISTINCT FROM c.date_of_birth AS same_dob, "
        + ", ".join(f"x.{col} AS d_{col}" for col in STAGE_DHS_COLUMNS)
        + f" FROM noncitizen c JOIN {sources.DHS} x ON x.{column} = c.{column} AND x.load_id = %(dhs)s "
        f"WHERE c.{column} <> '' AND x.{column} <> ''"
        for rank, (label, column) in enumerate(
            [("a_number", "a_number_bidx"), ("i94", "i94_bidx"), ("passport", "passport_bidx")],
            start=1,
        )
    )
    kept = ", ".join(col for col, _ in columns)
    cur.execute("SET LOCAL enable_mergejoin = off")  # the step's own transaction: until its commit
    cur.execute("SET LOCAL enable_nestloop = off")
    cur.execute(
        f"WITH noncitizen AS MATERIALIZED (SELECT c.id, c.ssn_bidx, c.date_of_birth, c.a_number_bidx, "  # noqa: S608
        f"c.i94_bidx, c.passport_bidx FROM {sources.CASES} c WHERE {where} "
        "AND c.citizenship_status IN ('permanent_resident', 'authorized_alien')) "
        f"INSERT INTO {name} ({kept}) SELECT DISTINCT ON (case_id) {kept} FROM ({by_document}) m "
        "ORDER BY case_id, rank, same_dob DESC, d_id",
        params,
    )
    cur.execute(f"ANALYZE {name} (ssn_bidx, case_id)")


def stage_drop(run_id: int) -> None:
    """Drop a finished run's staging tables."""
    with connection.cursor() as cur:
        cur.execute(
            f"DROP TABLE IF EXISTS {stage_name(run_id)}, {stage_ssa_name(run_id)}, {stage_dhs_name(run_id)}"
        )


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
    """Ids of partitions whose lease ran out (their worker died or stalled)."""
    now = now or timezone.now()
    return Partition.objects.filter(
        status=PartitionStatus.RUNNING, lease_expires_at__lt=now, run__status=RunStatus.RUNNING
    ).values_list("pk", flat=True)


def stale_pending(now: Any | None = None) -> Iterable[int]:
    """Pending partitions whose message may have been lost (Redis restarted) and need resending."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.CROSSREF["RESEND_PENDING_AFTER_SECONDS"]))
    return Partition.objects.filter(
        status=PartitionStatus.PENDING, run__status=RunStatus.RUNNING, enqueued_at__lt=cutoff
    ).values_list("pk", flat=True)
