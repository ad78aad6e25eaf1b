"""The Fellegi-Sunter model of ENF-LINK: comparison fields, their levels, m and u, and the match probability.

For a (case, subject) pair each field reaches one level of its scale (`verification.comparison`),
or is missing on either side. With m = P(level | same person) and u = P(level | different people),
the level adds the weight log2(m / u): evidence for (positive) or against (negative) a link. A
missing value adds 0: it is no evidence either way. The pair's log-odds are the prior's,
log2(λ / (1 - λ)), plus the weights, and its match probability is 1 / (1 + 2^-log-odds).

- λ, the prior, is the probability that a random (case, subject) pair is the same person
  (`prior`). Before training it is one in a million (`DEFAULT`: the subjects and the workers
  of one agency's caseload are drawn from populations of that order); training estimates it.
- Names are term-frequency adjusted: an exact agreement on a name borne by a share f of the
  subjects' names has u near f, not the average u of the exact level, so "Smith" agreeing says
  less than "Wojciechowski" agreeing. The share is smoothed towards the level's u with
  TF_PSEUDO names, so a handful of subjects (where every name is "frequent") does not erase the
  evidence of a name.
- Given name and surname entered the wrong way round is a level of its own (`swapped`, on the
  given-name field); the surname field is then not counted again. Its weight is capped by
  term frequency (`swapped_weight`): a random subject agrees so with a case as often as it bears
  the very names agreed on, so "Smith John" against "John Smith" never says more than "John
  Smith" agreeing the right way round (the level's flat weight, a coincidence between a given
  name and a surname, made a common name exchanged weigh more than the same name entered right).
- Names are not independent of each other (a family's origin chooses both): among different
  people both names agree exactly `names_joint` times as often as the product of their rates
  (measured on the random pairs in training). Where both agree exactly, the surname's weight is
  lowered by log2(names_joint), so the pair is not counted as two independent coincidences. An
  average is the commonest origins': a pair's own names may go together far more (a smaller
  community's), so the lift of its name pair among the people being linked (`cooccur`) replaces
  names_joint where it is larger.

m and u come from the data (`crossref.linkage.training`: u from random pairs, m by
expectation-maximisation over blocked pairs), stored versioned in `LinkageModel`. `DEFAULT` is
what a run uses before any model is trained: stated here, from the error rates of person files
in the literature (names exact in ~80% of true pairs, dates of birth in ~85%, identifiers in ~90%)
and the chance agreement of names and dates in a population; training replaces it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verification.comparison import DOB_LEVELS, IDENTIFIER_LEVELS, NAME_LEVELS

SWAPPED = len(NAME_LEVELS)  # the given-name field's extra level: names entered the wrong way round
# The date-of-birth field's extra level: the subject's date is 1 January of the case's year of
# birth, not the case's date. Records that know only a year of birth commonly store it so; the
# same year then says what it says (about one in fifty by chance), the unknown day and month
# nothing either way.
YEAR_ONLY = len(DOB_LEVELS)


@dataclass(frozen=True)
class Field:
    """A compared field and its levels, strongest agreement first."""

    name: str
    label: str
    levels: tuple[str, ...]
    tf: bool = False  # exact agreement is term-frequency adjusted


FIELDS: tuple[Field, ...] = (
    Field("given", "Given name", (*NAME_LEVELS, "swapped_with_surname"), tf=True),
    Field("family", "Surname", NAME_LEVELS, tf=True),
    Field("dob", "Date of birth", (*DOB_LEVELS, "same_year_day_unknown")),
    # The case's country (its passport's, else the country of birth on the DHS record of its
    # A-Number) against the subject's nationality. Missing for most citizens: no evidence.
    Field("country", "Country (passport or birth / nationality)", ("exact", "different")),
    Field("ssn", "SSN", IDENTIFIER_LEVELS),
    Field("a_number", "A-Number", IDENTIFIER_LEVELS),
    Field("document", "Passport, I-94 or document", ("exact", "different")),
)
FIELD_INDEX = {f.name: i for i, f in enumerate(FIELDS)}

# Probabilities are kept off 0 and 1: a level never seen in training is rare, not impossible.
FLOOR = 1e-9
# The stated default of `Parameters.names_joint` (before training measures it): twice as often.
NAMES_JOINT = 2.0
TF_PSEUDO = 1000.0  # names of average frequency mixed into each term frequency


@dataclass(frozen=True)
class Parameters:
    """m and u per field and level, and the prior probability that a pair is the same person."""

    m: dict[str, tuple[float, ...]]
    u: dict[str, tuple[float, ...]]
    prior: float
    version: str = "default"
    trained: dict[str, object] = field(default_factory=dict, compare=False)
    # P(both names exact) / (P(given exact) x P(surname exact)) among different people: names go
    # together (a family's origin), so two agreeing names say less than their weights' sum.
    names_joint: float = NAMES_JOINT

    def as_json(self) -> dict[str, object]:
        return {
            "m": {k: list(v) for k, v in self.m.items()},
            "u": {k: list(v) for k, v in self.u.items()},
            "prior": self.prior,
            "names_joint": self.names_joint,
        }

    @classmethod
    def from_json(
        cls, data: dict[str, object], version: str, trained: dict[str, object] | None = None
    ) -> Parameters:
        m = data["m"]
        u = data["u"]
        if not isinstance(m, dict) or not isinstance(u, dict):
            raise ValueError("m and u must map fields to probabilities")
        m, u = _with_added_levels(m, DEFAULT.m), _with_added_levels(u, DEFAULT.u)
        params = cls(
            m={k: tuple(float(x) for x in v) for k, v in m.items()},
            u={k: tuple(float(x) for x in v) for k, v in u.items()},
            prior=float(data["prior"]),  # type: ignore[arg-type]
            version=version,
            trained=trained or {},
            names_joint=float(data.get("names_joint", NAMES_JOINT)),  # type: ignore[arg-type]
        )
        params.check()
        return params

    def check(self) -> None:
        """Every field present with one probability per level, each in (0, 1]."""
        for f in FIELDS:
            for side in (self.m, self.u):
                values = side.get(f.name)
                if values is None or len(values) != len(f.levels):
                    raise ValueError(f"{f.name}: expected {len(f.levels)} probabilities")
                if not all(0.0 < v <= 1.0 for v in values):
                    raise ValueError(f"{f.name}: probabilities must lie in (0, 1]")
        if not 0.0 < self.prior < 1.0:
            raise ValueError("prior must lie in (0, 1)")
        if not 1.0 <= self.names_joint <= 1e6:
            raise ValueError("names_joint must lie in [1, 1e6]")

    @functools.cached_property
    def digest(self) -> str:
        """A short hash of the parameters: findings name the exact model that scored them.

        Kept once computed (every finding of a partition names it; the parameters never change).
        """
        text = json.dumps(self.as_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        return f"{self.version}:{self.digest}"

    def weight_table(self) -> list[np.ndarray]:
        """log2(m / u) per field and level."""
        return [
            np.log2(
                np.maximum(np.asarray(self.m[f.name]), FLOOR)
                / np.maximum(np.asarray(self.u[f.name]), FLOOR)
            )
            for f in FIELDS
        ]

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds that a random (case, subject) pair is the same person."""
        return math.log2(self.prior / (1.0 - self.prior))


