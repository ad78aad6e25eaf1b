"""Enforcement subjects: workers who are subjects (true links), look-alikes who are not (decoys), strangers.

One subject per 20 cases (issue 4's P1 data: 50k for 1M cases), in a random order:
- **links**, one per `fraud:enforcement_hit` case (0.3% of the cases): the worker, as another
  agency typed them at an encounter, so rarely as the I-9 has it;
- **decoys** (10% of the subjects): each built on one lawful worker to look like them in one or
  two fields (a common surname and the birth year, the given name and the date of birth, the full
  name under another date, the date and initials, an SSN one digit off), never explainable by one
  of the links' errors, so they test precision;
- **strangers**, the rest, drawn like workers (the same name pools and birth years).

No subject but a link is any worker's exact given name, first surname and date of birth (under
either date order), and no link is another worker's: only a document could tell those apart.

What a link's record gets wrong (`variant`, one kind a link; LINK_SHARES, the rest exact), and why:
enforcement records are typed by other people, from other documents and from what the person
says, often in a hurry, so a link is rarely the I-9 as typed. There is no public count of these
errors for enforcement files; the shares are assumptions in the proportions that linkage
benchmarks built to resemble administrative files use (FEBRL, GeCo: most duplicates wrong in one
field or two, names most often, then dates of birth), with a third of the links exact:
- names (30%): a one-letter keying error in the given name or the surname (7% each); the given
  name replaced by another (3%: the name used at the encounter), shortened to a nickname or an
  initial (5%), the surname shortened (4%: one of two surnames, the particles dropped, a long
  name cut at seven letters); given name and surname the wrong way round (4%);
- date of birth (28%): one digit (6%), the year off by one (4%) or ten (2%), the month or day
  wrong (4%), day and month exchanged (4%), the year only (3%, stored as 1 January: the loader
  takes full dates only, and records that know the year alone commonly store it so), missing
  (5%, as in the outside benchmark of issue 17);
- partial records (9%, issue 17 §6): a surname and a document only (4%), an alias only (3%), a
  document shared under another identity altogether (2%, `document_only`).
A link that has lost its date of birth, or keeps only a surname or a document, always carries
one of the worker's documents, so every link stays identifiable. 15% of the links with a name
or date error get a second, lighter one in the other field (a typo, one digit, the swap, the
year off by one): `variant` is then "first+second".

Documents (`documents`), for links: the case's SSN (25%), the SSN with one digit wrong (5%),
the A-Number (12%, noncitizens: 60% of the hit workers are), the foreign passport (2%), the I-94
number (2%), the List A document number untyped (8%, the file format before the kind prefixes),
none (the rest); strangers and decoys carry documents of their own at the same rates (their SSN
30%; a decoy's SSN one digit off the worker's for `decoy_ssn_near`), never a worker's. Missing fields are not the links' alone: strangers miss
the date of birth, the given name or every name at the links' rates (`variant` says which), and
half of all subjects carry an alias, the plain-letter form of their recorded name.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from synthetic import dates as dt
from synthetic import identities as ids
from synthetic import names as nm
from synthetic import variants as va

STRANGER, LINK, DECOY = 0, 1, 2
SUBJECT_KINDS = ["stranger", "link", "decoy"]

LINK_SHARES: dict[str, float] = {
    "document_only": 0.02,
    "surname_document": 0.04,
    "alias_only": 0.03,
    "dob_day_month_swap": 0.04,
    "surname_shortened": 0.04,
    "given_shortened": 0.05,
    "given_replaced": 0.03,
    "given_family_swapped": 0.04,
    "typo_given": 0.07,
    "typo_surname": 0.07,
    "dob_one_digit": 0.06,
    "dob_year_1": 0.04,
    "dob_year_10": 0.02,
    "dob_component": 0.04,
    "dob_year_only": 0.03,
    "dob_missing": 0.05,
}
NAME_KINDS = (
    "typo_given",
    "typo_surname",
    "given_replaced",
    "given_shortened",
    "surname_shortened",
    "given_family_swapped",
)
DOB_KINDS = (
    "dob_one_digit",
    "dob_year_1",
    "dob_year_10",
    "dob_component",
    "dob_day_month_swap",
    "dob_year_only",
    "dob_missing",
)
PARTIAL_KINDS = ("surname_document", "alias_only", "document_only")
SECOND_SHARE = 0.15
SECOND_NAME_KINDS = ("typo_given", "typo_surname")
SECOND_DOB_KINDS = ("dob_one_digit", "dob_day_month_swap", "dob_year_1")
# Strangers miss fields as often as links do.
STRANGER_SHARES = {
    "surname_document": 0.04,
    "alias_only": 0.03,
    "dob_year_only": 0.03,
    "dob_missing": 0.05,
}
DECOY_SHARE = 0.10
DECOY_SHARES: dict[str, float] = {
    "decoy_dob_initials": 0.10,
    "decoy_ssn_near": 0.10,
    "decoy_given_dob": 0.20,
    "decoy_name": 0.25,
    "decoy_surname_year": 0.35,
}
VARIANTS = ["", *LINK_SHARES, *DECOY_SHARES]
V = {name: i for i, name in enumerate(VARIANTS)}

DOCUMENTS = ["", "ssn", "ssn_typo", "a_number", "passport", "document_number", "i94"]
DOC = {name: i for i, name in enumerate(DOCUMENTS)}
LINK_DOCUMENTS = {  # the narrowest first: the case must have the document
    "passport": 0.02,
    "i94": 0.02,
    "a_number": 0.12,
    "document_number": 0.08,
    "ssn_typo": 0.05,
    "ssn": 0.25,
}
OTHER_DOCUMENTS = {
    "passport": 0.02,
    "i94": 0.02,
    "a_number": 0.12,
    "document_number": 0.08,
    "ssn": 0.30,
}
ALIAS_SHARE = 0.5
HIT_NONCITIZEN_SHARE = 0.6

_FIRST_POOLS = [o[0] for o in nm.ORIGINS]
_LAST_POOLS = [o[1] for o in nm.ORIGINS]
DOC_NEEDED = ("document_only", "surname_document", "dob_missing")
_BORN_FROM = (date(1956, 1, 1) - date(1970, 1, 1)).days  # workers are born 1956-2005 too


def hit_people(
    p: dict[str, np.ndarray], people: np.ndarray, rng: np.random.Generator, *, lpr: int, alien: int
) -> None:
    """Make 60% of the workers who are enforcement subjects noncitizens (half LPR, half authorized
    to work), with an A-Number: the subjects of an immigration enforcement database mostly are."""
    chosen = people[rng.random(len(people)) < HIT_NONCITIZEN_SHARE]
    p["status"][chosen] = np.where(rng.random(len(chosen)) < 0.5, lpr, alien)
    p["anum"][chosen] = np.where(
        p["anum"][chosen] > 0,
        p["anum"][chosen],
        10_000_000 + rng.integers(0, 89_999_999, size=len(chosen)),
    )
    p["stale"][chosen] = False
    # Of those authorized to work, two in five came in on a foreign passport and two in five
    # hold an I-94 admission number (both are on the case).
    aliens = chosen[p["status"][chosen] == alien]
    travelled = aliens[rng.random(len(aliens)) < 0.4]
    p["passport"][travelled] = np.where(
        p["passport"][travelled] > 0,
        p["passport"][travelled],
        100_000_000 + rng.integers(0, 899_999_999, size=len(travelled)),
    )
    admitted = aliens[rng.random(len(aliens)) < 0.4]
    p["i94"][admitted] = np.where(
        p["i94"][admitted] > 0,
        p["i94"][admitted],
        10_000_000_000 + rng.integers(0, 89_999_999_999, size=len(admitted)),
    )


def build(
    *,
    p: dict[str, np.ndarray],
    c: dict[str, np.ndarray],
    hits: np.ndarray,
    n_subjects: int,
    n_countries: int,
    rng: np.random.Generator,
    today_year: int,
) -> dict[str, np.ndarray]:
    """The subjects' arrays (see the module docstring); `hits` are the cases whose worker is one.

    Moves the birth date of a hit worker who would be another worker's twin (before anything is
    derived from it), as it always did.
    """
    K = n_subjects  # noqa: N806 - the size, as in the docs
    n_link = min(K, len(hits))
    n_decoy = min(K - n_link, round(DECOY_SHARE * K))
    kind = np.repeat(
        np.array([LINK, DECOY, STRANGER], dtype=np.int8), [n_link, n_decoy, K - n_link - n_decoy]
    )
    origin = rng.choice(len(nm.ORIGINS), size=K, p=nm.ORIGIN_WEIGHTS).astype(np.int8)
    compound = np.array([o[2] for o in nm.ORIGINS])[origin]
    s: dict[str, np.ndarray] = {
        "kind": kind,
        "person": np.full(K, -1, dtype=np.int32),
        "case": np.full(K, -1, dtype=np.int32),
        "target": np.full(K, -1, dtype=np.int32),
        "origin": origin,
        "first": rng.integers(0, 1 << 15, size=K).astype(np.int32),
        "last": rng.integers(0, 1 << 15, size=K).astype(np.int32),
        "last2": np.where(rng.random(K) < compound, rng.integers(0, 1 << 15, size=K), -1).astype(
            np.int32
        ),
        "dob": _BORN_FROM + rng.integers(0, 365 * 50, size=K).astype(np.int64),
        "country": rng.integers(0, n_countries, size=K).astype(np.int8),
        "variant": np.zeros(K, dtype=np.int8),
        "variant2": np.zeros(K, dtype=np.int8),
        "doc_kind": np.zeros(K, dtype=np.int8),
        "doc": np.zeros(K, dtype=np.int64),
        "alias": rng.random(K) < ALIAS_SHARE,
    }
    links = np.arange(n_link)
    s["case"][links] = hits[:n_link]
    s["person"][links] = c["person"][hits[:n_link]]
    s["origin"][links] = p["origin"][s["person"][links]]
    s["country"][links] = p["country"][s["person"][links]]
    keys = ids.WorkerKeys(p, c["name_person"])
    keys.untwin_hits(s["person"][links].astype(np.int64), rng)
    s["dob"][links] = p["dob"][s["person"][links]]
    _links(s, p, c, links, rng, today_year, keys)
    _decoys(s, p, c, np.arange(n_link, n_link + n_decoy), rng, today_year, keys)
    strangers = np.arange(n_link + n_decoy, K)
    free = np.ones(len(strangers), dtype=bool)
    for name, share in STRANGER_SHARES.items():
        got = strangers[va.take(rng, free, free, round(share * len(strangers)))]
        s["variant"][got] = V[name]
    _dates_of_partials(s, strangers)
    _documents(s, p, c, rng)
    _untwin_strangers(keys, s, strangers, rng)
    s["alias"] |= s["variant"] == V["alias_only"]
    s["alias"] &= s["variant"] != V["surname_document"]
    order = rng.permutation(K)
    return {name: values[order] for name, values in s.items()}


def _dates_of_partials(s: dict[str, np.ndarray], idx: np.ndarray) -> None:
    v = s["variant"][idx]
    s["dob"][idx] = np.where(
        (v == V["dob_missing"]) | (v == V["surname_document"]), dt.NO_DAY, s["dob"][idx]
    )
    only = idx[v == V["dob_year_only"]]
    s["dob"][only] = dt.year_only(s["dob"][only])


def _name(pools: list[list[str]], origin: int, index: int) -> str:
    pool = pools[int(origin)]
    return pool[int(index) % len(pool)]


def _other_index(
    pools: list[list[str]], origin: int, avoid: set[str], rng: np.random.Generator
) -> int:
    """An index into the origin's pool whose name is none of `avoid`."""
    pool = pools[int(origin)]
    choices = [i for i, name in enumerate(pool) if name not in avoid]
    return int(choices[int(rng.integers(0, len(choices)))])


