"""ENF-LINK: does a worker link to a subject of the enforcement database? A trained match model decides.

For each partition of cases: blocking (`crossref.linkage.blocking`: the union of several rules,
so one bad or missing field loses no true pair), a comparison vector per candidate pair
(`crossref.linkage.compare`), and the Fellegi-Sunter match probability
(`crossref.linkage.model`) under the parameters the run was started with (`LinkageModel`, or the
stated defaults before any training). A pair at or above CROSSREF_LINKAGE_LEAD_PROBABILITY is a
lead; at or above CROSSREF_LINKAGE_REVIEW_PROBABILITY, a low-severity lead for review.

Each finding keeps its explanation: per field, the level reached and the weight it added (what
the case page draws as a waterfall), the prior, the model's version and digest (M8). The
subjects' side is indexed once per worker process and load (`subjects.subject_index`); the
candidate pairs each blocking rule made are counted in the partition's statistics.

Run alone, the rule needs no staging copy of the cases (`staged=False`): its scan goes through
the SSN index.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from django.conf import settings

from crossref import sources
from crossref.engine import PartitionContext
from crossref.linkage import blocking
from crossref.linkage.compare import CaseColumns, Compared, compare, refine_identifiers
from crossref.linkage.model import FIELD_INDEX, FIELDS, Parameters, Scores
from crossref.linkage.reach import Bound, bound
from crossref.linkage.store import parameters_for
from crossref.linkage.subjects import (
    SubjectIndex,
    country_codes,
    country_text,
    family_word,
    name_word,
    subject_index,
    word,
)
from crossref.registry import Rule, rule
from crossref.rules.common import loads
from crossref.rules.identity import _case_filter
from verification.comparison import IDENTIFIER_DIFFERENT

CATS = ("verification_cases", "enforcement")


# What `case_columns` reads of a case (alias c): the date of birth as a proleptic ordinal (0: none);
# the country is the passport's, else the country of birth on the DHS record of the case's
# A-Number in load %(dhs)s, the first by id where an A-Number has several (0: none); the SSN's and
# A-Number's last four, shown in clear, let `refine_identifiers` leave closed the values that
# cannot be one or two slips off.
# (The CASE starts the sub-query only for a case holding an A-Number: most hold none, and a
# sub-query started for nothing cost more than the look-ups themselves.)
_COUNTRY_OF_BIRTH = f"CASE WHEN c.a_number_bidx <> '' THEN (SELECT d.country_of_birth FROM {sources.DHS} d WHERE d.a_number_bidx <> '' AND d.a_number_bidx = c.a_number_bidx AND d.load_id = %(dhs)s ORDER BY d.id LIMIT 1) END"  # noqa: S608  # nosec B608 # the source module's table name
CASE_COLUMNS = (
    "c.id, coalesce(c.date_of_birth - DATE '0001-01-01' + 1, 0), c.first_name, c.last_name, "
    "coalesce(c.other_last_names, ''), c.ssn_bidx, c.a_number_bidx, c.passport_bidx, c.i94_bidx, "
    f"c.document_number_bidx, coalesce(nullif(c.passport_country, ''), {_COUNTRY_OF_BIRTH}, ''), "
    "c.ssn_last4, c.a_number_last4"
)


COUNTRY_FROM_DHS = "country of birth on the DHS record"


def thresholds() -> tuple[float, float]:
    """(lead, review) match probabilities, from settings."""
    lead = float(settings.CROSSREF["LINKAGE_LEAD_PROBABILITY"])
    review = float(settings.CROSSREF["LINKAGE_REVIEW_PROBABILITY"])
    return lead, min(review, lead)


def case_columns(rows: list[tuple[Any, ...]]) -> CaseColumns:
    """CaseColumns of rows (id, date ordinal or 0, first, last, other last names, SSN, A-Number,
    passport, I-94 and document-number blind indexes, country, SSN and A-Number last four)."""
    n = len(rows)
    (
        ids,
        days,
        firsts,
        lasts,
        others,
        ssn,
        a_number,
        passport,
        i94,
        document,
        country,
        ssn_last4,
        a_number_last4,
    ) = zip(*rows, strict=True) if rows else ((),) * 13
    return CaseColumns(
        ids=np.fromiter(ids, dtype=np.int64, count=n),
        given=np.fromiter(map(name_word, firsts), dtype=np.int64, count=n),
        family=np.fromiter(map(family_word, lasts, others), dtype=np.int64, count=n),
        dob=np.fromiter(days, dtype=np.int64, count=n),
        ssn=[x or "" for x in ssn],
        a_number=[x or "" for x in a_number],
        others=list(zip(passport, i94, document, strict=True)),
        country=country_codes(country),
        last4=list(zip(ssn_last4, a_number_last4, strict=True)),
    )


def _search(
    keys: np.ndarray, needles: np.ndarray, side: Literal["left", "right"] = "left"
) -> tuple[np.ndarray, np.ndarray]:
    """`np.searchsorted(keys, needles, side)` and whether each needle is one of `keys`.

    The needles are searched in sorted order: each binary search then starts where the previous
    ended and stays in the CPU caches (3.5x faster at 1.25M keys, the sort included).
    """
    flat = needles.ravel()
    order = np.argsort(flat)
    ordered = flat[order]
    at = np.searchsorted(keys, ordered, side=side)
    found = np.zeros(len(flat), dtype=bool)
    if len(keys):
        found[order] = keys[np.minimum(at, len(keys) - 1)] == ordered
    position = np.empty_like(at)
    position[order] = at
    return position.reshape(needles.shape), found.reshape(needles.shape)


def candidates(
    cases: CaseColumns,
    index: SubjectIndex,
    within: Bound | None = None,
    cursor: Any = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The (case row, subject) pairs the blocking rules make, each once, and the pairs per rule.

    `within` (`reach.bound`): the name-blocked pairs that could not reach the review threshold
    without a shared document, whatever their names (`Bound.keep`, which may open subjects'
    last fours through `cursor`), are counted under `beyond_reach` and not returned; pairs by a
    shared document always are.
    """
    n_subjects = max(1, len(index))
    keys = blocking.word_keys(cases.given, cases.family, cases.dob, word, undated_only=False)
    # Only the keys of rules some subject has a key of are searched (no undated subject: no
    # `undated_names` look-ups; a missing part makes no key at all).
    wanted = (keys != blocking.NONE) & np.isin(blocking.rule_of(keys), index.rules)
    rows = np.nonzero(wanted)[0]
    needles = keys[wanted]
    lo, hit = _search(index.keys, needles)
    key_row, key, first = rows[hit], needles[hit], lo[hit]
    count = _search(index.keys, key, side="right")[0] - first
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    by_name = (
        np.repeat(key_row, count) * n_subjects + index.key_subject[np.repeat(first, count) + offset]
    )
    per_rule = np.bincount(
        np.repeat(blocking.rule_of(key), count), minlength=len(blocking.RULES)
    ).tolist()
    dropped = np.zeros(0, dtype=np.int64)
    if within is not None and len(by_name):  # each pair judged once, though several rules made it
        by_name = np.unique(by_name)
        kept = within.keep(cursor, index, cases, by_name // n_subjects, by_name % n_subjects)
        dropped, by_name = by_name[~kept], by_name[kept]
    by_doc, per_rule_doc = [], {"ssn": 0, "document": 0}
    lookup = index.by_doc
    columns = [cases.ssn, cases.a_number, *map(list, zip(*cases.others, strict=True))]
    holders = np.zeros(len(cases.ids), dtype=bool)
    for column in columns if len(cases.ids) else []:  # a dict look-up per case, in C
        holders |= np.fromiter(map(lookup.__contains__, column), dtype=bool, count=len(column))
    for i in np.flatnonzero(holders).tolist():
        for j, column in enumerate(columns):
            bidx = column[i]
            for s in lookup.get(bidx, ()) if bidx else ():
                by_doc.append(i * n_subjects + s)
                per_rule_doc["ssn" if j == 0 else "document"] += 1
    shared = np.unique(np.asarray(by_doc, dtype=np.int64))
    pairs = np.union1d(by_name, shared)
    stats = {name: int(per_rule[i]) for i, name in enumerate(blocking.RULES)}
    stats.update(per_rule_doc)
    if within is not None:  # those a shared document makes are compared all the same
        stats["beyond_reach"] = len(dropped) - int(np.isin(dropped, shared).sum())
    return pairs // n_subjects, pairs % n_subjects, stats


def judge(
    cursor: Any,
    cases: CaseColumns,
    index: SubjectIndex,
    pc: np.ndarray,
    ps: np.ndarray,
    params: Parameters,
    review: float,
) -> tuple[Compared, Scores]:
    """Levels and scores of candidate pairs; identifiers opened only where one digit off could reach `review`."""
    got = compare(cases, index, pc, ps, params)
    scores = got.scores(params)
    table = params.weight_table()
    need = np.log2(review / (1.0 - review)) if 0 < review < 1 else 0.0
    gain = np.zeros(len(pc))
    for name in ("ssn", "a_number"):
        j = FIELD_INDEX[name]
        different = got.levels[:, j] == IDENTIFIER_DIFFERENT
        gain = np.maximum(
            gain,
            np.where(
                different,
                table[j][1:IDENTIFIER_DIFFERENT].max() - table[j][IDENTIFIER_DIFFERENT],
                0.0,
            ),
        )
    band = np.flatnonzero((gain > 0) & (scores.log_odds + gain >= need))
    if len(band):
        levels = got.levels[band].copy()
        refine_identifiers(cursor, cases, index, pc[band], ps[band], levels)
        got.levels[band] = levels
        scores = got.scores(params)
    return got, scores


def _explain(
    params: Parameters, got: Compared, scores: Scores, k: int, shown: dict[str, Any]
) -> list[dict[str, Any]]:
    """The per-field rows of a finding: values shown (identifiers never), level and weight."""
    out = []
    for j, f in enumerate(FIELDS):
        level = int(got.levels[k, j])
        out.append(
            {
                "field": f.name,
                "label": f.label,
                "source": "enforcement",
                "submitted": shown.get(f.name, ("", ""))[0],
                "reference": shown.get(f.name, ("", ""))[1],
                "level": f.levels[level] if level >= 0 else "missing",
                "weight": round(float(scores.weights[k, j]), 2),
                "score": None,
            }
        )
    return out


def _case_rows(ctx: PartitionContext) -> list[tuple[Any, ...]]:
    where, params = _case_filter(ctx)
    params["dhs"] = loads(ctx).get("dhs", 0)
    ctx.cursor.execute(
        f"SELECT {CASE_COLUMNS} FROM {ctx.cases} c WHERE {where}",  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        params,
    )
    rows: list[tuple[Any, ...]] = ctx.cursor.fetchall()
    if "examined" not in ctx.cache:
        ctx.cache["examined"] = len(rows)
        ctx.rows_examined += len(rows)
    return rows


def _summary(ref: str, probability: float, lead: bool, top: list[str]) -> str:
    head = (
        "Links to enforcement subject"
        if lead
        else "Possible link, for review, to enforcement subject"
    )
    because = f": {', '.join(top)}" if top else ""
    return f"{head} {ref} (match probability {probability:.2f}){because}."


def findings(
    ctx: PartitionContext, index: SubjectIndex, params: Parameters
) -> list[dict[str, Any]]:
    """The findings of one partition's cases against a subject index."""
    cases = case_columns(_case_rows(ctx))
    lead_p, review_p = thresholds()
    need = np.log2(review_p / (1.0 - review_p)) if 0 < review_p < 1 else -np.inf
    pc, ps, per_rule = candidates(cases, index, bound(index, params, need), ctx.cursor)
    if not ctx.cache.get("linkage_counted"):  # once a partition, though a shadow run scores twice
        ctx.cache["linkage_counted"] = True
        for name, n in per_rule.items():
            ctx.candidates[name] = ctx.candidates.get(name, 0) + n
    got, scores = judge(ctx.cursor, cases, index, pc, ps, params, review_p)
    # A shared identifier the rest of the record does not bear out is not the same person by the
    # model, but someone uses a subject's number (or the subject theirs): a review lead of its own.
    shares = (got.levels[:, FIELD_INDEX["ssn"] :] == 0).any(axis=1)
    document_only = shares & (scores.probability < review_p - 1e-12)
    kept = np.flatnonzero((scores.probability >= review_p - 1e-12) | document_only).tolist()
    if not kept:
        return []
    ctx.cursor.execute(
        f"SELECT id, employer_id, ssn_bidx, date_of_birth, first_name, last_name, passport_country FROM {sources.CASES} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        "WHERE id = ANY(%s::bigint[])",
        ["{" + ",".join(str(int(cases.ids[pc[k]])) for k in kept) + "}"],
    )
    shown_rows = {row[0]: row for row in ctx.cursor.fetchall()}
    prior = params.prior_weight
    out = []
    for k in kept:
        case_id = int(cases.ids[pc[k]])
        subject = index.subjects[int(ps[k])]
        _, employer_id, ssn_bidx, c_date, c_first, c_last, c_passport = shown_rows[case_id]
        row = int(got.name[k])
        shown = {
            "given": (c_first, word(int(index.name_given[row]))),
            "family": (c_last, word(int(index.name_family[row]))),
            "dob": (
                c_date.isoformat() if c_date else "",
                subject[4].isoformat() if subject[4] else "",
            ),
            # A country of birth read off the DHS record is DHS data: named, not shown.
            "country": (
                c_passport
                or (COUNTRY_FROM_DHS if got.levels[k, FIELD_INDEX["country"]] >= 0 else ""),
                country_text(int(index.country[int(ps[k])])),
            ),
        }
        fields = _explain(params, got, scores, k, shown)
        probability = float(scores.probability[k])
        lead = probability >= lead_p - 1e-12
        top = [
            f"{row['label'].lower()} {row['level'].replace('_', ' ')}"
            for row in sorted(fields, key=lambda r: -r["weight"])
            if row["weight"] > 0
        ][:3]
        out.append(
            {
                "subject_type": "worker",
                "subject_key": f"case:{case_id}",
                "evidence_key": f"enforcement:{subject[1]}",
                "case_id": case_id,
                "employer_id": employer_id,
                "ssn_index": ssn_bidx,
                "severity": "high" if lead else "low",
                "score": round(probability, 6),
                "fields": fields,
                "evidence": {
                    "subject_id": subject[0],
                    "subject_ref": subject[1],
                    "subject_status": subject[5],
                    "match_probability": probability,
                    "log_odds": round(float(scores.log_odds[k]), 3),
                    "prior_weight": round(prior, 3),
                    "thresholds": {"lead": lead_p, "review": review_p},
                    "model": {"version": params.version, "digest": params.digest},
                    # where both names agree exactly, how much the two go together (`cooccur`)
                    "names_dependence": (
                        round(max(params.names_joint, float(got.joint[k])), 3)
                        if got.joint is not None
                        and got.levels[k, FIELD_INDEX["given"]] == 0
                        and got.levels[k, FIELD_INDEX["family"]] == 0
                        else None
                    ),
                    "document_match": bool(shares[k]),
                    "document_only": bool(document_only[k]),
                },
                "summary": (
                    f"Shares an identifier with enforcement subject {subject[1]}, but neither the name nor "
                    f"the date of birth bears it out (match probability {probability:.2f}): for review."
                    if document_only[k]
                    else _summary(subject[1], probability, lead, top)
                ),
            }
        )
    return out


@rule(
    code="ENF-LINK",
    version=2,
    title="Matches an enforcement subject",
    severity="high",
    categories=CATS,
    family="enforcement",
    staged=False,
    description="The worker links to a subject of the enforcement database: a Fellegi-Sunter match model "
    "(names with term-frequency weights, date of birth, SSN and documents by kind) trained on the data, "
    "over the union of several blocking rules. A match probability at or above the lead threshold is a "
    "lead; above the review threshold, a low-severity lead for review.",
)
def enforcement_link(ctx: PartitionContext, r_: Rule) -> None:
    _link(ctx, r_, parameters_for(ctx.run))


@rule(
    code="ENF-LINK",
    version=3,
    title="Matches an enforcement subject (candidate model)",
    severity="high",
    categories=CATS,
    family="enforcement",
    staged=False,
    current=False,
    description="Candidate: version 2 scored with the newest linkage model trained as a candidate "
    "(`crossref train-linkage --candidate`), for a shadow run against the current model before "
    "`crossref promote-linkage` makes it current.",
)
def enforcement_link_candidate(ctx: PartitionContext, r_: Rule) -> None:
    _link(ctx, r_, parameters_for(ctx.run, candidate=True))


def _link(ctx: PartitionContext, r_: Rule, params: Parameters) -> None:
    load_id = loads(ctx).get("enforcement")
    if not load_id:
        ctx.emit(r_, [])
        return
    index = subject_index(load_id, ctx.cursor)
    ctx.emit(r_, findings(ctx, index, params) if len(index) else [])


__all__ = [
    "CATS",
    "candidates",
    "case_columns",
    "enforcement_link",
    "findings",
    "judge",
    "thresholds",
]
