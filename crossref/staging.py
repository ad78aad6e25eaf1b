"""The run's staging copies: the cases, the SSA load and each noncitizen case's DHS match, built once per run
in three steps with their own locks (UNLOGGED tables, rebuilt when a crash emptied them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from crossref import sources
from crossref.context import PartitionContext, run_rules
from crossref.models import Partition, PartitionStatus, Run

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
    "passport_country",
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
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
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
                f"INSERT INTO {table} SELECT {', '.join('c.' + col for col in STAGE_COLUMNS)} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
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
                f"INSERT INTO {table} SELECT {', '.join('n.' + col for col in SSA_STAGE_COLUMNS)} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
                f"FROM {sources.NUMIDENT} n WHERE n.load_id = %s",
                [loads.get("ssa", 0)],
            )
            cur.execute(f"ANALYZE {table} (ssn_bidx)")
        else:
            _stage_dhs(cur, table, where, {**params, "dhs": loads.get("dhs", 0)}, bounds)


def _column_types(
    cur: Any, source: str, columns: Sequence[str], prefix: str = ""
) -> list[tuple[str, str]]:
    """(prefix + column, its SQL type in `source`) for each of `columns`, in their order.

    The type keeps the column's own collation (the blind indexes are "C"): the staging tables'
    partition key, and every join of a staged column to a source table, then compare alike.
    """
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) || CASE "
        "WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation "
        "THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
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
        f"SELECT c.id AS case_id, c.ssn_bidx, x.id AS d_id, {rank} AS rank, '{label}' AS matched_by, "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
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
        f"WITH noncitizen AS MATERIALIZED (SELECT c.id, c.ssn_bidx, c.date_of_birth, c.a_number_bidx, "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
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
