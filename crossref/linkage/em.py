"""Estimating m and u from the data: u from random pairs, m by expectation-maximisation.

- u: among random (case, subject) pairs nearly all are different people, so the share of pairs
  reaching each level is u (`estimate_u`); once m and the prior are known, the few matches among
  them are taken out (the mixture's other part).
- m: EM over the pairs of a blocking rule, u held fixed (`estimate_m`). The fields the rule
  blocked on agree by construction among its non-matching pairs, so they are left out of that
  round (treated as missing) and estimated in another round blocked on other fields, as Splink
  does. Pairs are grouped by their comparison pattern first: EM then costs per distinct pattern,
  not per pair.

Both mix the stated defaults (`model.DEFAULT`) into the counts as a prior worth PRIOR_MASS of
the sample: a level the sample never shows keeps the defaults' ratio of m to u (its weight)
instead of a weight made of two pseudo-counts, and a level seen often is the data's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from crossref.linkage.model import DEFAULT, FIELDS, FLOOR

PRIOR_MASS = 0.01  # the defaults count as this share of the observations


def _proportions(counts: np.ndarray, default: tuple[float, ...]) -> tuple[float, ...]:
    total = float(counts.sum())
    if total <= 0:
        return default
    smoothed = counts + PRIOR_MASS * total * np.asarray(default)
    return tuple(float(x) for x in np.maximum(smoothed / smoothed.sum(), FLOOR))


def estimate_u(
    levels: np.ndarray,
    m: dict[str, tuple[float, ...]] | None = None,
    share: float = 0.0,
) -> dict[str, tuple[float, ...]]:
    """u per field and level, from the levels of random pairs (missing values left out).

    A random pair is the same person with probability `share` (the prior): its levels are the
    mixture share * m + (1 - share) * u. Given m and the share (after a first estimate), the
    matches' part is taken out of the counts, so u is the non-matches' alone. This matters where
    the data are dense in matches (a small file of duplicates: there a shared SSN is common among
    random pairs only because of the true pairs); in a large population the share is negligible.
    """
    out = {}
    for j, f in enumerate(FIELDS):
        col = levels[:, j].astype(np.int64)
        counts = np.bincount(col[col >= 0], minlength=len(f.levels)).astype(np.float64)
        if m is not None and share > 0:
            matches = share * counts.sum() * np.asarray(m[f.name], dtype=np.float64)
            counts = np.maximum(counts - matches, 0.0) / max(1.0 - share, FLOOR)
        out[f.name] = _proportions(counts, DEFAULT.u[f.name])
    return out


@dataclass
class EMResult:
    """What one EM round estimated."""

    m: dict[str, tuple[float, ...]]  # the fields estimated in this round only
    support: dict[str, float]  # per field, the expected matches with a value: what m rests on
    match_share: float  # the share of the round's pairs that are matches
    iterations: int
    converged: bool


def estimate_m(
    levels: np.ndarray,
    u: dict[str, tuple[float, ...]],
    m_start: dict[str, tuple[float, ...]],
    fields: Iterable[str],
    *,
    share_start: float = 0.1,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> EMResult:
    """m of `fields` by EM over pairs' levels (pairs x FIELDS), u fixed; other fields ignored."""
    if not len(levels):
        raise ValueError("EM needs at least one pair")
    names = set(fields)
    active = [j for j, f in enumerate(FIELDS) if f.name in names]
    patterns, counts = np.unique(levels[:, active], axis=0, return_counts=True)
    counts = counts.astype(np.float64)
    m = {FIELDS[j].name: np.asarray(m_start[FIELDS[j].name], dtype=np.float64) for j in active}
    log_u = {FIELDS[j].name: np.log(np.maximum(u[FIELDS[j].name], FLOOR)) for j in active}
    share = share_start
    support = dict.fromkeys(m, 0.0)
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported
        # E: each pattern's probability of being a match.
        log_m_pattern = np.zeros(len(patterns))
        log_u_pattern = np.zeros(len(patterns))
        for col, j in enumerate(active):
            name = FIELDS[j].name
            lv = patterns[:, col].astype(np.int64)
            present = lv >= 0
            log_m_pattern[present] += np.log(np.maximum(m[name][lv[present]], FLOOR))
            log_u_pattern[present] += log_u[name][lv[present]]
        a = np.log(max(share, FLOOR)) + log_m_pattern
        b = np.log(max(1.0 - share, FLOOR)) + log_u_pattern
        top = np.maximum(a, b)
        posterior = np.exp(a - top) / (np.exp(a - top) + np.exp(b - top))
        weight = posterior * counts
        # M: m from the expected matches, the match share from their total.
        new_share = float(weight.sum() / counts.sum())
        delta = abs(new_share - share)
        for col, j in enumerate(active):
            f = FIELDS[j]
            lv = patterns[:, col].astype(np.int64)
            present = lv >= 0
            sums = np.bincount(lv[present], weights=weight[present], minlength=len(f.levels))
            support[f.name] = float(sums.sum())
            new = np.asarray(_proportions(sums, DEFAULT.m[f.name]))
            delta = max(delta, float(np.abs(new - m[f.name]).max()))
            m[f.name] = new
        share = new_share
        if delta < tolerance:
            converged = True
            break
    return EMResult(
        m={k: tuple(float(x) for x in v) for k, v in m.items()},
        support=support,
        match_share=share,
        iterations=iteration,
        converged=converged,
    )
