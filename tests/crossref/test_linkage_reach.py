"""ENF-LINK leaves uncompared only the pairs no field could lift to a review lead (`compare.reach`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from django.db import connection

from crossref import sources
from crossref.linkage import compare
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


@pytest.mark.parametrize("names_joint", [1.0, 2.0, 8.0])
def test_no_pair_outscores_the_reach_of_its_subject(world, names_joint):
    """The bound holds for every candidate pair that shares no document, identifiers refined."""
    _population(world)
    forget()
    params = replace(DEFAULT, names_joint=names_joint)
    with connection.cursor() as cur:
        index = subject_index(world.loads["enforcement"].pk, cur)
        cur.execute(
            f"SELECT {enforcement.CASE_COLUMNS} FROM {sources.CASES} c ORDER BY c.id",  # nosec B608 # our table and columns
            {"dhs": world.loads["dhs"].pk},
        )
        cases = enforcement.case_columns(cur.fetchall())
        pc, ps, _ = enforcement.candidates(cases, index)
        got, scores = enforcement.judge(cur, cases, index, pc, ps, params, review=1e-9)
    shared = (got.levels[:, FIELD_INDEX["ssn"] :] == 0).any(axis=1)
    bound = compare.reach(index, params)[ps]
    assert len(pc) > 36
    assert (got.levels[:, FIELD_INDEX["ssn"]] == 1).any()  # the one-slip SSN was reached
    assert (scores.log_odds[~shared] <= bound[~shared] + 1e-9).all()
    assert (bound < np.log2(0.3 / 0.7)).sum() >= 30  # the common undated names are beyond reach


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
    monkeypatch.setattr(enforcement, "reach", lambda index, params: np.full(len(index), np.inf))
    forget()
    run_rules(matcher, "ENF-LINK")
    every = {c: (f.evidence["subject_ref"], f.score) for c, f in findings("ENF-LINK").items()}
    assert every == pruned
    assert pruned  # the one-slip SSN and the swapped names are still found
