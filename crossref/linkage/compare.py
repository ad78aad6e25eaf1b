"""Comparison vectors of (case, subject) pairs: the level each field reaches (`model.FIELDS`).

Vectorized over pairs. Names are word ids; each distinct pair of names gets its level once per
worker process (`_LEVELS`), since names repeat. A subject's names are its primary name and its
aliases: the pair takes the name whose levels weigh most under the model. Given name and surname
entered the wrong way round (each close to the other side's other name, while the straight
comparison is not) is the given-name field's `swapped` level, and the surname is then not counted
again.

A subject born on 1 January of the case's year of birth may be known by the year only: a date
level that would weigh against such a pair is missing instead (`pair_dob_levels`).

Identifiers are compared by blind index (exact) and, for SSN and A-Number pairs that the scale
would otherwise call different, in clear inside the worker for the few pairs where one digit off
could change the outcome (`refine_identifiers`): never stored, never logged.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein

from crossref import sources
from crossref.linkage import blocking, cooccur
from crossref.linkage.model import (
    FIELD_INDEX,
    FIELDS,
    SWAPPED,
    YEAR_ONLY,
    Parameters,
    Scores,
    score,
)
from crossref.linkage.subjects import SubjectIndex, word
from privacy import crypto
from verification.comparison import (
    IDENTIFIER_DIFFERENT,
    MISSING,
    close_names,
    dob_levels,
    identifier_level,
    name_levels,
)

_LEVELS: dict[int, int] = {}  # (left word id << 32 | right word id) -> name level
_levels_lock = threading.Lock()


@dataclass
class CaseColumns:
    """The compared fields of some cases (row-aligned)."""

    ids: np.ndarray  # case ids
    given: np.ndarray  # word ids of the normalized given names
    family: np.ndarray  # word ids of the normalized family names (other last names included)
    dob: np.ndarray  # date ordinals, 0 for none
    ssn: list[str]  # blind indexes, '' for none
    a_number: list[str]
    others: list[tuple[str, ...]]  # passport, I-94 and document-number blind indexes
    country: np.ndarray | None = None  # `country_code`s (0: none); None: no country at all
    # (SSN, A-Number) last four digits as shown in clear, '' for none; None: not read
    last4: list[tuple[str, str]] | None = None
    # (subject index, `cooccur.NameCounts`) of these cases and that index, built on first use
    name_counts: tuple[Any, Any] | None = dataclasses.field(default=None, repr=False, compare=False)


@dataclass
class Compared:
    """The levels of pairs, the subject name each pair was judged on and the term-frequency shares."""

    levels: np.ndarray  # (pairs, fields) int8, -1 missing
    name: np.ndarray  # the subject name row (into the index's name arrays) of each pair
    tf: dict[
        str, np.ndarray
    ]  # field -> subjects' names bearing the pair's exact name, or the subject's name where the
    # names are exchanged (NaN: neither)
    tf_total: dict[str, int]  # field -> the subjects' names with a value
    # where both names agree exactly, how much more often the two go together among the people
    # than their own rates predict (`cooccur.lift`); 1 elsewhere
    joint: np.ndarray | None = None

    def scores(self, params: Parameters) -> Scores:
        """The pairs' weights and match probabilities under `params` (`model.score`)."""
        return score(params, self.levels, self.tf, self.tf_total, self.joint)


