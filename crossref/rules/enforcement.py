"""Enforcement-subject linkage: blocking keys matched in the worker (numpy), then rapidfuzz scoring of candidate pairs.

Blocking keys (the same for subjects, their aliases and the cases), each with the date of birth
(subjects also under their day/month-swapped date):
- the first two letters of the given name;
- the first two letters of each family-name part (the case's other last names included);
- a document blind index (A-Number, passport, I-94 or List A/B number) shared with the subject.
Names are folded before the letters are taken: case and diacritics dropped (`fold`: "Álvarez" and
"ALVAREZ" give "al"), apostrophes dropped, hyphens and punctuation as spaces, so that the benign
variants (accents, upper case, hyphen for space, a reordered or truncated compound surname, a
second given name, a typo after the second letter) keep a key in common with the name they vary.
A transliteration changes the given name's letters ("Mohammed", "Muhammad") but rarely the family
name's, and the other way round.

A name key is a bigint (the date, a given/family bit, the two letters' code points). The worker
computes every key, the subjects' and the cases', with the same Python folding (`fold`, `letters`):
the subjects' once per process and load, into a sorted numpy array (`subject_index`); the
partition's cases' from one plain read of their names, date of birth and document indexes, cached
by name (names repeat: a case costs two dict hits, which also give its names' word ids). numpy
keeps the cases one of whose keys is a subject's (binary search), a dict look-up those that hold
one of the subjects' documents (`_candidates`). A case sharing only a date of birth with a
subject (as most do: subjects are born across the same years as workers) goes no further.
Python pairs the cases left with the subjects of their keys and looks the documents up; the
columns a finding shows but blocking does not need (employer, SSN index) are read by primary key
for the few cases that make one. Run alone, the rule needs no staging copy of the cases
(`staged=False`): its scan goes through the SSN index.

Why not in SQL (the design until the 5M benchmark): the subjects' keys and documents sat in
temporary tables and a CTE, probed by hashed subplans that every partition statement built again,
over all the subjects: O(partitions x subjects), 25 times the work at 5x the data (at 5M cases,
80 partitions x 250k subjects; the family took 214 worker-seconds there, 16x its 1M time). The
case-side keys also cost more in SQL (translate, split_part, a CASE per letter pair: about 7 us a
row) than in Python with the per-name cache. Measured (P1, 2 workers, quiet machine): the family
went from 10.3 to 3.8 worker-seconds at 1M and from 125.7 to 24.3 at 5M. What still grows faster
than the data: a partition always holds ~62k cases, but 5x the subjects make ~5x the candidate
pairs (at 5M, 54% of the cases share a key with a subject, ~57k pairs a partition against ~12k at
1M; median partition 0.26 s against 0.19 s), and each worker process builds the subject index
once (~1.4 s at 250k subjects, in its first partition).

Scoring, vectorized over all candidate pairs and each subject's names (primary and aliases) with
`rapidfuzz.process.cpdist`. Names are word ids (`word_id`) and each distinct pair of names is
scored once per worker process, then cached: names repeat, pairs of them too. A name part scores 1 when equal (word order aside); SUBSET_SCORE (0.9)
when one side's words are a strict subset of the other's ("Garcia" for "Garcia Sanchez", a second
given name), one letter differs in a name of 5+ letters ("Mendosa" for "Mendoza") or only the
transliteration differs ("Muhammad" for "Mohammed"): plausible, not conclusive; else its
similarity. A pair's name score is the weaker of given and family name, best over the subject's
names, so a worker who shares only a common surname or given name with a subject born the same
day (a look-alike, not a lead) scores low. The score is that when the dates of birth are equal, 0.9 of it when day
and month are swapped, and 0 otherwise. A shared document number sets it to at least 0.99 when
the date of birth (or its swap) agrees or the name scores at least DOCUMENT_NAME_FLOOR (0.5); a
document shared by another name and another date (a coincidence of numbers as often as a borrowed
document) is a review lead at the bottom of the review band, not a link. At or
above the threshold (CROSSREF_LINKAGE_THRESHOLD) it is a lead; within the review margin below it
(CROSSREF_LINKAGE_REVIEW_MARGIN), a low-severity lead for review.
"""

