"""The synthetic world: people, employers, cases and their ground truth, as numpy arrays.

Everything here is decided by one seeded generator, so a seed gives the same world. Strings
(names, identifiers, COPY lines) are made later, row by row, in `rows.py`, by as many
processes as there are cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from synthetic import dates as dt
from synthetic import names as nm
from synthetic import subjects as sj
from synthetic import variants as va

EPOCH = date(1970, 1, 1)
NO_DAY = dt.NO_DAY  # "no date" in day arrays

# Label codes (index into LABELS) and details (index into DETAILS).
LABELS = [
    "none",
    "clerical",
    "fraud:ssn_reuse",
    "fraud:multi_identity",
    "fraud:deceased",
    "fraud:locked",
    "fraud:expired_authorization",
    "fraud:enforcement_hit",
    "employer:late_case",
    "employer:prescreening",
    "employer:idle_tnc",
    "employer:fnc_retained",
    "employer:doc_type_share",
]
L = {name: i for i, name in enumerate(LABELS)}
DETAILS = [
    "",
    "compound_reordered",
    "compound_truncated",
    "hyphen_space",
    "diacritics",
    "upper_case",
    "second_given_name",
    "name_typo",
    "stale_citizenship",
    "dob_day_month_swap",
    "ssn_transposition",
    *va.KINDS,  # issue 17's lawful variants (synthetic.variants)
]
D = {name: i for i, name in enumerate(DETAILS)}

# Shares of all cases (the rest is `none`); groups count every case of the group.
SHARES = {
    "fraud:ssn_reuse": 0.004,
    "fraud:multi_identity": 0.003,
    "fraud:deceased": 0.002,
    "fraud:locked": 0.002,
    "fraud:expired_authorization": 0.003,
    "fraud:enforcement_hit": 0.003,
    "clerical:dob_day_month_swap": 0.005,
    "clerical:ssn_transposition": 0.005,
    "employer:late_case": 0.008,
    "employer:prescreening": 0.003,
    "employer:idle_tnc": 0.002,
    "employer:fnc_retained": 0.001,
}
# Shares of `none` cases carrying a lawful variant.
VARIANT_SHARES = {
    "compound_reordered": 0.02,
    "compound_truncated": 0.02,
    "hyphen_space": 0.015,
    "diacritics": 0.03,
    "upper_case": 0.03,
    "second_given_name": 0.01,
    "name_typo": 0.005,
}
STALE_CITIZENSHIP_SHARE = 0.01
STATUS_CITIZEN, STATUS_LPR, STATUS_ALIEN = 0, 1, 2
LPR_CLASSES = ["IR1", "CR1", "F21", "E21", "IR5", "DV1"]
ALIEN_CLASSES = ["H1B", "L1A", "C09", "F1", "TN", "E2"]
COUNTRIES = [
    "MEX",
    "IND",
    "CHN",
    "PHL",
    "VNM",
    "SLV",
    "GTM",
    "CUB",
    "DOM",
    "KOR",
    "NGA",
    "EGY",
    "SYR",
    "POL",
    "DEU",
    "FRA",
]
NAICS = [
    "111998",
    "236220",
    "238210",
    "311612",
    "311812",
    "445110",
    "484121",
    "541511",
    "561320",
    "621111",
    "722511",
    "722513",
    "811111",
]
STATES = [
    "TX",
    "CA",
    "FL",
    "NY",
    "IL",
    "AZ",
    "GA",
    "NC",
    "WA",
    "NJ",
    "CO",
    "NV",
    "TN",
    "OH",
    "PA",
    "MI",
    "VA",
    "OK",
]
VALID_EIN_PREFIXES = [
    p
    for p in range(10, 100)
    if f"{p:02d}"
    not in {"17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97"}
]


def to_day(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_day(n: int) -> date:
    """The date `n` days after 1970-01-01."""
    return EPOCH + timedelta(days=int(n))


def ssn_of(x: np.ndarray) -> np.ndarray:
    """Map ints 0..(898*99*9999) to valid 9-digit SSNs (area 001-899 without 666, group 01-99, serial 0001-9999)."""
    area = x // (99 * 9999) + 1
    area = np.where(area >= 666, area + 1, area)
    group = (x // 9999) % 99 + 1
    serial = x % 9999 + 1
    return area * 1_000_000 + group * 10_000 + serial


def valid_ssn(n: int) -> bool:
    """The SSN rules of validation.ssn, on an int."""
    area, group, serial = n // 1_000_000, (n // 10_000) % 100, n % 10_000
    return 0 < area < 900 and area != 666 and group != 0 and serial != 0


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass
class World:
    """All of a synthetic data set, as arrays; see the package docstring for the labels."""

    seed: int
    as_of: date
    n_employers: int
    n_cases: int
    # employers
    e_ein: np.ndarray = field(repr=False, default_factory=_empty)
    e_naics: np.ndarray = field(repr=False, default_factory=_empty)
    e_state: np.ndarray = field(repr=False, default_factory=_empty)
    e_mou: np.ndarray = field(repr=False, default_factory=_empty)
    e_kind: np.ndarray = field(
        repr=False, default_factory=_empty
    )  # label code of a misbehaving employer, else -1
    e_sites: np.ndarray = field(repr=False, default_factory=_empty)  # number of sites
    e_site_base: np.ndarray = field(repr=False, default_factory=_empty)  # index of the first site
    # people
    p: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    # cases
    c: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    # enforcement subjects
    s: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    pl: dict[str, list] = field(repr=False, default_factory=dict)
    cl: dict[str, list] = field(repr=False, default_factory=dict)
    sl: dict[str, list] = field(repr=False, default_factory=dict)
    el: dict[str, list] = field(repr=False, default_factory=dict)

    def freeze(self) -> World:
        """Copy the arrays to Python lists: row-by-row code reads lists ten times faster."""
        self.pl = {k: v.tolist() for k, v in self.p.items()}
        self.cl = {k: v.tolist() for k, v in self.c.items()}
        self.sl = {k: v.tolist() for k, v in self.s.items()}
        self.el = {
            "ein": self.e_ein.tolist(),
            "naics": self.e_naics.tolist(),
            "state": self.e_state.tolist(),
            "mou": self.e_mou.tolist(),
            "kind": self.e_kind.tolist(),
            "sites": self.e_sites.tolist(),
            "site_base": self.e_site_base.tolist(),
        }
        return self

    @property
    def n_people(self) -> int:
        """People with a Numident record."""
        return len(self.p["ssn"])

    @property
    def n_sites(self) -> int:
        """Hiring sites over all employers."""
        return int(self.e_sites.sum())


@dataclass
class _Slots:
    """Which case carries which label: the label and detail codes, fraud groups, single picks."""

    label: np.ndarray  # label code per case
    detail: np.ndarray  # detail code per case
    groups: list[tuple[str, np.ndarray]]  # (label, cases) of each SSN-reuse / multi-identity group
    singles: dict[str, np.ndarray]  # SHARES key -> its cases, for the labels not in groups
    none_idx: np.ndarray  # the cases left `none`


def build(*, n_employers: int, n_cases: int, seed: int, as_of: date | None = None) -> World:
    """Decide the whole world from the seed (fast: numpy only).

    The steps draw from one generator in a fixed order (issue 17's variants and subjects from
    generators of their own), so a seed gives the same world: keep the order of the calls.
    """
    rng = np.random.default_rng(seed)
    as_of = as_of or date.today()  # noqa: DTZ011 - a calendar date, the local day is meant
    today = to_day(as_of)
    w = World(seed=seed, as_of=as_of, n_employers=n_employers, n_cases=n_cases)
    weights = _employers(w, rng, today=today)
    slots = _case_slots(rng, n_cases=n_cases)
    _lawful_variants(rng, slots, n_cases=n_cases)
    employer = _case_employers(w, rng, slots, weights=weights)
    person, p = _people(rng, slots, n_cases=n_cases)
    hire, offer, i9, created, created_secs = _case_dates(rng, slots, today=today, n_cases=n_cases)
    dob_override, ssn_override = _clerical_slips(p, person, slots)
    # Issue 17's draws come from generators of their own: the rest of the world stays as it was.
    variant_rng = np.random.default_rng([seed, 17, 1])
    subject_rng = np.random.default_rng([seed, 17, 2])
    name_person = _fraud_facts(rng, subject_rng, p, person, slots, hire=hire, n_cases=n_cases)
    share_cases = _variant_people(rng, p, person, slots)
    _immigration_records(rng, p, person, slots, hire=hire, today=today)
    va.assign(
        rng=variant_rng,
        p=p,
        label=slots.label,
        detail=slots.detail,
        person=person,
        dob_override=dob_override,
        codes=D,
        clerical=L["clerical"],
        citizen=STATUS_CITIZEN,
        today_year=as_of.year,
    )
    doc_type, doc_number = _documents(rng, p, person, share_cases, n_cases=n_cases)
    site = _sites(w, rng, employer, n_cases=n_cases)
    w.p = p
    w.c = {
        "person": person,
        "name_person": name_person,
        "employer": employer,
        "site": site,
        "label": slots.label,
        "detail": slots.detail,
        "hire": hire,
        "offer": offer,
        "i9": i9,
        "created": created,
        "created_secs": created_secs,
        "dob_override": dob_override,
        "ssn_override": ssn_override,
        "doc_type": doc_type,
        "doc_number": doc_number,
    }
    _subjects(w, subject_rng, slots)
    return w.freeze()


def _employers(w: World, rng: np.random.Generator, *, today: int) -> np.ndarray:
    """Employers (EIN, NAICS, state, MOU date, sites), a few misbehaving; return their case weights."""
    E = w.n_employers  # noqa: N806 - the size, as in the docs
    prefixes = rng.choice(VALID_EIN_PREFIXES, size=E)
    rest = (
        rng.choice(10_000_000, size=E, replace=False)
        if E <= 10_000_000
        else rng.integers(0, 10_000_000, size=E)
    )
    w.e_ein = prefixes.astype(np.int64) * 10_000_000 + rest
    w.e_ein = _unique_fill(
        w.e_ein,
        rng,
        lambda k: rng.choice(VALID_EIN_PREFIXES, size=k) * 10_000_000
        + rng.integers(0, 10_000_000, size=k),
    )
    w.e_naics = rng.integers(0, len(NAICS), size=E)
    w.e_state = rng.integers(0, len(STATES), size=E)
    w.e_mou = today - rng.integers(800, 5000, size=E)
    w.e_sites = rng.integers(1, 4, size=E)
    w.e_site_base = np.concatenate([[0], np.cumsum(w.e_sites)[:-1]])
    w.e_kind = np.full(E, -1, dtype=np.int16)
    bad_kinds = [
        "employer:late_case",
        "employer:prescreening",
        "employer:idle_tnc",
        "employer:fnc_retained",
        "employer:doc_type_share",
    ]
    n_bad = max(1, E // 200)
    bad = rng.choice(E, size=min(E, n_bad * len(bad_kinds)), replace=False)
    for k, kind in enumerate(bad_kinds):
        w.e_kind[bad[k :: len(bad_kinds)]] = L[kind]
    # Case volume per employer: heavy-tailed, misbehaving employers ordinary-sized.
    weights = 1.0 / np.power(rng.permutation(E) + 1.0, 0.8)
    weights /= weights.sum()
    return weights


def _case_slots(rng: np.random.Generator, *, n_cases: int) -> _Slots:
    """Deal the labels of SHARES to cases in a random order: fraud groups first, then singles."""
    M = n_cases  # noqa: N806 - the size, as in the docs
    label = np.zeros(M, dtype=np.int8)
    detail = np.zeros(M, dtype=np.int8)
    counts = {k: round(v * M) for k, v in SHARES.items()}
    order = rng.permutation(M)
    cursor = 0

    def take(n: int) -> np.ndarray:
        nonlocal cursor
        out = order[cursor : cursor + n]
        cursor += len(out)
        return out

    groups: list[tuple[str, np.ndarray]] = []
    for kind, size_range in (("fraud:ssn_reuse", (4, 9)), ("fraud:multi_identity", (2, 4))):
        remaining = counts[kind]
        while remaining >= size_range[0] and cursor < M - size_range[1]:
            g = min(remaining, int(rng.integers(*size_range)))
            idx = take(g)
            label[idx] = L[kind]
            groups.append((kind, idx))
            remaining -= g
    singles: dict[str, np.ndarray] = {}
    for key, n in counts.items():
        if key in ("fraud:ssn_reuse", "fraud:multi_identity"):
            continue
        idx = take(min(n, M - cursor))
        singles[key] = idx
        if key.startswith("clerical:"):
            label[idx] = L["clerical"]
            detail[idx] = D[key.split(":", 1)[1]]
        else:
            label[idx] = L[key]
    return _Slots(
        label=label, detail=detail, groups=groups, singles=singles, none_idx=order[cursor:]
    )


def _lawful_variants(rng: np.random.Generator, slots: _Slots, *, n_cases: int) -> None:
    """Mark some `none` cases with a lawful name variant (applied to names when rows are made)."""
    none_idx, detail = slots.none_idx, slots.detail
    for variant, share in VARIANT_SHARES.items():
        n = round(share * n_cases)
        pick = none_idx[rng.random(len(none_idx)) < (n / max(1, len(none_idx)))]
        pick = pick[detail[pick] == 0]
        detail[pick] = D[variant]


def _case_employers(
    w: World, rng: np.random.Generator, slots: _Slots, *, weights: np.ndarray
) -> np.ndarray:
    """The employer of each case: employer labels on their misbehaving employers, the rest on ordinary ones.

    Some `none` cases move to the doc-type-share employers and take their label.
    """
    label, detail, none_idx = slots.label, slots.detail, slots.none_idx
    employer = rng.choice(w.n_employers, size=w.n_cases, p=weights).astype(np.int32)
    ordinary = np.flatnonzero(w.e_kind < 0)
    # Cases of good employers never land on a misbehaving one, and vice versa.
    on_bad = w.e_kind[employer] >= 0
    employer[on_bad] = (
        rng.choice(ordinary, size=int(on_bad.sum())) if len(ordinary) else employer[on_bad]
    )
    for kind in (
        "employer:late_case",
        "employer:prescreening",
        "employer:idle_tnc",
        "employer:fnc_retained",
    ):
        idx = slots.singles[kind]
        owners = np.flatnonzero(w.e_kind == L[kind])
        employer[idx] = rng.choice(owners, size=len(idx))
    share_owners = np.flatnonzero(w.e_kind == L["employer:doc_type_share"])
    if len(share_owners):
        share_cases = none_idx[
            rng.random(len(none_idx)) < min(0.5, 30 * len(share_owners) / max(1, len(none_idx)))
        ]
        employer[share_cases] = rng.choice(share_owners, size=len(share_cases))
        label[share_cases] = L["employer:doc_type_share"]
        detail[share_cases] = 0
    for _kind, idx in slots.groups:  # distinct employers inside a group
        employer[idx] = rng.choice(ordinary, size=len(idx), replace=len(ordinary) < len(idx))
    return employer


def _people(
    rng: np.random.Generator, slots: _Slots, *, n_cases: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The person of each case (one per group) and the people: every case's, plus 5% never verified."""
    M = n_cases  # noqa: N806 - the size, as in the docs
    person = np.arange(M, dtype=np.int32)
    for _kind, idx in slots.groups:
        person[idx] = person[idx[0]]  # one SSN for the whole group
    P = M + M // 20  # noqa: N806 - plus people who are in Numident but never verified
    space = 898 * 99 * 9999
    raw = np.unique(rng.integers(0, space, size=int(P * 1.01) + 100))
    rng.shuffle(raw)
    p: dict[str, np.ndarray] = {"ssn": ssn_of(raw[:P]).astype(np.int64)}
    p.update(_person_names(rng, n_people=P))
    p.update(_person_statuses(rng, n_people=P))
    return person, p


