"""Blocking: which (case, subject) pairs are compared at all, as the union of several rules.

No single corrupted or missing field loses a true pair, because each rule leans on different
fields (a pair is compared when any rule puts it in a block):

- `ssn`: the same SSN (blind index, so an SSN meets only an SSN);
- `document`: the same A-Number, passport, I-94 or document number, each within its kind;
- `surname_yob`: a surname part's sound (metaphone) and the year of birth: survives a typo in the
  given name, the day or the month;
- `given_dob`: the given name's sound and the full date of birth: survives a replaced or
  misspelt surname;
- `dob_initials`: the date of birth and both initials, in either order: survives names entered
  the wrong way round and most typos after the first letter;
- `surname_initial_day`: a surname part's sound, the given initial and the day and month of
  birth: survives a wrong year;
- `undated_names`: both names' sounds, for subjects without a date of birth (enforcement
  records are often partial): every case carries the key, only undated subjects do.

A key is an int64: the rule's number in the top byte, a hash of its parts below. Codes of names
come from a per-process cache by name (names repeat). Keys are compared within one process (the
subject index and the cases of a partition), so Python's per-process string hash is stable enough;
a collision can only add a pair to compare, never lose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from verification.comparison import phonetic

RULES = (
    "ssn",
    "document",
    "surname_yob",
    "given_dob",
    "dob_initials",
    "surname_initial_day",
    "undated_names",
)
RULE_NUMBER = {name: i for i, name in enumerate(RULES)}
NONE = np.int64(-1)  # no key (a part missing): matches nothing
MAX_FAMILY_PARTS = 3
_LOW = (1 << 56) - 1
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class NameCodes:
    """The blocking codes of one normalized name: its sound and its initial (0: none)."""

    sound: int
    initial: int


def _code(text: str) -> int:
    return (hash(text) & 0x7FFFFFFF) | 1 if text else 0


@lru_cache(maxsize=1 << 18)
def name_codes(name: str) -> NameCodes:
    """Codes of a normalized given name (its first word) or surname part."""
    word = name.split()[0] if name else ""
    return NameCodes(sound=_code(phonetic(word) or word), initial=_code(word[:1]))


@lru_cache(maxsize=1 << 18)
def family_codes(family: str) -> tuple[NameCodes, ...]:
    """Codes of each part of a normalized surname (compound surnames: up to three parts)."""
    return tuple(name_codes(part) for part in family.split()[:MAX_FAMILY_PARTS])


@lru_cache(maxsize=1 << 16)
def _date_parts(ordinal: int) -> tuple[int, int]:
    d = date.fromordinal(ordinal)
    return d.year, d.month * 32 + d.day


def date_columns(dob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ordinal, year, month-day) of each date ordinal; 0 where there is no date."""
    dob = np.asarray(dob, dtype=np.int64)
    uniq, inverse = np.unique(dob, return_inverse=True)
    parts = np.asarray(
        [_date_parts(int(o)) if o > 0 else (0, 0) for o in uniq], dtype=np.int64
    ).reshape(-1, 2)[inverse]
    return dob, parts[:, 0], parts[:, 1]


def _key(rule: str, *parts: np.ndarray) -> np.ndarray:
    """The keys of one rule from columns of codes; NONE wherever a part is 0 (missing)."""
    acc = np.full(len(parts[0]), np.uint64(RULE_NUMBER[rule] + 1), dtype=np.uint64)
    missing = np.zeros(len(parts[0]), dtype=bool)
    with np.errstate(over="ignore"):
        for p in parts:
            p = np.asarray(p, dtype=np.int64)
            missing |= p == 0
            acc = (acc ^ p.astype(np.uint64)) * _MIX
            acc ^= acc >> np.uint64(29)
    key = (acc & np.uint64(_LOW)).astype(np.int64) | np.int64(RULE_NUMBER[rule] << 56)
    return np.where(missing, NONE, key)


def rule_of(keys: np.ndarray) -> np.ndarray:
    """The rule number of each key."""
    return np.asarray(keys, dtype=np.int64) >> 56


def name_keys(
    given: list[str], family: list[str], dob: np.ndarray, *, undated_only: bool
) -> np.ndarray:
    """Every name-and-date blocking key of records (normalized given name, surname, date ordinal).

    One row per record, NONE where a key cannot be made. `undated_only`: the `undated_names` key
    only for records without a date (the subjects' side); cases always carry it.
    """
    n = len(given)
    g = [name_codes(x) for x in given]
    f = [family_codes(x) for x in family]
    g_sound = np.fromiter((c.sound for c in g), dtype=np.int64, count=n)
    g_initial = np.fromiter((c.initial for c in g), dtype=np.int64, count=n)
    f_sound = np.zeros((n, MAX_FAMILY_PARTS), dtype=np.int64)
    f_initial = np.zeros((n, MAX_FAMILY_PARTS), dtype=np.int64)
    for i, parts in enumerate(f):
        for j, c in enumerate(parts):
            f_sound[i, j], f_initial[i, j] = c.sound, c.initial
    ordinal, year, month_day = date_columns(dob)
    low = np.minimum(g_initial, f_initial[:, 0])
    high = np.maximum(g_initial, f_initial[:, 0])
    low = np.where((g_initial == 0) | (f_initial[:, 0] == 0), 0, low)
    columns = [
        _key("given_dob", g_sound, ordinal),
        _key("dob_initials", ordinal, low, high),
    ]
    undated = np.where(ordinal == 0, 1, 0) if undated_only else np.ones(n, dtype=np.int64)
    for j in range(MAX_FAMILY_PARTS):
        columns += [
            _key("surname_yob", f_sound[:, j], year),
            _key("surname_initial_day", f_sound[:, j], g_initial, month_day),
            _key("undated_names", f_sound[:, j], g_sound, undated),
        ]
    return np.stack(columns, axis=1) if n else np.zeros((0, len(columns)), dtype=np.int64)
