"""Lawful workers whose case differs from their SSA/DHS record: the kinds, how often, and who gets them.

Every kind here keeps the worker lawful (the truth label is `none`, or `clerical` for a date of
birth keyed wrong, which E-Verify answers with a TNC the worker resolves): the benchmark counts an
adverse finding on any of them as an erroneous mismatch, per kind (the `detail` column of the
labels). A case carries one kind, so figures per kind are attributable; real data stacks them,
which the outside data sets cover.

Rates, as shares of all cases (the generator's older kinds, in world.VARIANT_SHARES, add
compound_reordered 2%, compound_truncated 2%, hyphen_space 1.5%, diacritics dropped 3%,
upper_case 3%, second_given_name 1%, a typo in a long surname 0.5%, and the clerical
dob_day_month_swap and ssn_transposition 0.5% each). No source counts these kinds one by one;
the rates are assumptions sized against what is published, stated so they can be argued with:

- About 1-2% of E-Verify cases get a mismatch, and the public evaluations (Westat for DHS, GAO)
  put the erroneous TNCs of lawful workers at a few tenths of a percent, name problems first
  (DOMAIN.md §2). The kinds below that a plain comparison rejects (keying errors, nicknames,
  transliterations, swapped names, a wrong date) sum to about 2.5% of cases: about what a naive
  matcher would mismatch, ten times what the 0.1% goal allows.
- Keying errors: single-entry data entry is usually measured at a few errors per thousand
  fields, double entry at far fewer. I-9 names are typed from a document by HR staff: given name
  0.3%, surname 0.3% (any length; a neighbouring key, a letter left out, doubled or exchanged
  with the next, never the first letter), on top of the older long-surname typo (0.5%).
- Nicknames (0.8%): the I-9 asks for the legal name, but the name a worker goes by reaches the
  form through HR systems (Bill, Paco, Chuy, Lupe): about one in ten of the workers whose given
  name has a common short form (US and Hispanic names chiefly). Going by the middle name (0.3%)
  is the same mechanism, rarer; citizens only, as the DHS extract format has no middle name.
- Diacritics added (1%): SSA records are commonly held without diacritics while workers and
  current HR systems type "José García": the record is the plain form and the case the accented
  one, for about 3% of the workers with an accented name. The older `diacritics` kind is the
  other direction (a payroll system dropping them).
- Compound Hispanic surnames (DOMAIN.md §2 names them first among the causes of wrong
  mismatches): the maternal surname alone (1%: a form that takes the last word for the surname),
  both surnames on the case where the record holds the paternal one (0.5%). Hispanic and Arabic
  origins only; with the older compound kinds, about one compound-surname worker in five.
- Transliteration (0.4%): Arabic, Chinese (pinyin against Wade-Giles or Cantonese), Korean,
  Russian names, German and Danish umlauts written out; about 1.5% of the workers of Arabic,
  Asian and other origins, whose documents come from other alphabets or conventions.
- Given name and surname swapped (0.3%): mostly East Asian names written family name first
  (weighted five to one against the rest), Hispanic ones next (1.5 to one).
- A date of birth one digit off (0.3%, clerical): of the order of the day/month swap the
  generator already makes (0.5%): one keying error over the six digits that vary.

Missing fields: the case's identity fields (names, date of birth, SSN) are mandatory in
E-Verify, and the optional ones (middle initial, other last names, e-mail) are never written by
the bulk loader. What is missing on the lawful side is the record's: the case of
`compound_added` meets a record with one surname, `diacritics_added` one without accents; the
hiring site (40%) and a List B/C document number stay absent as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic import dates as dt
from synthetic import identities as ids
from synthetic import names as nm

# The kinds of this module, in the order they are given out (the narrowest eligibility first).
LAWFUL_SHARES: dict[str, float] = {
    "transliteration": 0.004,
    "nickname": 0.008,
    "compound_second_only": 0.01,
    "compound_added": 0.005,
    "given_family_swapped": 0.003,
    "goes_by_middle_name": 0.003,
    "diacritics_added": 0.01,
    "typo_given": 0.003,
    "typo_surname": 0.003,
}
CLERICAL_SHARES: dict[str, float] = {"dob_one_digit": 0.003}
KINDS = [*LAWFUL_SHARES, *CLERICAL_SHARES]

# How the SSA and DHS records write a person's names (p["record"]).
RECORD_AS_IS, RECORD_PLAIN, RECORD_FIRST_SURNAME = 0, 1, 2

_FIRST_POOLS = [o[0] for o in nm.ORIGINS]
_LAST_POOLS = [o[1] for o in nm.ORIGINS]
HISPANIC, ANGLO, ARABIC, ASIAN, OTHER = range(5)


def letters(name: str) -> int:
    """Letters of the first word of a name (what a keying error needs at least three of)."""
    word = name.replace("-", " ").split()[0] if name.strip() else ""
    return sum(ch.isalpha() for ch in word)


def _table(pools: list[list[str]], fn: Callable[[str], int]) -> np.ndarray:
    """An attribute of every name of the pools, as an (origin, index) table."""
    width = max(len(pool) for pool in pools)
    out = np.zeros((len(pools), width), dtype=np.int64)
    for o, pool in enumerate(pools):
        out[o, : len(pool)] = [fn(name) for name in pool]
    return out


_F_LEN = np.array([len(p) for p in _FIRST_POOLS])
_L_LEN = np.array([len(p) for p in _LAST_POOLS])
L_CHARS = _table(_LAST_POOLS, len)
_P_ACCENT = np.array([nm.strip_accents(n) != n for n in nm.PARTICLE_SURNAMES])
_P_CHARS = np.array([len(n) for n in nm.PARTICLE_SURNAMES])
F_LETTERS = _table(_FIRST_POOLS, letters)
L_LETTERS = _table(_LAST_POOLS, letters)
F_NICK = _table(_FIRST_POOLS, lambda n: n in nm.NICKNAMES)
F_TRANSLIT = _table(_FIRST_POOLS, lambda n: n in nm.TRANSLITERATIONS)
L_TRANSLIT = _table(_LAST_POOLS, lambda n: n in nm.TRANSLITERATIONS)
F_ACCENT = _table(_FIRST_POOLS, lambda n: nm.strip_accents(n) != n)
L_ACCENT = _table(_LAST_POOLS, lambda n: nm.strip_accents(n) != n)


def _any(table: np.ndarray) -> np.ndarray:
    """Per origin: does any name of its pool have the attribute."""
    return np.asarray(table.any(axis=1), dtype=bool)


def _name(pools: list[list[str]], origin: int, index: int) -> str:
    pool = pools[origin]
    return pool[int(index) % len(pool)]


def first_attr(table: np.ndarray, origin: np.ndarray, first: np.ndarray) -> np.ndarray:
    """An attribute (a table above) of the given names drawn as `first` from each origin's pool."""
    o = origin.astype(np.int64)
    return table[o, first % _F_LEN[o]]