from __future__ import annotations

import itertools
import operator
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np
from django.conf import settings
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from crossref import sources
from crossref.engine import PartitionContext
from crossref.registry import Rule, rule
from crossref.rules.common import field as field_result
from crossref.rules.common import loads
from crossref.rules.identity import _case_filter
from crossref.rules.subjects import (
    _EPOCH,
    _WORD_LIST,
    SubjectIndex,
    _family_codes,
    _family_word,
    _given_codes,
    _sorted_unique,
    _word,
    fold,
    key_code,
    letters,
    subject_index,
    word_id,
)

CATS = ("verification_cases", "enforcement")


SUBSET_SCORE = 0.9  # one name's words a strict subset of the other's


SWAPPED_DOB_FACTOR = 0.9


DOCUMENT_SCORE = 0.99


DOCUMENT_NAME_FLOOR = (
    0.5  # a shared document with another date of birth links only with a name at least this close
)


_SCORES: dict[
    int, float
] = {}  # (left word id << 32 | right word id) -> `part_scores`, cached: names repeat


_DIGRAPHS = (
    ("ph", "f"),
    ("kh", "h"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "d"),
    ("ck", "k"),
    ("q", "k"),
    ("c", "k"),
    ("w", "v"),
    ("z", "s"),
    ("x", "ks"),
    ("j", "y"),
)


@lru_cache(maxsize=65536)
def skeleton(name: str) -> str:
    """A transliteration-blind form of a normalized name: common digraphs folded, vowels and doubled letters dropped.

    Mohammed, Muhammad and Mohamad share "mhmd"; Youssef, Yusuf and Jusuf share "ysf".
    """
    out = []
    for word in name.split():
        for a, b in _DIGRAPHS:
            word = word.replace(a, b)
        consonants = [ch for ch in word if ch not in "aeiouy" or ch == word[0] == "y"]
        out.append(
            "".join(ch for i, ch in enumerate(consonants) if i == 0 or ch != consonants[i - 1])
        )
    return " ".join(out)


def part_scores(left: list[str], right: list[str]) -> np.ndarray:
    """0-1 per pair of normalized name parts.

    1 when equal (word order aside); SUBSET_SCORE when one side's words are a strict subset of the
    other's, when one letter differs (one edit, names of 5+ letters: a typo) or when only the
    transliteration differs (same `skeleton`, of 3+ letters): plausible, not conclusive; else the
    similarity.
    """
    n = len(left)
    plain = process.cpdist(left, right, scorer=fuzz.ratio, workers=1)
    # Word order and subsets only matter when a side has two words or more: for single words
    # token_sort_ratio is the plain ratio and token_set_ratio reaches 100 only when they are equal.
    unordered, subset = plain.copy(), np.zeros(n)
    space = itertools.repeat(" ")
    several = np.flatnonzero(
        np.fromiter(map(operator.contains, left, space), dtype=bool, count=n)
        | np.fromiter(map(operator.contains, right, space), dtype=bool, count=n)
    ).tolist()
    if several:
        some_left, some_right = [left[i] for i in several], [right[i] for i in several]
        unordered[several] = process.cpdist(
            some_left, some_right, scorer=fuzz.token_sort_ratio, workers=1
        )
        subset[several] = process.cpdist(
            some_left, some_right, scorer=fuzz.token_set_ratio, workers=1
        )
    best = np.maximum(plain, unordered) / 100.0
    edits = process.cpdist(left, right, scorer=Levenshtein.distance, workers=1)
    shorter = np.minimum(
        np.fromiter(map(len, left), dtype=np.int64, count=n),
        np.fromiter(map(len, right), dtype=np.int64, count=n),
    )
    near = (subset >= 100.0) | ((edits == 1) & (shorter >= 5))
    # Transliterations: the same skeleton (cached per name; compared with maps, not a Python loop).
    rest = np.flatnonzero((best < SUBSET_SCORE) & ~near).tolist()
    a = list(map(skeleton, map(left.__getitem__, rest)))
    b = list(map(skeleton, map(right.__getitem__, rest)))
    same = [
        i for i, x, y in zip(rest, a, b, strict=True) if x == y and len(x.replace(" ", "")) >= 3
    ]
    near[same] = True
    return np.where(best >= 1.0, 1.0, np.where(near, np.maximum(best, SUBSET_SCORE), best))