def _person_names(rng: np.random.Generator, *, n_people: int) -> dict[str, np.ndarray]:
    """Origin, name parts (as indexes into synthetic.names), date of birth and record style."""
    P = n_people  # noqa: N806 - the size, as in the docs
    p: dict[str, np.ndarray] = {}
    origin = rng.choice(len(nm.ORIGINS), size=P, p=nm.ORIGIN_WEIGHTS).astype(np.int8)
    p["origin"] = origin
    p["first"] = rng.integers(0, 1 << 15, size=P).astype(np.int32)
    p["second_given"] = np.where(rng.random(P) < 0.15, rng.integers(0, 1 << 15, size=P), -1).astype(
        np.int32
    )
    p["last1"] = rng.integers(0, 1 << 15, size=P).astype(np.int32)
    compound_p = np.array([o[2] for o in nm.ORIGINS])[origin]
    p["last2"] = np.where(rng.random(P) < compound_p, rng.integers(0, 1 << 15, size=P), -1).astype(
        np.int32
    )
    p["particle"] = np.where(
        (origin == 0) & (rng.random(P) < 0.03),
        rng.integers(0, len(nm.PARTICLE_SURNAMES), size=P),
        -1,
    ).astype(np.int8)
    p["dob"] = (to_day(date(1956, 1, 1)) + rng.integers(0, 365 * 50, size=P)).astype(np.int32)
    p["record"] = np.zeros(P, dtype=np.int8)  # how SSA/DHS write the names (variants.RECORD_*)
    return p


