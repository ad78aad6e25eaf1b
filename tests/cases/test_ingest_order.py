"""A flagged case is the same whatever order its findings reach the ingest in.

Found by `make chaos`: partitions commit in whatever order the workers finish them, and the beat
ingest takes what has committed, so one person's findings may arrive in one batch or in several.
A case's kind came from the first batch's first family and its priority from whether the first
batch was all clerical, so the same findings made different cases after a worker was killed.
"""

from __future__ import annotations

from typing import Any

import pytest

from cases.models import Case, RoutingRule
from cases.services import findings_ingest_all
from tests.cases.conftest import finding, verification_case

pytestmark = pytest.mark.django_db


def _case_of(ssn: str) -> tuple[Any, ...]:
    case = Case.objects.get(subject_last4=ssn[-4:])
    return (
        case.kind,
        case.severity,
        case.priority,
        case.routed_unit_id,
        sorted(case.rule_codes),
        case.finding_count,
    )


def _findings(acme: Any, ssn: str) -> list[dict[str, Any]]:
    vc = verification_case(acme, ssn=ssn, first="Ana", last="Garcia")
    return [
        {"rule": "DHS-IDENTITY", "family": "identity_dhs", "severity": "medium", "vcase": vc},
        {"rule": "SSA-IDENTITY", "family": "identity_ssa", "severity": "high", "vcase": vc},
        {"rule": "EMP-LATE", "family": "employer", "severity": "low", "vcase": vc},
    ]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_findings_in_several_batches_make_the_case_one_batch_makes(routing, directory, acme, order):
    RoutingRule.objects.create(rule_family="employer", state="", unit=directory["unit_b"])
    together = _findings(acme, "600000101")
    for kw in together:
        finding(**kw)
    findings_ingest_all()
    apart = _findings(acme, "600000202")
    for i in order:  # one batch each, in this order
        finding(**apart[i])
        findings_ingest_all()
    assert _case_of("600000202") == _case_of("600000101")


def test_clerical_findings_in_two_batches_stay_the_lowest_priority(routing, acme):
    for ssn in ("600000303", "600000404"):
        vc = verification_case(acme, ssn=ssn, first="Ana", last="Garcia")
        finding(rule="SSA-CLERICAL", severity="low", clerical=True, vcase=vc, score=0.95)
        if ssn == "600000404":
            findings_ingest_all()
        finding(rule="SSA-CLERICAL", severity="low", clerical=True, vcase=vc, score=0.95)
    findings_ingest_all()
    assert _case_of("600000404") == _case_of("600000303")
    assert _case_of("600000404")[2] == 4
