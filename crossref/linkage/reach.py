"""How far a (case, subject) pair could go before it is compared: ENF-LINK's bound.

`reach` is, per subject, the most log-odds a case sharing no document with it could reach: the
prior, plus for each field the strongest level the subject's side allows. `Bound` tightens it per
pair with what is cheap to know before comparing names: the pair's date-of-birth level, its
countries, and whether the last fours (shown in clear) leave an SSN or A-Number slip possible
(`near_tails`). A pair whose bound stays below the review threshold cannot become a review lead
without a shared document, whatever its names, and is not compared (`enforcement.candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from crossref.linkage.compare import (
    CaseColumns,
    count_table,
    open_subject_values,
    pair_dob_levels,
)
from crossref.linkage.model import (
    FIELD_INDEX,
    SWAPPED,
    Parameters,
    exact_weight,
    swapped_weight,
)
from crossref.linkage.subjects import SubjectIndex, word_id
from verification.comparison import IDENTIFIER_DIFFERENT, NAME_DIFFERENT

# `fill_tail_digits`: per subject this many values of a kind are held (a subject with more is
# never ruled out by its last four); -1: no value, -2: unknown (not 9 characters, or more values),
# -3: not opened yet.
TAIL_VALUES = 2
_NO_TAIL, _UNKNOWN_TAIL, _UNOPENED = -1, -2, -3


def fill_tail_digits(
    cursor: Any, index: SubjectIndex, subjects: np.ndarray, kind: str, digits: np.ndarray
) -> None:
    """Write the last four digits of the `kind` values of `subjects` (indexes) into `digits` rows.

    Each row holds up to TAIL_VALUES values (`_NO_TAIL` beyond); a subject with more values, or a
    value that is not 9 digits, is `_UNKNOWN_TAIL`, which rules nothing out. The values are opened
    once a worker (`open_subject_values`), as the slip refinement opens them.
    """
    ids = index.ids[subjects].tolist()
    open_subject_values(cursor, index, {(i, kind) for i in ids if (i, kind) not in index.tails})
    for i, s in zip(ids, subjects.tolist(), strict=True):
        got = index.tails.get((i, kind), ())
        digits[s] = _NO_TAIL
        if len(got) > TAIL_VALUES:
            digits[s] = _UNKNOWN_TAIL
            continue
        for k, tail in enumerate(got):
            digits[s, k] = (
                _UNKNOWN_TAIL if tail is None or not tail.isdigit() else [int(c) for c in tail]
            )


def case_tail_digits(cases: CaseColumns, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per kind, the last four digits of the cases at `rows` (len(rows), 4): -1 for no value, -2 when unknown."""
    out = {}
    # Each text as four code points (a shorter one padded with 0, None read as "None"): the
    # digits are 0-9 once less "0", anything else is unknown.
    texts = np.array(cases.last4 or [("", "")] * len(cases.ids), dtype="U4").reshape(-1, 2)
    for j, held in enumerate((cases.ssn, cases.a_number)):
        text = np.ascontiguousarray(texts[:, j])
        digits = (text.view(np.uint32).reshape(-1, 4).astype(np.int64) - ord("0"))[rows]
        known = ((digits >= 0) & (digits <= 9)).all(axis=1)
        digits = digits.astype(np.int8)
        has = np.fromiter(map(bool, held), dtype=bool, count=len(held))[rows]
        digits[~known] = _UNKNOWN_TAIL
        digits[~has] = _NO_TAIL
        out["ssn" if j == 0 else "a_number"] = digits
    return out