def _links(
    s: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    c: dict[str, np.ndarray],
    links: np.ndarray,
    rng: np.random.Generator,
    today_year: int,
    keys: ids.WorkerKeys,
) -> None:
    """Each link's kind of error (and perhaps a second), its recorded date of birth and replacement names."""
    n = len(links)
    if not n:
        return
    who = s["person"][links]
    origin, first, last1 = p["origin"][who], p["first"][who], p["last1"][who]
    particle, last2, dob = p["particle"][who], p["last2"][who], p["dob"][who].astype(np.int64)
    f_letters = va.first_attr(va.F_LETTERS, origin, first)
    l_letters = va.last_attr(va.L_LETTERS, origin, last1)
    distinct = np.array(
        [
            _name(_FIRST_POOLS, o, f) != _name(_LAST_POOLS, o, la)
            for o, f, la in zip(origin.tolist(), first.tolist(), last1.tolist(), strict=True)
        ],
        dtype=bool,
    )
    _year, month, day = dt.split(dob)
    anything = np.ones(n, dtype=bool)
    eligible = {
        "typo_given": f_letters >= 3,
        "typo_surname": (particle >= 0) | (l_letters >= 3),
        "surname_shortened": (last2 >= 0) | (particle >= 0) | (l_letters >= 9),
        "given_family_swapped": distinct,
        "dob_day_month_swap": dt.swappable(dob),
        "dob_year_only": (month != 1) | (day != 1),
    }
    free = anything.copy()
    for name, share in LINK_SHARES.items():
        got = va.take(rng, free, eligible.get(name, anything), round(share * n))
        s["variant"][links[got]] = V[name]
    # A second, lighter error in the other field.
    primary = s["variant"][links]
    by_name = np.isin(primary, [V[k] for k in NAME_KINDS])
    by_dob = np.isin(primary, [V[k] for k in DOB_KINDS])
    second = va.take(
        rng, by_name | by_dob, anything, round(SECOND_SHARE * int((by_name | by_dob).sum()))
    )
    for i in second.tolist():
        kinds = SECOND_DOB_KINDS if by_name[i] else SECOND_NAME_KINDS
        options = [k for k in kinds if eligible.get(k, anything)[i]]
        if options:
            s["variant2"][links[i]] = V[options[int(rng.integers(0, len(options)))]]
    # Replacement given names, and the other identity of `document_only`.
    for i in np.flatnonzero(np.isin(primary, [V["given_replaced"], V["document_only"]])).tolist():
        own = _name(_FIRST_POOLS, origin[i], first[i])
        avoid = {own, *nm.NICKNAMES.get(own, ()), *nm.TRANSLITERATIONS.get(own, ())}
        s["first"][links[i]] = _other_index(_FIRST_POOLS, origin[i], avoid, rng)
        s["last"][links[i]] = _other_index(
            _LAST_POOLS, origin[i], {_name(_LAST_POOLS, origin[i], last1[i])}, rng
        )
        s["last2"][links[i]] = -1
    for _ in range(20):
        redo = np.flatnonzero(s["dob"][links] == dob)  # first pass: every link; then the twins
        _link_dates(s, links[redo], dob[redo], rng, today_year)
        twin = _link_twins(keys, s, links, p)
        if not twin.any():
            break
        s["dob"][links[twin]] = dob[twin]
        for i in np.flatnonzero(twin & (primary == V["given_replaced"])).tolist():
            own = _name(_FIRST_POOLS, origin[i], first[i])
            s["first"][links[i]] = _other_index(_FIRST_POOLS, origin[i], {own}, rng)


