"""ENF-LINK's subject index: a load's enforcement subjects by blocking key and by document, with their
normalized names (as word ids) and the names' frequencies, built column-wise once per worker process
and load (see `enforcement` and `crossref.linkage`).

A subject may be partial (a surname and a document, an alias, no date of birth): whatever it lacks
makes no key and counts as missing, never as a crash.
"""

from __future__ import annotations

import gc
import itertools
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.ma  # np.unique imports it on its first call (20 ms): at import, not in a run's or a training's time

from crossref import names, sources
from crossref.linkage import blocking
from verification.comparison import is_placeholder

_lock = threading.Lock()

# The linkage model's document fields and the document kinds each compares.
DOCUMENT_GROUPS = {
    "ssn": ("ssn",),
    "a_number": ("a_number",),
    "other": ("passport", "i94", "document_number"),
}


_INDEX: dict[int, SubjectIndex] = {}


@dataclass
class SubjectIndex:
    """The subjects of one enforcement load: by blocking key and by document, with their normalized names."""

    subjects: list[
        tuple[Any, ...]
    ]  # (id, subject_ref, first_name, last_name, date_of_birth, status, aliases)
    ids: np.ndarray  # each subject's database id
    dob: np.ndarray  # proleptic ordinal of each subject's date of birth (0: none)
    country: np.ndarray  # `compare.country_code` of each subject's nationality (0: none)
    keys: np.ndarray  # every blocking key (`blocking.name_keys`) of every subject, sorted
    key_subject: np.ndarray  # the subject index of each of `keys`
    rules: np.ndarray  # the blocking rules (numbers) some subject has a key of
    by_doc: dict[str, list[int]]  # document blind index -> subject indexes
    documents: list[
        tuple[tuple[str, str], ...]
    ]  # per subject: (kind, blind index); kind '' unknown
    holds: dict[
        str, np.ndarray
    ]  # "ssn", "a_number", "other" -> which subjects hold such a document
    name_start: (
        np.ndarray
    )  # subject i's names (primary, then aliases) are name_given/name_family[start:start + count]
    name_count: np.ndarray
    name_given: np.ndarray  # word ids (`word_id`) of the normalized given names ('' when none)
    name_family: np.ndarray  # word ids of the normalized family names
    given_count: dict[int, int]  # word id -> how many of the subjects' names bear that given name
    family_count: dict[int, int]
    given_total: int  # the subjects' names that have a given name
    family_total: int
    # (subject id, "ssn" or "a_number") -> the last four of each of its values of that kind (None
    # when the value is not 9 characters), as `compare.refine_identifiers` opens them: the part of
    # an identifier shown in clear, kept for the life of the index so that later partitions need
    # not open the subject's documents again to rule a pair out.
    tails: dict[tuple[int, str], tuple[str | None, ...]] = field(default_factory=dict)
    # "given", "family" -> `given_count` / `family_count` as an array by word id (`compare`),
    # built on first use
    count_tables: dict[str, np.ndarray] = field(default_factory=dict)
    # model digest -> `reach.reach_parts` of each subject under that model, built on first use
    reach: dict[str, Any] = field(default_factory=dict)
    # model digest and review threshold -> `reach.bound`, built on first use
    bounds: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.subjects)


_WORDS: dict[str, int] = {}  # normalized name -> id, for the life of the worker process


_WORD_LIST: list[str] = []


_words_lock = threading.Lock()


_COUNTRIES: dict[str, int] = {"": 0}
_COUNTRY_LIST: list[str] = [""]
_countries_lock = threading.Lock()


def country_code(text: str) -> int:
    """A process-wide small id of a country code (ISO 3166 alpha-3, as stored); 0 for none."""
    key = (text or "").strip().upper()
    got = _COUNTRIES.get(key)
    if got is None:
        with _countries_lock:
            got = _COUNTRIES.setdefault(key, len(_COUNTRY_LIST))
            if got == len(_COUNTRY_LIST):
                _COUNTRY_LIST.append(key)
    return got


def country_text(code: int) -> str:
    return _COUNTRY_LIST[code]


def country_codes(texts: Any) -> np.ndarray:
    """`country_code` of each text, as an int64 array (each distinct text looked up once: a
    partition's tens of thousands of rows hold a few dozen countries)."""
    items = list(texts)
    seen: dict[Any, int] = {}
    at = np.fromiter(
        (seen.setdefault(x, len(seen)) for x in items), dtype=np.int64, count=len(items)
    )
    codes = np.fromiter(map(country_code, seen), dtype=np.int64, count=len(seen))
    return codes[at] if len(items) else np.zeros(0, dtype=np.int64)


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


def word(word_id_: int) -> str:
    """The normalized name of a word id."""
    return _WORD_LIST[word_id_]


def _known(normalized: str) -> str:
    """A normalized name, or '' (missing) where it is a placeholder such as the I-9's "Unknown"."""
    return "" if is_placeholder(normalized) else normalized


@lru_cache(maxsize=1 << 18)
def name_word(name: str) -> int:
    """The word id of a normalized name; cached by name (normalizing costs about 20 us, names repeat)."""
    return word_id(_known(names.normalize(name)))


@lru_cache(maxsize=1 << 18)
def family_word(last: str, other: str) -> int:
    """The word id of a case's normalized family names, the other last names included."""
    return word_id(
        " ".join(x for x in (_known(names.normalize(last)), _known(names.normalize(other))) if x)
    )


