"""What a rule sees while a partition runs: its cursor, its slice of the data, its run's rules and agreements,
and the one way findings are written (INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from psycopg2.extras import execute_values

from crossref import registry, sources
from crossref.models import Partition, Run, RunMode
from crossref.registry import Rule

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

T = TypeVar("T")


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
    timings: dict[str, float] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)  # blocking rule -> candidate pairs

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

    def once(self, key: str, build: Callable[[], T]) -> T:
        """Compute something shared by several rules of the partition only once."""
        if key not in self.cache:
            self.cache[key] = build()
        return cast(T, self.cache[key])

    def wants(self, code: str) -> list[Rule]:
        """The versions of `code` this partition runs (two in a shadow comparison)."""
        return [r for r in self.rules if r.code == code]

    # --- Writing hits -------------------------------------------------------------------------
    def insert_select(self, rule: Rule, select_sql: str, params: dict[str, Any]) -> int:
        """Write the hits a SELECT yields (columns HIT_COLUMNS) in one set-based statement."""
        target, values = self._target(rule)
        sql = (
            f"WITH hits AS ({select_sql}), ins AS ({target} SELECT {values} FROM hits "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
            f"ON CONFLICT DO NOTHING RETURNING 1) "
            "SELECT (SELECT count(*) FROM hits), (SELECT count(*) FROM ins)"
        )
        self.cursor.execute(sql, {**params, **self._rule_params(rule)})
        hits, new = self.cursor.fetchone()
        self._count(rule, hits, new)
        return int(hits)

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
            f"WITH hits({cols}) AS (VALUES %s), ins AS ({target} SELECT {values} FROM "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
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
