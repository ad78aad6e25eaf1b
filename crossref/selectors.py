"""Reads of the engine: run progress, shadow comparisons, per-rule quality counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from core.errors import NotFound
from crossref import registry
from crossref.models import Finding, Run, RunMode


@dataclass
class Progress:
    """Where a run stands: partitions, rows, hits per rule, rate and ETA."""

    run_id: int
    status: str
    partitions_total: int
    partitions_done: int
    partitions_running: int
    partitions_failed: int
    rows_examined: int
    rows_estimated: int
    hits: dict[str, int] = field(default_factory=dict)
    new_findings: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    rate: float = 0.0  # rows per second
    eta_seconds: float | None = None
    errors: list[str] = field(default_factory=list)
    family_seconds: dict[str, float] = field(default_factory=dict)
    candidate_pairs: dict[str, int] = field(
        default_factory=dict
    )  # ENF-LINK's blocking rule -> pairs

    @property
    def percent(self) -> int:
        """Share of partitions finished, 0-100."""
        return (
            int(100 * self.partitions_done / self.partitions_total)
            if self.partitions_total
            else 100
        )

    @property
    def total_hits(self) -> int:
        """Hits across all rules."""
        return sum(self.hits.values())


def run_progress(*, run: Run) -> Progress:
    """Progress figures of one run, from its partitions' committed counters."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FILTER (WHERE status IN ('done', 'failed', 'cancelled')),
                   count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'failed'),
                   coalesce(sum(rows_examined), 0)
              FROM crossref_partition WHERE run_id = %s
            """,
            [run.pk],
        )
        done, running, failed, rows = (int(v) for v in cur.fetchone())
        cur.execute(
            "SELECT e.key, sum(e.value::bigint) FROM crossref_partition p, jsonb_each_text(p.hits) e "
            "WHERE p.run_id = %s GROUP BY e.key ORDER BY e.key",
            [run.pk],
        )
        hits = {k: int(v) for k, v in cur.fetchall()}
        cur.execute(
            "SELECT e.key, sum(e.value::bigint) FROM crossref_partition p, jsonb_each_text(p.new_findings) e "
            "WHERE p.run_id = %s GROUP BY e.key ORDER BY e.key",
            [run.pk],
        )
        new = {k: int(v) for k, v in cur.fetchall()}
        cur.execute(
            "SELECT number, error FROM crossref_partition WHERE run_id = %s AND status = 'failed' ORDER BY number",
            [run.pk],
        )
        errors = [f"partition {n}: {e}" for n, e in cur.fetchall()]
        cur.execute(
            "SELECT e.key, sum(e.value::float8) FROM crossref_partition p, jsonb_each_text(p.timings) e "
            "WHERE p.run_id = %s GROUP BY e.key ORDER BY e.key",
            [run.pk],
        )
        family_seconds = {k: round(float(v), 3) for k, v in cur.fetchall()}
        cur.execute(
            "SELECT e.key, sum(e.value::bigint) FROM crossref_partition p, jsonb_each_text(p.candidates) e "
            "WHERE p.run_id = %s GROUP BY e.key ORDER BY e.key",
            [run.pk],
        )
        candidate_pairs = {k: int(v) for k, v in cur.fetchall()}
    end = run.finished_at or timezone.now()
    elapsed = max((end - (run.started_at or run.created_at)).total_seconds(), 0.001)
    # Each partition examines its cases once per family of rows it reads; ETA from partitions.
    rate = rows / elapsed
    eta = None
    if run.status == "running" and done:
        eta = elapsed / done * (run.partitions_total - done)
    return Progress(
        run_id=run.pk,
        status=run.status,
        partitions_total=run.partitions_total,
        partitions_done=int(done),
        partitions_running=int(running),
        partitions_failed=int(failed),
        rows_examined=int(rows),
        rows_estimated=run.rows_estimated,
        hits=hits,
        new_findings=new,
        elapsed_seconds=elapsed,
        rate=rate,
        eta_seconds=eta,
        errors=errors,
        family_seconds=family_seconds,
        candidate_pairs=candidate_pairs,
    )


def get_run_for_user(*, user: Any, pk: int, action: str = "view") -> Run:
    """Fetch and authorize in one step; NotFound for missing and forbidden alike."""
    run = Run.objects.visible_to(user, action).select_related("owner").filter(pk=pk).first()
    if run is None:
        raise NotFound("No such run.")
    return cast(Run, run)


@dataclass
class ShadowComparison:
    """Added and removed hits of a candidate rule version against the current one, same data."""

    rule_code: str
    current_version: int
    candidate_version: int
    current_hits: int
    candidate_hits: int
    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]


def shadow_compare(*, run: Run, limit: int = 50) -> list[ShadowComparison]:
    """For each rule of a shadow run, hits only the candidate has (added) and only the current has (removed)."""
    if run.mode != RunMode.SHADOW:
        return []
    out = []
    for code, versions in sorted((run.rule_versions or {}).items()):
        current, candidate = int(versions[0]), int(versions[1])
        with connection.cursor() as cur:
            cur.execute(
                """
                SELECT count(*) FILTER (WHERE rule_version = %(cur)s), count(*) FILTER (WHERE rule_version = %(cand)s)
                  FROM crossref_shadowhit WHERE run_id = %(run)s AND rule_code = %(code)s
                """,
                {"cur": current, "cand": candidate, "run": run.pk, "code": code},
            )
            n_cur, n_cand = cur.fetchone()
            diff = """
                SELECT a.subject_key, a.evidence_key FROM crossref_shadowhit a
                 WHERE a.run_id = %(run)s AND a.rule_code = %(code)s AND a.rule_version = %(a)s
                   AND NOT EXISTS (SELECT 1 FROM crossref_shadowhit b WHERE b.run_id = a.run_id
                                   AND b.rule_code = a.rule_code AND b.rule_version = %(b)s
                                   AND b.subject_key = a.subject_key AND b.evidence_key = a.evidence_key)
                 ORDER BY 1, 2 LIMIT %(limit)s
            """
            cur.execute(
                diff, {"run": run.pk, "code": code, "a": candidate, "b": current, "limit": limit}
            )
            added = [tuple(r) for r in cur.fetchall()]
            cur.execute(
                diff, {"run": run.pk, "code": code, "a": current, "b": candidate, "limit": limit}
            )
            removed = [tuple(r) for r in cur.fetchall()]
        out.append(
            ShadowComparison(code, current, candidate, int(n_cur), int(n_cand), added, removed)
        )
    return out


@dataclass
class RuleQuality:
    """Per-rule counts for the Data Integrity Board."""

    code: str
    version: int
    title: str
    severity: str
    categories: tuple[str, ...]
    hits: int = 0
    open: int = 0
    dismissed: int = 0
    verified: int = 0
    adverse: int = 0
    no_action: int = 0

    @property
    def false_positive_rate(self) -> float | None:
        """Dismissed as false positive among the findings triaged so far."""
        decided = self.dismissed + self.verified + self.adverse + self.no_action
        return self.dismissed / decided if decided else None


def rule_quality() -> list[RuleQuality]:
    """Hits and triage outcomes of every current rule (fed back by the cases app)."""
    counts: dict[str, dict[str, int]] = {}
    rows = Finding.objects.order_by().values("rule_code", "disposition").annotate(n=Count("id"))
    for row in rows:
        counts.setdefault(row["rule_code"], {})[row["disposition"] or "open"] = row["n"]
    out = []
    for r in registry.current_rules():
        c = counts.get(r.code, {})
        out.append(
            RuleQuality(
                r.code,
                r.version,
                r.title,
                r.severity,
                r.categories,
                hits=sum(c.values()),
                open=c.get("open", 0),
                dismissed=c.get("dismissed", 0),
                verified=c.get("verified", 0),
                adverse=c.get("adverse", 0),
                no_action=c.get("no_action", 0),
            )
        )
    return out