def _link_dates(
    s: dict[str, np.ndarray],
    links: np.ndarray,
    dob: np.ndarray,
    rng: np.random.Generator,
    today_year: int,
) -> None:
    """The recorded date of birth of each link, from the worker's `dob` and the link's date error."""
    out = dob.copy()
    hi = today_year - 15
    for which in ("variant", "variant2"):
        v = s[which][links]
        for name, fn in (
            ("dob_one_digit", lambda d: dt.one_digit(d, rng, lo_year=1920, hi_year=hi)),
            ("dob_year_1", lambda d: dt.year_shift(d, rng, by=1, lo_year=1920, hi_year=hi)),
            ("dob_year_10", lambda d: dt.year_shift(d, rng, by=10, lo_year=1920, hi_year=hi)),
            ("dob_component", lambda d: dt.one_component(d, rng)),
            ("dob_day_month_swap", dt.day_month_swapped),
            ("dob_year_only", dt.year_only),
            ("document_only", lambda d: _far_date(d, rng, hi)),
        ):
            at = np.flatnonzero(v == V[name])
            out[at] = fn(out[at])
        gone = (v == V["dob_missing"]) | (v == V["surname_document"])
        out[gone] = dt.NO_DAY
    s["dob"][links] = out


def _far_date(days: np.ndarray, rng: np.random.Generator, hi_year: int) -> np.ndarray:
    """Another person's date: the year 2-15 years away (never 10, never after `hi_year`), the day another."""
    year, _month, day = dt.split(days)
    step = rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15], size=len(days))
    earlier = (year - step >= 1925) & ((rng.random(len(days)) < 0.5) | (year + step > hi_year))
    year = np.where(earlier, year - step, year + step)
    day = (day - 1 + rng.integers(1, 28, size=len(days))) % 28 + 1
    return dt.join(year, rng.integers(1, 13, size=len(days)), day)