_NONE = (
    -(1 << 63) + 1
)  # a key the case does not have (no second family-name part, no date of birth): matches nothing


_NO_DATE = -(1 << 30)


def _case_given(first: str) -> tuple[int, int]:
    """A case's given name: its key's name code (as a subject's: `_given_codes`; _NONE for none) and word id."""
    codes = _given_codes(fold(first))
    return (codes[0] if codes else _NONE), _word(first)


def _case_family(family: tuple[str, str]) -> tuple[int, int, int, int]:
    """A case's family names (last name, other last names): the name codes of parts 1 to 3 (as a subject's:
    `_family_codes`; _NONE for a part not there) and the word id of the normalized whole."""
    codes = (*_family_codes(fold(" ".join(family)))[:3], _NONE, _NONE, _NONE)
    return codes[0], codes[1], codes[2], _family_word(*family)


class _Names(dict[Any, Any]):
    """A name -> its row of `table()`, computed on first sight: names repeat, and a look-up is then a dict hit
    in C (`map(d.__getitem__, names)`)."""

    def __init__(self, compute: Any, width: int) -> None:
        super().__init__()
        self.compute, self.width = compute, width
        self.rows: list[tuple[int, ...]] = []
        self.codes = np.zeros((0, width), dtype=np.int64)

    def __missing__(self, name: Any) -> int:
        self.rows.append(self.compute(name))
        self[name] = len(self.rows) - 1
        return cast(int, self[name])

    def forget_if_over(self, size: int) -> None:
        if len(self) > size:
            self.clear()
            self.rows, self.codes = [], np.zeros((0, self.width), dtype=np.int64)

    def table(self) -> np.ndarray:
        if len(self.codes) < len(
            self.rows
        ):  # only the names seen since: converting them all again grew with the names
            new = np.asarray(self.rows[len(self.codes) :], dtype=np.int64).reshape(-1, self.width)
            self.codes = np.concatenate([self.codes, new])
        return self.codes


# For the life of the worker process, like `_WORDS`; the lock guards them (the instant result may run in threads).
_GIVEN = _Names(_case_given, 2)  # first name -> (name code, word id)


_FAMILY = _Names(_case_family, 4)  # (last name, other last names) -> (3 name codes, word id)


_names_lock = threading.Lock()


@dataclass
class Candidates:
    """A partition's cases that share a blocking key or a document with a subject, and their (case, subject) pairs."""

    rows: list[
        tuple[Any, ...]
    ]  # every case read: id, days since 1900-01-01, first, last, other last names, 4 document indexes
    row: np.ndarray  # the row of each candidate case
    given: np.ndarray  # the word id of its normalized given name
    family: np.ndarray  # the word id of its normalized family names
    dob: np.ndarray  # the ordinal of its date of birth (-1: none)
    pair_case: np.ndarray  # the candidate of each pair; pairs sorted by candidate, then subject
    pair_subject: np.ndarray
    pair_document: np.ndarray  # the pair shares a document

    @property
    def ids(self) -> list[int]:
        """The ids of the candidate cases."""
        return [self.rows[i][0] for i in self.row.tolist()]


