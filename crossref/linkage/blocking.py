"""Blocking: which (case, subject) pairs are compared at all, as the union of several rules.

No single corrupted or missing field loses a true pair, because each rule leans on different
fields (a pair is compared when any rule puts it in a block). With "sound" the metaphone code of
a name and "initial" the given name's first letter:

- `ssn`: the same SSN (blind index, so an SSN meets only an SSN);
- `document`: the same A-Number, passport, I-94 or document number, each within its kind;
- `given_dob`: the given name's sound and the full date of birth: survives a replaced or
  misspelt surname;
- `surname_dob`: a surname part's sound and the full date of birth: survives a replaced given
  name (a nickname, a second given name used instead);
- `surname_year_month`, `surname_month_day`, `surname_year_day`: a surname part's sound, the
  initial and two of the three parts of the date: survive one wrong day, year or month;
- `given_month_day`: the given name's sound, the surname's initial, the month and the day:
  survives a misspelt surname (its sound changed) together with a wrong year, the commonest
  error in a date of birth (one more key per case costs about 5% of the rule's time: the other
  two parts of the date are left to the other rules);
- a surname of two parts keys its surname rules also under the parts written as one word (a
  space slipped in or left out: "Rei D", "Reid");
- `dob_initials`: the date of birth and both initials, in either order: survives names entered
  the wrong way round and most typos after the first letter;
- the subjects' `surname_year_month`, `surname_month_day` and `surname_year_day` keys are also
  made with given name and surname exchanged: names entered the wrong way round together with
  one wrong part of the date;
- the subjects' `given_dob`, `surname_dob` and `dob_initials` keys are also made under their
  date of birth with day and month exchanged (a keying slip on either side; with the initials in
  either order, names the wrong way round as well);
- `undated_names`: both names' sounds, for subjects without a date of birth (enforcement
  records are often partial): every case carries the key, only undated subjects do.
- `year_only_names`: a surname part's sound, the initial and the year, for subjects born on
  1 January: a date known only by its year is commonly recorded so (`YEAR_ONLY`). Every case
  carries the key, only such subjects do.

Each key holds a date or two of its parts beside the names, so a common surname makes blocks of
people born close together, not of everyone of that name: the pairs stay few at millions of
cases (a surname and a year of birth alone made forty times as many).

A key is an int64: the rule's number in the top byte, a hash of its parts below. Codes of names
come from a per-process cache by name (names repeat). Keys are compared within one process (the
subject index and the cases of a partition), so Python's per-process string hash is stable enough;
a collision can only add a pair to compare, never lose one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from verification.comparison import date_ordinals, ordinal_dates, phonetic

RULES = (
    "ssn",
    "document",
    "given_dob",
    "surname_dob",
    "surname_year_month",
    "surname_month_day",
    "surname_year_day",
    "dob_initials",
    "undated_names",
    "year_only_names",
    "given_month_day",
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
    """Codes of each part of a normalized surname (compound surnames: up to three parts).

    A surname of two parts also gets the code of its parts written as one word, in the third
    slot: "Rei D" and "Reid", "Mc Donald" and "McDonald", "De Leon" and "Deleon" are one name
    to the comparison (equal once spaces go), and a stray or dropped space must not keep the pair
    out of every block when the given name does not help either.
    """
    parts = family.split()
    codes = [name_codes(part) for part in parts[:MAX_FAMILY_PARTS]]
    if 1 < len(parts) < MAX_FAMILY_PARTS:
        codes.append(name_codes("".join(parts)))
    return tuple(codes)


def date_columns(dob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ordinal, year, month, day) of each date ordinal; 0 where there is no date."""
    dob = np.asarray(dob, dtype=np.int64)
    dated = dob > 0
    year, month, day = (np.where(dated, part, 0) for part in ordinal_dates(dob))
    return dob, year, month, day


def year_only_dates(ordinal: np.ndarray) -> np.ndarray:
    """Whether each date may be known only by its year: 1 January, the usual stand-in (no date: False)."""
    _, _, month, day = date_columns(ordinal)
    out: np.ndarray = (month == 1) & (day == 1)
    return out


def swapped_dates(ordinal: np.ndarray) -> np.ndarray:
    """Each date with day and month exchanged (0 where that is no other valid date, or no date)."""
    ordinal, year, month, day = date_columns(ordinal)
    other = (ordinal > 0) & (day <= 12) & (day != month)
    out = np.zeros(len(ordinal), dtype=np.int64)
    if other.any():  # a day of 12 or less is a month, and a month is a day every month has
        out[other] = date_ordinals(year[other], day[other], month[other])
    return out


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


