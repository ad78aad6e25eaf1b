"""Names that go together among the people count as less of a coincidence (`cooccur.lift`)."""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest
from django.db import connection

from crossref.linkage import cooccur
from crossref.linkage.model import DEFAULT, FIELD_INDEX, exact_weight, score
from crossref.linkage.subjects import forget
from crossref.rules import enforcement
from tests.crossref.test_linkage_reach import _index_and_cases

GIVEN = ["Maria", "John", "Olga", "Ana", "Peter", "Sofia", "Liam", "Emma"]
FAMILY = ["Garcia", "Smith", "Petrova", "Silva", "Brown", "Rossi", "Walsh", "Clark"]


def _people(world, community: int = 12, same_ssn: bool = False) -> None:
    """Cases of a mixed population, and `community` cases named Wei Zhang (distinct people, or one
    worker's cases when `same_ssn`); subjects Wei Zhang and Maria Smith, each born a digit away
    from a case of their name."""
    emp = world.employer()
    serial = 0
    for i, first in enumerate(GIVEN):
        for j, last in enumerate(FAMILY):
            serial += 1
            world.case(emp, f"6{serial:08d}", first, last, date(1960 + i + j, 1 + i, 1 + j))
    for i in range(community):
        ssn = "700000000" if same_ssn else f"7{i:08d}"
        world.case(emp, ssn, "Wei", "Zhang", date(1970 + i, 3, 5 + i))
    world.subject("Z-1", "Wei", "Zhang", date(1971, 3, 7))  # one digit off the second Wei Zhang
    world.subject("S-1", "Maria", "Smith", date(1961, 1, 3))  # the case's 1961-01-02, a digit off
    forget()


def approx(value: float):
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def _judged(world):
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        pc, ps, _ = enforcement.candidates(cases, index)
        got, scores = enforcement.judge(cur, cases, index, pc, ps, DEFAULT, review=1e-9)
    refs = [index.subjects[int(s)][1] for s in ps]
    return index, cases, pc, refs, got, scores


def _pair(cases, pc, refs, got, ref: str, dob: date) -> int:
    ordinal = dob.toordinal()
    return next(
        k
        for k in range(len(pc))
        if refs[k] == ref and cases.dob[pc[k]] == ordinal and got.levels[k, 0] == 0
    )


def test_names_a_community_shares_lower_the_surname_weight_by_their_lift(world):
    """Twelve people named Wei Zhang among 76: Wei and Zhang go together between four and five
    times as often as their own rates say. The surname of a Wei Zhang pair gives that back; Maria Smith (one case)
    keeps the trained average."""
    _people(world)
    _index, cases, pc, refs, got, scores = _judged(world)
    zhang = _pair(cases, pc, refs, got, "Z-1", date(1971, 3, 6))
    smith = _pair(cases, pc, refs, got, "S-1", date(1961, 1, 2))
    fi = FIELD_INDEX["family"]
    # The people: 64 + 12 cases and 2 subjects, less the pair's own case and subject.
    others, n_wei = 76 + 2 - 2, 12 + 1 - 2
    expected_lift = (n_wei + 1) / (n_wei * n_wei / others + 1)
    assert got.joint[zhang] == approx(expected_lift)
    assert expected_lift > DEFAULT.names_joint * 2
    plain = exact_weight(DEFAULT, "family", got.tf["family"][[zhang]], got.tf_total["family"])[0]
    assert scores.weights[zhang, fi] == approx(plain - math.log2(expected_lift))
    # Maria and Smith are each borne by 8 people, but together only by the pair's own two records.
    assert got.joint[smith] < 1
    plain = exact_weight(DEFAULT, "family", got.tf["family"][[smith]], got.tf_total["family"])[0]
    assert scores.weights[smith, fi] == approx(plain - math.log2(DEFAULT.names_joint))


def test_one_workers_several_cases_are_one_person(world):
    """The same SSN under the same name, twelve times, is one worker: no community, the average."""
    _people(world, same_ssn=True)
    _index, cases, pc, refs, got, scores = _judged(world)
    zhang = _pair(cases, pc, refs, got, "Z-1", date(1971, 3, 6))
    assert got.joint[zhang] < DEFAULT.names_joint
    plain = exact_weight(DEFAULT, "family", got.tf["family"][[zhang]], got.tf_total["family"])[0]
    assert scores.weights[zhang, FIELD_INDEX["family"]] == approx(
        plain - math.log2(DEFAULT.names_joint)
    )


def test_the_lift_only_takes_evidence_away_and_only_where_both_names_agree(world):
    _people(world)
    _index, _cases, _pc, _refs, got, scores = _judged(world)
    gi, fi = FIELD_INDEX["given"], FIELD_INDEX["family"]
    both = (got.levels[:, gi] == 0) & (got.levels[:, fi] == 0)
    assert (got.joint[~both] == 1).all()
    assert both.sum() >= 2
    without = score(DEFAULT, got.levels, got.tf, got.tf_total)
    assert (scores.log_odds <= without.log_odds + 1e-9).all()
    assert (scores.log_odds < without.log_odds - 1).any()


def test_counts_are_kept_for_the_cases_and_renewed_for_another_index(world):
    _people(world, community=3)
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        first = cooccur.name_counts(cases, index)
        assert cooccur.name_counts(cases, index) is first
        forget()
        other, _ = _index_and_cases(world, cur)
    renewed = cooccur.name_counts(cases, other)
    assert renewed is not first
    assert renewed.people == first.people == 64 + 3 + 2


def test_no_pairs_or_no_exact_names_need_no_counts():
    empty = np.zeros(0, dtype=np.int64)
    out = cooccur.lift(None, None, empty, empty, empty, np.zeros(0, dtype=bool))  # type: ignore[arg-type]
    assert out.shape == (0,)
    three = np.zeros(3, dtype=np.int64)
    out = cooccur.lift(None, None, three, three, three, np.zeros(3, dtype=bool))  # type: ignore[arg-type]
    assert (out == 1).all()


@pytest.mark.parametrize("n", [0, 1, 5000])
def test_the_people_are_the_distinct_name_and_ssn_rows_then_the_subjects(n):
    rng = np.random.default_rng(n)
    given, family = rng.integers(-1, 40, n), rng.integers(-1, 90, n)
    ssn = [f"bidx{k}" if k else "" for k in rng.integers(0, 2000, n)]
    if n > 10:  # the same person's several cases, and two people without an SSN of one name
        given[:5], family[:5], ssn[:5] = given[5:10], family[5:10], ssn[5:10]
        given[10], family[10], ssn[10] = given[11], family[11], ""
        ssn[11] = ""
    cases = SimpleNamespace(given=given, family=family, ssn=ssn)
    index = SimpleNamespace(
        name_start=np.array([0, 2]), name_given=np.array([7, 8, 9]), name_family=np.array([1, 2, 3])
    )
    got_given, got_family = cooccur._people(cases, index)
    hashed = np.array([hash(s) if s else 0 for s in ssn], dtype=np.int64)
    hashed = np.where(hashed == 0, -1 - np.arange(n), hashed)
    rows = np.unique(np.stack([given, family, hashed], axis=1).reshape(-1, 3), axis=0)
    assert got_given.tolist() == [*rows[:, 0].tolist(), 7, 9]
    assert got_family.tolist() == [*rows[:, 1].tolist(), 1, 3]