def _search(
    keys: np.ndarray, needles: np.ndarray, side: Literal["left", "right"] = "left"
) -> tuple[np.ndarray, np.ndarray]:
    """`np.searchsorted(keys, needles, side)` and whether each needle is one of `keys`, the needles taken in order.

    In their own (random) order every needle's binary search starts again from the top of the
    array and misses the CPU caches once the array outgrows them; sorted, each search starts where
    the previous one ended. At 1.25M subject keys (5M cases) that is 3.5x faster, the sort
    included (measured: 217 against 62 ms for 250k needles; 55 against 31 ms at 250k keys), so
    the cost grows far less with the subjects.
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


def _candidates(ctx: PartitionContext, index: SubjectIndex, load_id: int) -> Candidates:
    """The partition's cases that share a blocking key with a subject, and the (case, subject) pairs.

    One plain read of every case's names, date of birth and identifier indexes (A-Number,
    passport, I-94, List A document and SSN: a blind index is keyed by its kind, so a case's SSN
    meets only a subject's SSN). Python gives each
    name its key codes and word id (cached by name: names repeat, so a case costs two dict hits),
    and keeps the cases one of whose keys is a subject's (binary search in the sorted array the
    worker built once per load) or that hold one of the subjects' documents (a set look-up).
    """
    where, params = _case_filter(ctx)
    ctx.cursor.execute(
        f"SELECT c.id, coalesce(c.date_of_birth - DATE '1900-01-01', {_NO_DATE}), c.first_name, c.last_name, "  # noqa: S608
        "coalesce(c.other_last_names, ''), c.a_number_bidx, c.passport_bidx, c.i94_bidx, c.document_number_bidx, "
        "c.ssn_bidx "
        f"FROM {ctx.cases} c WHERE {where}",
        params,
    )
    rows = ctx.cursor.fetchall()
    if "examined" not in ctx.cache:
        ctx.cache["examined"] = len(rows)
        ctx.rows_examined += len(rows)
    n = len(rows)
    _ids, days, firsts, lasts, others, *documents = zip(*rows, strict=True) if rows else ((),) * 10
    day = np.fromiter(days, dtype=np.int64, count=n)
    with _names_lock:
        _GIVEN.forget_if_over(1 << 20)
        _FAMILY.forget_if_over(1 << 20)
        given_at = np.fromiter(map(_GIVEN.__getitem__, firsts), dtype=np.int64, count=n)
        family_at = np.fromiter(
            map(_FAMILY.__getitem__, zip(lasts, others, strict=True)), dtype=np.int64, count=n
        )
        given, family = _GIVEN.table()[given_at], _FAMILY.table()[family_at]
    codes = np.concatenate([given[:, :1], family[:, :3]], axis=1)
    keys = np.where(
        (codes == _NONE) | (day == _NO_DATE)[:, None], _NONE, day[:, None] * (1 << 23) + codes
    )
    lo, hit = _search(index.keys, keys)
    is_candidate = hit.any(axis=1)
    by_doc = index.by_doc
    has_doc = np.zeros(n, dtype=bool)
    for column in documents:  # a dict look-up per case and document, in C ('' is no subject's)
        has_doc |= np.fromiter(map(by_doc.__contains__, column), dtype=bool, count=n)
    with_doc = np.flatnonzero(has_doc).tolist()
    is_candidate |= has_doc
    row = np.flatnonzero(is_candidate)
    # Name keys: each matching key's run of equal keys in the sorted subject keys, expanded to pairs.
    candidate_of = np.cumsum(is_candidate) - 1
    key_row, key_col = np.nonzero(hit)
    key = keys[key_row, key_col]
    first = lo[key_row, key_col]
    count = _search(index.keys, key, side="right")[0] - first
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    n_subjects = max(1, len(index.subjects))
    by_name = (
        np.repeat(candidate_of[key_row], count) * n_subjects
        + index.key_subject[np.repeat(first, count) + offset]
    )
    by_document = np.asarray(
        [
            candidate_of[i] * n_subjects + si
            for i in with_doc
            for bidx in rows[i][5:10]
            if bidx
            for si in by_doc.get(bidx, ())
        ],
        dtype=np.int64,
    )
    pairs = _sorted_unique(np.concatenate([by_name, by_document]))
    days_of = day[row]
    return Candidates(
        rows=rows,
        row=row,
        given=given[row, 1],
        family=family[row, 3],
        dob=np.where(days_of == _NO_DATE, -1, days_of + _EPOCH),
        pair_case=pairs // n_subjects,
        pair_subject=pairs % n_subjects,
        pair_document=np.isin(pairs, by_document),
    )


def _pair_scores(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`part_scores` of pairs of word ids, each distinct pair scored once per process (names repeat)."""
    codes = (left << 32) | right
    uniq, inverse = np.unique(codes, return_inverse=True)
    cache = _SCORES
    got = np.fromiter(
        map(cache.get, uniq.tolist(), itertools.repeat(-1.0)), dtype=np.float64, count=len(uniq)
    )
    missing = np.flatnonzero(got < 0)
    if len(missing):
        todo = uniq[missing].tolist()
        scores = part_scores(
            [_WORD_LIST[c >> 32] for c in todo], [_WORD_LIST[c & 0xFFFFFFFF] for c in todo]
        )
        got[missing] = scores
        if len(cache) > 4_000_000:
            cache.clear()
        cache.update(zip(todo, scores.tolist(), strict=True))
    return got[inverse]


