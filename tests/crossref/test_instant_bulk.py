"""The identity findings of a bulk import: one pass over a chunk's cases, the findings single submits give."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from crossref.models import Finding
from tests.verification.conftest import employer, load_ref, ssa  # noqa: F401  (fixtures)
from tests.verification.test_import import csv_bytes, people, stage
from verification.imports.jobs import import_run
from verification.imports.reading import DATES
from verification.models import Employer, ImportStatus, VerificationCase
from verification.services.submit import case_create

pytestmark = pytest.mark.django_db


def _findings(firm: Employer) -> list[tuple[str, str, str]]:
    names = dict(VerificationCase.objects.filter(employer=firm).values_list("pk", "first_name"))
    return sorted(
        (names[case_id], rule, evidence)
        for case_id, rule, evidence in Finding.objects.filter(case_id__in=names).values_list(
            "case_id", "rule_code", "evidence_key"
        )
    )


def _data(raw: dict[str, str]) -> dict[str, Any]:
    return {k: date.fromisoformat(v) if k in DATES else v for k, v in raw.items() if v}


def test_an_imported_chunk_has_the_findings_single_submits_of_its_rows_have(employer, ssa):  # noqa: F811
    rows = [r for r in people() if r["ssn"] != "999-99-9999"]
    job = import_run(job_id=stage(employer, csv_bytes(rows)).pk)
    assert job.status == ImportStatus.DONE
    assert job.rows_imported == len(rows)
    other = Employer.objects.create(
        ein="987654321", name="Beta Farms", naics="111998", state="TX", mou_signed_on=date.today()
    )
    for r in rows:
        case_create(actor=None, employer=other, data=_data(r))
    imported = _findings(employer)
    # Two of the rows (a deceased SSN, an SSN SSA does not know) raise findings at least.
    assert {name for name, _, _ in imported} >= {"Deceased", "Nobody"}
    assert imported == _findings(other)
