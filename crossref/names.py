"""Name comparison in bulk: the verification app's normalization, rapidfuzz's vectorized scoring.

The per-name rules (what counts as a lawful variant) live in `verification.matching`, shared with
the instant result. This module applies them to many pairs at once: it scores all pairs with
`rapidfuzz.process.cpdist` (one vectorized call), and only the pairs that score leaves undecided
go through the per-pair rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from verification import matching
from verification.matching import Identity

normalize = matching.normalize_name


class NamePair(NamedTuple):
    """A submitted and a reference name, split into given and family parts.

    A named tuple: the identity rules make one per mismatching row (tens of thousands a
    partition), and a tuple is made in a fraction of a frozen dataclass's time.
    """

    first: str
    last: str
    ref_first: str
    ref_last: str
    other_last: str = ""
    ref_middle: str = ""
    # The two records were found by the same identifier and share the date of birth: a lone near
    # name is then a lawful variant (`verification.matching.one_slip_forgiven`).
    same_birth_date: bool = False


def compare_many(pairs: Sequence[NamePair]) -> np.ndarray:
    """Scores (0-1) of each pair: 1.0 for a match or lawful variant, else the weaker name field's score.

    A vectorized first pass (token-sort similarity of the normalized full names, one
    `process.cpdist` call) settles the pairs that are plainly the same name; the rest go through
    `verification.matching.compare_identity`, the instant result's own rules.
    """
    if not pairs:
        return np.zeros(0)
    # Names equal as given (most pairs: the rows disagree on something else) score 100 against
    # the short reference name, as their joined forms are equal strings: they are not joined.
    same = np.fromiter(
        (p.first == p.ref_first and p.last == p.ref_last for p in pairs),
        dtype=bool,
        count=len(pairs),
    )
    quick = np.full(len(pairs), 100.0)
    rest = np.flatnonzero(~same).tolist()
    if rest:
        left = [_joined(pairs[i].first, pairs[i].last) for i in rest]
        right = [_joined(pairs[i].ref_first, pairs[i].ref_middle, pairs[i].ref_last) for i in rest]
        right_short = [_joined(pairs[i].ref_first, pairs[i].ref_last) for i in rest]
        quick[rest] = np.maximum(
            process.cpdist(left, right, scorer=fuzz.token_sort_ratio, workers=1),
            process.cpdist(left, right_short, scorer=fuzz.token_sort_ratio, workers=1),
        )
    out = np.ones(len(pairs))
    threshold = max(matching.match_score(), 97.0)
    for i in np.nonzero(quick < threshold)[0]:
        p = pairs[int(i)]
        results = matching.compare_identity(
            Identity(p.first, p.last, None, other_last_names=p.other_last),
            Identity(p.ref_first, p.ref_last, None, middle_name=p.ref_middle),
        )
        if p.same_birth_date:
            results = matching.one_slip_forgiven(*results)
        if all(r.outcome in (matching.MATCH, matching.VARIANT) for r in results):
            continue
        weakest = min(
            (r.score or 0.0) for r in results if r.outcome not in (matching.MATCH, matching.VARIANT)
        )
        if all(r.outcome in (matching.MATCH, matching.VARIANT, matching.NEAR) for r in results):
            # A near match on the shared scale (a looser spelling, a transliteration, a nickname
            # the tables lack, an initial) is for review, whatever its raw similarity.
            weakest = max(weakest, matching.review_score())
        out[i] = min(weakest / 100.0, 0.99)
    return out


@lru_cache(maxsize=1 << 18)
def _joined(*parts: str) -> str:
    """normalize(" ".join(parts)), from the (cached) normalized parts.

    Normalization works character by character (no character composes across the space), so a
    full name normalizes to its normalized parts joined by single spaces; given and family names
    repeat far more than their combinations, so this keeps the cache effective. Remembered too:
    the same full names come back partition after partition.
    """
    return " ".join(filter(None, map(normalize, filter(None, parts))))


def is_variant(score: float) -> bool:
    """The same name, or a lawful variant of it: raises nothing."""
    return score >= 0.999


def is_near(score: float) -> bool:
    """A near match: sent to review as a low-severity lead, never a fraud lead."""
    return not is_variant(score) and score * 100.0 >= matching.review_score()