def _with_added_levels(
    side: dict[str, Any], default: dict[str, tuple[float, ...]]
) -> dict[str, Any]:
    """Parameters stored before a field gained a level: the new level at the default's m or u.

    The date of birth's `same_year_day_unknown` level and the `country` field were added (a model
    trained before them knew such pairs as missing); their probabilities are the stated
    defaults' until the next training.
    """
    out = dict(side)
    dob = side.get("dob")
    if isinstance(dob, list | tuple) and len(dob) == len(DOB_LEVELS):
        out["dob"] = [*dob, default["dob"][YEAR_ONLY]]
    if "country" not in out:
        out["country"] = list(default["country"])
    return out


def _default() -> Parameters:
    names_m = (0.80, 0.06, 0.05, 0.03, 0.01, 0.02, 0.03)
    given_u = (0.005, 0.002, 0.005, 0.01, 0.003, 0.05, 0.925)
    family_u = (0.001, 0.001, 0.003, 0.005, 0.001, 0.04, 0.949)
    ids_m, ids_u = (0.90, 0.04, 0.01, 0.05), (1e-7, 1e-6, 2e-5, 1 - 1e-7 - 1e-6 - 2e-5)
    return Parameters(
        m={
            "given": (*names_m[:6], 0.02, 0.01),
            "family": names_m,
            "dob": (0.85, 0.02, 0.05, 0.02, 0.03, 0.01, 0.02, 0.03),
            "country": (0.9, 0.1),
            "ssn": ids_m,
            "a_number": ids_m,
            "document": (0.9, 0.1),
        },
        u={
            "given": (*given_u[:6], given_u[6] - 1e-6, 1e-6),
            "family": family_u,
            "dob": (
                4e-5,
                2e-5,
                6e-4,
                8e-5,
                8e-3,
                6e-3,
                1 - 4e-5 - 2e-5 - 6e-4 - 8e-5 - 8e-3 - 6e-3 - 6e-4,
                6e-4,  # a 1-January subject (~3% of records) of the same year (~1 in 50)
            ),
            # about twenty countries of birth among noncitizen workers, unevenly
            "country": (0.08, 0.92),
            "ssn": ids_u,
            "a_number": ids_u,
            "document": (1e-7, 1 - 1e-7),
        },
        prior=1e-6,
        version="default",
    )


