"""Name comparison in bulk: the verification app's normalization, rapidfuzz's vectorized scoring.

The per-name rules (what counts as a lawful variant) live in `verification.matching`, shared with
the instant result. This module applies them to many pairs at once: it normalizes each distinct
name once, scores all pairs with `rapidfuzz.process.cpdist` (one call, all cores of C code), and
only the pairs that the vectorized score leaves undecided go through the per-pair rules.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

# A name pair scoring at least this (token-set ratio, 0-100) after normalization is a variant.
VARIANT_SCORE = 88.0


@lru_cache(maxsize=200_000)
def normalize(name: str) -> str:
    """Case, diacritics and punctuation folded; hyphens as spaces; one space between parts."""
    try:
        from verification.matching import normalize_name

        return normalize_name(name)
    except ImportError:  # pragma: no cover - before the verification app's matcher landed
        text = unicodedata.normalize("NFKD", name or "")
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
        text = "".join(ch if ch.isalnum() else (" " if ch in "-_ " else "") for ch in text)
        return " ".join(text.split())


@dataclass(frozen=True)
class NamePair:
    """A submitted and a reference name, split into given and family parts."""

    first: str
    last: str
    ref_first: str
    ref_last: str
    other_last: str = ""
    ref_middle: str = ""


def surname_compatible(submitted: str, other: str, reference: str) -> float:
    """Compound surnames as unordered sets of parts, tolerating a missing part: 0-1 score."""
    a = set(normalize(submitted).split()) | set(normalize(other).split())
    b = set(normalize(reference).split())
    if not a or not b:
        return 0.0
    if a <= b or b <= a:
        return 1.0
    joined_a, joined_b = "".join(sorted(a)), "".join(sorted(b))
    if normalize(submitted).replace(" ", "") == normalize(reference).replace(" ", ""):
        return 1.0
    return max(fuzz.token_set_ratio(" ".join(a), " ".join(b)), fuzz.ratio(joined_a, joined_b)) / 100.0


def given_compatible(first: str, ref_first: str, ref_middle: str = "") -> float:
    """Two given names, initials and typos: 0-1 score."""
    a, b = normalize(first).split(), (normalize(ref_first) + " " + normalize(ref_middle)).split()
    if not a or not b:
        return 0.0
    if set(a) <= set(b) or set(b) <= set(a) or a[0] == b[0]:
        return 1.0
    if (len(a[0]) == 1 and b[0].startswith(a[0])) or (len(b[0]) == 1 and a[0].startswith(b[0])):
        return 0.95
    return max(fuzz.token_set_ratio(" ".join(a), " ".join(b)), fuzz.ratio(a[0], b[0])) / 100.0


def compare_many(pairs: Sequence[NamePair]) -> np.ndarray:
    """Scores (0-1) of each pair: the weaker of the given-name and the family-name agreement."""
    if not pairs:
        return np.zeros(0)
    sub_last = [normalize(f"{p.last} {p.other_last}") for p in pairs]
    ref_last = [normalize(p.ref_last) for p in pairs]
    sub_first = [normalize(p.first) for p in pairs]
    ref_first = [normalize(f"{p.ref_first} {p.ref_middle}") for p in pairs]
    last = process.cpdist(sub_last, ref_last, scorer=fuzz.token_set_ratio, workers=1) / 100.0
    first = process.cpdist(sub_first, ref_first, scorer=fuzz.token_set_ratio, workers=1) / 100.0
    out = np.minimum(last, first)
    undecided = np.nonzero(out < VARIANT_SCORE / 100.0)[0]
    for i in undecided:
        p = pairs[i]
        out[i] = min(
            surname_compatible(p.last, p.other_last, p.ref_last), given_compatible(p.first, p.ref_first, p.ref_middle)
        )
    return out


def is_variant(score: float) -> bool:
    """A lawful variant of the same name: raises nothing."""
    return score >= VARIANT_SCORE / 100.0
