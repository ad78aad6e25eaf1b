"""Employer-behaviour rules: set-based SQL over the cases of the employers in one bucket.

They read the cases table itself (`staged=False`): two scans of it (the per-employer counts, and
the few cases a per-case rule may flag) need no copy sorted by SSN, and the employer partition
runs while another worker builds the run's staging copy for the SSN partitions.

Rates are judged against peers (same NAICS industry and state, the employer itself excluded)
with a one-sided z-test for a proportion: z = (x/n - p0) / sqrt(p0 (1 - p0) / n), where p0 is
the peers' rate (smoothed by +0.5/+1 so that an empty peer group does not divide by zero). An
employer is flagged when z exceeds the normal quantile of 1 - alpha (CROSSREF_EMPLOYER_ALPHA,
0.001 by default: z > 3.09) and it has at least CROSSREF_EMPLOYER_MIN_CASES cases. No fixed
cut-off on the rate itself.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

from django.conf import settings

from crossref import sources
from crossref.engine import PartitionContext
from crossref.registry import Rule, rule
from crossref.rules.common import working_day_table

CATS = ("verification_cases", "employer_data")


def _bucket(ctx: PartitionContext, alias: str = "c") -> tuple[str, dict[str, Any]]:
    bucket_sql, bucket_params = ctx.employer_bucket_sql(f"{alias}.employer_id")
    scope_sql, scope_params = ctx.scope_sql(alias)
    return f"{bucket_sql} AND {scope_sql} AND {alias}.submitted_at IS NOT NULL", {
        **bucket_params,
        **scope_params,
    }


# The per-case rules' conditions, on a case `c` and its employer `e`. `bucket_cases` copies the
# cases meeting any of them in one scan; each rule then applies its own to that small table.
TNC_IDLE = "c.status = 'tentative_nonconfirmation' AND c.decision = ''"
NOT_CLOSED = (
    "c.status IN ('final_nonconfirmation', 'dhs_no_show', 'close_and_resubmit') "
    "AND c.status_changed_at < now() - interval '30 days'"
)
FNC_KEPT = "c.closure_code = 'continues_after_fnc'"
PRESCREEN = "c.created_at::date < c.offer_accepted_on OR c.closure_code = 'not_hired'"
EXISTING = "c.hire_date < e.mou_signed_on AND NOT e.is_federal_contractor AND c.late_reason <> 'federal_contractor'"
PER_CASE = (TNC_IDLE, NOT_CLOSED, FNC_KEPT, PRESCREEN, EXISTING)


def bucket_cases(ctx: PartitionContext) -> str:
    """The cases of this partition's employers that any per-case rule may flag.

    The per-employer pass (`employer_doc_stats`) collects their ids as it scans; they are
    fetched here by primary key, a percent or two of the cases, without a second scan.
    """

    def build() -> str:
        doc = employer_doc_stats(ctx)
        bucket_sql, params = ctx.employer_bucket_sql("employer_id")
        ctx.cursor.execute("DROP TABLE IF EXISTS xr_bucket")
        ctx.cursor.execute(
            f"CREATE TEMP TABLE xr_bucket ON COMMIT DROP AS SELECT c.* FROM {ctx.cases} c "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
            f"JOIN (SELECT DISTINCT unnest(flagged) AS id FROM {doc} WHERE {bucket_sql}) f ON f.id = c.id",
            params,
        )
        ctx.cursor.execute("ANALYZE xr_bucket")
        return "xr_bucket"

    return ctx.once("bucket_cases", build)


def _examined(ctx: PartitionContext) -> None:
    """Count the partition's cases once, from the per-employer aggregates."""

    def count() -> int:
        stats = employer_stats(ctx)
        bucket_sql, params = ctx.employer_bucket_sql("employer_id")
        ctx.cursor.execute(f"SELECT coalesce(sum(n), 0) FROM {stats} WHERE {bucket_sql}", params)  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        n = int(ctx.cursor.fetchone()[0])
        ctx.rows_examined += n
        return n

    ctx.once("employer_examined", count)


def _z_crit() -> float:
    return NormalDist().inv_cdf(1.0 - float(settings.CROSSREF["EMPLOYER_ALPHA"]))