DEFAULT = _default()


@dataclass
class Scores:
    """Per-pair outcome of the model."""

    weights: np.ndarray  # (pairs, fields): the weight each field added (0 where missing)
    log_odds: np.ndarray  # prior plus weights
    probability: np.ndarray


def exact_weight(params: Parameters, field: str, count: np.ndarray, total: int) -> np.ndarray:
    """The term-frequency adjusted weight of exact agreement on names that `count` of the subjects'
    `total` names bear: u is their share, smoothed towards the level's u with TF_PSEUDO names."""
    u_exact = params.u[field][0]
    u_tf = (np.asarray(count, dtype=np.float64) + TF_PSEUDO * u_exact) / (total + TF_PSEUDO)
    out: np.ndarray = np.log2(max(params.m[field][0], FLOOR) / np.maximum(u_tf, FLOOR))
    return out


def swapped_weight(
    params: Parameters,
    given_count: np.ndarray,
    given_total: int,
    family_count: np.ndarray,
    family_total: int,
) -> np.ndarray:
    """The weight of names entered the wrong way round: the level's own, but never more than the
    same two names agreeing the right way round at their term frequencies (both exact weights,
    less log2(names_joint))."""
    both = (
        exact_weight(params, "given", given_count, given_total)
        + exact_weight(params, "family", family_count, family_total)
        - math.log2(params.names_joint)
    )
    flat = float(params.weight_table()[FIELD_INDEX["given"]][SWAPPED])
    out: np.ndarray = np.minimum(both, flat)
    return out


def score(
    params: Parameters,
    levels: np.ndarray,
    tf: dict[str, np.ndarray] | None = None,
    tf_total: dict[str, int] | None = None,
    joint: np.ndarray | None = None,
) -> Scores:
    """The weights, log-odds and match probability of pairs given their levels (pairs x FIELDS, -1 missing).

    `tf` gives, per term-frequency field, how many of the subjects' `tf_total` names bear each
    pair's exact name (NaN where not exact): u of the exact level becomes that share, smoothed.
    Where the names are exchanged (`SWAPPED`), `tf` gives the counts of the subject's two names
    (`swapped_weight`). `joint` gives, per pair, the dependence of its two names where both agree
    exactly (`cooccur.lift`): the surname's weight is lowered by the larger of it and names_joint.
    """
    table = params.weight_table()
    weights = np.zeros(levels.shape, dtype=np.float64)
    for j, f in enumerate(FIELDS):
        col = levels[:, j].astype(np.int64)
        present = col >= 0
        weights[present, j] = table[j][col[present]]
        if f.tf and tf is not None and tf_total is not None and f.name in tf:
            count = tf[f.name]
            use = present & (col == 0) & ~np.isnan(count)
            weights[use, j] = exact_weight(params, f.name, count[use], tf_total[f.name])
    gi, fi = FIELD_INDEX["given"], FIELD_INDEX["family"]
    if tf is not None and tf_total is not None and "given" in tf and "family" in tf:
        swap = (levels[:, gi] == SWAPPED) & ~np.isnan(tf["given"]) & ~np.isnan(tf["family"])
        if swap.any():
            weights[swap, gi] = swapped_weight(
                params,
                tf["given"][swap],
                tf_total["given"],
                tf["family"][swap],
                tf_total["family"],
            )
    # Both names exactly alike: the surname's weight gives back what the names' dependence adds,
    # the trained average or this name pair's own where it goes together more (`cooccur`).
    both = (levels[:, gi] == 0) & (levels[:, fi] == 0)
    dependence = np.full(int(both.sum()), params.names_joint)
    if joint is not None:
        dependence = np.maximum(dependence, joint[both])
    weights[both, fi] -= np.log2(dependence)
    log_odds = params.prior_weight + weights.sum(axis=1)
    probability = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60, 60)))
    return Scores(weights=weights, log_odds=log_odds, probability=probability)