def _decoys(
    s: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    c: dict[str, np.ndarray],
    decoys: np.ndarray,
    rng: np.random.Generator,
    today_year: int,
    keys: ids.WorkerKeys,
) -> None:
    """Each decoy's lawful worker (`target`), its kind and the fields it shares with them."""
    n = len(decoys)
    lawful = np.flatnonzero(
        (c["label"] == 0) & (c["detail"] == 0) & (p["particle"][c["person"]] < 0)
    )
    if not n or not len(lawful):
        s["kind"][decoys] = STRANGER
        return
    target = rng.choice(lawful, size=n, replace=len(lawful) < n)
    who = c["person"][target]
    origin = p["origin"][who]
    initials = _same_initial_exists(origin, p["first"][who], p["last1"][who])
    free = np.ones(n, dtype=bool)
    anything = np.ones(n, dtype=bool)
    for name, share in DECOY_SHARES.items():
        got = va.take(
            rng, free, initials if name == "decoy_dob_initials" else anything, round(share * n)
        )
        s["variant"][decoys[got]] = V[name]
    rest = np.flatnonzero(free)  # rounding leftovers: the commonest kind
    s["variant"][decoys[rest]] = V["decoy_surname_year"]
    s["target"][decoys] = target
    v = s["variant"][decoys]
    near = v == V["decoy_ssn_near"]
    s["origin"][decoys[~near]] = origin[~near]
    s["first"][decoys[~near]] = p["first"][who[~near]]
    s["last"][decoys[~near]] = p["last1"][who[~near]]
    s["last2"][decoys[~near]] = np.where(v[~near] == V["decoy_name"], p["last2"][who[~near]], -1)
    s["dob"][decoys[~near]] = p["dob"][who[~near]]
    _decoy_fields(s, p, decoys, who, rng, today_year, everything=True)
    for attempt in range(20):
        twin = _twins(keys, s, decoys)
        if not twin.any():
            return
        if attempt >= 3:  # initials with one other name each: the same given name instead
            stuck = twin & (s["variant"][decoys] == V["decoy_dob_initials"])
            s["variant"][decoys[stuck]] = V["decoy_given_dob"]
            s["first"][decoys[stuck]] = p["first"][who[stuck]]
        _decoy_fields(s, p, decoys[twin], who[twin], rng, today_year, everything=False)