def _per_case(
    ctx: PartitionContext,
    r_: Rule,
    *,
    condition: str,
    evidence: str,
    summary: str,
    fields_sql: str,
    extra_params: dict[str, Any] | None = None,
    joins: str = "",
) -> None:
    """One finding per offending case; the subject is the employer, the evidence the case."""
    _examined(ctx)
    table = bucket_cases(ctx)
    params = dict(extra_params or {})
    ctx.insert_select(
        r_,
        f"""
        SELECT 'employer' AS subject_type, 'employer:' || c.employer_id AS subject_key,
               '{evidence}:' || c.id AS evidence_key, c.id AS case_id, c.employer_id, c.ssn_bidx AS ssn_index,
               {fields_sql} AS fields, jsonb_build_object('case_id', c.id) AS evidence, 1.0::float8 AS score,
               {summary} AS summary, %(sev)s AS severity, FALSE AS is_clerical
          FROM {table} c JOIN {sources.EMPLOYERS} e ON e.id = c.employer_id {joins}
         WHERE ({condition})
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        {**params, "sev": r_.severity},
    )


def _jf(name: str, submitted: str, reference: str) -> str:
    return (
        f"jsonb_build_array(jsonb_build_object('field', '{name}', 'source', 'case', "
        f"'submitted', {submitted}, 'reference', {reference}, 'score', NULL))"
    )


def employer_doc_stats(ctx: PartitionContext) -> str:
    """One pass over the cases in scope: per employer and document type, the counts every rate rule tests,
    and the ids of the cases a per-case rule may flag."""

    def build() -> str:
        cal = working_day_table(ctx)
        scope_sql, params = ctx.scope_sql("c")
        flagged = " OR ".join(
            f"({cond})" for cond in PER_CASE
        )  # the cases a per-case rule may flag
        ctx.cursor.execute("DROP TABLE IF EXISTS xr_emp_doc")
        # Each case reduced to the few values the aggregates take, below an optimization fence
        # (OFFSET 0): the aggregate then sorts or hashes narrow rows, not every column its
        # conditions read (at 5M cases the wide sort spilled 640 MB and the pass took 16 s; 10 s now).
        # Industry and state are the employer's: joined to the aggregates, not grouped by.
        ctx.cursor.execute(
            f"""
            CREATE TEMP TABLE xr_emp_doc ON COMMIT DROP AS
            SELECT a.employer_id, e.naics, e.state, a.grp, a.n, a.late, a.tnc, a.noncitizen, a.flagged
              FROM (SELECT employer_id, grp, count(*) AS n, count(*) FILTER (WHERE late) AS late,
                           count(*) FILTER (WHERE tnc) AS tnc, count(*) FILTER (WHERE noncitizen) AS noncitizen,
                           array_agg(flagged) FILTER (WHERE flagged IS NOT NULL) AS flagged
                      FROM (SELECT c.employer_id, c.document_type AS grp, cc.wd - ch.wd > 3 AS late,
                                   c.tnc_source <> '' AS tnc,
                                   c.citizenship_status IN ('permanent_resident', 'authorized_alien') AS noncitizen,
                                   CASE WHEN {flagged} THEN c.id END AS flagged
                              FROM {ctx.cases} c JOIN {sources.EMPLOYERS} e ON e.id = c.employer_id
                              LEFT JOIN {cal} ch ON ch.d = c.hire_date LEFT JOIN {cal} cc ON cc.d = (c.created_at)::date
                             WHERE {scope_sql} AND c.submitted_at IS NOT NULL OFFSET 0) x
                     GROUP BY 1, 2) a
              JOIN {sources.EMPLOYERS} e ON e.id = a.employer_id
        """,  # noqa: S608  # nosec B608 # table and column names are ours
            params,
        )
        ctx.cursor.execute("ANALYZE xr_emp_doc")  # the doc-share query joins it to itself
        return "xr_emp_doc"

    return ctx.once("employer_doc_stats", build)


def employer_stats(ctx: PartitionContext) -> str:
    """Per employer: its cases and the counts every rate rule tests (the document-type pass, rolled up)."""

    def build() -> str:
        doc = employer_doc_stats(ctx)
        ctx.cursor.execute("DROP TABLE IF EXISTS xr_emp")
        ctx.cursor.execute(f"""
            CREATE TEMP TABLE xr_emp ON COMMIT DROP AS
            SELECT employer_id, naics, state, sum(n)::bigint AS n, sum(late)::bigint AS late,
                   sum(tnc)::bigint AS tnc, sum(noncitizen)::bigint AS noncitizen
              FROM {doc} GROUP BY 1, 2, 3
        """)  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        ctx.cursor.execute("ANALYZE xr_emp")
        return "xr_emp"

    return ctx.once("employer_stats", build)


def _rate(ctx: PartitionContext, r_: Rule, *, column: str, label: str, evidence: str) -> None:
    """Flag employers whose rate of `column` cases is far above their peers' (one-sided z-test)."""
    _examined(ctx)
    stats = employer_stats(ctx)
    bucket_sql, params = ctx.employer_bucket_sql("employer_id")
    params.update(zc=_z_crit(), min=int(settings.CROSSREF["EMPLOYER_MIN_CASES"]), sev=r_.severity)
    ctx.insert_select(
        r_,
        f"""
        WITH peers AS (
            SELECT employer_id, n AS total, {column} AS x,
                   (sum({column}) OVER w - {column} + 0.5) / (sum(n) OVER w - n + 1.0) AS p0
              FROM {stats} WINDOW w AS (PARTITION BY naics, state)
        ),
        z AS (SELECT *, x::float8 / total AS rate, (x::float8 / total - p0) / sqrt(p0 * (1 - p0) / total) AS z
                FROM peers WHERE {bucket_sql} AND total >= %(min)s AND p0 < 1)
        SELECT 'employer' AS subject_type, 'employer:' || employer_id AS subject_key, '{evidence}' AS evidence_key,
               NULL::bigint AS case_id, employer_id, '' AS ssn_index,
               jsonb_build_array(jsonb_build_object('field', '{label}', 'source', 'cases',
                   'submitted', round(rate::numeric, 4), 'reference', round(p0::numeric, 4), 'score', round(z::numeric, 2))
               ) AS fields,
               jsonb_build_object('cases', total, 'hits', x, 'peer_rate', round(p0::numeric, 5), 'z', round(z::numeric, 3),
                                  'z_critical', round(%(zc)s::numeric, 3), 'test', 'one-sided z-test for a proportion')
                   AS evidence,
               least(1.0, z / (2 * %(zc)s)) AS score,
               '{label}: ' || round(100 * rate::numeric, 1) || '%% vs peers ' || round(100 * p0::numeric, 1)
                   || '%% (z = ' || round(z::numeric, 1) || ').' AS summary,
               %(sev)s AS severity, FALSE AS is_clerical
          FROM z WHERE z > %(zc)s
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        params,
    )


@rule(
    code="EMP-LATE",
    version=1,
    title="Late case creation rate",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="Share of cases created after the 3rd federal working day from the first day of work "
    "(coded reason or not: the reason is recorded, the lateness is the pattern), far above peers "
    "of the same industry and state (z-test).",
)
def employer_late(ctx: PartitionContext, r_: Rule) -> None:
    _rate(ctx, r_, column="late", label="Late cases", evidence="late")


@rule(
    code="EMP-TNC-RATE",
    version=1,
    title="Mismatch rate far above peers",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="Share of cases with a Tentative Nonconfirmation far above peers of the same NAICS industry "
    "and state (one-sided z-test for a proportion at alpha = CROSSREF_EMPLOYER_ALPHA).",
)
def employer_tnc_rate(ctx: PartitionContext, r_: Rule) -> None:
    _rate(ctx, r_, column="tnc", label="TNC rate", evidence="tnc_rate")


@rule(
    code="EMP-DOC-SHARE",
    version=1,
    title="Unusual share of one document type",
    severity="low",
    categories=CATS,
    family="employer",
    staged=False,
    description="Share of one document type among the employer's cases far above that type's share among "
    "peers of the same industry and state (z-test, per document type).",
)
def employer_doc_share(ctx: PartitionContext, r_: Rule) -> None:
    # Per document type: x = the employer's cases with that type, n = all its cases.
    _examined(ctx)
    doc = employer_doc_stats(ctx)
    bucket_sql, bucket_params = ctx.employer_bucket_sql("employer_id")
    params = {
        **bucket_params,
        "zc": _z_crit(),
        "min": int(settings.CROSSREF["EMPLOYER_MIN_CASES"]),
        "sev": r_.severity,
    }
    ctx.insert_select(
        r_,
        f"""
        WITH emp AS (
            -- Window sums over the small per-(employer, type) table: the employer's total, and its
            -- peers' (same industry and state) counts of the type and of all cases.
            SELECT employer_id, naics, state, grp, n AS x,
                   sum(n) OVER (PARTITION BY employer_id, naics, state) AS total,
                   sum(n) OVER (PARTITION BY naics, state, grp) AS px,
                   sum(n) OVER (PARTITION BY naics, state) AS pn
              FROM {doc}),
        z AS (
            SELECT employer_id, naics, state, grp, x, total, x::float8 / total AS rate,
                   (px - x + 0.5) / (pn - total + 1.0) AS p0
              FROM emp WHERE {bucket_sql} AND total >= %(min)s),
        zz AS (SELECT *, (rate - p0) / sqrt(p0 * (1 - p0) / total) AS z FROM z WHERE p0 < 1)
        SELECT 'employer' AS subject_type, 'employer:' || employer_id AS subject_key, 'doc_share:' || grp AS evidence_key,
               NULL::bigint AS case_id, employer_id, '' AS ssn_index,
               jsonb_build_array(jsonb_build_object('field', 'document_type:' || grp, 'source', 'cases',
                   'submitted', round(rate::numeric, 4), 'reference', round(p0::numeric, 4), 'score', round(z::numeric, 2)))
                   AS fields,
               jsonb_build_object('cases', total, 'hits', x, 'peer_rate', round(p0::numeric, 5), 'z', round(z::numeric, 3),
                                  'test', 'one-sided z-test for a proportion', 'document_type', grp) AS evidence,
               least(1.0, z / (2 * %(zc)s)) AS score,
               'Share of ' || grp || ': ' || round(100 * rate::numeric, 1) || '%% vs peers '
                   || round(100 * p0::numeric, 1) || '%%.' AS summary,
               %(sev)s AS severity, FALSE AS is_clerical
          FROM zz WHERE z > %(zc)s
    """,  # noqa: S608  # nosec B608 # table and column names are ours
        params,
    )


@rule(
    code="EMP-SELECTIVE",
    version=1,
    title="Selective verification",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="The employer runs E-Verify for some hires only: the share of its cases attested as noncitizens "
    "is far above peers (z-test), the pattern left when citizens' hires are never run.",
)
def employer_selective(ctx: PartitionContext, r_: Rule) -> None:
    _rate(ctx, r_, column="noncitizen", label="Noncitizen share", evidence="selective")


@rule(
    code="EMP-TNC-IDLE",
    version=1,
    title="Mismatch left idle",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="A Tentative Nonconfirmation with no employee decision more than 10 federal working days "
    "after it was issued (CROSSREF_TNC_IDLE_WORKING_DAYS).",
)
def employer_tnc_idle(ctx: PartitionContext, r_: Rule) -> None:
    cal = working_day_table(ctx)
    _per_case(
        ctx,
        r_,
        condition=f"{TNC_IDLE} AND (SELECT wd FROM {cal} WHERE d = current_date) - t.wd > %(idle)s",  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        joins=f"JOIN {cal} t ON t.d = coalesce(c.tnc_issued_on, c.status_changed_at::date)",
        extra_params={"idle": int(settings.CROSSREF["TNC_IDLE_WORKING_DAYS"])},
        evidence="tnc_idle",
        fields_sql=_jf(
            "tnc_issued_on", "coalesce(c.tnc_issued_on, c.status_changed_at::date)", "'no decision'"
        ),
        summary="'TNC left without a decision for more than ' || %(idle)s || ' working days.'",
    )


@rule(
    code="EMP-NOT-CLOSED",
    version=1,
    title="Case never closed",
    severity="low",
    categories=CATS,
    family="employer",
    staged=False,
    description="A case with a final result (Final Nonconfirmation, DHS No Show, Close and Resubmit) that the "
    "employer never closed, 30 or more days later.",
)
def employer_not_closed(ctx: PartitionContext, r_: Rule) -> None:
    _per_case(
        ctx,
        r_,
        condition=NOT_CLOSED,
        evidence="not_closed",
        fields_sql=_jf("status", "c.status", "'closed'"),
        summary="'Case left open after its final result (' || c.status || ').'",
    )


@rule(
    code="EMP-FNC-KEPT",
    version=1,
    title="Worker kept after Final Nonconfirmation",
    severity="high",
    categories=CATS,
    family="employer",
    staged=False,
    description="The employer closed a case as 'employee continues to work after Final Nonconfirmation'.",
)
def employer_fnc_kept(ctx: PartitionContext, r_: Rule) -> None:
    _per_case(
        ctx,
        r_,
        condition=FNC_KEPT,
        evidence="fnc_kept",
        fields_sql=_jf("closure_code", "c.closure_code", "'terminated_after_fnc'"),
        summary="'Worker kept after a Final Nonconfirmation.'",
    )


@rule(
    code="EMP-PRESCREEN",
    version=1,
    title="Prescreening",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="A case created before the job offer was accepted, or for an applicant never hired "
    "(closed as 'employee not hired').",
)
def employer_prescreen(ctx: PartitionContext, r_: Rule) -> None:
    _per_case(
        ctx,
        r_,
        condition=PRESCREEN,
        evidence="prescreen",
        fields_sql=_jf("offer_accepted_on", "c.created_at::date", "c.offer_accepted_on"),
        summary="CASE WHEN c.closure_code = 'not_hired' THEN 'Case run for an applicant never hired.' "
        "ELSE 'Case created before the job offer was accepted.' END",
    )


@rule(
    code="EMP-EXISTING",
    version=1,
    title="Existing employee verified",
    severity="medium",
    categories=CATS,
    family="employer",
    staged=False,
    description="A case for someone hired before the employer signed its E-Verify MOU (an existing employee), "
    "by an employer that is not a federal contractor.",
)
def employer_existing(ctx: PartitionContext, r_: Rule) -> None:
    _per_case(
        ctx,
        r_,
        condition=EXISTING,
        evidence="existing",
        fields_sql=_jf("hire_date", "c.hire_date", "e.mou_signed_on"),
        summary="'Existing employee verified (hired before the MOU).'",
    )
