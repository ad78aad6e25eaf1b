"""Identity rules: the submitted I-9 identity against SSA (Numident) and DHS records.

One set-based statement per source joins the partition's cases to the reference and keeps only
the rows that disagree somewhere (about 2% of them) in a temporary table; each rule then reads
that small table. Names are compared in Python, in bulk, for the few rows whose names are not
equal once case is folded.

At submit time the instant result has already read the case's reference rows; `instant_ssa_rows`
turns them into the rows the batch statement would give for that case, so the same rules decide
its findings without reading SSA again (crossref.instant).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings

from crossref import names, sources
from crossref.engine import PartitionContext
from crossref.registry import Rule, rule
from crossref.rules.common import dob_slip, fetch_dicts, field, loads
from privacy import crypto
from verification.instant import References

SSA = ("verification_cases", "ssa_identity")


SSA_DHS = ("verification_cases", "ssa_identity", "dhs_immigration")


DHS = ("verification_cases", "dhs_immigration")


NONCITIZEN = ("permanent_resident", "authorized_alien")


def _case_filter(ctx: PartitionContext, alias: str = "c") -> tuple[str, dict[str, Any]]:
    part_sql, part_params = ctx.ssn_range_sql(f"{alias}.ssn_bidx")
    scope_sql, scope_params = ctx.scope_sql(alias)
    return f"{part_sql} AND {scope_sql} AND {alias}.submitted_at IS NOT NULL", {
        **part_params,
        **scope_params,
    }


def _examined(ctx: PartitionContext) -> None:
    def count() -> int:
        where, params = _case_filter(ctx)
        ctx.cursor.execute(f"SELECT count(*) FROM {ctx.cases} c WHERE {where}", params)  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        n = int(ctx.cursor.fetchone()[0])
        ctx.rows_examined += n
        return n

    ctx.once("examined", count)


# --- SSA ---------------------------------------------------------------------------------------
def ssa_rows(ctx: PartitionContext) -> list[dict[str, Any]]:
    """Cases of the partition that disagree with their Numident record somewhere (or have none)."""

    def build() -> list[dict[str, Any]]:
        _examined(ctx)
        where, params = _case_filter(ctx)
        params["ssa"] = loads(ctx).get("ssa", 0)
        # The same hash range on the reference side lets the join read only its slice of Numident:
        # the run's sorted copy of its SSA load (engine.stage_ensure) when there is one.
        n_range, n_params = ctx.ssn_range_sql("n.ssn_bidx")
        params.update(n_params)
        numident = f"{ctx.stage}_ssa" if ctx.stage else sources.NUMIDENT
        n_load = "TRUE" if ctx.stage else "n.load_id = %(ssa)s"
        rows = fetch_dicts(
            ctx.cursor,
            f"""
            SELECT c.id AS case_id, c.employer_id, c.ssn_bidx, c.ssn_last4, c.first_name, c.last_name,
                   c.other_last_names, c.date_of_birth, c.citizenship_status,
                   n.id AS n_id, n.first_name AS n_first, n.middle_name AS n_middle, n.last_name AS n_last,
                   n.date_of_birth AS n_dob, n.citizenship AS n_cit, n.death_date, n.locked
              FROM {ctx.cases} c
              LEFT JOIN {numident} n ON n.ssn_bidx = c.ssn_bidx AND {n_load} AND {n_range}
             WHERE {where}
               AND (n.id IS NULL OR n.death_date IS NOT NULL OR n.locked OR n.date_of_birth <> c.date_of_birth
                    -- Equal names (most rows) skip lower(); only unequal ones are compared case-folded.
                    OR (n.last_name <> c.last_name AND lower(n.last_name) <> lower(c.last_name))
                    OR (n.first_name <> c.first_name AND lower(n.first_name) <> lower(c.first_name))
                    OR (c.citizenship_status = 'citizen' AND n.citizenship <> 'citizen'))
            """,  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
            params,
        )
        return score_ssa_rows(rows, lambda suspects: _transposition_hits(ctx, suspects))

    return ctx.once("ssa_rows", build)


TranspositionHits = Callable[[list[dict[str, Any]]], list[tuple[dict[str, Any], dict[str, Any]]]]


def score_ssa_rows(
    rows: list[dict[str, Any]], transposition_hits: TranspositionHits
) -> list[dict[str, Any]]:
    """Give the rows their name score and date-of-birth swap, and mark SSN transpositions.

    `transposition_hits` answers, for the suspect rows (no record, or a record of someone else),
    the pairs (Numident record at a transposed SSN, row): read by the batch, known at submit.
    """
    found = [r for r in rows if r["n_id"] is not None]
    scores = names.compare_many(
        [
            names.NamePair(
                r["first_name"],
                r["last_name"],
                r["n_first"],
                r["n_last"],
                r["other_last_names"] or "",
                r["n_middle"] or "",
                same_birth_date=r["n_dob"] == r["date_of_birth"],
            )
            for r in found
        ]
    )
    for r, s in zip(found, scores, strict=True):
        r["name_score"] = float(s)
    for r in rows:
        r.setdefault("name_score", 0.0)
        r["dob_slip"] = dob_slip(r["date_of_birth"], r["n_dob"])
    suspects = [
        r
        for r in rows
        if r["n_id"] is None
        or (not names.is_variant(r["name_score"]) and r["n_dob"] != r["date_of_birth"])
    ]
    if suspects:
        _mark_transposed(transposition_hits(suspects))
    return rows


def instant_ssa_rows(case: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    """The row `ssa_rows` gives for one case, from the reference rows its instant result read.

    `case` holds the case's columns as the batch statement names them. The instant result reads
    the transposed SSNs whenever the record is missing or born another day, which every suspect
    row is, so nothing is read here.
    """
    n = refs.numident
    row = {
        **case,
        "n_id": n.pk if n else None,
        "n_first": n.first_name if n else None,
        "n_middle": n.middle_name if n else None,
        "n_last": n.last_name if n else None,
        "n_dob": n.date_of_birth if n else None,
        "n_cit": n.citizenship if n else None,
        "death_date": n.death_date if n else None,
        "locked": n.locked if n else None,
    }
    hits = [
        {
            "id": h.pk,
            "ssn_bidx": h.ssn_bidx,
            "first_name": h.first_name,
            "middle_name": h.middle_name,
            "last_name": h.last_name,
            "date_of_birth": h.date_of_birth,
        }
        for h in sorted(refs.transposed or [], key=lambda h: h.pk)
    ]
    return score_ssa_rows([row], lambda suspects: [(h, r) for h in hits for r in suspects])


def instant_naturalized(case: dict[str, Any], refs: References) -> list[dict[str, Any]]:
    """The naturalized DHS records born the case's day, as `_naturalized_records` reads them."""
    return [
        {
            "id": d.pk,
            "first_name": d.first_name,
            "last_name": d.last_name,
            "date_of_birth": d.date_of_birth,
            "naturalized_on": d.naturalized_on,
        }
        for d in sorted(refs.naturalized or [], key=lambda d: d.pk)
        if d.date_of_birth == case["date_of_birth"]
    ]


