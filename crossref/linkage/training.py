"""Training ENF-LINK's model on the loaded data: `manage.py crossref train-linkage`.

1. The cases (a seeded sample, at most `cases` of them) and the current enforcement load.
2. u: the levels of `random_pairs` random (case, subject) pairs (`em.estimate_u`; names judged
   on the first `name_pairs` of them), the matches
   among them taken out once m and the prior are known (step 4, then the prior once more). Names
   the wrong way round are too rare among random pairs to count: their u is the chance that
   both crossed comparisons agree, the product of each one's share among the random pairs
   (`_crossed_u`), as the straight names' exact agreements multiply.
3. m: expectation-maximisation, u fixed, in rounds over pairs blocked on one thing each, each
   round estimating only the fields it did not block on (`ROUNDS`); a field's m is the average of
   the rounds that estimated it with enough support, else the stated default
   (`model.DEFAULT`).
4. The prior (the probability that a random pair is the same person): the expected matches
   among the pairs ENF-LINK's blocking makes over all pairs, by EM on the prior alone with m and u
   fixed.

Stored as a new `LinkageModel` version, with who trained it and on what, audited in the same
transaction. Deterministic for a seed and the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from numpy.random import Generator, default_rng

from audit.services import event_record
from crossref import sources
from crossref.linkage import em
from crossref.linkage.compare import (
    CaseColumns,
    Compared,
    close_pairs,
    compare,
    refine_identifiers,
)
from crossref.linkage.model import DEFAULT, FIELD_INDEX, FIELDS, SWAPPED, Parameters
from crossref.linkage.subjects import SubjectIndex, forget, subject_index
from crossref.models import LinkageModel
from crossref.rules import enforcement

MIN_SUPPORT = 20.0  # expected matches with a value below which a field keeps its default m
# Random pairs whose names are judged (straight and crossed): each distinct pair of names is
# compared afresh, the costliest part of training; the names' levels are common enough that this
# many pairs estimate their u (the rest of the random pairs judge dates and documents only).
# Fewer on small data: NAME_PAIRS_PER_RECORD per case and subject, at least MIN_NAME_PAIRS. An
# exact name, one random pair in 200 to 400 on FEBRL1, is still seen 25 to 50 times among 10,000
# (and its weight is the subjects' term frequency anyway); a rarer close level a handful of times,
# where the noise moves its weight (a log of m/u) little. Measured on FEBRL1 to FEBRL4 (1,000 to
# 10,000 records): the same links as with 50,000 name pairs and a third of the training time on
# the smallest; half as many per record (5) moved one link on FEBRL2.
NAME_PAIRS = 100_000
NAME_PAIRS_PER_RECORD = 10
MIN_NAME_PAIRS = 10_000


def name_pairs(records: int) -> int:
    """How many of the random pairs have their names judged, for `records` cases and subjects."""
    return min(NAME_PAIRS, max(MIN_NAME_PAIRS, NAME_PAIRS_PER_RECORD * records))


# (round, what it blocks on, the fields it estimates)
ROUNDS = (
    ("date_of_birth", "dob", ("given", "family", "country", "ssn", "a_number", "document")),
    ("names", "names", ("dob", "country", "ssn", "a_number", "document")),
    ("ssn", "ssn", ("given", "family", "dob", "country", "a_number", "document")),
)


class NothingToTrainOn(Exception):
    """No enforcement load, or no cases: there is nothing to estimate from."""


@dataclass
class Report:
    """What training did, for the command's table and the model's `training` record."""

    params: Parameters
    cases: int
    subjects: int
    random_pairs: int
    name_pairs: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    candidate_pairs: int = 0


def _sample_cases(cur: Any, limit: int, seed: int, dhs_load: int) -> CaseColumns:
    cur.execute(
        f"SELECT {enforcement.CASE_COLUMNS} FROM {sources.CASES} c WHERE c.submitted_at IS NOT NULL "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        "ORDER BY md5(c.id::text || %(seed)s) LIMIT %(limit)s",
        {"seed": str(seed), "limit": limit, "dhs": dhs_load},
    )
    rows = sorted(cur.fetchall())
    return enforcement.case_columns(rows)


def pairs_on(
    case_key: np.ndarray, subject_key: np.ndarray, cap: int, rng: Generator
) -> tuple[np.ndarray, np.ndarray]:
    """All (case, subject) pairs with equal keys (a key <= 0 is missing); cases sampled down to about `cap` pairs."""
    order = np.argsort(subject_key, kind="stable")
    keys = subject_key[order]
    lo = np.searchsorted(keys, case_key, side="left")
    count = np.searchsorted(keys, case_key, side="right") - lo
    count[case_key <= 0] = 0
    total = int(count.sum())
    if total > cap:
        keep = rng.random(len(case_key)) < cap / total
        count[~keep] = 0
    rows = np.repeat(np.arange(len(case_key)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return rows, order[np.repeat(lo, count) + offset]


def _blocked(
    name: str, cases: CaseColumns, index: SubjectIndex, cap: int, rng: Generator
) -> tuple[np.ndarray, np.ndarray]:
    if name == "dob":
        return pairs_on(cases.dob, index.dob, cap, rng)
    if name == "names":
        primary = index.name_start
        width = np.int64(1 << 31)
        case_key = cases.given * width + cases.family
        subject_key = index.name_given[primary] * width + index.name_family[primary]
        return pairs_on(case_key + 1, subject_key + 1, cap, rng)
    # ssn: through the document look-up (a blind index meets only its own kind).
    pc, ps = [], []
    for i, value in enumerate(cases.ssn):
        for s in index.by_doc.get(value, ()) if value else ():
            pc.append(i)
            ps.append(s)
    return np.asarray(pc, dtype=np.int64), np.asarray(ps, dtype=np.int64)


def _crossed_u(cases: CaseColumns, index: SubjectIndex, pc: np.ndarray, name: np.ndarray) -> float:
    """u of names the wrong way round: P(case's given ~ subject's surname) x P(case's surname ~ subject's given).

    Each share is counted over the random pairs ("~": exact or close, as `compare` tests a swap),
    with one pseudo-observation so a share never seen is small, not zero.
    """
    n = len(pc)
    if not n:
        return float(DEFAULT.u["given"][SWAPPED])
    shares = []
    for case_side, subject_side in (
        (cases.given[pc], index.name_family[name]),
        (cases.family[pc], index.name_given[name]),
    ):
        close = float(close_pairs(case_side, subject_side).sum())
        shares.append((close + 1.0) / (n + 1.0))
    return shares[0] * shares[1]


def _names_joint(levels: np.ndarray) -> float:
    """How much more often both names agree exactly among random pairs than if they were independent.

    Over the random pairs with both names present: the pairs where both agree against the count
    expected from each name's own rate, each with one pseudo-pair, so a sample with few
    agreements says "independent" (1), and never less than 1.
    """
    g, f = levels[:, FIELD_INDEX["given"]], levels[:, FIELD_INDEX["family"]]
    both_present = (g >= 0) & (f >= 0)
    n = int(both_present.sum())
    if not n:
        return 1.0
    given, family = (g[both_present] == 0), (f[both_present] == 0)
    expected = float(given.sum()) * float(family.sum()) / n
    return float(min(max((float((given & family).sum()) + 1.0) / (expected + 1.0), 1.0), 1e6))


def _with_crossed(u: dict[str, tuple[float, ...]], crossed: float) -> dict[str, tuple[float, ...]]:
    given = list(u["given"])
    given[SWAPPED] = max(given[SWAPPED], crossed)
    return {**u, "given": tuple(given)}


def _prior(params: Parameters, got: Compared, all_pairs: int) -> float:
    """The probability that a random pair is the same person, by EM on the prior alone.

    The pairs blocking leaves out are, nearly all of them, different people: the expected matches
    among the blocked pairs, over all pairs.
    """
    prior = params.prior
    for _ in range(100):
        trial = Parameters(
            params.m, params.u, prior, params.version, names_joint=params.names_joint
        )
        expected = float(got.scores(trial).probability.sum())
        new = min(max(expected / max(all_pairs, 1), 1e-12), 0.5)
        if abs(new - prior) <= 1e-4 * prior:
            return new
        prior = new
    return prior


def estimate(
    cur: Any,
    index: SubjectIndex,
    cases: CaseColumns,
    *,
    random_pairs: int,
    pair_cap: int,
    seed: int,
) -> Report:
    """The parameters estimated from `cases` against `index` (nothing stored)."""
    rng = default_rng(seed)
    n_cases, n_subjects = len(cases.ids), len(index)
    pc = rng.integers(0, n_cases, size=random_pairs)
    ps = rng.integers(0, n_subjects, size=random_pairs)
    named_n = name_pairs(n_cases + n_subjects)
    named = compare(cases, index, pc[:named_n], ps[:named_n], DEFAULT)
    rest = compare(cases, index, pc[named_n:], ps[named_n:], DEFAULT, names=False)
    random_levels = np.concatenate([named.levels, rest.levels])
    crossed = _crossed_u(cases, index, pc[:named_n], named.name)
    u = _with_crossed(em.estimate_u(random_levels), crossed)
    report = Report(DEFAULT, n_cases, n_subjects, random_pairs, name_pairs=len(named.levels))
    estimates: dict[str, list[tuple[float, ...]]] = {}
    for label, block, fields in ROUNDS:
        pc, ps = _blocked(block, cases, index, pair_cap, rng)
        if not len(pc):
            report.rounds.append({"round": label, "pairs": 0, "estimated": []})
            continue
        got = compare(cases, index, pc, ps, DEFAULT)
        if block == "names":  # one digit off is only seen in clear: open the identifiers here
            refine_identifiers(cur, cases, index, pc, ps, got.levels)
        result = em.estimate_m(got.levels, u, DEFAULT.m, fields, share_start=0.5)
        used = [f for f in fields if result.support[f] >= MIN_SUPPORT]
        for f in used:
            estimates.setdefault(f, []).append(result.m[f])
        report.rounds.append(
            {
                "round": label,
                "pairs": len(pc),
                "iterations": result.iterations,
                "converged": result.converged,
                "match_share": round(result.match_share, 6),
                "estimated": used,
            }
        )
    m = {
        f.name: (
            tuple(float(x) for x in np.mean(np.asarray(estimates[f.name]), axis=0))
            if f.name in estimates
            else DEFAULT.m[f.name]
        )
        for f in FIELDS
    }
    joint = _names_joint(named.levels)
    params = Parameters(m=m, u=u, prior=DEFAULT.prior, version="trained", names_joint=joint)
    pc, ps, _ = enforcement.candidates(cases, index)
    got = compare(cases, index, pc, ps, params)
    prior = _prior(params, got, n_cases * n_subjects)
    # The random pairs held some matches (about `prior` of them): u without them, then the prior again.
    u = _with_crossed(em.estimate_u(random_levels, m, prior), crossed)
    params = Parameters(m=m, u=u, prior=prior, version="trained", names_joint=joint)
    prior = _prior(params, compare(cases, index, pc, ps, params), n_cases * n_subjects)
    report.params = Parameters(m=m, u=u, prior=prior, version="trained", names_joint=joint)
    report.params.check()
    report.candidate_pairs = len(pc)
    return report


def train(
    *,
    actor: Any,
    cases: int = 200_000,
    random_pairs: int | None = None,
    pair_cap: int = 2_000_000,
    seed: int = 0,
    candidate: bool = False,
) -> tuple[LinkageModel, Report]:
    """Estimate the parameters from the current data and store them as a new, audited version.

    `candidate`: stored inactive, for a shadow run against the current model (`promote`).
    """
    current = sources.current_loads()
    load_id = current.get("enforcement")
    if not load_id:
        raise NothingToTrainOn("No current enforcement load: load subjects first.")
    forget()  # built afresh: a cached index may be of another database's load of the same id
    # Read-only, set-based reads: the run's sessions take JIT off too (its compilation cost more
    # than the sample's query at every size measured).
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        index = subject_index(int(load_id), cur)
        sample = _sample_cases(cur, cases, seed, int(current.get("dhs") or 0))
        if not len(sample.ids) or not len(index):
            raise NothingToTrainOn("No submitted cases or no subjects to train on.")
        if random_pairs is None:  # enough for u's rare levels, not more than the data can say
            random_pairs = min(400_000, max(50_000, 20 * (len(sample.ids) + len(index))))
        report = estimate(
            cur, index, sample, random_pairs=random_pairs, pair_cap=pair_cap, seed=seed
        )
    training = {
        "enforcement_load": int(load_id),
        "dhs_load": int(current.get("dhs") or 0),
        "cases": report.cases,
        "subjects": report.subjects,
        "random_pairs": report.random_pairs,
        "name_pairs": report.name_pairs,
        "candidate_pairs": report.candidate_pairs,
        "rounds": report.rounds,
        "seed": seed,
    }
    with transaction.atomic():
        version = (LinkageModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        row = LinkageModel.objects.create(
            version=version,
            parameters=report.params.as_json(),
            digest=report.params.digest,
            training=training,
            trained_by=actor,
            active=not candidate,
        )
        event_record(
            action="crossref.linkage_trained",
            actor=actor,
            object_type="crossref.linkage_model",
            object_id=row.pk,
            detail={"version": version, "digest": row.digest, "candidate": candidate, **training},
        )
    return row, report


def promote(*, actor: Any, version: int) -> LinkageModel:
    """Make a trained version the current model (new runs take it), audited."""
    with transaction.atomic():
        row: LinkageModel | None = (
            LinkageModel.objects.select_for_update().filter(version=version).first()
        )
        if row is None:
            raise LinkageModel.DoesNotExist(f"No linkage model version {version}.")
        before = LinkageModel.objects.current()
        row.active = True
        row.save(update_fields=["active"])
        event_record(
            action="crossref.linkage_promoted",
            actor=actor,
            object_type="crossref.linkage_model",
            object_id=row.pk,
            changes={"active": [False, True]},
            detail={"version": version, "previous": before.version if before else None},
        )
    return row


def table(params: Parameters) -> list[tuple[str, str, float, float, float]]:
    """(field, level, m, u, weight) rows: the m/u table the command prints."""
    weights = params.weight_table()
    return [
        (f.name, level, params.m[f.name][i], params.u[f.name][i], float(weights[j][i]))
        for j, f in enumerate(FIELDS)
        for i, level in enumerate(f.levels)
    ]


__all__ = [
    "FIELD_INDEX",
    "NothingToTrainOn",
    "Report",
    "estimate",
    "name_pairs",
    "pairs_on",
    "table",
    "train",
]