def _person_statuses(rng: np.random.Generator, *, n_people: int) -> dict[str, np.ndarray]:
    """Citizenship status, death and lock, country, DHS identifiers and class of admission.

    Naturalization and work-authorization dates start empty (see `_immigration_records`).
    """
    P = n_people  # noqa: N806 - the size, as in the docs
    p: dict[str, np.ndarray] = {}
    status = rng.choice(3, size=P, p=[0.80, 0.11, 0.09]).astype(np.int8)
    p["status"] = status
    p["stale"] = (status == STATUS_CITIZEN) & (rng.random(P) < STALE_CITIZENSHIP_SHARE)
    p["death"] = np.full(P, NO_DAY, dtype=np.int32)
    p["locked"] = np.zeros(P, dtype=bool)
    p["country"] = rng.integers(0, len(COUNTRIES), size=P).astype(np.int8)
    p["anum"] = np.where(
        (status > 0) | p["stale"], 10_000_000 + rng.integers(0, 89_999_999, size=P), 0
    ).astype(np.int64)
    alien_id = rng.choice(3, size=P, p=[0.6, 0.25, 0.15])
    p["anum"] = np.where((status == STATUS_ALIEN) & (alien_id != 0), 0, p["anum"])
    p["i94"] = np.where(
        (status == STATUS_ALIEN) & (alien_id == 1),
        10_000_000_000 + rng.integers(0, 89_999_999_999, size=P),
        0,
    ).astype(np.int64)
    p["passport"] = np.where(
        (status == STATUS_ALIEN) & (alien_id == 2),
        100_000_000 + rng.integers(0, 899_999_999, size=P),
        0,
    ).astype(np.int64)
    p["coa"] = np.where(
        status == STATUS_LPR,
        rng.integers(0, len(LPR_CLASSES), size=P),
        rng.integers(0, len(ALIEN_CLASSES), size=P),
    ).astype(np.int8)
    p["natz"] = np.full(P, NO_DAY, dtype=np.int32)
    p["wa_from"] = np.full(P, NO_DAY, dtype=np.int32)
    p["wa_until"] = np.full(P, NO_DAY, dtype=np.int32)
    return p


