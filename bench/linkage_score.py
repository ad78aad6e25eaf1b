"""Precision, recall and F1 of scored links against true pairs, at a threshold and at the best one.

A link is a pair (case, subject). A linker's output is each pair it scored with its score (ours:
a finding's `score`; Splink: the match probability); a threshold t keeps the pairs scored >= t.
Pure functions, tested on hand-made examples (tests/bench/test_linkage.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True)
class Figures:
    """The quality of a set of links; `recall_all` counts every true pair, the ones no linker could see included."""

    threshold: float | None
    links: int
    true_links: int
    precision: float
    recall: float
    f1: float
    recall_all: float


def figures(
    pred: Iterable[Hashable],
    truth: set[Hashable],
    *,
    all_pairs: int | None = None,
    threshold: float | None = None,
) -> Figures:
    """The figures of the links `pred` against the true pairs `truth`.

    `all_pairs` (default: len(truth)) is the denominator of `recall_all`: the true pairs of the
    whole data set, those whose records the product refused included.
    """
    links = set(pred)
    tp = len(links & truth)
    return _figures(tp, len(links), len(truth), all_pairs, threshold)


def _figures(
    tp: int, n_links: int, n_truth: int, all_pairs: int | None, threshold: float | None
) -> Figures:
    p = tp / n_links if n_links else 0.0
    r = tp / n_truth if n_truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    every = all_pairs if all_pairs is not None else n_truth
    return Figures(threshold, n_links, tp, p, r, f1, tp / every if every else 0.0)


def at_threshold(
    scores: Mapping[Hashable, float],
    truth: set[Hashable],
    threshold: float,
    *,
    all_pairs: int | None = None,
) -> Figures:
    """The figures of the pairs scored at least `threshold`."""
    return figures(
        (k for k, v in scores.items() if v >= threshold),
        truth,
        all_pairs=all_pairs,
        threshold=threshold,
    )


def best_threshold(
    scores: Mapping[Hashable, float], truth: set[Hashable], *, all_pairs: int | None = None
) -> Figures:
    """The threshold, among the scores given, with the highest F1 (chosen with the labels: an oracle).

    One pass down the pairs by score: each distinct score is a candidate threshold (every pair
    scored at least it is a link). On equal F1 the higher threshold wins. No pairs: F1 0 at no
    threshold.
    """
    best = _figures(0, 0, len(truth), all_pairs, None)
    tp = n = 0
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    for score, group in groupby(ranked, key=lambda kv: kv[1]):
        for key, _ in group:
            n += 1
            tp += key in truth
        candidate = _figures(tp, n, len(truth), all_pairs, score)
        if candidate.f1 > best.f1:
            best = candidate
    return best
