"""Rules over all the cases of one SSN: velocity across employers, several people on one SSN."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from crossref import names
from crossref.engine import PartitionContext
from crossref.registry import Rule, rule
from crossref.rules.common import dob_swapped, fetch_dicts, field
from crossref.rules.identity import _case_filter, _examined

CATS = ("verification_cases",)


def shared_ssn_cases(ctx: PartitionContext) -> str:
    """The partition's cases whose SSN has more than one case: all that the rules of this family read.

    Nearly every SSN has a single case; one count per SSN over the partition read in SSN order
    (through the SSN index: no hash and no second scan) finds the others, so velocity and
    multi-identity each work on a small table instead of re-reading the slice.
    """

    def build() -> str:
        where, params = _case_filter(ctx)
        ctx.cursor.execute("DROP TABLE IF EXISTS xr_ssn_multi")
        ctx.cursor.execute(
            f"""
            CREATE TEMP TABLE xr_ssn_multi ON COMMIT DROP AS
            SELECT id, employer_id, ssn_bidx, hire_date, created_at, first_name, last_name, other_last_names,
                   date_of_birth
              FROM (SELECT c.*, count(*) OVER (PARTITION BY ssn_bidx) AS cases_of_ssn
                      FROM (SELECT id, employer_id, ssn_bidx, hire_date, created_at, first_name, last_name,
                                   other_last_names, date_of_birth
                              FROM {ctx.cases} c WHERE {where} ORDER BY ssn_bidx) c) x
             WHERE cases_of_ssn > 1
        """,  # noqa: S608  # nosec B608 # table and column names are ours
            params,
        )
        ctx.cursor.execute("ANALYZE xr_ssn_multi")
        return "xr_ssn_multi"

    return ctx.once("ssn_multi", build)


def _ssn_source(ctx: PartitionContext, min_cases: int) -> tuple[str, str, dict[str, Any]]:
    """(table, predicate, params) of the cases an SSN rule reads: the shared multi-case table when the
    rule needs at least two cases of one SSN, else the partition itself."""
    if min_cases >= 2:
        return shared_ssn_cases(ctx), "TRUE", {}
    where, params = _case_filter(ctx)
    return ctx.cases, where, params


@rule(
    code="SSN-VELOCITY",
    version=1,
    title="One SSN at many employers at once",
    severity="high",
    categories=CATS,
    family="ssn",
    description="One SSN has cases at K or more different employers whose hire dates fall inside one window "
    "of W days (K and W are settings: CROSSREF_VELOCITY_K, CROSSREF_VELOCITY_WINDOW_DAYS).",
)
def ssn_velocity(ctx: PartitionContext, r_: Rule) -> None:
    _examined(ctx)
    k = int(settings.CROSSREF["VELOCITY_K"])
    table, where, params = _ssn_source(ctx, k)
    params.update(k=k, w=int(settings.CROSSREF["VELOCITY_WINDOW_DAYS"]))
    # For each case, the distinct employers of the same SSN hired in the W days up to it; the first
    # window reaching K is the evidence (stable across re-runs over the same data).
    ctx.insert_select(
        r_,
        f"""
        WITH c AS (SELECT id, employer_id, ssn_bidx, hire_date FROM {table} c WHERE {where}),
        multi AS (SELECT ssn_bidx FROM c GROUP BY ssn_bidx HAVING count(DISTINCT employer_id) >= %(k)s),
        win AS (
            SELECT a.ssn_bidx, a.hire_date AS window_end, count(DISTINCT b.employer_id) AS employers,
                   array_agg(DISTINCT b.id ORDER BY b.id) AS case_ids
              FROM c a JOIN multi USING (ssn_bidx)
              JOIN c b ON b.ssn_bidx = a.ssn_bidx AND b.hire_date BETWEEN a.hire_date - %(w)s AND a.hire_date
             GROUP BY a.ssn_bidx, a.id, a.hire_date
            HAVING count(DISTINCT b.employer_id) >= %(k)s
        ),
        first AS (SELECT DISTINCT ON (ssn_bidx) * FROM win ORDER BY ssn_bidx, window_end, employers DESC)
        SELECT 'worker' AS subject_type, 'ssn:' || ssn_bidx AS subject_key,
               'window:' || (window_end - %(w)s)::text AS evidence_key,
               case_ids[array_length(case_ids, 1)]::bigint AS case_id, NULL::bigint AS employer_id,
               ssn_bidx AS ssn_index,
               jsonb_build_array(jsonb_build_object('field', 'employers', 'source', 'cases',
                   'submitted', employers, 'reference', %(k)s, 'score', NULL)) AS fields,
               jsonb_build_object('case_ids', case_ids, 'window_days', %(w)s, 'window_end', window_end) AS evidence,
               least(1.0, employers::float8 / (2 * %(k)s)) + 0.5 AS score,
               'One SSN at ' || employers || ' employers within ' || %(w)s || ' days.' AS summary,
               'high' AS severity, FALSE AS is_clerical
          FROM first
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        params,
    )


