"""The instant result's findings: the engine's identity rules, run for one case at submit time.

`case_findings_record` runs inside the submit service's transaction, so the case, its
comparisons and its findings commit together. The same rule code as the batch runs, over a
"partition" that is the one case; findings carry no run and no agreement (the submit is the
verification itself, not a matching program), and the reference loads in force.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from crossref import registry, sources
from crossref.engine import PartitionContext
from crossref.models import Partition, Run, RunMode
from verification.instant import InstantResult
from verification.matching import MATCH

INSTANT_FAMILIES = ("identity_ssa", "identity_dhs")


def case_findings_record(*, case_id: int) -> dict[str, int]:
    """Write the identity findings of one submitted case in the caller's transaction; rule -> new findings."""
    rules = [r for r in registry.current_rules() if r.family in INSTANT_FAMILIES]
    current = sources.current_loads()
    run = Run(
        mode=RunMode.NORMAL,
        scope={},
        reference_loads=[current[s] for s in sorted(current)],
        authorization={},
    )
    partition = Partition(kind=Partition.Kind.SSN, lo="", hi="")
    with connection.cursor() as cur:
        ctx = PartitionContext(
            run=run, partition=partition, cursor=cur, rules=rules, only_case=case_id
        )
        # What a batch partition looks up or counts, known here already: one submit saves two round trips.
        ctx.cache["loads"] = current
        ctx.cache["examined"] = 1
        ctx.rows_examined = 1
        for rule in rules:
            rule.implementation(ctx, rule)
    return {k: v for k, v in ctx.new.items() if v}


def case_submitted(*, case: Any, result: InstantResult) -> None:
    """The listener of `verification.submitted`: the identity findings of a case just submitted.

    The instant result already compared the case with SSA and DHS. When every comparison is an
    exact match (most submits) no identity rule can raise anything, so the rules are not run
    again; otherwise they run over the one case, as the batch would.
    """
    if result.comparisons and all(c.result.outcome == MATCH for c in result.comparisons):
        return
    case_findings_record(case_id=case.pk)