@lru_cache(maxsize=1 << 18)
def alias_words(alias: str) -> tuple[int, int]:
    """An alias ("Given Family ...") as (given, family) word ids; a single word is a surname."""
    given, _, family = names.normalize(alias).partition(" ")
    given, family = _known(given), _known(family)
    return (word_id(given), word_id(family)) if family else (word_id(""), word_id(given))


def _counts(ids: np.ndarray) -> tuple[dict[int, int], int]:
    """word id -> how many names bear it, and how many names have one (the empty name left out)."""
    empty = word_id("")
    values, counts = np.unique(ids[ids != empty], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True)), int(counts.sum())


def _build_index(rows: list[tuple[Any, ...]]) -> SubjectIndex:
    """The index of the rows (id, ref, first, last, date of birth, status, aliases, documents, kinds,
    nationality) of a load."""
    n = len(rows)
    _, _, firsts, lasts, borns, _, aliases, documents, kinds, nationalities = (
        zip(*rows, strict=True) if rows else ((),) * 10
    )
    everyone = np.arange(n, dtype=np.int64)
    dob = np.fromiter(
        (d.toordinal() if d is not None else 0 for d in borns), dtype=np.int64, count=n
    )
    # Names, primary then aliases, as word ids: subject i's are name_given/name_family[start:start + count].
    alias_count = np.fromiter(map(len, aliases), dtype=np.int64, count=n)
    flat_aliases = list(itertools.chain.from_iterable(aliases))
    alias_owner = np.repeat(everyone, alias_count)
    name_count = alias_count + 1
    name_start = np.cumsum(name_count) - name_count
    words = np.zeros((int(name_count.sum()), 2), dtype=np.int64)
    words[name_start, 0] = np.fromiter(map(name_word, firsts), dtype=np.int64, count=n)
    words[name_start, 1] = np.fromiter(map(name_word, lasts), dtype=np.int64, count=n)
    alias_rank = np.arange(len(flat_aliases)) - np.repeat(
        np.cumsum(alias_count) - alias_count, alias_count
    )
    words[name_start[alias_owner] + 1 + alias_rank] = np.asarray(
        list(map(alias_words, flat_aliases)), dtype=np.int64
    ).reshape(-1, 2)
    owner = np.concatenate([everyone, alias_owner]) if n else everyone
    rows_of_names = np.concatenate([name_start, name_start[alias_owner] + 1 + alias_rank])
    keys = blocking.word_keys(
        words[rows_of_names, 0], words[rows_of_names, 1], dob[owner], word, undated_only=True
    )
    key_owner = np.repeat(owner, keys.shape[1])
    flat = keys.ravel()
    keep = flat != blocking.NONE
    flat, key_owner = flat[keep], key_owner[keep]
    order = np.lexsort((key_owner, flat))  # by key, then subject; each (key, subject) once
    flat, key_owner = flat[order], key_owner[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = (flat[1:] != flat[:-1]) | (key_owner[1:] != key_owner[:-1])
    by_doc: dict[str, list[int]] = {}
    typed: list[tuple[tuple[str, str], ...]] = []
    for i, (bidxs, doc_kinds) in enumerate(zip(documents, kinds, strict=True)):
        bidxs, doc_kinds = list(bidxs or ()), list(doc_kinds or ())
        doc_kinds += [""] * (len(bidxs) - len(doc_kinds))
        typed.append(tuple((k, b) for k, b in zip(doc_kinds, bidxs, strict=True) if b))
        for bidx in bidxs:
            if bidx:
                by_doc.setdefault(bidx, []).append(i)
    holds = {
        group: np.fromiter(
            (any(kind in members for kind, _ in docs) for docs in typed), dtype=bool, count=n
        )
        for group, members in DOCUMENT_GROUPS.items()
    }
    given_count, given_total = _counts(words[:, 0])
    family_count, family_total = _counts(words[:, 1])
    return SubjectIndex(
        subjects=[r[:7] for r in rows],
        ids=np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=n),
        dob=dob,
        country=country_codes(nationalities),
        keys=flat[first],
        key_subject=key_owner[first],
        rules=np.unique(blocking.rule_of(flat[first])),
        by_doc=by_doc,
        documents=typed,
        holds=holds,
        name_start=name_start,
        name_count=name_count,
        name_given=words[:, 0].copy(),
        name_family=words[:, 1].copy(),
        given_count=given_count,
        family_count=family_count,
        given_total=given_total,
        family_total=family_total,
    )


def subject_index(load_id: int, cur: Any) -> SubjectIndex:
    """Subjects of a load by blocking key and document, built once per worker process and load."""
    with _lock:
        if load_id in _INDEX:
            return _INDEX[load_id]
        cur.execute(
            f"""SELECT id, subject_ref, coalesce(first_name, ''), coalesce(last_name, ''), date_of_birth, status,
                       coalesce(aliases, '{{}}'), coalesce(documents_bidx, '{{}}'), coalesce(documents_kind, '{{}}'),
                       coalesce(nationality, '')
                  FROM {sources.ENFORCEMENT} WHERE load_id = %(l)s ORDER BY id""",  # noqa: S608  # nosec B608 # table and column names are ours
            {"l": load_id},
        )
        index = _build_index(cur.fetchall())
        _INDEX.clear()
        _INDEX[load_id] = index
        # The index lives as long as the worker process: out of the collector's sight, later
        # collections do not walk its hundreds of thousands of objects again and again.
        gc.freeze()
        return index


def forget() -> None:
    """Drop the cached index (tests that reload a load under the same id, training)."""
    with _lock:
        _INDEX.clear()
