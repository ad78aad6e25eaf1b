"""A bulk import beside other writers of the same employer: single submits and other runners.

Each writer works in a connection of its own (a thread), against the real database. A single
submit of an SSN the employer never had, made while an import of the same SSN is under way,
must still meet the duplicate check; runners sharing a job's chunks must give the cases one
runner gives.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from tests.verification.test_import import csv_bytes, row, stage
from verification.identifiers import bidx
from verification.imports.jobs import import_run
from verification.models import (
    CaseComparison,
    Employer,
    ImportMode,
    ImportRowError,
    ImportStatus,
    VerificationCase,
    Worker,
)
from verification.services.submit import case_create

TODAY = date.today()
NEW_SSN = "611-22-3344"  # known to no earlier case of the employer


def _single(employer: Employer) -> dict[str, Any]:
    return {
        "first_name": "Maria",
        "last_name": "Garcia Lopez",
        "date_of_birth": date(1990, 4, 12),
        "ssn": NEW_SSN,
        "citizenship_status": "citizen",
        "document_type": "us_passport",
        "document_number": "X1234567",
        "document_expires_on": TODAY + timedelta(days=900),
        "offer_accepted_on": TODAY - timedelta(days=5),
        "i9_completed_on": TODAY - timedelta(days=1),
        "hire_date": TODAY,
        "employer_case_id": "single",
    }


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cur.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_single_submit_of_a_new_ssn_during_an_import_of_it_meets_the_duplicate_check(
    employer, ssa
):
    """The single submit holds its new case uncommitted until the import waits for it; the
    import then sees the case and refuses its row for want of a duplicate reason (before, the
    import had asked about earlier cases before it locked the worker, and wrote a second case)."""
    job = stage(employer, csv_bytes([row(ssn=NEW_SSN, employer_case_id="imported")]))
    submitted, failure = threading.Event(), []

    def submit() -> None:
        try:
            with transaction.atomic():
                case_create(actor=None, employer=employer, data=_single(employer))
                submitted.set()
                deadline = time.monotonic() + 30
                while not _someone_waits_on_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.05)
        except Exception as exc:  # reported below, in the test's thread
            failure.append(exc)
            submitted.set()
        finally:
            connection.close()

    other = threading.Thread(target=submit)
    other.start()
    assert submitted.wait(30)
    job = import_run(job_id=job.pk)
    other.join(30)
    assert not failure
    ssn = bidx(NEW_SSN, "ssn")
    cases = VerificationCase.objects.filter(employer=employer, ssn_bidx=ssn)
    assert list(cases.values_list("employer_case_id", flat=True)) == ["single"]
    assert job.status == ImportStatus.DONE
    assert (job.rows_imported, job.rows_invalid) == (0, 1)
    error = ImportRowError.objects.get(job=job)
    assert (error.line, error.field) == (2, "duplicate_reason")
    assert Worker.objects.filter(employer=employer, ssn_bidx=ssn).count() == 1


def _people(n: int) -> list[dict[str, str]]:
    rows = [
        row(
            ssn=f"5{i % 90 + 10:02d}-{i % 80 + 10:02d}-{2000 + i:04d}",
            first_name="Ana",
            last_name=f"Silva{chr(97 + i % 26)}",
            employer_case_id=f"C-{i}",
        )
        for i in range(n)
    ]
    rows[7] = row()  # Maria, matched by SSA
    rows[23] = row(duplicate_reason="rehire")  # Maria again, with a reason: the earlier row
    rows[31] = row(
        ssn="599-11-1111", employer_case_id="C-3"
    )  # a case id an earlier chunk took: a bad row
    return rows


def _outcome(employer: Employer) -> list[tuple[Any, ...]]:
    cases = VerificationCase.objects.filter(employer=employer)
    by_pk = dict(cases.values_list("pk", "employer_case_id"))
    return sorted(
        (
            c.employer_case_id,
            c.ssn_bidx,
            c.status,
            c.closure_code,
            by_pk.get(c.duplicate_of_id, "-"),
            CaseComparison.objects.filter(case=c).count(),
        )
        for c in cases
    )


@pytest.mark.django_db(transaction=True)
def test_runners_side_by_side_give_the_cases_one_runner_gives(employer, ssa, adam, settings):
    settings.VERIFICATION_IMPORT_CHUNK_ROWS = 4
    settings.VERIFICATION_IMPORT_CHUNK_PAUSE_SECONDS = 0.02
    data = csv_bytes(_people(40))
    alone = import_run(job_id=stage(employer, data).pk)
    other = Employer.objects.create(
        ein="987654321", name="Beta Farms", naics="111998", state="TX", mou_signed_on=TODAY
    )
    job = stage(other, data, mode=ImportMode.GOOD_ROWS)
    failures: list[BaseException] = []

    def runner() -> None:
        try:
            import_run(job_id=job.pk)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (
        (job.rows_imported, job.rows_invalid)
        == (alone.rows_imported, alone.rows_invalid)
        == (
            39,
            1,
        )
    )
    assert job.rows_processed == 40
    assert _outcome(other) == _outcome(employer)
    assert list(ImportRowError.objects.filter(job=job).values_list("line", "field")) == [
        (33, "employer_case_id")
    ]
