"""DHS identity rules: a noncitizen's I-9 identity and work authorization against DHS immigration records.

Each noncitizen case's DHS record is matched once per run at staging (`crossref.staging`). At
submit, verification's instant result has looked the case's record up in the same order (A-Number,
I-94, passport; of several, the one born that day) and `instant_dhs_rows` takes it from there.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from crossref import names, sources
from crossref.engine import STAGE_DHS_COLUMNS, PartitionContext, stage_dhs_name
from crossref.registry import Rule, rule
from crossref.rules.common import dob_slip, fetch_dicts, field, loads
from crossref.rules.identity import DHS, NONCITIZEN, _base, _case_filter, _examined
from verification.instant import References


# --- DHS ---------------------------------------------------------------------------------------
def dhs_rows(ctx: PartitionContext) -> list[dict[str, Any]]:
    """Noncitizen cases of the partition with the DHS record their identifiers lead to (if any)."""

    def build() -> list[dict[str, Any]]:
        _examined(ctx)
        where, params = _case_filter(ctx)
        params["dhs"] = loads(ctx).get("dhs", 0)
        # The run's staging copy holds each case's DHS record, matched once for the run
        # (staging._stage_dhs); without one, `_dhs_match` looks each case's up in the same order.
        source, d_params = _dhs_match(ctx)
        params.update(d_params)
        rows = fetch_dicts(
            ctx.cursor,
            f"""
            SELECT c.id AS case_id, c.employer_id, c.ssn_bidx, c.first_name, c.last_name, c.other_last_names,
                   c.date_of_birth, c.hire_date, c.citizenship_status, c.a_number_last4, c.i94_last4,
                   c.passport_last4, c.work_authorization_expires_on,
                   d.d_id, d.d_first_name AS d_first, d.d_last_name AS d_last, d.d_date_of_birth AS d_dob,
                   d.d_work_authorized_from AS work_authorized_from,
                   d.d_work_authorized_until AS work_authorized_until, d.d_naturalized_on AS naturalized_on,
                   d.matched_by
              FROM {ctx.cases} c
              {source}
             WHERE {where} AND c.citizenship_status IN ('permanent_resident', 'authorized_alien')
               AND (d.d_id IS NULL OR d.d_date_of_birth <> c.date_of_birth
                    OR (d.d_last_name <> c.last_name AND lower(d.d_last_name) <> lower(c.last_name))
                    OR (d.d_first_name <> c.first_name AND lower(d.d_first_name) <> lower(c.first_name))
                    OR d.d_work_authorized_until < greatest(c.hire_date, current_date)
                    OR d.d_work_authorized_from > c.hire_date)
            """,  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
            params,
        )
        return score_dhs_rows(rows)

    return ctx.once("dhs_rows", build)


def score_dhs_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give the rows whose case has a DHS record their name score."""
    found = [r for r in rows if r["d_id"] is not None]
    scores = names.compare_many(
        [
            names.NamePair(
                r["first_name"],
                r["last_name"],
                r["d_first"],
                r["d_last"],
                r["other_last_names"] or "",
                same_birth_date=r["d_dob"] == r["date_of_birth"],
            )
            for r in found
        ]
    )
    for r, s in zip(found, scores, strict=True):
        r["name_score"] = float(s)
    return rows


