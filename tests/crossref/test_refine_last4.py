"""ENF-LINK opens a case's SSN or A-Number only when its last four could be within two slips of the subject's."""

from __future__ import annotations

import itertools

from rapidfuzz.distance import DamerauLevenshtein

from crossref.linkage.compare import _too_far, tails

DIGITS = "0123456789"


def _slips(value: str) -> set[str]:
    """Every string one keying slip from `value`: a digit changed, dropped or added, two adjacent swapped."""
    out = set()
    for i in range(len(value)):
        out.add(value[:i] + value[i + 1 :])
        out.update(value[:i] + d + value[i + 1 :] for d in DIGITS)
    for i in range(len(value) + 1):
        out.update(value[:i] + d + value[i:] for d in DIGITS)
    for i in range(len(value) - 1):
        out.add(value[:i] + value[i + 1] + value[i] + value[i + 2 :])
    return out


def test_no_value_within_two_slips_is_ever_settled_by_its_last_four() -> None:
    for subject in ("521874390", "123456789", "900112233"):
        near = {b for a in _slips(subject) for b in _slips(a) | {a}}
        same_length = [
            b for b in near if len(b) == 9 and DamerauLevenshtein.distance(subject, b) <= 2
        ]
        assert len(same_length) > 1000
        assert not any(_too_far(case[-4:], tails([subject])) for case in same_length)


def test_a_case_whose_last_four_are_far_from_every_value_is_settled() -> None:
    assert _too_far("0000", tails(["521874390"]))
    assert _too_far("0000", tails(["521874390", "", "123456789"]))
    assert _too_far("0000", tails([]))  # no value: nothing to reach
    # One value of the subject within reach is enough to open the case's.
    assert not _too_far("0000", tails(["521874390", "123450000"]))


def test_values_of_another_length_or_unknown_last_four_are_always_opened() -> None:
    assert not _too_far("", tails(["521874390"]))
    assert not _too_far("0000", tails(["52187439"]))  # not 9 characters: the bound does not hold
    assert not _too_far("00", tails(["521874390"]))


def test_the_bound_holds_for_every_pair_of_last_fours() -> None:
    # Exhaustive on a short alphabet: two 9-digit values two slips apart keep last fours two apart.
    for tail in map("".join, itertools.product("01", repeat=4)):
        value = "52187" + tail
        for b in (b for a in _slips(value) for b in _slips(a)):
            if len(b) == 9 and DamerauLevenshtein.distance(value, b) <= 2:
                assert DamerauLevenshtein.distance(value[-4:], b[-4:]) <= 2
