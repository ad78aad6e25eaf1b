"""Which candidate pairs could reach a review lead at all: the rest need not be compared.

A pair's log-odds are the prior plus each field's weight (`model.score`). Before the costly part
of a comparison (every name level, the documents, opening identifiers), an upper bound of that sum
is cheap to know, and a pair whose bound stays below the review threshold cannot become a finding
whatever its comparison finds: it is left out, counted as `beyond_reach`. Nothing is lost (the
bounds are tested against every pair of a mixed population) and at millions of cases most of the
candidate pairs a common name makes are settled so.

- `reach`, per subject: the strongest level each of its fields allows (its names agreeing
  exactly at their own term frequency, or at the best other level, or exchanged; its date of
  birth, its country, its SSN or A-Number one or two slips off, where it has them).
- `pair_reach`, per pair: the names' weight bounded by what the pair's names allow (an exact
  agreement only where the names are exactly alike, compared as word ids; else the best other
  level), the date of birth's and the country's actual weights, and a slipped SSN or A-Number
  only where the case's last four (shown in clear) are within two slips of the subject's.

Pairs that share a document are made by the document rules and always compared.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from crossref.linkage.compare import CaseColumns, _count_table, _dob, open_values
from crossref.linkage.model import FIELD_INDEX, SWAPPED, Parameters, exact_weight
from crossref.linkage.subjects import SubjectIndex, word, word_id
from verification.comparison import IDENTIFIER_DIFFERENT, NAME_DIFFERENT

IDENTIFIERS = ("ssn", "a_number")


def _names(index: SubjectIndex, params: Parameters) -> dict[str, tuple[np.ndarray, float]]:
    """Per name field: each subject name row's exact weight (0 where it has no such name) and
    the best weight of any other level of the field."""
    table = params.weight_table()
    empty = word_id("")
    out = {}
    for name, words_, counts in (
        ("given", index.name_given, index.given_count),
        ("family", index.name_family, index.family_count),
    ):
        j, total = FIELD_INDEX[name], getattr(index, f"{name}_total")
        count = _count_table(index, name, counts)[words_]
        exact = np.where(
            np.isnan(count), table[j][0], exact_weight(params, name, np.nan_to_num(count), total)
        )
        out[name] = (
            np.where(words_ != empty, exact, 0.0),
            float(table[j][1 : NAME_DIFFERENT + 1].max()),
        )
    return out


def reach(index: SubjectIndex, params: Parameters) -> np.ndarray:
    """Per subject, the most log-odds a case sharing no document with it could reach (cached per model)."""
    cached = index.reach.get(params.digest)
    if cached is not None:
        return cached
    table = params.weight_table()
    (g_exact, g_other), (f_exact, f_other) = _names(index, params).values()
    empty = word_id("")
    g_present, f_present = index.name_given != empty, index.name_family != empty
    g_other_ = np.where(g_present, g_other, 0.0)
    f_other_ = np.where(f_present, f_other, 0.0)
    names = np.maximum.reduce(
        [
            g_exact + f_exact - np.where(g_present & f_present, np.log2(params.names_joint), 0.0),
            g_exact + f_other_,
            g_other_ + f_exact,
            g_other_ + f_other_,
            np.where(g_present & f_present, table[FIELD_INDEX["given"]][SWAPPED], -np.inf),
        ]
    )
    out = np.maximum.reduceat(names, index.name_start) if len(names) else np.zeros(0)
    out = out + params.prior_weight
    out += np.where(index.dob > 0, max(0.0, float(table[FIELD_INDEX["dob"]].max())), 0.0)
    out += np.where(index.country > 0, max(0.0, float(table[FIELD_INDEX["country"]].max())), 0.0)
    for name in IDENTIFIERS:
        out += np.where(index.holds[name], _slip_weight(params, name), 0.0)
    index.reach[params.digest] = out
    return out


def _slip_weight(params: Parameters, name: str) -> float:
    return max(0.0, float(params.weight_table()[FIELD_INDEX[name]][1:IDENTIFIER_DIFFERENT].max()))


_FORMS: dict[object, int] = {}
_forms_lock = threading.Lock()


def _form_id(form: object) -> int:
    got = _FORMS.get(form)
    if got is None:
        with _forms_lock:
            got = _FORMS.setdefault(form, len(_FORMS))
    return got


@lru_cache(maxsize=1 << 18)
def _exact_forms(word_id_: int) -> tuple[int, int]:
    """Two ids of a normalized name such that two names are exactly alike (`name_levels` level 0:
    equal once spaces go, or the same parts in any order) if and only if one of them is equal."""
    text = word(word_id_)
    return _form_id(("nospace", text.replace(" ", ""))), _form_id(frozenset(text.split()))


def _forms(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(ids, return_inverse=True)
    table = np.asarray([_exact_forms(int(w)) for w in uniq], dtype=np.int64).reshape(-1, 2)
    return table[inverse, 0], table[inverse, 1]


def too_far_many(
    case_last4: Sequence[str], subject_tails: Sequence[tuple[str | None, ...]]
) -> np.ndarray:
    """`compare._too_far` of many pairs at once, its distances computed in C (rapidfuzz `cpdist`)."""
    out = np.ones(len(case_last4), dtype=bool)
    a: list[str] = []
    b: list[str] = []
    owner: list[int] = []
    for i, (mine, theirs) in enumerate(zip(case_last4, subject_tails, strict=True)):
        if len(mine) != 4 or None in theirs:
            out[i] = False
            continue
        for t in theirs:
            a.append(mine)
            b.append(t)  # type: ignore[arg-type]  # None was ruled out above
            owner.append(i)
    if a:
        distance = process.cpdist(a, b, scorer=DamerauLevenshtein.distance, workers=1)
        out[np.asarray(owner, dtype=np.int64)[distance <= 2]] = False
    return out


def pair_reach(
    cursor: Any,
    cases: CaseColumns,
    index: SubjectIndex,
    pc: np.ndarray,
    ps: np.ndarray,
    params: Parameters,
    need: float,
) -> np.ndarray:
    """Per pair (case row `pc`, subject `ps`) sharing no document, the most log-odds it could reach
    (a slipped identifier counted only where it is what could lift the pair to `need`: a bound of
    at least `need` means the pair must be compared).

    The last fours of a subject's SSN or A-Number are read (`compare.open_values`) only for the
    subjects whose pairs a slipped identifier alone could lift to `need`.
    """
    n = len(pc)
    if not n:
        return np.zeros(0)
    table = params.weight_table()
    names = _names(index, params)
    empty = word_id("")
    count = index.name_count[ps]
    start = np.cumsum(count) - count
    owner = np.repeat(np.arange(n), count)
    row = np.repeat(index.name_start[ps] - start, count) + np.arange(len(owner))
    weights = []
    exact_both = np.ones(len(owner), dtype=bool)
    present_both = np.ones(len(owner), dtype=bool)
    for name, mine, theirs in (
        ("given", cases.given, index.name_given),
        ("family", cases.family, index.name_family),
    ):
        exact_w, other = names[name]
        case_words, subject_words = mine[pc][owner], theirs[row]
        present = (case_words != empty) & (subject_words != empty)
        (a1, a2), (b1, b2) = _forms(case_words), _forms(subject_words)
        exact = present & ((a1 == b1) | (a2 == b2))
        weights.append(np.where(exact, exact_w[row], np.where(present, other, 0.0)))
        exact_both &= exact
        present_both &= present
    combined = weights[0] + weights[1] - np.where(exact_both, np.log2(params.names_joint), 0.0)
    swapped = np.where(present_both, table[FIELD_INDEX["given"]][SWAPPED], -np.inf)
    best = np.maximum(combined, swapped)
    out = np.maximum.reduceat(best, start) + params.prior_weight
    dated = np.flatnonzero((cases.dob[pc] > 0) & (index.dob[ps] > 0))  # else missing: no weight
    dob = _dob(cases.dob[pc[dated]], index.dob[ps[dated]])
    out[dated] += table[FIELD_INDEX["dob"]][dob]
    if cases.country is not None:
        mine, theirs = cases.country[pc], index.country[ps]
        country = table[FIELD_INDEX["country"]]
        out += np.where(
            (mine == 0) | (theirs == 0), 0.0, np.where(mine == theirs, country[0], country[1])
        )
    slips = {name: _slip_weight(params, name) for name in IDENTIFIERS}
    lifted = np.flatnonzero(
        (out < need)
        & (out + sum(np.where(index.holds[k][ps], w, 0.0) for k, w in slips.items()) >= need)
    )
    if not len(lifted):
        return out
    ids, last4 = index.ids, cases.last4 or [("", "")] * len(cases.ids)
    for j, name in enumerate(IDENTIFIERS):
        holds = lifted[index.holds[name][ps[lifted]]]
        subjects = ids[ps[holds]].tolist()
        open_values(
            cursor, index, {(s, name) for s in set(subjects) if (s, name) not in index.tails}
        )
        far = too_far_many(
            [last4[int(pc[k])][j] or "" for k in holds.tolist()],
            [index.tails[s, name] for s in subjects],
        )
        out[holds[~far]] += slips[name]
    return out


__all__ = ["pair_reach", "reach", "too_far_many"]
