"""Schemathesis over every operation of /api/schema/, as every persona and an employer API key.

`make test` runs a few examples per operation, role and generation mode; `make fuzz` runs many
more (CROSSCHECK_FUZZ_EXAMPLES) and prints the operations x roles table. See tests/fuzz/apifuzz.py.
"""

from __future__ import annotations

import os

import pytest

from tests.fuzz import apifuzz

EXAMPLES = int(os.environ.get("CROSSCHECK_FUZZ_EXAMPLES", "3"))
# Unset: derandomized (the same examples every run); a number draws afresh from that seed.
SEED = int(os.environ["CROSSCHECK_FUZZ_SEED"]) if os.environ.get("CROSSCHECK_FUZZ_SEED") else None


@pytest.mark.slow
@pytest.mark.django_db
def test_every_operation_as_every_role_passes_the_checks(
    alice, bob, sam, adam, audrey, vera, sally, petra, eddie, directory, capsys
):
    users = {
        "alice": alice,
        "bob": bob,
        "sam": sam,
        "adam": adam,
        "audrey": audrey,
        "vera": vera,
        "sally": sally,
        "petra": petra,
        "eddie": eddie,
    }
    world = apifuzz.build_world(users, directory)
    current = {"role": apifuzz.ANONYMOUS}
    with apifuzz.in_process_requests():
        schema = apifuzz.load_schema(world, current)
        labels = [op.label for op in apifuzz.operations(schema)]
        report = apifuzz.fuzz(schema, world, current, examples=EXAMPLES, seed=SEED)
    with capsys.disabled():
        print("\n" + report.table(labels))  # noqa: T201 - make fuzz prints the table
    # every operation was reached by every role (a role that never got through is a harness bug)
    assert all(report.examples[(op, role)] for op in labels for role in apifuzz.ROLES)
    assert not report.failures, f"{len(report.failures)} failures:\n" + "\n".join(report.failures)
