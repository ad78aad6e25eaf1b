"""Who is whom in the synthetic world: name ids, twins (identities only a document tells apart), SSNs.

A twin of a worker is another identity with the same given name, a surname part and the date of
birth, under either date order: no linkage could tell them apart without a document, so the
generator never makes one by chance (`WorkerKeys`). SSNs for the subjects' documents are valid
and none of the people's (`random_ssns`, `ssn_one_digit`).
"""

from __future__ import annotations

import numpy as np

from synthetic import dates as dt
from synthetic import names as nm


def _ssn_valid(ssn: np.ndarray) -> np.ndarray:
    area, group, serial = ssn // 1_000_000, ssn // 10_000 % 100, ssn % 10_000
    return (area > 0) & (area < 900) & (area != 666) & (group > 0) & (serial > 0)


def random_ssns(n: int, rng: np.random.Generator, taken: np.ndarray) -> np.ndarray:
    """n valid SSNs that are none of `taken` (the people's)."""
    ordered = np.sort(taken)
    out = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    while len(todo):
        area = rng.integers(1, 900, size=len(todo))
        draw = (
            area * 1_000_000
            + rng.integers(1, 100, size=len(todo)) * 10_000
            + rng.integers(1, 10_000, size=len(todo))
        )
        ok = _ssn_valid(draw) & ~_member(ordered, draw)
        out[todo[ok]] = draw[ok]
        todo = todo[~ok]
    return out


def ssn_one_digit(ssns: np.ndarray, rng: np.random.Generator, taken: np.ndarray) -> np.ndarray:
    """Each SSN with one of its nine digits keyed wrong: valid, and none of `taken`."""
    ordered = np.sort(taken)
    ssns = np.asarray(ssns, dtype=np.int64)
    out = ssns.copy()
    todo = np.arange(len(ssns))
    while len(todo):
        power = 10 ** rng.integers(0, 9, size=len(todo)).astype(np.int64)
        digit = ssns[todo] // power % 10
        draw = ssns[todo] + ((digit + rng.integers(1, 10, size=len(todo))) % 10 - digit) * power
        ok = _ssn_valid(draw) & ~_member(ordered, draw)
        out[todo[ok]] = draw[ok]
        todo = todo[~ok]
    return out


def _member(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    at = np.searchsorted(ordered, values)
    return (at < len(ordered)) & (ordered[np.minimum(at, len(ordered) - 1)] == values)


def _id_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Global ids of the pools' names (the same string, the same id), per origin and index."""
    firsts = sorted({n for o in nm.ORIGINS for n in o[0]})
    lasts = sorted({n for o in nm.ORIGINS for n in o[1]})
    width = max(max(len(o[0]), len(o[1])) for o in nm.ORIGINS)
    f_table = np.zeros((len(nm.ORIGINS), width), dtype=np.int64)
    l_table = np.zeros((len(nm.ORIGINS), width), dtype=np.int64)
    for k, (fpool, lpool, _c) in enumerate(nm.ORIGINS):
        f_table[k, : len(fpool)] = [firsts.index(n) for n in fpool]
        l_table[k, : len(lpool)] = [lasts.index(n) for n in lpool]
    return (
        f_table,
        l_table,
        np.array([len(o[0]) for o in nm.ORIGINS]),
        np.array([len(o[1]) for o in nm.ORIGINS]),
    )


_F_IDS, _L_IDS, _F_N, _L_N = _id_tables()


def name_ids(
    origin: np.ndarray, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global ids of the given names and surnames drawn as (first, last) from each origin's pools."""
    o = origin.astype(np.int64)
    return _F_IDS[o, first % _F_N[o]], _L_IDS[o, last % _L_N[o]]


def surname_ids(origin: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Global ids of the surnames drawn as `last` from each origin's pool."""
    o = origin.astype(np.int64)
    return _L_IDS[o, last % _L_N[o]]


def key(dob: np.ndarray, given: np.ndarray, surname: np.ndarray) -> np.ndarray:
    """One int64 of a (date of birth, given name id, surname id) identity."""
    return (dob.astype(np.int64) * 4096 + given) * 4096 + surname


class WorkerKeys:
    """Every worker's (date of birth, given name, first or second surname), sorted, to find twins.

    A twin is another identity that only a document could tell apart: the same given name, a
    surname part and the date of birth, under either date order.
    """

    def __init__(self, p: dict[str, np.ndarray], name_person: np.ndarray):
        self.p = p
        seen = np.zeros(len(p["dob"]), dtype=bool)
        seen[name_person] = True
        self.people = np.flatnonzero(seen)
        origin = p["origin"][self.people]
        self.given, self.last1 = name_ids(origin, p["first"][self.people], p["last1"][self.people])
        _, self.last2 = name_ids(
            origin, p["first"][self.people], np.maximum(p["last2"][self.people], 0)
        )
        self.has2 = (p["last2"][self.people] >= 0) & (self.last2 != self.last1)
        self.refresh()

    def refresh(self) -> None:
        """Read the workers' dates of birth again."""
        dob = self.p["dob"][self.people]
        self.keys = np.sort(
            np.concatenate(
                [key(dob, self.given, self.last1), key(dob, self.given, self.last2)[self.has2]]
            )
        )

    def count(self, values: np.ndarray) -> np.ndarray:
        """How many workers hold each key (a sorted search: np.isin hashes, slower here)."""
        return np.searchsorted(self.keys, values, side="right") - np.searchsorted(
            self.keys, values, side="left"
        )

    def twins(
        self, dob: np.ndarray, given: np.ndarray, surname: np.ndarray, own: np.ndarray
    ) -> np.ndarray:
        d = np.asarray(dob, dtype=np.int64)
        dated = d != dt.NO_DAY
        d = np.where(dated, d, 0)
        swapped = dt.day_month_swapped(d)
        k1, k2 = key(d, given, surname), key(swapped, given, surname)
        return dated & (
            (self.count(k1) - (k1 == own) > 0)
            | ((swapped != d) & (self.count(k2) - (k2 == own) > 0))
        )

    def untwin_hits(self, hits: np.ndarray, rng: np.random.Generator) -> None:
        """Move the birth date of hit workers who are another worker's twin (as the generator always did)."""
        p = self.p
        f, la = name_ids(p["origin"][hits], p["first"][hits], p["last1"][hits])
        for _ in range(20):
            own = key(p["dob"][hits], f, la)
            twin = self.twins(p["dob"][hits], f, la, own)
            if not twin.any():
                return
            p["dob"][hits[twin]] -= rng.integers(400, 4000, size=int(twin.sum())).astype(
                p["dob"].dtype
            )
            self.refresh()