def _given_row(name: str) -> tuple[int, ...]:
    c = name_codes(name)
    return c.sound, c.initial


def _family_row(name: str) -> tuple[int, ...]:
    parts = family_codes(name)
    sounds = [c.sound for c in parts] + [0] * (MAX_FAMILY_PARTS - len(parts))
    return (*sounds, parts[0].initial if parts else 0)


def _per_name(names: list[str], row: Callable[[str], tuple[int, ...]], width: int) -> np.ndarray:
    """`row(name)` for each name, computed once per distinct name (names repeat)."""
    seen: dict[str, int] = {}
    at = np.fromiter(
        (seen.setdefault(x, len(seen)) for x in names), dtype=np.int64, count=len(names)
    )
    table = np.asarray([row(x) for x in seen], dtype=np.int64).reshape(-1, width)
    return table[at] if len(names) else np.zeros((0, width), dtype=np.int64)


def name_keys(
    given: list[str], family: list[str], dob: np.ndarray, *, undated_only: bool
) -> np.ndarray:
    """Every name-and-date blocking key of records (normalized given name, surname, date ordinal).

    One row per record, NONE where a key cannot be made. `undated_only`: the `undated_names` key
    only for records without a date (the subjects' side); cases always carry it.
    """
    g = _per_name(given, _given_row, 2)
    f = _per_name(family, _family_row, MAX_FAMILY_PARTS + 1)
    return _keys(g, f, dob, undated_only=undated_only)


def word_keys(
    given: np.ndarray,
    family: np.ndarray,
    dob: np.ndarray,
    text: Callable[[int], str],
    *,
    undated_only: bool,
) -> np.ndarray:
    """`name_keys` of records whose names are word ids (`text(id)` the normalized name)."""
    tables = []
    for ids, row, width in ((given, _given_row, 2), (family, _family_row, MAX_FAMILY_PARTS + 1)):
        uniq, at = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
        table = np.asarray([row(text(int(w))) for w in uniq], dtype=np.int64).reshape(-1, width)
        tables.append(table[at])
    return _keys(tables[0], tables[1], dob, undated_only=undated_only)


def _keys(g: np.ndarray, f: np.ndarray, dob: np.ndarray, *, undated_only: bool) -> np.ndarray:
    n = len(g)
    g_sound, g_initial = g[:, 0], g[:, 1]
    f_sound, f_initial = f[:, :MAX_FAMILY_PARTS], f[:, MAX_FAMILY_PARTS]
    ordinal, year, month, day = date_columns(dob)
    low = np.minimum(g_initial, f_initial)
    high = np.maximum(g_initial, f_initial)
    low = np.where((g_initial == 0) | (f_initial == 0), 0, low)
    columns = [
        _key("given_dob", g_sound, ordinal),
        _key("dob_initials", ordinal, low, high),
        _key("given_month_day", g_sound, f_initial, month, day),
    ]
    if undated_only:  # the subjects' side: also under the date with day and month exchanged,
        swapped = swapped_dates(ordinal)  # and with given name and surname exchanged
        columns += [
            _key("given_dob", g_sound, swapped),
            _key("surname_dob", f_sound[:, 0], swapped),
            _key("dob_initials", swapped, low, high),
            _key("surname_year_month", g_sound, f_initial, year, month),
            _key("surname_month_day", g_sound, f_initial, month, day),
            _key("surname_year_day", g_sound, f_initial, year, day),
        ]
    undated = np.where(ordinal == 0, 1, 0) if undated_only else np.ones(n, dtype=np.int64)
    year_only = (
        np.where(year_only_dates(ordinal), 1, 0) if undated_only else np.ones(n, dtype=np.int64)
    )
    for j in range(MAX_FAMILY_PARTS):
        sound = f_sound[:, j]
        columns += [
            _key("surname_dob", sound, ordinal),
            _key("surname_year_month", sound, g_initial, year, month),
            _key("surname_month_day", sound, g_initial, month, day),
            _key("surname_year_day", sound, g_initial, year, day),
            _key("undated_names", sound, g_sound, undated),
            _key("year_only_names", sound, g_initial, year, year_only),
        ]
    return np.stack(columns, axis=1) if n else np.zeros((0, len(columns)), dtype=np.int64)