def pair_levels(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`name_levels` of pairs of word ids, each distinct pair judged once per process."""
    if not len(left):
        return np.zeros(0, dtype=np.int8)
    codes = (np.asarray(left, dtype=np.int64) << 32) | np.asarray(right, dtype=np.int64)
    uniq, inverse = np.unique(codes, return_inverse=True)
    got = np.fromiter(
        map(_LEVELS.get, uniq.tolist(), itertools.repeat(-9)), dtype=np.int64, count=len(uniq)
    )
    missing = np.flatnonzero(got == -9)
    if len(missing):
        codes_todo = uniq[missing]
        todo = codes_todo.tolist()
        levels = name_levels(
            list(map(word, (codes_todo >> 32).tolist())),
            list(map(word, (codes_todo & 0xFFFFFFFF).tolist())),
        )
        got[missing] = levels
        with _levels_lock:
            if len(_LEVELS) > 4_000_000:
                _LEVELS.clear()
            _LEVELS.update(zip(todo, levels.tolist(), strict=True))
    return got[inverse].astype(np.int8)


def close_pairs(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether each pair of word ids is exactly or closely the same name (`close_names`): a swap's test."""
    return close_names(list(map(word, left.tolist())), list(map(word, right.tolist())))


def _names(
    cases: CaseColumns, index: SubjectIndex, pc: np.ndarray, ps: np.ndarray, params: Parameters
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given and family levels of each pair on its best subject name, and that name's row."""
    count = index.name_count[ps]
    start = np.cumsum(count) - count
    owner = np.repeat(np.arange(len(pc)), count)
    name = np.repeat(index.name_start[ps] - start, count) + np.arange(len(owner))
    cg, cf = cases.given[pc][owner], cases.family[pc][owner]
    sg, sf = index.name_given[name], index.name_family[name]
    given, family = pair_levels(cg, sg), pair_levels(cf, sf)
    # Names the wrong way round: only where the straight comparison is not already close.
    loose = np.flatnonzero(~((given >= 0) & (given <= 1) & (family >= 0) & (family <= 1)))
    if len(loose):
        swapped = loose[close_pairs(cg[loose], sf[loose]) & close_pairs(cf[loose], sg[loose])]
        given[swapped], family[swapped] = SWAPPED, MISSING
    table = params.weight_table()
    wg, wf = table[FIELD_INDEX["given"]], table[FIELD_INDEX["family"]]
    weight = np.where(given >= 0, wg[np.maximum(given, 0)], 0.0) + np.where(
        family >= 0, wf[np.maximum(family, 0)], 0.0
    )
    best = np.maximum.reduceat(weight, start) if len(weight) else weight
    is_best = np.flatnonzero(weight >= np.repeat(best, count) - 1e-12)
    chosen = is_best[np.searchsorted(owner[is_best], np.arange(len(pc)))]
    return given[chosen], family[chosen], name[chosen]


def pair_dob_levels(case_dob: np.ndarray, subject_dob: np.ndarray) -> np.ndarray:
    """Date-of-birth levels; a subject's 1 January of the case's year is a date known by its year only.

    Enforcement records often hold only a year of birth, written as 1 January. Where the years
    agree and the dates do not, the pair reaches `same_year_day_unknown` (YEAR_ONLY): the year's
    agreement is evidence, the day and month the record does not know are none either way.
    """
    levels = dob_levels(case_dob, subject_dob)
    at = np.flatnonzero(blocking.year_only_dates(subject_dob))
    if len(at):  # the few pairs with such a subject: their case dates are split alone
        same_year = (
            blocking.date_columns(case_dob[at])[1] == blocking.date_columns(subject_dob[at])[1]
        )
        levels[at[same_year & (levels[at] > 0)]] = YEAR_ONLY
    return levels


def _document_levels(
    cases: CaseColumns, index: SubjectIndex, pc: np.ndarray, ps: np.ndarray
) -> np.ndarray:
    """SSN, A-Number and other-document levels of each pair: exact, different, or missing.

    Exact where the case's blind index is one of the subject's (an index is keyed by its kind, so
    it also holds for documents loaded without a kind); different where both hold a document of
    the kind and no index is shared; else missing.
    """
    out = np.full((len(pc), 3), MISSING, dtype=np.int8)
    if not len(pc):
        return out
    n_subjects = max(len(index), 1)
    lookup = index.by_doc
    exact: list[list[int]] = [[], [], []]
    rows = np.unique(pc).tolist()
    others = [cases.others[i] for i in rows]
    columns = [
        (0, [cases.ssn[i] for i in rows]),
        (1, [cases.a_number[i] for i in rows]),
        *((2, [o[m] for o in others]) for m in range(len(others[0]) if others else 0)),
    ]
    for (
        j,
        column,
    ) in columns:  # a dict look-up per case and document, in C; the few found, in Python
        found = np.fromiter(map(lookup.__contains__, column), dtype=bool, count=len(column))
        for r in np.flatnonzero(found).tolist():
            if column[r]:
                exact[j].extend(rows[r] * n_subjects + s for s in lookup[column[r]])
    codes = pc * n_subjects + ps
    held = [
        np.fromiter(map(bool, cases.ssn), dtype=bool, count=len(cases.ssn)),
        np.fromiter(map(bool, cases.a_number), dtype=bool, count=len(cases.a_number)),
        np.fromiter(map(any, cases.others), dtype=bool, count=len(cases.others)),
    ]
    for j, (group, different) in enumerate(
        (("ssn", IDENTIFIER_DIFFERENT), ("a_number", IDENTIFIER_DIFFERENT), ("other", 1))
    ):
        out[held[j][pc] & index.holds[group][ps], j] = different
        if exact[j]:
            out[np.isin(codes, np.asarray(exact[j], dtype=np.int64)), j] = 0
    return out


def compare(
    cases: CaseColumns,
    index: SubjectIndex,
    pc: np.ndarray,
    ps: np.ndarray,
    params: Parameters,
    *,
    names: bool = True,
) -> Compared:
    """The comparison vectors of pairs (case row `pc`, subject `ps`).

    `names=False`: the names are left missing (training's extra random pairs, for the dates' and
    documents' rarer levels: judging names costs most, and their u needs fewer pairs).
    """
    levels = np.full((len(pc), len(FIELDS)), MISSING, dtype=np.int8)
    if not len(pc):
        empty = np.zeros(0, dtype=np.float64)
        return Compared(
            levels,
            np.zeros(0, dtype=np.int64),
            {"given": empty, "family": empty},
            {"given": index.given_total, "family": index.family_total},
        )
    if names:
        given, family, name = _names(cases, index, pc, ps, params)
    else:
        given = family = np.full(len(pc), MISSING, dtype=np.int8)
        name = index.name_start[ps]
    levels[:, FIELD_INDEX["given"]] = given
    levels[:, FIELD_INDEX["family"]] = family
    levels[:, FIELD_INDEX["dob"]] = pair_dob_levels(cases.dob[pc], index.dob[ps])
    if cases.country is not None:
        mine, theirs = cases.country[pc], index.country[ps]
        levels[:, FIELD_INDEX["country"]] = np.where(
            (mine == 0) | (theirs == 0), MISSING, np.where(mine == theirs, 0, 1)
        )
    levels[:, FIELD_INDEX["ssn"] :] = _document_levels(cases, index, pc, ps)
    tf = {}
    swapped = given == SWAPPED  # `model.swapped_weight` takes the counts of the subject's names
    for name_field, words_, counts, got in (
        ("given", index.name_given, index.given_count, given),
        ("family", index.name_family, index.family_count, family),
    ):
        tf[name_field] = np.where(
            (got == 0) | swapped, count_table(index, name_field, counts)[words_[name]], np.nan
        )
    joint = cooccur.lift(cases, index, pc, ps, name, (given == 0) & (family == 0))
    return Compared(
        levels, name, tf, {"given": index.given_total, "family": index.family_total}, joint
    )


def count_table(index: SubjectIndex, field: str, counts: dict[int, int]) -> np.ndarray:
    """`counts` (word id -> subjects' names bearing it) as an array by word id (NaN: none), once per index."""
    table = index.count_tables.get(field)
    if table is None:
        top = max(counts, default=-1)
        names = np.concatenate([index.name_given, index.name_family])
        table = np.full(max(top, int(names.max()) if len(names) else -1) + 1, np.nan)
        if counts:
            table[np.fromiter(counts, dtype=np.int64, count=len(counts))] = np.fromiter(
                counts.values(), dtype=np.float64, count=len(counts)
            )
        index.count_tables[field] = table
    return table


def _clear(token: str, table: str, column: str, row_id: int) -> str:
    try:
        return crypto.normalize_identifier(
            crypto.decrypt(token, table=table, column=column, row_id=row_id)
        )
    except crypto.DecryptionFailed:
        return ""


# SSNs and A-Numbers are stored as 9 digits (verification.validation). Two strings of one length
# at most two keying slips apart (Damerau-Levenshtein) have last four characters at most two apart,
# so a case whose last four (kept in clear) are further from those of every value of the subject
# cannot reach a one- or two-off level, and its own value is not opened.
_FULL_LENGTH = 9


def tails(values: list[str]) -> tuple[str | None, ...]:
    """The last four of each non-empty value (None for a value that is not 9 characters long)."""
    return tuple(v[-4:] if len(v) == _FULL_LENGTH else None for v in values if v)


def _too_far(case_last4: str, subject_tails: tuple[str | None, ...]) -> bool:
    """True when no value of the subject (its `tails`) can be within two slips of the case's
    (9-digit) value ending in `case_last4`; True as well when the subject has no value."""
    if len(case_last4) != 4:
        return False
    return all(
        t is not None and DamerauLevenshtein.distance(case_last4, t) > 2 for t in subject_tails
    )


def open_subject_values(
    cursor: Any, index: SubjectIndex, wanted: set[tuple[int, str]]
) -> dict[tuple[int, str], list[str]]:
    """The clear values of the given kinds ("ssn", "a_number") of the given subjects (by id).

    Their last fours are kept on the index (`SubjectIndex.tails`); the values themselves are the
    caller's to compare and drop.
    """
    opened: dict[tuple[int, str], list[str]] = {}
    if not wanted:
        return opened
    ids = sorted({subject_id for subject_id, _ in wanted})
    cursor.execute(
        f"SELECT id, documents_enc, documents_kind FROM {sources.ENFORCEMENT} "  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        "WHERE id = ANY(%s::bigint[])",
        ["{" + ",".join(map(str, ids)) + "}"],
    )
    docs = {row[0]: (row[1] or [], row[2] or []) for row in cursor.fetchall()}
    for subject_id, field in wanted:
        sealed, kinds = docs.get(subject_id, ([], []))
        values = opened[subject_id, field] = [
            _clear(t, sources.ENFORCEMENT, f"documents_enc[{i}]", subject_id)
            for i, (t, kind) in enumerate(zip(sealed, kinds, strict=False))
            if kind == field
        ]
        index.tails[subject_id, field] = tails(values)
    return opened


def refine_identifiers(
    cursor: Any,
    cases: CaseColumns,
    index: SubjectIndex,
    pc: np.ndarray,
    ps: np.ndarray,
    levels: np.ndarray,
) -> None:
    """Upgrade SSN / A-Number levels from different to one-off where the clear values are one digit apart.

    Only for the pairs given (the caller passes the few whose outcome it could change); the clear
    values are opened in the worker's memory, compared and dropped.
    """
    fields = [("ssn", sources.CASE_SSN_COLUMN), ("a_number", "a_number_enc")]
    todo = [
        (k, j)
        for j, (f, _) in enumerate(fields)
        for k in np.flatnonzero(levels[:, FIELD_INDEX[f]] == IDENTIFIER_DIFFERENT).tolist()
    ]
    if not todo:
        return
    last4 = cases.last4 or [("", "")] * len(cases.ids)
    opened_subjects: dict[tuple[int, str], list[str]] = {}

    def open_subjects(wanted: set[tuple[int, str]]) -> None:
        opened_subjects.update(open_subject_values(cursor, index, wanted))

    # The pairs whose case cannot be within reach by its last four (`_too_far`) are settled
    # without opening the case's value; a subject's last fours are kept on the index, so its
    # values are opened only for the pairs that remain.
    ids = index.ids
    ks = np.fromiter((k for k, _ in todo), dtype=np.int64, count=len(todo))
    pairs = list(
        zip(ks.tolist(), (j for _, j in todo), ids[ps[ks]].tolist(), pc[ks].tolist(), strict=True)
    )
    unknown = {(s, fields[j][0]) for _, j, s, _ in pairs if (s, fields[j][0]) not in index.tails}
    if unknown:
        open_subjects(unknown)
    tails_of = index.tails
    near = [
        (k, j, s)
        for k, j, s, row in pairs
        if not _too_far(last4[row][j] or "", tails_of[s, fields[j][0]])
    ]
    closed = {(s, fields[j][0]) for _, j, s in near if (s, fields[j][0]) not in opened_subjects}
    if closed:
        open_subjects(closed)
    if not near:
        return
    cursor.execute(
        f"SELECT id, ssn_enc, a_number_enc FROM {sources.CASES} WHERE id = ANY(%s::bigint[])",  # noqa: S608  # nosec B608 # table and column names and SQL fragments are ours; values are bound parameters
        ["{" + ",".join(map(str, sorted({int(cases.ids[pc[k]]) for k, _, _ in near}))) + "}"],
    )
    tokens = {row[0]: row[1:] for row in cursor.fetchall()}
    opened_cases: dict[tuple[int, int], str] = {}
    for k, j, subject_id in near:
        field, column = fields[j]
        case_id, theirs = int(cases.ids[pc[k]]), opened_subjects[subject_id, field]
        mine = opened_cases.get((case_id, j))
        if mine is None:
            mine = opened_cases[case_id, j] = _clear(
                (tokens.get(case_id) or ("", ""))[j] or "", sources.CASES, column, case_id
            )
        best = min((identifier_level(mine, t) for t in theirs if t), default=IDENTIFIER_DIFFERENT)
        if 0 <= best < IDENTIFIER_DIFFERENT:
            levels[k, FIELD_INDEX[field]] = best
