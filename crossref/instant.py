"""The instant result's findings: the engine's identity rules, for one case, at submit time.

`case_submitted` listens to `verification.submitted` (registered in `CrossrefConfig.ready`). It runs
inside the submit service's transaction, so the case, its comparisons and its findings commit
together. verification has already matched the case with SSA and DHS; the rows it read travel on
the result (`References`), and the rule modules turn them into the rows their batch statements
would give for this case (`instant_ssa_rows`, `instant_dhs_rows`, `instant_naturalized`). The same
rule code then decides the findings, so the reference data is read once per submit and a later
batch run finds the same (rule, subject, evidence) and adds nothing (ON CONFLICT DO NOTHING).
Findings carry no run and no agreement (the submit is the verification itself, not a matching
program), and the reference loads in force.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from crossref import registry, sources
from crossref.engine import PartitionContext
from crossref.models import Partition, Run, RunMode
from crossref.rules.identity import instant_naturalized, instant_ssa_rows
from crossref.rules.identity_dhs import instant_dhs_rows
from verification.instant import InstantResult
from verification.matching import MATCH

INSTANT_FAMILIES = ("identity_ssa", "identity_dhs")
# The case's columns, as the identity rules' batch statements name them.
CASE_COLUMNS = (
    "employer_id",
    "ssn_bidx",
    "ssn_last4",
    "first_name",
    "last_name",
    "other_last_names",
    "date_of_birth",
    "citizenship_status",
    "hire_date",
    "a_number_last4",
    "i94_last4",
    "passport_last4",
    "work_authorization_expires_on",
)


def case_findings_record(*, case: Any, result: InstantResult) -> dict[str, int]:
    """Write the identity findings of one submitted case in the caller's transaction; rule -> new findings."""
    return cases_findings_record(items=[(case, result)])


def cases_findings_record(*, items: list[tuple[Any, InstantResult]]) -> dict[str, int]:
    """The identity findings of several cases submitted together (a bulk import), in one pass.

    The rules see the cases' rows side by side, as a batch partition would: each row is judged
    on its own reference rows, and the naturalized records, read by date of birth, are the union
    of the cases' own (each case's are every record born its day).
    """
    rules = [r for r in registry.current_rules() if r.family in INSTANT_FAMILIES]
    # A single submit read the current loads with its Numident record (one round trip fewer).
    known = items[0][1].references.loads if len(items) == 1 else None
    current = known if known is not None else sources.current_loads()
    run = Run(
        mode=RunMode.NORMAL,
        scope={},
        reference_loads=[current[s] for s in sorted(current)],
        authorization={},
    )
    partition = Partition(kind=Partition.Kind.SSN, lo="", hi="")
    ssa: list[dict[str, Any]] = []
    dhs: list[dict[str, Any]] = []
    naturalized: dict[int, dict[str, Any]] = {}
    for case, result in items:
        row = {"case_id": case.pk, **{c: getattr(case, c) for c in CASE_COLUMNS}}
        ssa += instant_ssa_rows(row, result.references)
        dhs += instant_dhs_rows(row, result.references)
        for n in instant_naturalized(row, result.references):
            naturalized.setdefault(n["id"], n)
    with connection.cursor() as cur:
        ctx = PartitionContext(run=run, partition=partition, cursor=cur, rules=rules)
        # What a batch partition reads or counts, known here already: the rules read nothing.
        ctx.cache.update(
            {
                "loads": current,
                "examined": len(items),
                "ssa_rows": ssa,
                "dhs_rows": dhs,
                "naturalized": [naturalized[k] for k in sorted(naturalized)],
            }
        )
        ctx.rows_examined = len(items)
        for rule in rules:
            rule.implementation(ctx, rule)
    return {k: v for k, v in ctx.new.items() if v}


def _exact(result: InstantResult) -> bool:
    return bool(result.comparisons) and all(c.result.outcome == MATCH for c in result.comparisons)


def case_submitted(*, case: Any, result: InstantResult) -> None:
    """The listener of `verification.submitted`: the identity findings of a case just submitted.

    When every comparison is an exact match (most submits) no identity rule can raise anything,
    so the rules are not run; otherwise they run over the one case, as the batch would.
    """
    if not _exact(result):
        case_findings_record(case=case, result=result)


def cases_submitted(items: list[tuple[Any, InstantResult]]) -> None:
    """`case_submitted` for the cases of a bulk import: the rules run once over all of them."""
    wanted = [(case, result) for case, result in items if not _exact(result)]
    if wanted:
        cases_findings_record(items=wanted)