def _transposition_hits(
    ctx: PartitionContext, suspects: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """For each suspect row, the Numident records of its SSN with two adjacent digits swapped."""
    variants: dict[str, list[dict[str, Any]]] = {}
    ctx.cursor.execute(
        f"SELECT id, ssn_enc FROM {sources.CASES} WHERE id = ANY(%s)",  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        [[r["case_id"] for r in suspects]],
    )
    tokens = dict(ctx.cursor.fetchall())
    for r in suspects:
        r["ssn_enc"] = tokens.get(r["case_id"], "")
        try:
            ssn = crypto.decrypt(
                r["ssn_enc"],
                table=sources.CASES,
                column=sources.CASE_SSN_COLUMN,
                row_id=r["case_id"],
            )
        except crypto.DecryptionFailed:
            continue
        digits = crypto.normalize_identifier(ssn)
        for i in range(len(digits) - 1):
            if digits[i] != digits[i + 1]:
                swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
                variants.setdefault(crypto.blind_index(swapped, kind="ssn"), []).append(r)
    if not variants:
        return []
    hits = fetch_dicts(
        ctx.cursor,
        f"SELECT id, ssn_bidx, first_name, middle_name, last_name, date_of_birth FROM {sources.NUMIDENT} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        "WHERE ssn_bidx = ANY(%(b)s) AND load_id = %(ssa)s ORDER BY id",
        {"b": list(variants), "ssa": loads(ctx).get("ssa", 0)},
    )
    return [(h, r) for h in hits for r in variants.get(h["ssn_bidx"], [])]


def _mark_transposed(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """A row whose transposed SSN is the record of the same person (name and birth day) is a keying error."""
    scores = names.compare_many(
        [
            names.NamePair(
                r["first_name"],
                r["last_name"],
                h["first_name"],
                h["last_name"],
                r["other_last_names"] or "",
                h["middle_name"] or "",
            )
            for h, r in pairs
        ]
    )
    for (h, r), score in zip(pairs, scores, strict=True):
        if names.is_variant(float(score)) and h["date_of_birth"] == r["date_of_birth"]:
            r["transposed_to"] = h["id"]


def _base(r: dict[str, Any], source_key: str) -> dict[str, Any]:
    return {
        "subject_type": "worker",
        "subject_key": f"case:{r['case_id']}",
        "evidence_key": source_key,
        "case_id": r["case_id"],
        "employer_id": r["employer_id"],
        "ssn_index": r["ssn_bidx"],
    }


def _name_fields(r: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        field(
            "last_name",
            "ssa",
            f"{r['last_name']}" + (f" ({r['other_last_names']})" if r["other_last_names"] else ""),
            r["n_last"],
            r["name_score"],
        ),
        field("first_name", "ssa", r["first_name"], r["n_first"], r["name_score"]),
    ]


@rule(
    code="SSA-NOTFOUND",
    version=1,
    title="SSN not in SSA records",
    severity="high",
    categories=SSA,
    family="identity_ssa",
    description="The SSN submitted has no Numident record, and no SSN with two adjacent digits swapped "
    "matches the person's name and date of birth.",
)
def ssa_not_found(ctx: PartitionContext, r_: Rule) -> None:
    rows = [r for r in ssa_rows(ctx) if r["n_id"] is None and "transposed_to" not in r]
    ctx.emit(
        r_,
        [
            {
                **_base(r, "ssa:none"),
                "fields": [field("ssn", "ssa", f"•••{r['ssn_last4']}", None, 0.0)],
                "evidence": {"compared": ["case", "numident"], "numident_id": None},
                "score": 1.0,
                "summary": "No SSA record for the SSN submitted.",
            }
            for r in rows
        ],
    )


@rule(
    code="SSA-CLERICAL",
    version=1,
    title="Probable clerical error",
    severity="low",
    categories=SSA,
    family="identity_ssa",
    description="The identity matches SSA once a keying error is undone: day and month of birth swapped or one digit of it mistyped, "
    "or two adjacent SSN digits transposed. E-Verify would issue a TNC; this is not a fraud lead.",
)
def ssa_clerical(ctx: PartitionContext, r_: Rule) -> None:
    out = []
    for r in ssa_rows(ctx):
        if "transposed_to" in r:
            out.append(
                {
                    **_base(r, f"numident:{r['transposed_to']}"),
                    "is_clerical": True,
                    "score": 0.5,
                    "fields": [
                        field("ssn", "ssa", f"•••{r['ssn_last4']}", "two digits transposed", 0.8)
                    ],
                    "evidence": {"kind": "ssn_transposition", "numident_id": r["transposed_to"]},
                    "summary": "SSN matches an SSA record once two adjacent digits are swapped.",
                }
            )
        elif (
            r["n_id"] is not None
            and r["dob_slip"]
            and names.is_variant(r["name_score"])
            and not r["death_date"]
            and not r["locked"]
        ):
            out.append(
                {
                    **_base(r, f"numident:{r['n_id']}"),
                    "is_clerical": True,
                    "score": 0.5,
                    "fields": [field("date_of_birth", "ssa", r["date_of_birth"], r["n_dob"], 0.8)],
                    "evidence": {"kind": r["dob_slip"], "numident_id": r["n_id"]},
                    "summary": "Date of birth matches SSA once "
                    + (
                        "day and month are swapped."
                        if r["dob_slip"] == "dob_day_month_swap"
                        else "one mistyped digit is corrected."
                    ),
                }
            )
    ctx.emit(r_, out)


@rule(
    code="SSA-IDENTITY",
    version=1,
    title="Name or date of birth disagree with SSA",
    severity="medium",
    categories=SSA,
    family="identity_ssa",
    description="The SSN exists, but the name (after normalization: case, diacritics, punctuation, compound "
    "surnames as unordered parts) or the date of birth does not reconcile with its SSA record.",
)
def ssa_identity(ctx: PartitionContext, r_: Rule) -> None:
    out = []
    for r in ssa_rows(ctx):
        if r["n_id"] is None or "transposed_to" in r:
            continue
        name_ok = names.is_variant(r["name_score"])
        dob_ok = r["n_dob"] == r["date_of_birth"] or (bool(r["dob_slip"]) and name_ok)
        if name_ok and dob_ok:
            continue
        fields = []
        if not name_ok:
            fields += _name_fields(r)
        if not dob_ok:
            fields.append(field("date_of_birth", "ssa", r["date_of_birth"], r["n_dob"], 0.0))
        both = not name_ok and not dob_ok
        near_only = dob_ok and names.is_near(r["name_score"])
        out.append(
            {
                **_base(r, f"numident:{r['n_id']}"),
                "fields": fields,
                "severity": "high" if both else ("low" if near_only else "medium"),
                "score": round(
                    1.0 - (r["name_score"] if not name_ok else 0.5) * (0.5 if both else 1.0), 3
                ),
                "evidence": {"numident_id": r["n_id"], "name_score": round(r["name_score"], 3)},
                "summary": "Name and date of birth disagree with SSA."
                if both
                else (
                    "Name disagrees with SSA."
                    if not name_ok
                    else "Date of birth disagrees with SSA."
                ),
            }
        )
    ctx.emit(r_, out)


@rule(
    code="SSA-DECEASED",
    version=1,
    title="SSN of a deceased person",
    severity="high",
    categories=SSA,
    family="identity_ssa",
    description="SSA records a date of death for the SSN submitted.",
)
def ssa_deceased(ctx: PartitionContext, r_: Rule) -> None:
    ctx.emit(
        r_,
        [
            {
                **_base(r, f"numident:{r['n_id']}"),
                "score": 1.0,
                "fields": [field("death_date", "ssa", None, r["death_date"], 0.0)],
                "evidence": {"numident_id": r["n_id"]},
                "summary": "SSA records this SSN's holder as deceased.",
            }
            for r in ssa_rows(ctx)
            if r["n_id"] is not None and r["death_date"] is not None
        ],
    )


@rule(
    code="SSA-LOCKED",
    version=1,
    title="SSN locked",
    severity="high",
    categories=SSA,
    family="identity_ssa",
    description="The SSN holder locked the SSN against use in E-Verify (self-lock).",
)
def ssa_locked(ctx: PartitionContext, r_: Rule) -> None:
    ctx.emit(
        r_,
        [
            {
                **_base(r, f"numident:{r['n_id']}"),
                "score": 1.0,
                "fields": [field("locked", "ssa", None, True, 0.0)],
                "evidence": {"numident_id": r["n_id"]},
                "summary": "The SSN is locked by its holder.",
            }
            for r in ssa_rows(ctx)
            if r["n_id"] is not None and r["locked"]
        ],
    )


@rule(
    code="SSA-CITIZENSHIP",
    version=1,
    title="Citizenship disagrees with SSA",
    severity="medium",
    categories=SSA_DHS,
    family="identity_ssa",
    description="Attested U.S. citizen, but SSA does not record citizenship and DHS shows no naturalization. "
    "When DHS shows the person naturalized (SSA's record was never updated) the mismatch is "
    "downgraded: to nothing by default, or to a low-severity review with "
    "CROSSREF_STALE_CITIZENSHIP_REVIEW.",
)
def ssa_citizenship(ctx: PartitionContext, r_: Rule) -> None:
    rows = [
        r
        for r in ssa_rows(ctx)
        if r["n_id"] is not None
        and r["citizenship_status"] == "citizen"
        and r["n_cit"] != "citizen"
        and names.is_variant(r["name_score"])
        and r["n_dob"] == r["date_of_birth"]
    ]
    if not rows:
        ctx.emit(r_, [])
        return
    out = []
    for r, nat in zip(rows, _naturalized_records(ctx, rows), strict=True):
        fields = [field("citizenship", "ssa", r["citizenship_status"], r["n_cit"], 0.0)]
        if nat is not None and not settings.CROSSREF.get("STALE_CITIZENSHIP_REVIEW", False):
            continue  # DHS confirms the naturalization: a stale SSA record, not a lead about the person
        if nat is not None:
            fields.append(field("naturalized_on", "dhs", None, nat["naturalized_on"], 1.0))
            out.append(
                {
                    **_base(r, f"numident:{r['n_id']}"),
                    "fields": fields,
                    "severity": "low",
                    "is_clerical": True,
                    "score": 0.2,
                    "evidence": {"numident_id": r["n_id"], "dhs_id": nat["id"]},
                    "summary": "SSA citizenship is stale: DHS shows the person naturalized.",
                }
            )
        else:
            out.append(
                {
                    **_base(r, f"numident:{r['n_id']}"),
                    "fields": fields,
                    "score": 0.8,
                    "evidence": {"numident_id": r["n_id"]},
                    "summary": "Attested citizen; SSA records a noncitizen and DHS shows no naturalization.",
                }
            )
    ctx.emit(r_, out)


def _naturalized_records(
    ctx: PartitionContext, rows: list[dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """For each row, the DHS naturalization record that confirms it, if any: one of its date of birth whose name is a variant.

    Most attested citizens whom SSA still records as noncitizens were naturalized under the very
    name they give: the record of the same date of birth and the same normalized given and family
    names (the first by id) settles the row, and it is a variant by definition (`names.compare_many`
    scores equal normalized names 1.0). Only the rows without one are compared with every record
    of their date of birth (the first variant by id): the look-alikes born the same day, whose
    number grows with the DHS load (at 5M cases, about 1,500 a partition), are not scored for the others.
    """
    naturalized = ctx.once(
        "naturalized",  # given by the instant result at submit (instant_naturalized)
        lambda: fetch_dicts(
            ctx.cursor,
            f"SELECT id, first_name, last_name, date_of_birth, naturalized_on FROM {sources.DHS} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
            "WHERE naturalized_on IS NOT NULL AND date_of_birth = ANY(%(d)s) AND load_id = %(dhs)s ORDER BY id",
            {"d": sorted({r["date_of_birth"] for r in rows}), "dhs": loads(ctx).get("dhs", 0)},
        ),
    )
    by_name: dict[tuple[date, str, str], dict[str, Any]] = {}
    by_dob: dict[date, list[dict[str, Any]]] = {}
    for n in naturalized:
        by_name.setdefault(
            (n["date_of_birth"], names.normalize(n["first_name"]), names.normalize(n["last_name"])),
            n,
        )
        by_dob.setdefault(n["date_of_birth"], []).append(n)
    found: list[dict[str, Any] | None] = [None] * len(rows)
    pairs: list[tuple[int, dict[str, Any]]] = []
    for i, r in enumerate(rows):
        first, last = names.normalize(r["first_name"]), names.normalize(r["last_name"])
        found[i] = by_name.get((r["date_of_birth"], first, last)) if first and last else None
        if found[i] is None:
            pairs += [(i, c) for c in by_dob.get(r["date_of_birth"], [])]
    scores = names.compare_many(
        [
            names.NamePair(
                rows[i]["first_name"],
                rows[i]["last_name"],
                c["first_name"],
                c["last_name"],
                rows[i]["other_last_names"] or "",
            )
            for i, c in pairs
        ]
    )
    for (i, c), score in zip(pairs, scores, strict=True):
        if found[i] is None and names.is_variant(float(score)):
            found[i] = c
    return found
