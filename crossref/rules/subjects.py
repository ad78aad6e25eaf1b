"""ENF-LINK's subject index: folded names, blocking key codes and document look-ups of a load's
enforcement subjects, built column-wise once per worker process and load (see `enforcement`).
"""

from __future__ import annotations

import gc
import itertools
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np

from crossref import names, sources

_lock = threading.Lock()


_INDEX: dict[int, SubjectIndex] = {}


@dataclass
class SubjectIndex:
    """The subjects of one enforcement load: by name key and by document, with their normalized names."""

    subjects: list[
        tuple[Any, ...]
    ]  # (id, subject_ref, first_name, last_name, date_of_birth, status, aliases)
    dob: np.ndarray  # proleptic ordinal of each subject's date of birth (0: none)
    swapped: (
        np.ndarray
    )  # the ordinal of that date with day and month exchanged (0: none, or no other date)
    keys: np.ndarray  # every name key (see `key_code`) of every subject, sorted
    key_subject: np.ndarray  # the subject index of each of `keys`
    by_doc: dict[str, list[int]]  # document blind index -> subject indexes
    name_start: (
        np.ndarray
    )  # subject i's names (primary, then aliases) are name_given/name_family[start:start + count]
    name_count: np.ndarray
    name_given: np.ndarray  # word ids (`word_id`) of the normalized given names
    name_family: np.ndarray  # word ids of the normalized family names


_WORDS: dict[str, int] = {}  # normalized name -> id, for the life of the worker process


_WORD_LIST: list[str] = []


_words_lock = threading.Lock()


def word_id(name: str) -> int:
    """A process-wide id of a normalized name (given or family), so pairs of names can be cached and deduplicated."""
    got = _WORDS.get(name)
    if got is None:
        with _words_lock:  # the instant result may run in threads: an id is handed out once
            got = _WORDS.get(name)
            if got is None:
                _WORD_LIST.append(name)
                got = _WORDS[name] = len(_WORD_LIST) - 1
    return got


def _fold_tables() -> tuple[dict[int, int | None], dict[int, int]]:
    """The folding of blocking keys, as two str.translate tables.

    Two steps, the second on two letters only: over the whole (lower-cased) name, hyphens and
    punctuation to a space and apostrophes dropped; then over the two letters of a key, the Latin
    letters with diacritics (U+00C0-U+024F, U+1E00-U+1EFF) to the ASCII letter `names.normalize`
    makes of them.
    """
    separators, drop = "-.,/()_", "'\u2019\u2018`\u02bc"
    small: dict[int, int | None] = {ord(ch): ord(" ") for ch in separators}
    small.update({ord(ch): None for ch in drop})
    big: dict[int, int] = {}
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        folded = names.normalize(chr(cp))
        if len(folded) == 1 and folded.isascii() and folded.isalpha():
            big[cp] = ord(folded)
    return small, big


_EPOCH = date(1900, 1, 1).toordinal()


_FAMILY_BIT = 1 << 22


_SEP, _LETTERS = _fold_tables()


def fold(value: str) -> str:
    """A name as the blocking keys split it: lower case, separators as spaces, apostrophes dropped."""
    return (value or "").lower().translate(_SEP).lstrip(" ")


def letters(part: str) -> str:
    """The two letters of a key, diacritics folded."""
    return part[:2].translate(_LETTERS)


def key_code(dob_ordinal: int, family: bool, key: str) -> int:
    """The bigint of a name key: the date, the given/family bit, the code points of its two letters."""
    a = min(ord(key[0]), 2047) if key else 0
    b = min(ord(key[1]), 2047) if len(key) > 1 else 0
    return (dob_ordinal - _EPOCH) * (1 << 23) + (_FAMILY_BIT if family else 0) + a * 2048 + b


@lru_cache(maxsize=1 << 18)
def _given_codes(given: str) -> tuple[int, ...]:
    """The name code (`key_code` without the date) of a folded given name, if any."""
    return (key_code(_EPOCH, False, letters(given)),) if given else ()


@lru_cache(maxsize=1 << 18)
def _family_codes(family: str) -> tuple[int, ...]:
    """The name codes of the parts of a folded family name."""
    return tuple(key_code(_EPOCH, True, letters(part)) for part in family.split())


@lru_cache(maxsize=1 << 18)
def _alias_codes(alias: str) -> tuple[int, ...]:
    given, _, family = fold(alias).partition(" ")
    return _given_codes(given) + _family_codes(family or given)


@lru_cache(maxsize=1 << 18)
def _word(name: str) -> int:
    """The word id of a normalized name; cached by name (normalizing costs about 20 us, names repeat)."""
    return word_id(names.normalize(name))


@lru_cache(maxsize=1 << 18)
def _family_word(last: str, other: str) -> int:
    """The word id of a case's normalized family names, the other last names included."""
    return word_id(" ".join(x for x in (names.normalize(last), names.normalize(other)) if x))


@lru_cache(maxsize=1 << 18)
def _alias_words(alias: str) -> tuple[int, int]:
    given, _, family = names.normalize(alias).partition(" ")
    return word_id(given), word_id(family or given)


def _swapped(d: date) -> date | None:
    if d.day <= 12 and d.day != d.month:
        return d.replace(month=d.day, day=d.month)
    return None


@lru_cache(maxsize=65536)
def _swapped_ordinal(ordinal: int) -> int:
    """The ordinal of a date with day and month exchanged (0 when that is no other valid date).

    0 in, 0 out: a subject without a date of birth has no swapped date (it used to crash the run).
    """
    if ordinal < 1:
        return 0
    swapped = _swapped(date.fromordinal(ordinal))
    return swapped.toordinal() if swapped else 0