def near_tails(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each pair of last fours (rows of digits) may be within two keying slips.

    True wherever the Damerau-Levenshtein distance of the two is at most 2 (checked against all
    10^8 pairs of four digits), and for about 5% of the pairs beyond it: at most two digits
    differ, or one adjacent pair exchanged and at most one other digit, or the one is the other
    shifted by a place in at most one digit (a digit dropped and another added).
    """
    equal = a[:, :, None] == b[:, None, :]  # [k, i, j]: a[i] == b[j]
    at = np.arange(4)
    same = equal[:, at, at].astype(np.int8)  # position by position
    before = equal[:, at[1:], at[:-1]].astype(np.int8)  # a[i + 1] == b[i]
    after = equal[:, at[:-1], at[1:]].astype(np.int8)  # a[i] == b[i + 1]
    agree = same.sum(axis=1)
    keep: np.ndarray = (agree >= 2) | (before.sum(axis=1) >= 2) | (after.sum(axis=1) >= 2)
    for i in range(3):  # a[i] and a[i + 1] exchanged, and at most one other digit wrong
        keep |= agree - same[:, i] - same[:, i + 1] + before[:, i] + after[:, i] >= 3
    return keep


def may_slip(
    case_digits: dict[str, np.ndarray],
    subject_digits: dict[str, np.ndarray],
    pc: np.ndarray,
    ps: np.ndarray,
    kind: str,
) -> np.ndarray:
    """Whether each pair's `kind` ("ssn", "a_number") could be one or two slips apart, by the last fours alone."""
    out = np.zeros(len(pc), dtype=bool)
    mine = case_digits[kind][pc]
    theirs = subject_digits[kind][ps]
    held = mine[:, 0] != _NO_TAIL
    unknown = mine[:, 0] == _UNKNOWN_TAIL
    for k in range(TAIL_VALUES):
        tail = theirs[:, k]
        out |= held & ((tail[:, 0] == _UNKNOWN_TAIL) | ((tail[:, 0] >= 0) & unknown))
        both = np.flatnonzero(held & ~unknown & (tail[:, 0] >= 0) & ~out)
        out[both] = near_tails(mine[both], tail[both])
    return out


@dataclass
class ReachParts:
    """Per subject, what each kind of evidence could add at most (log-odds), as `reach` sums it."""

    names: np.ndarray  # the prior and the names at their best
    dob: np.ndarray  # the date of birth agreeing (0 where the subject has none)
    country: np.ndarray  # the country agreeing (0 where the subject has none)
    slips: dict[str, np.ndarray]  # "ssn", "a_number": one or two slips off (0: none held)

    def total(self) -> np.ndarray:
        out: np.ndarray = (
            self.names + self.dob + self.country + self.slips["ssn"] + self.slips["a_number"]
        )
        return out


def reach_parts(index: SubjectIndex, params: Parameters) -> ReachParts:
    """The parts of `reach`, cached on the index per model."""
    cached: ReachParts | None = index.reach.get(params.digest)
    if cached is not None:
        return cached
    table = params.weight_table()
    empty = word_id("")
    best, counts_ = [], []
    for name, words_, counts in (
        ("given", index.name_given, index.given_count),
        ("family", index.name_family, index.family_count),
    ):
        j, total = FIELD_INDEX[name], getattr(index, f"{name}_total")
        count = count_table(index, name, counts)[words_]
        exact = np.where(
            np.isnan(count), table[j][0], exact_weight(params, name, np.nan_to_num(count), total)
        )
        other = float(table[j][1 : NAME_DIFFERENT + 1].max())
        present = words_ != empty
        counts_.append((count, total))
        best.append((np.where(present, exact, 0.0), np.where(present, other, 0.0), present))
    (g_exact, g_other, g_present), (f_exact, f_other, f_present) = best
    (g_count, g_total), (f_count, f_total) = counts_
    counted = ~np.isnan(g_count) & ~np.isnan(f_count)
    swapped = np.where(
        counted,
        swapped_weight(params, np.nan_to_num(g_count), g_total, np.nan_to_num(f_count), f_total),
        table[FIELD_INDEX["given"]][SWAPPED],
    )
    names = np.maximum.reduce(
        [
            g_exact + f_exact - np.where(g_present & f_present, np.log2(params.names_joint), 0.0),
            g_exact + f_other,
            g_other + f_exact,
            g_other + f_other,
            np.where(g_present & f_present, swapped, -np.inf),
        ]
    )
    best_names = np.maximum.reduceat(names, index.name_start) if len(names) else np.zeros(0)
    dob = np.where(index.dob > 0, max(0.0, float(table[FIELD_INDEX["dob"]].max())), 0.0)
    slips = {}
    for name in ("ssn", "a_number"):
        slip = max(0.0, float(table[FIELD_INDEX[name]][1:IDENTIFIER_DIFFERENT].max()))
        slips[name] = np.where(index.holds[name], slip, 0.0)
    country = np.where(index.country > 0, max(0.0, float(table[FIELD_INDEX["country"]].max())), 0.0)
    parts = index.reach[params.digest] = ReachParts(
        best_names + params.prior_weight, dob, country, slips
    )
    return parts


def reach(index: SubjectIndex, params: Parameters) -> np.ndarray:
    """Per subject, the most log-odds a case sharing no document with it could reach.

    The prior, plus for each field the strongest level the subject's side allows: its names (each
    of primary and aliases) agreeing exactly at their own term frequency or at the best other
    level, or exchanged (`model.swapped_weight`); its date of birth, its country and its SSN or
    A-Number one or two slips off only where it has them. An undated subject with common names
    and no number cannot reach a review lead whatever a case holds, so its pairs need not be
    compared (a pair that shares a document is made by the document rules and always compared).
    """
    return reach_parts(index, params).total()


@dataclass
class Bound:
    """Which name-blocked pairs are worth comparing (`candidates` in ENF-LINK): a bound per pair.

    The prior and the subject's names at their best (`reach_parts`), plus what the pair's date of
    birth actually adds, its country only where the case's is the same (a missing country adds
    nothing, a different one takes away), and an SSN or A-Number slip only where the last fours
    are near (`near_tails`: never rules out a pair within two slips). A pair whose bound stays
    below the review threshold cannot become a review lead without a shared document, whatever
    its names are.
    """

    need: float  # the review threshold's log-odds
    parts: ReachParts
    dob_weights: np.ndarray  # the weight of each date-of-birth level (`_dob`)
    # per kind, the subjects' last fours (subjects, TAIL_VALUES, 4), opened as pairs need them
    digits: dict[str, np.ndarray]

    @property
    def within(self) -> np.ndarray:
        """Per subject: some case sharing no document with it could reach review."""
        out: np.ndarray = self.parts.total() >= self.need - 1e-9
        return out

    def keep(
        self, cursor: Any, index: SubjectIndex, cases: CaseColumns, pc: np.ndarray, ps: np.ndarray
    ) -> np.ndarray:
        """Which pairs (that share no document) could reach review."""
        parts, need = self.parts, self.need - 1e-9
        bound = parts.names[ps]
        dated = np.flatnonzero(parts.dob[ps] > 0)
        levels = pair_dob_levels(cases.dob[pc[dated]], index.dob[ps[dated]])
        bound[dated] += np.where(levels >= 0, self.dob_weights[np.maximum(levels, 0)], 0.0)
        if cases.country is not None:
            same = cases.country[pc] == index.country[ps]
            bound += np.where(same, parts.country[ps], 0.0)
        kept: np.ndarray = bound >= need
        slip = np.flatnonzero(
            ~kept & (bound + parts.slips["ssn"][ps] + parts.slips["a_number"][ps] >= need)
        )
        if len(slip):
            subjects = ps[slip]
            self._open(cursor, index, subjects)
            mine = case_tail_digits(cases, np.arange(len(cases.ids)))
            extra = np.zeros(len(slip))
            for kind in ("ssn", "a_number"):
                near = may_slip(mine, self.digits, pc[slip], subjects, kind)
                extra += np.where(near, parts.slips[kind][subjects], 0.0)
            kept[slip] = bound[slip] + extra >= need
        return kept

    def _open(self, cursor: Any, index: SubjectIndex, subjects: np.ndarray) -> None:
        """Fill in the last fours of those of `subjects` not yet opened (once a worker)."""
        for kind in ("ssn", "a_number"):
            todo = subjects[self.digits[kind][subjects, 0, 0] == _UNOPENED]
            if len(todo):
                fill_tail_digits(cursor, index, np.unique(todo), kind, self.digits[kind])


def bound(index: SubjectIndex, params: Parameters, need: float) -> Bound:
    """The `Bound` of a subject index under a model and a review threshold (log-odds), once per worker."""
    key = f"{params.digest}:{need:.9f}"
    cached: Bound | None = index.bounds.get(key)
    if cached is None:
        digits = {}
        for kind in ("ssn", "a_number"):
            digits[kind] = np.full((len(index), TAIL_VALUES, 4), _NO_TAIL, dtype=np.int8)
            digits[kind][index.holds[kind]] = _UNOPENED
        cached = index.bounds[key] = Bound(
            need,
            reach_parts(index, params),
            np.asarray(params.weight_table()[FIELD_INDEX["dob"]]),
            digits,
        )
    return cached