def instant_dhs_rows(case: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    """The row `dhs_rows` gives for one case, from the record its instant result found (none for a citizen)."""
    if case["citizenship_status"] not in NONCITIZEN:
        return []
    d = refs.immigration
    row = {
        **case,
        "d_id": d.pk if d else None,
        "d_first": d.first_name if d else None,
        "d_last": d.last_name if d else None,
        "d_dob": d.date_of_birth if d else None,
        "work_authorized_from": d.work_authorized_from if d else None,
        "work_authorized_until": d.work_authorized_until if d else None,
        "naturalized_on": d.naturalized_on if d else None,
        "matched_by": refs.immigration_via or None,
    }
    return score_dhs_rows([row])


def _dhs_match(ctx: PartitionContext) -> tuple[str, dict[str, Any]]:
    """The join giving each case `d` (columns as engine.STAGE_DHS_COLUMNS with d_, d_id and matched_by), and its parameters."""
    if ctx.stage:
        d_range, d_params = ctx.ssn_range_sql("d.ssn_bidx")
        return (
            f"LEFT JOIN {stage_dhs_name(ctx.run.pk)} d ON d.case_id = c.id AND {d_range}",
            d_params,
        )
    # Without a staging copy: the same order as staging._stage_dhs, an index look-up per identifier.
    lookups = [
        f"""LEFT JOIN LATERAL (SELECT x.id FROM {sources.DHS} x WHERE {" AND ".join(f"{k}.id IS NULL" for k in earlier) or "TRUE"}
               AND c.{column} <> '' AND x.{column} <> '' AND x.{column} = c.{column} AND x.load_id = %(dhs)s
               ORDER BY (x.date_of_birth IS NOT DISTINCT FROM c.date_of_birth) DESC, x.id LIMIT 1) {alias} ON TRUE"""  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        for alias, column, earlier in (
            ("da", "a_number_bidx", ()),
            ("di", "i94_bidx", ("da",)),
            ("dp", "passport_bidx", ("da", "di")),
        )
    ]
    columns = ", ".join(f"x.{col} AS d_{col}" for col in STAGE_DHS_COLUMNS)
    return (
        "\n".join(lookups)  # noqa: S608  # nosec B608 # table and column names are ours
        + f"""
        CROSS JOIN LATERAL (SELECT coalesce(da.id, di.id, dp.id) AS id,
             CASE WHEN da.id IS NOT NULL THEN 'a_number' WHEN di.id IS NOT NULL THEN 'i94'
                  WHEN dp.id IS NOT NULL THEN 'passport' END AS matched_by) m
        -- By primary key, for the few rows found (LIMIT 1 keeps the planner from hashing all of DHS).
        LEFT JOIN LATERAL (SELECT x.id AS d_id, m.matched_by, {columns} FROM {sources.DHS} x WHERE x.id = m.id LIMIT 1) d
          ON TRUE""",  # noqa: S608  # nosec B608 # table and column names are ours
        {},
    )


def _ident(r: dict[str, Any]) -> str:
    for key in ("a_number_last4", "i94_last4", "passport_last4"):
        if r.get(key):
            return f"•••{r[key]}"
    return ""


@rule(
    code="DHS-NOTFOUND",
    version=1,
    title="No DHS record for the documents",
    severity="high",
    categories=DHS,
    family="identity_dhs",
    description="A noncitizen's A-Number, I-94 and passport number lead to no DHS immigration record.",
)
def dhs_not_found(ctx: PartitionContext, r_: Rule) -> None:
    ctx.emit(
        r_,
        [
            {
                **_base(r, "dhs:none"),
                "score": 1.0,
                "fields": [field("a_number", "dhs", _ident(r), None, 0.0)],
                "evidence": {"compared": ["case", "immigration"]},
                "summary": "No DHS record for the documents submitted.",
            }
            for r in dhs_rows(ctx)
            if r["d_id"] is None
        ],
    )


@rule(
    code="DHS-IDENTITY",
    version=2,
    title="Name or date of birth disagree with DHS",
    severity="medium",
    categories=DHS,
    family="identity_dhs",
    description="The DHS record found by A-Number, I-94 or passport is of a person whose normalized name or "
    "date of birth does not reconcile with the case.",
)
def dhs_identity(ctx: PartitionContext, r_: Rule) -> None:
    out = []
    for r in dhs_rows(ctx):
        if r["d_id"] is None:
            continue
        name_ok = names.is_variant(r["name_score"])
        dob_ok = r["d_dob"] == r["date_of_birth"] or bool(dob_slip(r["date_of_birth"], r["d_dob"]))
        if name_ok and dob_ok:
            continue
        fields = []
        if not name_ok:
            fields += [
                field("last_name", "dhs", r["last_name"], r["d_last"], r["name_score"]),
                field("first_name", "dhs", r["first_name"], r["d_first"], r["name_score"]),
            ]
        if not dob_ok:
            fields.append(field("date_of_birth", "dhs", r["date_of_birth"], r["d_dob"], 0.0))
        both = not name_ok and not dob_ok
        near_only = dob_ok and names.is_near(r["name_score"])
        out.append(
            {
                **_base(r, f"dhs:{r['d_id']}"),
                "fields": fields,
                # A near match on the shared scale alone (a transliteration, a nickname the tables
                # lack, a looser spelling) is for review, as in SSA-IDENTITY: never a fraud lead.
                "severity": "high" if both else ("low" if near_only else "medium"),
                "score": round(
                    1.0 - (r["name_score"] if not name_ok else 0.5) * (0.5 if both else 1.0), 3
                ),
                "evidence": {"dhs_id": r["d_id"], "matched_by": r["matched_by"]},
                "summary": f"DHS record found by {r['matched_by']} disagrees on "
                + " and ".join(
                    x for x, ok in (("name", name_ok), ("date of birth", dob_ok)) if not ok
                )
                + ".",
            }
        )
    ctx.emit(r_, out)


@rule(
    code="DHS-AUTH",
    version=1,
    title="Work authorization expired or not yet valid",
    severity="high",
    categories=DHS,
    family="identity_dhs",
    description="DHS work authorization had ended at the hire date, has ended since, or had not yet begun "
    "at the hire date.",
)
def dhs_authorization(ctx: PartitionContext, r_: Rule) -> None:
    today = timezone.localdate()
    out = []
    for r in dhs_rows(ctx):
        if r["d_id"] is None or not names.is_variant(r.get("name_score", 0.0)):
            continue
        until, start, hire = r["work_authorized_until"], r["work_authorized_from"], r["hire_date"]
        if r["naturalized_on"]:
            continue
        if start and start > hire:
            kind, sev, text = "not_yet_valid", "high", "Work authorization had not begun at hire."
        elif until and until < hire:
            kind, sev, text = "expired_at_hire", "high", "Work authorization had expired at hire."
        elif until and until < today:
            kind, sev, text = (
                "expired_since",
                "medium",
                "Work authorization has expired since hire.",
            )
        else:
            continue
        out.append(
            {
                **_base(r, f"dhs:{r['d_id']}:{kind}"),
                "severity": sev,
                "score": 1.0,
                "fields": [
                    field("hire_date", "case", hire, None, None),
                    field("work_authorized_from", "dhs", None, start, None),
                    field("work_authorized_until", "dhs", None, until, None),
                ],
                "evidence": {"dhs_id": r["d_id"], "kind": kind},
                "summary": text,
            }
        )
    ctx.emit(r_, out)
