"""How often a given name goes with a surname among the people at hand: the names' dependence per pair.

Given names and surnames are not independent: both follow a family's origin, so "José García" is
far commoner than the rates of "José" and of "García" alone make it. Two records agreeing on both
names are then less of a coincidence than two independent agreements, and the less so, the more
the two names go together. Training measures the dependence on average, over random pairs
(`Parameters.names_joint`); an average is dominated by the commonest origins and says too little
about the names of a smaller community, where agreeing on both names is a coincidence many times
likelier (measured on the generator's held-out data: names-exact pairs with a wrong date of birth
scored 0.56 on average while 7% of them were true).

Here the dependence is measured per name pair, as its lift among the people being linked:

    lift(X, Y) = (n(X, Y) + 1) / (n(X) n(Y) / N + 1)

where n counts the people bearing the given name X, the surname Y, both, of the N people: the
cases being linked (a worker's several cases, the same SSN under the same name, are one person)
and the subjects' recorded names, leaving out the pair's own two records. One pseudo-observation
on each side keeps a name pair seen too rarely to tell near "independent". The model lowers the
surname's weight by log2 of max(names_joint, lift) (`model.score`): never less dependence than
the trained average, so this only takes evidence away.

The cases of one partition are a random sample of the run's cases (partitions are SSN ranges),
so the counts are the partition's; they are the same every time the partition runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crossref.linkage.compare import CaseColumns
    from crossref.linkage.subjects import SubjectIndex

_SHIFT = 32


@dataclass(frozen=True)
class NameCounts:
    """Distinct values and their counts: given names, surnames, (given, surname) pairs."""

    given: tuple[np.ndarray, np.ndarray]
    family: tuple[np.ndarray, np.ndarray]
    both: tuple[np.ndarray, np.ndarray]
    people: int


def _table(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, counts = np.unique(values, return_counts=True)
    return uniq, counts


def _lookup(table: tuple[np.ndarray, np.ndarray], values: np.ndarray) -> np.ndarray:
    uniq, counts = table
    if not len(uniq):
        return np.zeros(len(values), dtype=np.int64)
    at = np.minimum(np.searchsorted(uniq, values), len(uniq) - 1)
    return np.where(uniq[at] == values, counts[at], 0).astype(np.int64)


def _people(cases: CaseColumns, index: SubjectIndex) -> tuple[np.ndarray, np.ndarray]:
    """(given, surname) word ids of each person: the cases' distinct (names, SSN), then the subjects."""
    ssn = np.fromiter(
        (hash(s) if s else 0 for s in cases.ssn), dtype=np.int64, count=len(cases.ssn)
    )
    # A case without an SSN is a person of its own.
    ssn = np.where(ssn == 0, -1 - np.arange(len(ssn), dtype=np.int64), ssn)
    # The distinct (given, surname, SSN) rows: sorted on the three, each row unlike the one
    # before (what np.unique(..., axis=0) returns, four times faster: that one sorts the rows
    # as opaque bytes, compared one by one).
    order = np.lexsort((ssn, cases.family, cases.given))
    g, f, s = cases.given[order], cases.family[order], ssn[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (f[1:] != f[:-1]) | (s[1:] != s[:-1])
    primary = index.name_start
    given = np.concatenate([g[first], index.name_given[primary]]).astype(np.int64)
    family = np.concatenate([f[first], index.name_family[primary]]).astype(np.int64)
    return given, family


def name_counts(cases: CaseColumns, index: SubjectIndex) -> NameCounts:
    """The counts of the people of `cases` and `index`, kept on `cases` for the next pairs."""
    cached = cases.name_counts
    if cached is not None and cached[0] is index and isinstance(cached[1], NameCounts):
        return cached[1]
    given, family = _people(cases, index)
    counts = NameCounts(
        given=_table(given),
        family=_table(family),
        both=_table((given << _SHIFT) | family),
        people=len(given),
    )
    cases.name_counts = (index, counts)
    return counts


def lift(
    cases: CaseColumns,
    index: SubjectIndex,
    pc: np.ndarray,
    ps: np.ndarray,
    name: np.ndarray,
    both: np.ndarray,
) -> np.ndarray:
    """Per pair, the lift of its (given name, surname) among the people (1 where `both` is False).

    `name` is the subject name row each pair was judged on; `both` marks the pairs whose two names
    agree exactly (the case's names are then the subject's).
    """
    out = np.ones(len(pc), dtype=np.float64)
    at = np.flatnonzero(both)
    if not len(at):
        return out
    counts = name_counts(cases, index)
    given = cases.given[pc[at]].astype(np.int64)
    family = cases.family[pc[at]].astype(np.int64)
    # Leave the pair's own records out: its case, and its subject where it matched on the
    # subject's recorded (primary) name.
    own = 1 + (name[at] == index.name_start[ps[at]]).astype(np.int64)
    n_given = np.maximum(_lookup(counts.given, given) - own, 0)
    n_family = np.maximum(_lookup(counts.family, family) - own, 0)
    n_both = np.maximum(_lookup(counts.both, (given << _SHIFT) | family) - own, 0)
    expected = n_given * n_family / np.maximum(counts.people - own, 1)
    out[at] = (n_both + 1.0) / (expected + 1.0)
    return out
