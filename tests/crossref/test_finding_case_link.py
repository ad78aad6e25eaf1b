"""Finding.case is a real foreign key: no finding points at a case that does not exist."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from crossref.models import Finding
from verification.models import VerificationCase

DOB = date(1975, 8, 9)


def _finding(case_id: int) -> Finding:
    return Finding.objects.create(
        rule_code="SSA-NOTFOUND",
        rule_version=1,
        family="identity_ssa",
        severity="high",
        subject_type="worker",
        subject_key=f"case:{case_id}",
        evidence_key="ssa:none",
        case_id=case_id,
        summary="No SSA record for the SSN submitted.",
    )


@pytest.mark.django_db
def test_a_case_with_findings_cannot_be_destroyed_behind_retentions_back(world):
    case = world.case(world.employer(), "512345678", "Ana", "Reyes", DOB)
    finding = _finding(case.pk)
    assert finding.case == case
    assert list(case.findings.all()) == [finding]
    with pytest.raises(ProtectedError):
        case.delete()


@pytest.mark.django_db(transaction=True)
def test_a_finding_about_a_case_that_does_not_exist_is_refused(world):
    world.case(world.employer(), "512345679", "Ana", "Reyes", DOB)
    missing = VerificationCase.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(IntegrityError), transaction.atomic():
        _finding(missing)
    assert not Finding.objects.exists()