@rule(
    code="ENF-LINK",
    version=1,
    title="Matches an enforcement subject",
    severity="high",
    categories=CATS,
    family="enforcement",
    staged=False,
    description="The worker links to a subject of the enforcement database: fuzzy name (aliases included) and "
    "date of birth after blocking, or a shared document number. Scored against a threshold; pairs "
    "just below it are low-severity leads for review.",
)
def enforcement_link(ctx: PartitionContext, r_: Rule) -> None:
    load_id = loads(ctx).get("enforcement")
    if not load_id:
        ctx.emit(r_, [])
        return
    index = subject_index(load_id, ctx.cursor)
    got = _candidates(ctx, index, load_id)
    pc, ps, doc = got.pair_case, got.pair_subject, got.pair_document
    if not len(pc):
        ctx.emit(r_, [])
        return
    c_given, c_family, c_dob = got.given, got.family, got.dob
    # Expand each pair to every name of its subject, score all at once, keep the best per pair.
    count = index.name_count[ps]  # at least 1: the primary name
    start = np.cumsum(count) - count
    owner = np.repeat(np.arange(len(pc)), count)
    name = np.repeat(index.name_start[ps] - start, count) + np.arange(len(owner))
    case_of = pc[owner]
    threshold = float(settings.CROSSREF["LINKAGE_THRESHOLD"])
    margin = float(settings.CROSSREF["LINKAGE_REVIEW_MARGIN"])
    # A name's score is the weaker of given and family name: where the given name alone keeps it
    # below the review band, the family name cannot change the outcome and is not scored (the
    # given score stands in, as an upper bound), unless the pair shares a document (its name score
    # is then reported, and compared with DOCUMENT_NAME_FLOOR). Most pairs met through a common
    # surname stop here; distinct family-name pairs (compound surnames, other last names) are the
    # ones that keep missing the score cache.
    given = _pair_scores(c_given[case_of], index.name_given[name])
    family = given.copy()
    need = np.flatnonzero((given >= threshold - margin - 1e-9) | doc[owner])
    family[need] = _pair_scores(c_family[case_of[need]], index.name_family[name[need]])
    # A pair's names are contiguous: the best of them is a segment maximum (reduceat, not ufunc.at).
    best = np.maximum.reduceat(np.minimum(given, family), start)
    # Dates of birth: equal, or day and month swapped (a keying slip), else no name evidence.
    cd, sd = c_dob[pc], index.dob[ps]
    # The swap is its own inverse: the case's date swapped is the subject's exactly when the subject's swapped is the case's.
    swapped = (index.swapped[ps] == cd) & (cd > 0)
    dob_factor = np.where(cd == sd, 1.0, np.where(swapped, SWAPPED_DOB_FACTOR, 0.0))
    # A shared document links when the date of birth (or its day/month swap) or the name bears it
    # out; alone, against another name and another date, it is a coincidence of numbers as often
    # as a borrowed document: a review lead at the bottom of the review band.
    doc_only = doc & (dob_factor == 0.0) & (best < DOCUMENT_NAME_FLOOR)
    score = np.where(
        doc & ~doc_only,
        np.maximum(best * dob_factor, DOCUMENT_SCORE),
        np.where(doc_only, threshold - margin, best * dob_factor),
    )
    kept = np.flatnonzero(score >= threshold - margin - 1e-9).tolist()

    # What a finding shows and blocking does not need, for the few cases that make one: by primary key.
    def case_row(k: int) -> tuple[Any, ...]:
        return got.rows[int(got.row[pc[k]])]

    shown: dict[int, tuple[Any, ...]] = {}
    if kept:
        ctx.cursor.execute(
            f"SELECT id, employer_id, ssn_bidx, date_of_birth FROM {sources.CASES} "  # noqa: S608
            "WHERE id = ANY(%s::bigint[])",
            ["{" + ",".join(str(case_row(k)[0]) for k in kept) + "}"],
        )
        shown = {row[0]: row for row in ctx.cursor.fetchall()}
    out = []
    for k in kept:
        c, s = case_row(k), index.subjects[int(ps[k])]
        _, employer_id, ssn_bidx, c_date = shown[c[0]]
        sc, lead, has_doc = float(score[k]), bool(score[k] >= threshold - 1e-9), bool(doc[k])
        out.append(
            {
                "subject_type": "worker",
                "subject_key": f"case:{c[0]}",
                "evidence_key": f"enforcement:{s[1]}",
                "case_id": c[0],
                "employer_id": employer_id,
                "ssn_index": ssn_bidx,
                "severity": "high" if lead else "low",
                "score": round(sc, 4),
                "fields": [
                    field_result(
                        "name", "enforcement", f"{c[2]} {c[3]}", f"{s[2]} {s[3]}", float(best[k])
                    ),
                    field_result(
                        "date_of_birth", "enforcement", c_date, s[4], float(dob_factor[k])
                    ),
                    *(
                        [
                            field_result(
                                "document",
                                "enforcement",
                                "shared document number",
                                "shared document number",
                                1.0,
                            )
                        ]
                        if has_doc
                        else []
                    ),
                ],
                "evidence": {
                    "subject_id": s[0],
                    "subject_ref": s[1],
                    "subject_status": s[5],
                    "threshold": threshold,
                    "document_match": has_doc,
                    "document_only": bool(doc_only[k]),
                },
                "summary": (
                    f"Shares a document number with enforcement subject {s[1]}, but neither the name nor the "
                    "date of birth agrees: for review."
                    if doc_only[k]
                    else (
                        "Links to enforcement subject "
                        if lead
                        else "Near-threshold link to enforcement subject "
                    )
                    + f"{s[1]} (score {sc:.2f})."
                ),
            }
        )
    ctx.emit(r_, out)


__all__ = [
    "CATS",
    "DOCUMENT_NAME_FLOOR",
    "DOCUMENT_SCORE",
    "SUBSET_SCORE",
    "SWAPPED_DOB_FACTOR",
    "Candidates",
    "SubjectIndex",
    "enforcement_link",
    "fold",
    "key_code",
    "letters",
    "part_scores",
    "skeleton",
    "subject_index",
    "word_id",
]
