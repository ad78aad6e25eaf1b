"""ENF-LINK leaves uncompared only the pairs no field could lift to a review lead (`reach.reach`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from django.db import connection
from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import cdist

from crossref import sources
from crossref.linkage import reach
from crossref.linkage.model import DEFAULT, FIELD_INDEX
from crossref.linkage.subjects import forget, subject_index
from crossref.models import Partition
from crossref.rules import enforcement
from tests.crossref.test_rules_identity import findings, run_rules

GIVEN = ["Maria", "Jose", "Wei", "Olga", "Ana", "Mohammed"]
FAMILY = ["Garcia", "Nguyen", "Zhang", "Petrova", "Silva", "Haddad"]


def _population(world) -> None:
    """Undated subjects with common names and none of a document (beyond reach), and a mix the
    bound must still hold for: dated subjects, aliases, SSNs one slip off, nationalities, a rare
    name, names the wrong way round."""
    emp = world.employer()
    for i in range(36):
        first, last = GIVEN[i % 6], FAMILY[(i // 6) % 6]
        world.subject(f"U-{i}", first, last, None)  # undated, common, no document
        world.case(emp, f"6{i:08d}", first, last, date(1970 + i % 20, 1 + i % 12, 1 + i % 27))
    world.subject("R-1", "Xochitl", "Quetzalcoatl", None, nationality="MEX")
    world.case(emp, "700000001", "Xochitl", "Quetzalcoatl", date(1990, 2, 3), passport="G1234567")
    world.subject("D-1", "Olga", "Petrova", date(1982, 4, 9), docs=[("ssn", "521874390")])
    world.case(emp, "521874399", "Olga", "Petrova", date(1982, 4, 9))  # SSN one digit off
    world.subject("A-1", "Wei", "Zhang", None, aliases=["Wei Chang"], docs=[("ssn", "521874391")])
    world.case(emp, "521874381", "Zhang", "Wei", date(1975, 6, 1))  # swapped, SSN one slip
    # An undated subject with a common name and an SSN: within reach only by an SSN slip. Its
    # namesakes with far SSNs are not compared; those one slip off (in the last four, and before
    # it) are, and found.
    world.subject("S-1", "Ana", "Silva", None, docs=[("ssn", "318402765")])
    for i in range(12):
        world.case(emp, f"7{i:02d}0{i:05d}", "Ana", "Silva", date(1980 + i, 2, 1 + i))
    world.case(emp, "318402756", "Ana", "Silva", date(1961, 5, 5))  # last two exchanged
    world.case(emp, "318412765", "Ana", "Silva", date(1962, 6, 6))  # a digit before the last four


def _index_and_cases(world, cur):
    """The subject index of the world's enforcement load and every case's compared columns."""
    index = subject_index(world.loads["enforcement"].pk, cur)
    cur.execute(
        f"SELECT {enforcement.CASE_COLUMNS} FROM {sources.CASES} c ORDER BY c.id",  # nosec B608 # our table and columns
        {"dhs": world.loads["dhs"].pk},
    )
    return index, enforcement.case_columns(cur.fetchall())


class _Every:
    """A bound that keeps every pair."""

    def keep(self, cursor, index, cases, pc, ps):
        return np.ones(len(pc), dtype=bool)


@pytest.mark.parametrize("names_joint", [1.0, 2.0, 8.0])
def test_no_pair_outscores_the_reach_of_its_subject(world, names_joint):
    """The bound holds for every candidate pair that shares no document, identifiers refined."""
    _population(world)
    forget()
    params = replace(DEFAULT, names_joint=names_joint)
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        pc, ps, _ = enforcement.candidates(cases, index)
        got, scores = enforcement.judge(cur, cases, index, pc, ps, params, review=1e-9)
    shared = (got.levels[:, FIELD_INDEX["ssn"] :] == 0).any(axis=1)
    bound = reach.reach(index, params)[ps]
    assert len(pc) > 36
    assert (got.levels[:, FIELD_INDEX["ssn"]] == 1).any()  # the one-slip SSN was reached
    assert (scores.log_odds[~shared] <= bound[~shared] + 1e-9).all()
    assert (bound < np.log2(0.3 / 0.7)).sum() >= 30  # the common undated names are beyond reach


def test_a_subject_within_reach_only_by_a_slip_is_compared_only_with_near_last_fours(world):
    _population(world)
    forget()
    need = np.log2(0.3 / 0.7)
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        within = reach.bound(index, DEFAULT, need)
        pc, ps, stats = enforcement.candidates(cases, index, within, cur)
        every_pc, every_ps, _ = enforcement.candidates(cases, index)
    silva = index.subjects.index(next(s for s in index.subjects if s[1] == "S-1"))
    parts = within.parts
    assert parts.names[silva] + parts.dob[silva] + parts.country[silva] < need  # only by a slip
    assert within.within[silva]
    compared = {int(c) for c, s in zip(pc, ps, strict=True) if s == silva}
    blocked = {int(c) for c, s in zip(every_pc, every_ps, strict=True) if s == silva}
    near = {i for i in blocked if cases.last4[i][0] in ("2756", "2765")}
    assert len(blocked) >= 14
    assert len(near) == 2
    assert compared == near
    assert stats["beyond_reach"] >= len(blocked - near)


def test_a_subject_within_reach_only_by_its_country_is_compared_only_with_cases_of_it(world):
    """An undated subject with a nationality and no document reaches review only where the case's
    country is its own: its namesakes without a country (citizens) or of another are not compared."""
    emp = world.employer()
    world.subject("N-1", "Carmen", "Ruiz", None, nationality="MEX")
    for i in range(8):
        world.case(emp, f"61{i:07d}", "Carmen", "Ruiz", date(1970 + i, 3, 3))
    world.case(emp, "620000001", "Carmen", "Ruiz", date(1991, 4, 4), passport_country="GTM")
    mexican = world.case(
        emp, "620000002", "Carmen", "Ruiz", date(1992, 5, 5), passport_country="MEX"
    )
    forget()
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        params = replace(DEFAULT, prior=1e-5)  # so that the country lifts it to review
        within = reach.bound(index, params, np.log2(0.3 / 0.7))
        pc, ps, stats = enforcement.candidates(cases, index, within, cur)
        _, scores = enforcement.judge(cur, cases, index, pc, ps, params, review=0.3)
        every_pc, _, _ = enforcement.candidates(cases, index)
    assert len(every_pc) == 10
    assert [int(cases.ids[c]) for c in pc] == [mexican.pk]
    assert stats["beyond_reach"] == 9
    assert scores.probability[0] >= 0.3  # and it is a review lead


def test_near_last_fours_keep_every_pair_within_two_slips():
    """`near_tails` rules out no pair of last fours within Damerau-Levenshtein distance 2."""
    rng = np.random.default_rng(7)
    everything = [f"{i:04d}" for i in range(10_000)]
    digits = np.array([[int(c) for c in s] for s in everything], dtype=np.int8)
    sample = rng.choice(10_000, size=200, replace=False)
    distance = cdist(
        [everything[i] for i in sample], everything, scorer=DamerauLevenshtein.distance
    )
    a = digits[np.repeat(sample, 10_000)]
    b = digits[np.tile(np.arange(10_000), len(sample))]
    kept = reach.near_tails(a, b).reshape(len(sample), 10_000)
    assert kept[distance <= 2].all()
    assert kept.mean() < 0.15  # and it rules out most of the rest


def test_pairs_beyond_reach_are_counted_not_compared_and_change_no_finding(
    world, matcher, monkeypatch
):
    _population(world)
    forget()
    run = run_rules(matcher, "ENF-LINK")
    pruned = {c: (f.evidence["subject_ref"], f.score) for c, f in findings("ENF-LINK").items()}
    beyond = sum(p.candidates.get("beyond_reach", 0) for p in Partition.objects.filter(run=run))
    assert beyond >= 30
    # The same run comparing every pair finds exactly the same.
    monkeypatch.setattr(enforcement, "bound", lambda index, params, need: _Every())
    forget()
    run_rules(matcher, "ENF-LINK")
    every = {c: (f.evidence["subject_ref"], f.score) for c, f in findings("ENF-LINK").items()}
    assert every == pruned
    assert pruned  # the one-slip SSN and the swapped names are still found


def test_the_bound_per_pair_loses_no_review_lead_on_a_varied_population(world):
    """Random subjects and cases near them (names, dates, countries, SSNs one or two slips off or
    far): the pairs kept by the bound score exactly the review leads that comparing every pair
    scores, for several priors (so that pairs sit on both sides of the threshold)."""
    rng = np.random.default_rng(20261204)
    emp = world.employer()
    countries = ["MEX", "GTM", "IND", ""]
    people = []
    for i in range(60):
        first, last = GIVEN[rng.integers(6)], FAMILY[rng.integers(6)]
        dob = (
            None
            if rng.random() < 0.4
            else date(
                1960 + int(rng.integers(30)), 1 + int(rng.integers(12)), 1 + int(rng.integers(28))
            )
        )
        ssn = f"{rng.integers(100_000_000, 900_000_000)}"
        docs = [("ssn", ssn)] if rng.random() < 0.7 else []
        world.subject(f"V-{i}", first, last, dob, nationality=str(rng.choice(countries)), docs=docs)
        people.append((first, last, dob, ssn))
    for _ in range(160):
        first, last, dob, ssn = people[int(rng.integers(len(people)))]
        digits = list(ssn)
        for _ in range(int(rng.choice([0, 1, 2, 5]))):  # slips, or another number altogether
            digits[int(rng.integers(9))] = str(rng.integers(10))
        born = dob or date(1970, 6, 15)
        if rng.random() < 0.5:
            born = born.replace(year=born.year + int(rng.choice([0, 1, 7])))
        world.case(
            emp, "".join(digits), first, last, born, passport_country=str(rng.choice(countries))
        )
    forget()
    with connection.cursor() as cur:
        index, cases = _index_and_cases(world, cur)
        dropped = 0
        for prior in (1e-3, 1e-4, 1e-6):
            params = replace(DEFAULT, prior=prior)
            leads = []
            for within in (reach.bound(index, params, np.log2(0.3 / 0.7)), None):
                pc, ps, stats = enforcement.candidates(cases, index, within, cur)
                _, scores = enforcement.judge(cur, cases, index, pc, ps, params, review=0.3)
                at = scores.probability >= 0.3 - 1e-12
                leads.append(
                    set(
                        zip(
                            pc[at].tolist(),
                            ps[at].tolist(),
                            scores.probability[at].round(9).tolist(),
                            strict=True,
                        )
                    )
                )
                dropped += stats.get("beyond_reach", 0)
            assert leads[0] == leads[1]
            assert leads[0]
    assert dropped > 0