def last_attr(table: np.ndarray, origin: np.ndarray, last: np.ndarray) -> np.ndarray:
    """An attribute of the surnames drawn as `last` from each origin's pool."""
    o = origin.astype(np.int64)
    return table[o, last % _L_LEN[o]]


def redraw_with(
    rng: np.random.Generator, table: np.ndarray, origin: np.ndarray, pools: list[list[str]]
) -> np.ndarray:
    """For each origin given, the index of a name of its pool that has the attribute (uniformly)."""
    out = np.full(len(origin), -1, dtype=np.int64)
    for o in range(len(pools)):
        at = np.flatnonzero(origin == o)
        having = np.flatnonzero(table[o, : len(pools[o])])
        if len(at) and len(having):
            out[at] = rng.choice(having, size=len(at))
    return out


def take(rng: np.random.Generator, free: np.ndarray, eligible: np.ndarray, n: int) -> np.ndarray:
    """Up to n random indexes where `free & eligible`, marked taken in `free`."""
    pool = np.flatnonzero(free & eligible)
    if n <= 0 or not len(pool):
        return pool[:0]
    got = rng.choice(pool, size=min(n, len(pool)), replace=False)
    got.sort()
    free[got] = False
    return got


@dataclass
class _Picker:
    """Gives a kind to a share of the free cases (lawful, no detail yet), once each."""

    rng: np.random.Generator
    detail: np.ndarray
    free: np.ndarray  # cases still without a kind; `pick` marks the ones it takes
    codes: dict[str, int]

    def pick(
        self, kind: str, eligible: np.ndarray, share: float, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Up to `share` of all cases, free and eligible (drawn by `weights` if given), get `kind`."""
        n = round(share * len(self.detail))
        if weights is None:
            got = take(self.rng, self.free, eligible, n)
        else:
            pool = np.flatnonzero(self.free & eligible)
            got = pool[:0]
            if len(pool) and n > 0:
                w = weights[pool] / weights[pool].sum()
                got = np.sort(self.rng.choice(pool, size=min(n, len(pool)), replace=False, p=w))
                self.free[got] = False
        self.detail[got] = self.codes[kind]
        return got


def assign(
    *,
    rng: np.random.Generator,
    p: dict[str, np.ndarray],
    label: np.ndarray,
    detail: np.ndarray,
    person: np.ndarray,
    dob_override: np.ndarray,
    codes: dict[str, int],
    clerical: int,
    citizen: int,
    today_year: int,
) -> None:
    """Give the kinds of this module to lawful cases with no detail yet, and make their people fit.

    A kind that needs something of the person (a given name with a nickname, a compound surname, a
    middle name) gets it: the person is drawn again where it matters, SSA and DHS records
    included, before any record is written. `codes` maps each kind to its detail code.
    The steps draw from `rng` in a fixed order: keep the order of the calls.
    """
    free = (label == 0) & (detail == 0)
    pk = _Picker(rng=rng, detail=detail, free=free, codes=codes)
    _rehome_older_kinds(rng, p, person, detail=detail, free=free, codes=codes)
    _alternate_names(pk, p, person)
    _compound_surnames(pk, p, person)
    _swapped_names(pk, p, person)
    _middle_names(pk, p, person, citizen=citizen)
    _plain_records(pk, p, person)
    _name_typos(pk, p, person)
    # A date of birth one digit off: a keying error E-Verify answers with a TNC (clerical).
    got = pk.pick(
        "dob_one_digit", np.ones(len(label), dtype=bool), CLERICAL_SHARES["dob_one_digit"]
    )
    label[got] = clerical
    dob_override[got] = dt.one_digit(
        p["dob"][person[got]], rng, lo_year=1920, hi_year=today_year - 15
    )


def _rehome_older_kinds(
    rng: np.random.Generator,
    p: dict[str, np.ndarray],
    person: np.ndarray,
    *,
    detail: np.ndarray,
    free: np.ndarray,
    codes: dict[str, int],
) -> None:
    """The older kinds that need something of the names move to cases whose names have it:
    diacritics to accented names, name_typo to surnames of nine characters or more."""
    origin = p["origin"][person]
    first, parts, particle = p["first"][person], surname_parts(p, person), p["particle"][person]
    accented = first_attr(F_ACCENT, origin, first).astype(bool) | np.where(
        particle >= 0,
        _P_ACCENT[np.maximum(particle, 0)],
        last_attr(L_ACCENT, origin, parts[0]).astype(bool)
        | ((parts[1] >= 0) & last_attr(L_ACCENT, origin, np.maximum(parts[1], 0)).astype(bool)),
    )
    surname_chars = np.where(
        particle >= 0,
        _P_CHARS[np.maximum(particle, 0)],
        last_attr(L_CHARS, origin, parts[0])
        + np.where(parts[1] >= 0, 1 + last_attr(L_CHARS, origin, np.maximum(parts[1], 0)), 0),
    )
    _rehome(rng, detail, free, codes["diacritics"], accented)
    _rehome(rng, detail, free, codes["name_typo"], surname_chars >= 9)  # what name_typo keys


def _alternate_names(pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray) -> None:
    """Transliteration and nickname: the person gets a name that has another form."""
    rng, origin = pk.rng, p["origin"][person]
    # Transliteration: a given name or a surname that has another romanization.
    has_f = _any(F_TRANSLIT)[origin]
    has_l = _any(L_TRANSLIT)[origin]
    got = pk.pick("transliteration", has_f | has_l, LAWFUL_SHARES["transliteration"])
    who = person[got]
    on_given = has_f[got] & (~has_l[got] | (rng.random(len(got)) < 0.5))
    p["first"][who[on_given]] = redraw_with(rng, F_TRANSLIT, origin[got][on_given], _FIRST_POOLS)
    p["last1"][who[~on_given]] = redraw_with(rng, L_TRANSLIT, origin[got][~on_given], _LAST_POOLS)
    p["particle"][who] = -1
    # Nickname: a given name that has one.
    got = pk.pick("nickname", _any(F_NICK)[origin], LAWFUL_SHARES["nickname"])
    p["first"][person[got]] = redraw_with(rng, F_NICK, origin[got], _FIRST_POOLS)


def _compound_surnames(pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray) -> None:
    """Compound surnames (Hispanic and Arabic origins): the person gets a second surname."""
    compound = np.isin(p["origin"][person], [HISPANIC, ARABIC])
    for kind in ("compound_second_only", "compound_added"):
        got = pk.pick(kind, compound, LAWFUL_SHARES[kind])
        who = person[got]
        last2 = p["last2"][who]
        p["last2"][who] = np.where(last2 < 0, pk.rng.integers(0, 1 << 15, size=len(who)), last2)
        p["particle"][who] = -1
        if kind == "compound_added":
            p["record"][who] = RECORD_FIRST_SURNAME


def _swapped_names(pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray) -> None:
    """Given name and surname swapped: East Asian names five times as often."""
    origin = p["origin"][person]
    weights = np.where(origin == ASIAN, 5.0, np.where(origin == HISPANIC, 1.5, 1.0))
    everyone = np.ones(len(person), dtype=bool)
    got = pk.pick("given_family_swapped", everyone, LAWFUL_SHARES["given_family_swapped"], weights)
    for i in person[got].tolist():  # "Li Li" swapped is no variant: another given name
        o = int(p["origin"][i])
        while _name(_FIRST_POOLS, o, p["first"][i]) == _name(_LAST_POOLS, o, p["last1"][i]):
            p["first"][i] += 1


def _middle_names(
    pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray, *, citizen: int
) -> None:
    """Goes by the middle name: the person gets one if they have none (SSA knows it).

    Citizens only: the DHS extract has no middle name, so a DHS record could not show it.
    """
    no_dhs = (p["status"][person] == citizen) & ~p["stale"][person]
    got = pk.pick("goes_by_middle_name", no_dhs, LAWFUL_SHARES["goes_by_middle_name"])
    who = person[got]
    second = p["second_given"][who]
    p["second_given"][who] = np.where(
        second < 0, pk.rng.integers(0, 1 << 15, size=len(who)), second
    )
    for i in who.tolist():
        o = int(p["origin"][i])
        while _name(_FIRST_POOLS, o, p["second_given"][i]) == _name(_FIRST_POOLS, o, p["first"][i]):
            p["second_given"][i] += 1


def _plain_records(pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray) -> None:
    """Diacritics added: the record is the plain form of an accented name."""
    origin = p["origin"][person]
    accented = first_attr(F_ACCENT, origin, p["first"][person]).astype(bool) | last_attr(
        L_ACCENT, origin, p["last1"][person]
    ).astype(bool)
    got = pk.pick(
        "diacritics_added",
        accented & (p["particle"][person] < 0),
        LAWFUL_SHARES["diacritics_added"],
    )
    p["record"][person[got]] = RECORD_PLAIN


def _name_typos(pk: _Picker, p: dict[str, np.ndarray], person: np.ndarray) -> None:
    """Keying errors in a name of three letters or more (the names stay as they are)."""
    origin = p["origin"][person]
    pk.pick(
        "typo_given",
        first_attr(F_LETTERS, origin, p["first"][person]) >= 3,
        LAWFUL_SHARES["typo_given"],
    )
    pk.pick(
        "typo_surname",
        (last_attr(L_LETTERS, origin, p["last1"][person]) >= 3) & (p["particle"][person] < 0),
        LAWFUL_SHARES["typo_surname"],
    )


def surname_parts(p: dict[str, np.ndarray], people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pool indexes of each person's first and second surname (-1: none), as `names_of`
    reads them: a second draw that gives the first surname again takes the next name."""
    origin, last1, last2 = p["origin"][people], p["last1"][people], p["last2"][people]
    same = (last2 >= 0) & (
        ids.surname_ids(origin, last1) == ids.surname_ids(origin, np.maximum(last2, 0))
    )
    return last1, np.where(same, last2 + 1, last2)


def _rehome(
    rng: np.random.Generator,
    detail: np.ndarray,
    free: np.ndarray,
    code: int,
    can_show: np.ndarray,
) -> None:
    """Move kind `code` from the cases whose names cannot show it (no accent to drop, a surname too
    short to key wrongly) to free lawful cases whose names can: no case carries a kind it does not show."""
    unable = np.flatnonzero((detail == code) & ~can_show)
    detail[unable] = 0
    free[unable] = True
    detail[take(rng, free, can_show, len(unable))] = code


def names_of(pl: Mapping[str, Any], i: int) -> tuple[str, str, tuple[str, ...]]:
    """(first, second given, surname parts) of person i, from the people's arrays or lists."""
    origin = pl["origin"][i]
    fpool, lpool = _FIRST_POOLS[origin], _LAST_POOLS[origin]
    first = fpool[pl["first"][i] % len(fpool)]
    k = pl["second_given"][i]
    second = fpool[k % len(fpool)] if k >= 0 else ""
    if second == first:
        second = ""
    particle = pl["particle"][i]
    if particle >= 0:
        return first, second, (nm.PARTICLE_SURNAMES[particle],)
    a = lpool[pl["last1"][i] % len(lpool)]
    k = pl["last2"][i]
    if k < 0:
        return first, second, (a,)
    b = lpool[k % len(lpool)]
    if b == a:
        b = lpool[(k + 1) % len(lpool)]
    return first, second, (a, b)


def mix(seed: int, index: int) -> int:
    """A deterministic pseudo-random non-negative int of (seed, index), for choices made row by row."""
    x = (index + 1) * 0x9E3779B1 ^ (seed + 0x7F4A7C15) * 0x85EBCA77
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFFFF
    return x ^ (x >> 12)


def present(kind: str, first: str, second: str, parts: tuple[str, ...], r: int) -> tuple[str, str]:
    """(first name, last name) as typed on the case of a worker with this lawful kind.

    `first`, `second` and `parts` are the person's own names (what SSA knows, before the record's
    own form: see `record_names`); `r` picks among the choices (`mix`).
    """
    last = " ".join(parts)
    if kind == "typo_given":
        return nm.keying_error(first, r), last
    if kind == "typo_surname":
        return first, " ".join((nm.keying_error(parts[0], r), *parts[1:]))
    if kind == "nickname":
        options = nm.NICKNAMES.get(first, ())
        return (options[r % len(options)] if options else first), last
    if kind == "transliteration":
        if first in nm.TRANSLITERATIONS and (parts[0] not in nm.TRANSLITERATIONS or r % 2):
            options = nm.TRANSLITERATIONS[first]
            return options[(r // 2) % len(options)], last
        options = nm.TRANSLITERATIONS.get(parts[0], ())
        if options:
            return first, " ".join((options[(r // 2) % len(options)], *parts[1:]))
        return first, last
    if kind == "compound_second_only" and len(parts) == 2:
        return first, parts[1]
    if kind == "given_family_swapped":
        return last, first
    if kind == "goes_by_middle_name" and second:
        return second, last
    return first, last


def record_names(
    record: int, first: str, second: str, parts: tuple[str, ...]
) -> tuple[str, str, tuple[str, ...]]:
    """The person's names as the SSA and DHS records write them (p["record"])."""
    if record == RECORD_PLAIN:
        return (
            nm.strip_accents(first),
            nm.strip_accents(second),
            tuple(nm.strip_accents(x) for x in parts),
        )
    if record == RECORD_FIRST_SURNAME:
        return first, second, parts[:1]
    return first, second, parts