def _decoy_fields(
    s: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    decoys: np.ndarray,
    who: np.ndarray,
    rng: np.random.Generator,
    today_year: int,
    *,
    everything: bool,
) -> None:
    """Draw what a decoy does not share with its worker (again, for `everything=False`)."""
    v = s["variant"][decoys]
    dob = p["dob"][who].astype(np.int64)
    year, month, day = dt.split(dob)
    n = len(decoys)
    other_day = (day - 1 + rng.integers(1, 28, size=n)) % 28 + 1
    other_month = (month - 1 + rng.integers(1, 12, size=n)) % 12 + 1
    at = np.flatnonzero(v == V["decoy_surname_year"])
    s["dob"][decoys[at]] = dt.join(year[at], other_month[at], other_day[at])
    at = np.flatnonzero(v == V["decoy_name"])
    s["dob"][decoys[at]] = _far_date(dob[at], rng, today_year - 15)
    at = np.flatnonzero(v == V["decoy_ssn_near"])
    if not everything:
        s["dob"][decoys[at]] += rng.integers(400, 4000, size=len(at))
    for i in np.flatnonzero(
        np.isin(v, [V["decoy_surname_year"], V["decoy_given_dob"], V["decoy_dob_initials"]])
    ).tolist():
        o, j = int(p["origin"][who[i]]), int(decoys[i])
        given, _second, parts = va.names_of(p, who[i])
        if v[i] == V["decoy_surname_year"] and everything:
            s["first"][j] = _other_index(
                _FIRST_POOLS, o, {given, *nm.NICKNAMES.get(given, ())}, rng
            )
        elif v[i] == V["decoy_given_dob"]:  # no part of the worker's surname: not a shortened one
            s["last"][j] = _other_index(_LAST_POOLS, o, set(parts), rng)
        elif v[i] == V["decoy_dob_initials"]:
            s["first"][j] = _initial_index(_FIRST_POOLS, o, given[0], {given}, rng)
            s["last"][j] = _initial_index(_LAST_POOLS, o, parts[0][0], set(parts), rng)