@rule(
    code="SSN-MULTI-IDENTITY",
    version=1,
    title="One SSN used by different people",
    severity="high",
    categories=CATS,
    family="ssn",
    description="Cases with the same SSN carry names or dates of birth that do not reconcile after "
    "normalization (variants, two given names, compound surnames, day/month swaps are reconciled).",
)
def ssn_multi_identity(ctx: PartitionContext, r_: Rule) -> None:
    _examined(ctx)
    table, where, params = _ssn_source(ctx, 2)
    rows = fetch_dicts(
        ctx.cursor,
        f"""
        WITH c AS (SELECT id, employer_id, ssn_bidx, first_name, last_name, other_last_names, date_of_birth
                     FROM {table} c WHERE {where}),
        multi AS (SELECT ssn_bidx FROM c GROUP BY ssn_bidx
                  HAVING count(DISTINCT (lower(first_name), lower(last_name), date_of_birth)) > 1)
        SELECT c.* FROM c JOIN multi USING (ssn_bidx) ORDER BY c.ssn_bidx, c.id
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        params,
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["ssn_bidx"], []).append(r)
    out = []
    for bidx, cases in groups.items():
        # Greedy clustering: a case joins the first identity it reconciles with.
        clusters: list[list[dict[str, Any]]] = []
        for c in cases:
            for cl in clusters:
                head = cl[0]
                same_dob = c["date_of_birth"] == head["date_of_birth"] or dob_swapped(
                    c["date_of_birth"], head["date_of_birth"]
                )
                score = names.compare_many(
                    [
                        names.NamePair(
                            c["first_name"],
                            c["last_name"],
                            head["first_name"],
                            head["last_name"],
                            c["other_last_names"] or "",
                        )
                    ]
                )[0]
                if same_dob and names.is_variant(float(score)):
                    cl.append(c)
                    break
            else:
                clusters.append([c])
        if len(clusters) < 2:
            continue
        heads = [cl[0] for cl in clusters]
        out.append(
            {
                "subject_type": "worker",
                "subject_key": f"ssn:{bidx}",
                "evidence_key": "identities:" + ",".join(str(h["id"]) for h in heads),
                "case_id": cases[-1]["id"],
                "employer_id": None,
                "ssn_index": bidx,
                "fields": [
                    field(
                        "identity",
                        "cases",
                        f"{h['first_name']} {h['last_name']}",
                        h["date_of_birth"],
                        None,
                    )
                    for h in heads
                ],
                "evidence": {"identities": [[c["id"] for c in cl] for cl in clusters]},
                "score": min(1.0, 0.5 + 0.25 * len(clusters)),
                "summary": f"One SSN used with {len(clusters)} different identities.",
            }
        )
    ctx.emit(r_, out)


@rule(
    code="SSN-VELOCITY",
    version=2,
    title="One SSN at many employers at once (by case dates)",
    severity="high",
    categories=CATS,
    family="ssn",
    current=False,
    description="Candidate: as version 1, but the window runs over the dates the cases were created, which "
    "employers cannot back-date, instead of the hire dates they enter.",
)
def ssn_velocity_v2(ctx: PartitionContext, r_: Rule) -> None:
    _examined(ctx)
    k = int(settings.CROSSREF["VELOCITY_K"])
    table, where, params = _ssn_source(ctx, k)
    params.update(k=k, w=int(settings.CROSSREF["VELOCITY_WINDOW_DAYS"]))
    ctx.insert_select(
        r_,
        f"""
        WITH c AS (SELECT id, employer_id, ssn_bidx, created_at::date AS d FROM {table} c WHERE {where}),
        multi AS (SELECT ssn_bidx FROM c GROUP BY ssn_bidx HAVING count(DISTINCT employer_id) >= %(k)s),
        win AS (
            SELECT a.ssn_bidx, a.d AS window_end, count(DISTINCT b.employer_id) AS employers
              FROM c a JOIN multi USING (ssn_bidx)
              JOIN c b ON b.ssn_bidx = a.ssn_bidx AND b.d BETWEEN a.d - %(w)s AND a.d
             GROUP BY a.ssn_bidx, a.id, a.d HAVING count(DISTINCT b.employer_id) >= %(k)s),
        first AS (SELECT DISTINCT ON (ssn_bidx) * FROM win ORDER BY ssn_bidx, window_end)
        SELECT 'worker' AS subject_type, 'ssn:' || ssn_bidx AS subject_key,
               'window:' || (window_end - %(w)s)::text AS evidence_key, NULL::bigint AS case_id,
               NULL::bigint AS employer_id, ssn_bidx AS ssn_index, '[]'::jsonb AS fields, '{{}}'::jsonb AS evidence,
               1.0::float8 AS score, 'One SSN at ' || employers || ' employers (case dates).' AS summary,
               'high' AS severity, FALSE AS is_clerical
          FROM first
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        params,
    )