def _case_dates(
    rng: np.random.Generator, slots: _Slots, *, today: int, n_cases: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hire, offer, I-9 and creation days (and creation second) of each case, bent by its label."""
    M = n_cases  # noqa: N806 - the size, as in the docs
    singles = slots.singles
    hire = (today - rng.integers(0, 700, size=M)).astype(np.int32)
    for kind, idx in slots.groups:
        if kind == "fraud:ssn_reuse":  # many jobs at the same time
            hire[idx] = hire[idx[0]] - rng.integers(0, 30, size=len(idx))
        else:
            hire[idx] = hire[idx[0]] - rng.integers(0, 400, size=len(idx))
    hire = np.maximum(hire, today - 720)
    offer = hire - rng.integers(7, 45, size=M)
    i9 = np.maximum(offer, hire - rng.integers(0, 4, size=M))
    created = np.clip(hire + rng.integers(-2, 3, size=M), i9, today)
    late = singles["employer:late_case"]
    created[late] = np.minimum(hire[late] + rng.integers(8, 40, size=len(late)), today)
    hire[late] = np.minimum(hire[late], created[late] - 8)
    i9[late] = np.minimum(i9[late], hire[late])
    offer[late] = np.minimum(offer[late], i9[late])
    pre = singles["employer:prescreening"]
    offer[pre] = np.minimum(created[pre] + rng.integers(3, 20, size=len(pre)), today)
    i9[pre] = offer[pre]
    hire[pre] = offer[pre] + rng.integers(7, 14, size=len(pre))
    idle = singles["employer:idle_tnc"]
    created[idle] = today - rng.integers(25, 120, size=len(idle))
    hire[idle] = created[idle] - rng.integers(0, 2, size=len(idle))
    i9[idle] = hire[idle] - 1
    offer[idle] = i9[idle] - 10
    created_secs = rng.integers(8 * 3600, 18 * 3600, size=M).astype(np.int32)
    return hire, offer, i9, created, created_secs


def _clerical_slips(
    p: dict[str, np.ndarray], person: np.ndarray, slots: _Slots
) -> tuple[np.ndarray, np.ndarray]:
    """The DOB and SSN an employer keys wrong on clerical cases: day and month swapped, two digits
    transposed. A case whose SSN has no valid, unused transposition becomes `none`.
    """
    label, detail, singles = slots.label, slots.detail, slots.singles
    dob_override = np.full(len(person), NO_DAY, dtype=np.int32)
    ssn_override = np.zeros(len(person), dtype=np.int64)
    ssn = p["ssn"]
    existing = set(ssn.tolist())
    for i in singles["clerical:dob_day_month_swap"]:
        d = from_day(p["dob"][person[i]])
        if d.day > 12 or d.day == d.month:
            d = d.replace(day=1 + (d.month % 12))
            p["dob"][person[i]] = to_day(d)
        dob_override[i] = to_day(d.replace(month=d.day, day=d.month))
    for i in singles["clerical:ssn_transposition"]:
        digits = f"{ssn[person[i]]:09d}"
        for j in range(8):
            if digits[j] != digits[j + 1]:
                t = int(digits[:j] + digits[j + 1] + digits[j] + digits[j + 2 :])
                if valid_ssn(t) and t not in existing:
                    ssn_override[i] = t
                    existing.add(t)
                    break
        else:
            label[i], detail[i] = L["none"], 0
    return dob_override, ssn_override


def _fraud_facts(
    rng: np.random.Generator,
    subject_rng: np.random.Generator,
    p: dict[str, np.ndarray],
    person: np.ndarray,
    slots: _Slots,
    *,
    hire: np.ndarray,
    n_cases: int,
) -> np.ndarray:
    """Make the people of fraud cases fit their label; return whose name each case presents.

    Multi-identity groups present other people's names, the deceased die before the hire, locked
    SSNs are locked, expired authorizations go to aliens, enforcement hits get their facts.
    """
    singles = slots.singles
    name_person = person.copy()
    for kind, idx in slots.groups:
        if kind == "fraud:multi_identity":
            # The first case is the SSN's owner; the others present other people's names and DOBs.
            name_person[idx[1:]] = rng.integers(n_cases, len(p["ssn"]), size=len(idx) - 1)
    dec = singles["fraud:deceased"]
    p["death"][person[dec]] = hire[dec] - rng.integers(30, 3000, size=len(dec))
    p["locked"][person[singles["fraud:locked"]]] = True
    # Statuses: variants and frauds that need a kind of person get one.
    expired = singles["fraud:expired_authorization"]
    p["status"][person[expired]] = STATUS_ALIEN
    p["anum"][person[expired]] = 10_000_000 + rng.integers(0, 89_999_999, size=len(expired))
    p["stale"][person[expired]] = False
    sj.hit_people(
        p,
        person[singles["fraud:enforcement_hit"]],
        subject_rng,
        lpr=STATUS_LPR,
        alien=STATUS_ALIEN,
    )
    return name_person


def _variant_people(
    rng: np.random.Generator, p: dict[str, np.ndarray], person: np.ndarray, slots: _Slots
) -> np.ndarray:
    """Make the people of variant and doc-type-share cases fit; return the doc-type-share cases.

    Compound-name variants get a second surname, stale citizenship stays only on `none` cases,
    doc-type-share cases are LPRs with an A-number.
    """
    label, detail = slots.label, slots.detail
    for key in ("compound_reordered", "compound_truncated", "hyphen_space"):
        idx = np.flatnonzero(detail == D[key])
        p["last2"][person[idx]] = np.where(
            p["last2"][person[idx]] < 0,
            rng.integers(0, 1 << 15, size=len(idx)),
            p["last2"][person[idx]],
        )
        p["particle"][person[idx]] = -1
    stale_cases = np.flatnonzero((label == L["none"]) & (detail == 0) & p["stale"][person])
    detail[stale_cases] = D["stale_citizenship"]
    # Anyone stale but not on a `none` case is an ordinary citizen.
    not_none = np.flatnonzero(label != L["none"])
    p["stale"][person[not_none]] = False
    p["anum"][person[not_none]] = np.where(
        p["status"][person[not_none]] == STATUS_CITIZEN, 0, p["anum"][person[not_none]]
    )
    share_cases = np.flatnonzero(label == L["employer:doc_type_share"])
    p["status"][person[share_cases]] = STATUS_LPR
    p["anum"][person[share_cases]] = np.where(
        p["anum"][person[share_cases]] == 0,
        10_000_000 + rng.integers(0, 89_999_999, size=len(share_cases)),
        p["anum"][person[share_cases]],
    )
    p["stale"][person[share_cases]] = False
    return share_cases


def _immigration_records(
    rng: np.random.Generator,
    p: dict[str, np.ndarray],
    person: np.ndarray,
    slots: _Slots,
    *,
    hire: np.ndarray,
    today: int,
) -> None:
    """DHS facts that follow from the final statuses: identifiers, work authorization, naturalization."""
    P = len(p["ssn"])  # noqa: N806 - the size, as in the docs
    p["i94"][p["status"] != STATUS_ALIEN] = 0
    p["passport"][p["status"] != STATUS_ALIEN] = 0
    alien = p["status"] == STATUS_ALIEN
    no_id = alien & (p["anum"] == 0) & (p["i94"] == 0) & (p["passport"] == 0)
    p["anum"][no_id] = 10_000_000 + rng.integers(0, 89_999_999, size=int(no_id.sum()))
    # Work authorization: open-ended for LPRs, a window around the hire for others.
    first_hire = np.full(P, today, dtype=np.int32)
    np.minimum.at(first_hire, person, hire)
    p["wa_from"] = np.where(alien, first_hire - rng.integers(30, 900, size=P), NO_DAY).astype(
        np.int32
    )
    p["wa_until"] = np.where(alien, today + rng.integers(60, 1200, size=P), NO_DAY).astype(np.int32)
    expired = slots.singles["fraud:expired_authorization"]
    p["wa_until"][person[expired]] = hire[expired] - rng.integers(1, 200, size=len(expired))
    p["wa_from"][person[expired]] = np.minimum(
        p["wa_from"][person[expired]], p["wa_until"][person[expired]] - 365
    )
    p["natz"] = np.where(p["stale"], first_hire - rng.integers(100, 4000, size=P), NO_DAY).astype(
        np.int32
    )
    p["coa"] = np.where(p["stale"], 0, p["coa"]).astype(np.int8)


def _documents(
    rng: np.random.Generator,
    p: dict[str, np.ndarray],
    person: np.ndarray,
    share_cases: np.ndarray,
    *,
    n_cases: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The I-9 document type and number of each case: List A where the status allows, else B+C."""
    M = n_cases  # noqa: N806 - the size, as in the docs
    doc_kind = rng.random(M)
    c_status = p["status"][person]
    doc_type = np.where(
        c_status == STATUS_CITIZEN,
        np.where(doc_kind < 0.3, 0, 6),
        np.where(
            c_status == STATUS_LPR,
            np.where(doc_kind < 0.6, 2, 6),
            np.where(p["passport"][person] > 0, 5, np.where(doc_kind < 0.7, 4, 6)),
        ),
    ).astype(np.int8)
    doc_type[share_cases] = 2
    doc_number = rng.integers(10_000_000, 999_999_999, size=M).astype(np.int64)
    return doc_type, doc_number


def _sites(w: World, rng: np.random.Generator, employer: np.ndarray, *, n_cases: int) -> np.ndarray:
    """The hiring site of each case: one of its employer's sites for 60% of cases, else none (-1)."""
    return np.where(
        rng.random(n_cases) < 0.6,
        w.e_site_base[employer] + rng.integers(0, 1 << 10, size=n_cases) % w.e_sites[employer],
        -1,
    ).astype(np.int32)


def _subjects(w: World, subject_rng: np.random.Generator, slots: _Slots) -> None:
    """Enforcement subjects: links (the hits), decoys and strangers (synthetic.subjects).

    With more hits than subjects, the surplus hits become ordinary cases.
    """
    hits = slots.singles["fraud:enforcement_hit"]
    K = max(20, w.n_cases // 20)  # noqa: N806 - 50k subjects for 1M cases (issue 4, P1)
    w.s = sj.build(
        p=w.p,
        c=w.c,
        hits=hits[:K],
        n_subjects=K,
        n_countries=len(COUNTRIES),
        rng=subject_rng,
        today_year=w.as_of.year,
    )
    if len(hits) > K:  # more hits than subjects: the surplus are ordinary cases
        slots.label[hits[K:]] = L["none"]


def _unique_fill(values: np.ndarray, rng: np.random.Generator, draw: Any) -> np.ndarray:
    """Replace duplicates until every value is unique."""
    values = values.copy()
    while True:
        _, first = np.unique(values, return_index=True)
        dup = np.setdiff1d(np.arange(len(values)), first)
        if not len(dup):
            return values
        values[dup] = draw(len(dup))