@lru_cache(maxsize=1 << 18)
def _first_codes(first: str) -> tuple[int, ...]:
    return _given_codes(fold(first))


@lru_cache(maxsize=1 << 18)
def _last_codes(last: str) -> tuple[int, ...]:
    return _family_codes(fold(last))


def _flat(codes: list[tuple[int, ...]], owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variable-length tuples of codes, one per owner, as flat arrays of codes and owners."""
    lengths = np.fromiter(map(len, codes), dtype=np.int64, count=len(codes))
    flat = np.fromiter(
        itertools.chain.from_iterable(codes), dtype=np.int64, count=int(lengths.sum())
    )
    return flat, np.repeat(owners, lengths)


def _build_index(rows: list[tuple[Any, ...]]) -> SubjectIndex:
    """The index of the rows (id, ref, first, last, date of birth, status, aliases, documents) of a load.

    Column-wise: each name goes through a per-name cache with `map` (names repeat), numpy does the
    rest (250k subjects: ~0.9 s, the fetch aside, against ~1.1 s for a loop over the subjects).
    """
    n = len(rows)
    _, _, firsts, lasts, borns, _, aliases, documents = (
        zip(*rows, strict=True) if rows else ((),) * 8
    )
    everyone = np.arange(n, dtype=np.int64)
    dob = np.fromiter(
        (d.toordinal() if d is not None else 0 for d in borns), dtype=np.int64, count=n
    )
    swapped = np.fromiter(map(_swapped_ordinal, dob.tolist()), dtype=np.int64, count=n)
    swapped[dob == 0] = 0
    # Names, primary then aliases, as word ids: subject i's are name_given/name_family[start:start + count].
    alias_count = np.fromiter(map(len, aliases), dtype=np.int64, count=n)
    flat_aliases = list(itertools.chain.from_iterable(aliases))
    alias_owner = np.repeat(everyone, alias_count)
    name_count = alias_count + 1
    name_start = np.cumsum(name_count) - name_count
    words = np.zeros((int(name_count.sum()), 2), dtype=np.int64)
    words[name_start, 0] = np.fromiter(map(_word, firsts), dtype=np.int64, count=n)
    words[name_start, 1] = np.fromiter(map(_word, lasts), dtype=np.int64, count=n)
    alias_rank = np.arange(len(flat_aliases)) - np.repeat(
        np.cumsum(alias_count) - alias_count, alias_count
    )
    words[name_start[alias_owner] + 1 + alias_rank] = np.asarray(
        list(map(_alias_words, flat_aliases)), dtype=np.int64
    ).reshape(-1, 2)
    # Name codes of every name of every subject with a date of birth, each (subject, code) once.
    parts = [
        _flat(list(map(_first_codes, firsts)), everyone),
        _flat(list(map(_last_codes, lasts)), everyone),
        _flat(list(map(_alias_codes, flat_aliases)), alias_owner),
    ]
    code = np.concatenate([p[0] for p in parts])
    owner = np.concatenate([p[1] for p in parts])
    dated = dob[owner] > 0
    both = _sorted_unique(
        owner[dated] * (1 << 23) + code[dated]
    )  # a code is below 2**23 (`key_code` at _EPOCH)
    owner, code = both >> 23, both & ((1 << 23) - 1)
    # A key is the date's part (see `key_code`) plus a name code; under the subject's date, and
    # under its day/month swap when that is another date.
    has_swap = swapped[owner] > 0
    keys = np.concatenate(
        [
            (dob[owner] - _EPOCH) * (1 << 23) + code,
            (swapped[owner][has_swap] - _EPOCH) * (1 << 23) + code[has_swap],
        ]
    )
    key_subject = np.concatenate([owner, owner[has_swap]])
    order = np.argsort(keys, kind="stable")
    by_doc: dict[str, list[int]] = {}
    for i, bidxs in enumerate(documents):
        for bidx in bidxs or ():
            if bidx:
                by_doc.setdefault(bidx, []).append(i)
    return SubjectIndex(
        subjects=[r[:7] for r in rows],
        dob=dob,
        swapped=swapped,
        keys=keys[order],
        key_subject=key_subject[order],
        by_doc=by_doc,
        name_start=name_start,
        name_count=name_count,
        name_given=words[:, 0].copy(),
        name_family=words[:, 1].copy(),
    )


def subject_index(load_id: int, cur: Any) -> SubjectIndex:
    """Subjects of a load by name key and document, built once per worker process and load."""
    with _lock:
        if load_id in _INDEX:
            return _INDEX[load_id]
        cur.execute(
            f"""SELECT id, subject_ref, coalesce(first_name, ''), coalesce(last_name, ''), date_of_birth, status,
                               coalesce(aliases, '{{}}'), documents_bidx
                          FROM {sources.ENFORCEMENT} WHERE load_id = %(l)s ORDER BY id""",  # noqa: S608 - table and column names are ours
            {"l": load_id},
        )
        index = _build_index(cur.fetchall())
        _INDEX.clear()
        _INDEX[load_id] = index
        # The index lives as long as the worker process: out of the collector's sight, later
        # collections do not walk its hundreds of thousands of objects again and again.
        gc.freeze()
        return index


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)`, by sorting: numpy's own hashes first and is many times slower on these arrays
    (pairs of one partition at 5M cases, 58k codes made of sorted runs: 7.9 ms against 0.4 ms)."""
    ordered = np.sort(values, kind="stable")  # timsort: the codes come in ascending runs
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