def _same_initial_exists(origin: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """True where the origin's pools hold another given name and another surname of the same initials."""
    f_ok = va.first_attr(_F_INITIAL, origin, first)
    l_ok = va.last_attr(_L_INITIAL, origin, last)
    return (f_ok & l_ok).astype(bool)


def _initial_index(
    pools: list[list[str]], origin: int, initial: str, avoid: set[str], rng: np.random.Generator
) -> int:
    """An index into the origin's pool of a name with this initial, none of `avoid`."""
    choices = [i for i, x in enumerate(pools[origin]) if x[0] == initial and x not in avoid]
    return int(choices[int(rng.integers(0, len(choices)))])


def _initial_table(pools: list[list[str]], others: int) -> np.ndarray:
    """Per (origin, index): does the pool hold `others` other names of the same initial."""
    width = max(len(pool) for pool in pools)
    out = np.zeros((len(pools), width), dtype=np.int64)
    for o, pool in enumerate(pools):
        out[o, : len(pool)] = [
            sum(x[0] == name[0] and x != name for x in pool) >= others for name in pool
        ]
    return out


_F_INITIAL = _initial_table(_FIRST_POOLS, 1)
_L_INITIAL = _initial_table(_LAST_POOLS, 2)  # one may be the second part of a compound surname


def _documents(
    s: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    c: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> None:
    """Each subject's document kind (and number, where it is not the case's own)."""
    kind, variant = s["kind"], s["variant"]
    needed = np.isin(variant, [V[k] for k in DOC_NEEDED])
    links = np.flatnonzero(kind == LINK)
    who = s["person"][links]
    case = s["case"][links]
    status, pp = p["status"][who], p["passport"][who]
    from_world = {  # what the case shows (columns.case_values)
        "ssn": np.ones(len(links), dtype=bool),
        "ssn_typo": ~needed[links],
        "a_number": (status != 0) & (p["anum"][who] > 0),
        "passport": (status == 2) & (pp > 0),
        "i94": (status == 2) & (p["i94"][who] > 0),
        "document_number": (c["doc_type"][case] != 6) & ((c["doc_type"][case] != 5) | (pp > 0)),
    }
    _allocate_documents(s, links, LINK_DOCUMENTS, from_world, needed[links], rng)
    s["doc"][links] = np.where(s["doc_kind"][links] == DOC["ssn"], p["ssn"][who], 0)
    typo = links[s["doc_kind"][links] == DOC["ssn_typo"]]
    s["doc"][typo] = ids.ssn_one_digit(p["ssn"][s["person"][typo]], rng, p["ssn"])
    others = np.flatnonzero(kind != LINK)
    near = variant[others] == V["decoy_ssn_near"]
    anything = dict.fromkeys(OTHER_DOCUMENTS, ~near)
    _allocate_documents(s, others, OTHER_DOCUMENTS, anything, needed[others] & ~near, rng)
    s["doc_kind"][others[near]] = DOC["ssn"]
    targets = s["target"][others[near]]
    s["doc"][others[near]] = ids.ssn_one_digit(p["ssn"][c["person"][targets]], rng, p["ssn"])
    mine = others[~near]
    k = s["doc_kind"][mine]
    s["doc"][mine] = np.select(
        [
            k == DOC["ssn"],
            k == DOC["a_number"],
            k == DOC["passport"],
            k == DOC["document_number"],
            k == DOC["i94"],
        ],
        [
            ids.random_ssns(len(mine), rng, p["ssn"]),
            rng.integers(200_000_000, 999_999_999, size=len(mine)),
            rng.integers(10_000_000, 99_999_999, size=len(mine)),
            rng.integers(1_000_000_000, 9_999_999_999, size=len(mine)),
            rng.integers(100_000_000, 999_999_999, size=len(mine)),
        ],
        0,
    )


def _allocate_documents(
    s: dict[str, np.ndarray],
    idx: np.ndarray,
    shares: dict[str, float],
    available: dict[str, np.ndarray],
    needed: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Document kinds by exact shares among `idx`; those `needed` get one of the last kind (the SSN) if left without."""
    n = len(idx)
    free = np.ones(n, dtype=bool)
    for name, share in shares.items():
        count = round(share * n)
        if name == "ssn":  # the records that need a document first
            first = va.take(rng, free, needed & available[name], count)
            got = np.concatenate([first, va.take(rng, free, available[name], count - len(first))])
        else:
            got = va.take(rng, free, available[name], count)
        s["doc_kind"][idx[got]] = DOC[name]
    s["doc_kind"][idx[free & needed]] = DOC["ssn"]


def _link_twins(
    keys: ids.WorkerKeys, s: dict[str, np.ndarray], links: np.ndarray, p: dict[str, np.ndarray]
) -> np.ndarray:
    """Links whose recorded given name, surname and date are another worker's (names kept as pool names only)."""
    v1, v2 = s["variant"][links], s["variant2"][links]
    changed = np.isin(
        v1,
        [
            V[k]
            for k in (
                "typo_given",
                "typo_surname",
                "given_shortened",
                "surname_shortened",
                "given_family_swapped",
                "alias_only",
                "surname_document",
            )
        ],
    ) | np.isin(v2, [V[k] for k in SECOND_NAME_KINDS])
    who = s["person"][links]
    origin = p["origin"][who]
    other = np.isin(v1, [V["given_replaced"], V["document_only"]])
    f, la = ids.name_ids(
        origin,
        np.where(other, s["first"][links], p["first"][who]),
        np.where(v1 == V["document_only"], s["last"][links], p["last1"][who]),
    )
    own_f, own_l = ids.name_ids(origin, p["first"][who], p["last1"][who])
    own = ids.key(p["dob"][who], own_f, own_l)
    return ~changed & keys.twins(s["dob"][links], f, la, own)


def _twins(keys: ids.WorkerKeys, s: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Subjects (by their own pool names) who are some worker's twin."""
    f, la = ids.name_ids(s["origin"][idx], s["first"][idx], s["last"][idx])
    return keys.twins(s["dob"][idx], f, la, np.full(len(idx), -1, dtype=np.int64))


def _untwin_strangers(
    keys: ids.WorkerKeys, s: dict[str, np.ndarray], strangers: np.ndarray, rng: np.random.Generator
) -> None:
    """Move the birth date of strangers who are a worker's twin (a year-only date by whole years)."""
    for _ in range(20):
        twin = strangers[_twins(keys, s, strangers)]
        if not len(twin):
            return
        only = s["variant"][twin] == V["dob_year_only"]
        year, _m, _d = dt.split(s["dob"][twin])
        s["dob"][twin] = np.where(
            only,
            dt.join(
                year + rng.integers(1, 10, size=len(twin)),
                np.ones_like(year),
                np.ones_like(year),
            ),
            s["dob"][twin] + rng.integers(400, 4000, size=len(twin)),
        )


def recorded_names(
    kind: str, first: str, parts: tuple[str, ...], r: int, replacement: str
) -> tuple[str, tuple[str, ...]]:
    """(given name, surname parts) of a link as its record has them, for its name error `kind`.

    `r` picks among the choices (variants.mix); `replacement` is the given name of `given_replaced`.
    """
    if kind == "typo_given":
        return nm.keying_error(first, r), parts
    if kind == "typo_surname":
        return first, (nm.keying_error(parts[0], r), *parts[1:])
    if kind == "given_replaced":
        return replacement, parts
    if kind == "given_shortened":
        nicknames = nm.NICKNAMES.get(first, ())
        return (nicknames[r % len(nicknames)] if nicknames and r % 3 else first[0]), parts
    if kind == "surname_shortened":
        if len(parts) > 1:
            return first, (parts[r % 2],)
        words = parts[0].split()
        if len(words) > 1:  # a particle surname: the particles dropped
            return first, (words[-1],)
        return first, (parts[0][:7],)
    if kind == "given_family_swapped":
        return " ".join(parts), (first,)
    return first, parts
