"""Bulk case import: one path for the command, the API and the portal; the same rules as a submit."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from audit.models import AuditEvent
from verification.imports.checks import row_key
from verification.imports.jobs import import_choose, import_run
from verification.imports.reading import COLUMNS
from verification.imports.staging import import_stage
from verification.models import (
    CaseComparison,
    ImportJob,
    ImportMode,
    ImportStatus,
    VerificationCase,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    Worker,
)
from verification.services.submit import case_create

pytestmark = pytest.mark.django_db

TODAY = date.today()


def row(**overrides: Any) -> dict[str, str]:
    """A CSV row of Maria Garcia Lopez, matching the `ssa` fixture: Employment Authorized."""
    values = {
        "first_name": "Maria",
        "last_name": "Garcia Lopez",
        "date_of_birth": "1990-04-12",
        "ssn": "521-87-4390",
        "citizenship_status": "citizen",
        "document_type": "us_passport",
        "document_number": "X1234567",
        "document_expires_on": (TODAY + timedelta(days=900)).isoformat(),
        "offer_accepted_on": (TODAY - timedelta(days=5)).isoformat(),
        "i9_completed_on": (TODAY - timedelta(days=1)).isoformat(),
        "hire_date": TODAY.isoformat(),
    }
    values.update(overrides)
    return values


def people() -> list[dict[str, str]]:
    """Six rows of the `ssa` fixture's people: four authorized, a mismatch, a deceased SSN."""
    return [
        row(),
        row(
            ssn="234-56-7890",
            first_name="José",
            last_name="Hernández-Díaz",
            date_of_birth="1985-11-03",
        ),
        row(ssn="345-67-8901", first_name="Deceased", last_name="Person"),
        row(ssn="456-78-9012", first_name="Locked", last_name="Person", employer_case_id="E-4"),
        row(ssn="999-99-9999"),  # never issued: a bad row
        row(ssn="123-45-6789", first_name="Nobody", last_name="Known"),  # no SSA record
    ]


def csv_bytes(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in columns})
    return out.getvalue().encode()


def stage(
    employer: Any, data: bytes, mode: str = ImportMode.GOOD_ROWS, name: str = "hires.csv"
) -> ImportJob:
    return import_stage(
        actor=None,
        employer=employer,
        stream=io.BytesIO(data),
        file_name=name,
        mode=mode,
        channel="command",
    )


def test_good_rows_become_cases_with_their_instant_result_and_bad_rows_are_reported_by_line(
    employer, ssa
):
    job = import_run(job_id=stage(employer, csv_bytes(people())).pk)
    assert job.status == ImportStatus.DONE
    assert job.rows_total == 6
    assert job.rows_invalid == 1
    assert job.rows_imported == 5
    errors = list(job.errors.values_list("line", "field", "message"))
    assert errors == [
        (6, "ssn", "This is not a valid SSN area number (000, 666 and 900-999 are never issued).")
    ]
    cases = {c.first_name: c for c in VerificationCase.objects.filter(employer=employer)}
    assert cases["Maria"].status == "closed"
    assert cases["Maria"].result == "employment_authorized"
    assert cases["Deceased"].status == "tentative_nonconfirmation"
    assert cases["Nobody"].status == "tentative_nonconfirmation"
    assert cases["Locked"].employer_case_id == "E-4"
    # The same as a single submit of the same data would give: compare with the service.
    single = _rehire_deceased(employer)
    assert single.status == cases["Deceased"].status
    assert sorted(
        CaseComparison.objects.filter(case=single).values_list("source", "field", "outcome", "hint")
    ) == sorted(
        CaseComparison.objects.filter(case=cases["Deceased"]).values_list(
            "source", "field", "outcome", "hint"
        )
    )
    assert job.results == {"closed": 2, "tentative_nonconfirmation": 3}


def test_all_or_nothing_refuses_a_file_with_a_bad_row_and_changes_nothing(employer, ssa):
    before = (
        VerificationCase.objects.count(),
        Worker.objects.count(),
        CaseComparison.objects.count(),
    )
    job = import_run(job_id=stage(employer, csv_bytes(people()), ImportMode.ALL_OR_NOTHING).pk)
    assert job.status == ImportStatus.REFUSED
    assert (
        VerificationCase.objects.count(),
        Worker.objects.count(),
        CaseComparison.objects.count(),
    ) == before
    assert not job.chunks.exclude(payload_enc="").exists()  # the staged identifiers are gone too
    assert AuditEvent.objects.filter(action="vimport.refused", object_id=str(job.pk)).exists()


class _Undo(Exception):
    pass


def _worker_of_no_employer_then_undo() -> None:
    """Insert a worker whose employer does not exist (fails at once unless the key is deferred)."""
    with transaction.atomic():
        Worker.objects.create(
            employer_id=2**40,
            ssn_bidx="x",
            ssn_last4="0000",
            first_name="No",
            last_name="Employer",
            date_of_birth=date(1990, 1, 1),
        )
        raise _Undo


def test_all_or_nothing_over_several_chunks_writes_each_case_as_a_single_submit_would(
    employer, ssa, settings
):
    """Chunk k+1's rows are checked while chunk k is written (`jobs._pipelined`): the same cases."""
    settings.VERIFICATION_IMPORT_CHUNK_ROWS = 2
    rows = [r for r in people() if r["ssn"] != "999-99-9999"]
    rows.append(row(duplicate_reason="rehire", employer_case_id="again"))  # Maria, a later chunk
    job = import_run(job_id=stage(employer, csv_bytes(rows), ImportMode.ALL_OR_NOTHING).pk)
    assert job.status == ImportStatus.DONE
    assert (job.chunks.count(), job.rows_imported) == (3, 6)
    cases = list(VerificationCase.objects.filter(employer=employer))
    first = next(c for c in cases if c.first_name == "Maria" and not c.employer_case_id)
    again = next(c for c in cases if c.employer_case_id == "again")
    assert again.duplicate_of_id == first.pk
    events = AuditEvent.objects.filter(action="vimport.chunk_imported", object_id=str(job.pk))
    assert events.count() == 3
    named = {s for e in events for s in e.subjects}
    assert {f"vcase:{c.pk}" for c in cases} | {f"worker:{c.worker_id}" for c in cases} <= named
    deceased = next(c for c in cases if c.first_name == "Deceased")
    single = _rehire_deceased(employer)
    assert (single.status, single.tnc_source) == (deceased.status, deceased.tnc_source)
    assert sorted(
        CaseComparison.objects.filter(case=single).values_list(
            "source", "field", "outcome", "hint", "score", "reference_id"
        )
    ) == sorted(
        CaseComparison.objects.filter(case=deceased).values_list(
            "source", "field", "outcome", "hint", "score", "reference_id"
        )
    )
    # The run checked foreign keys statement by statement; they are deferred again after it.
    with pytest.raises(_Undo):
        _worker_of_no_employer_then_undo()


def test_all_or_nothing_over_several_chunks_refuses_a_bad_row_in_the_last_and_changes_nothing(
    employer, ssa, settings
):
    settings.VERIFICATION_IMPORT_CHUNK_ROWS = 2
    before = (VerificationCase.objects.count(), Worker.objects.count())
    job = import_run(job_id=stage(employer, csv_bytes(people()), ImportMode.ALL_OR_NOTHING).pk)
    assert job.status == ImportStatus.REFUSED
    assert list(job.errors.values_list("line", "field")) == [(6, "ssn")]  # the third chunk
    assert (VerificationCase.objects.count(), Worker.objects.count()) == before


def test_the_chunk_event_names_every_imported_case_and_worker_in_place_of_their_row_history(
    employer, ssa
):
    from audit.models import RowChange

    job = import_run(job_id=stage(employer, csv_bytes(people())).pk)
    cases = list(VerificationCase.objects.filter(employer=employer).values_list("pk", "worker_id"))
    assert len(cases) == job.rows_imported == 5
    subjects: set[str] = set()
    for event in AuditEvent.objects.filter(action="vimport.chunk_imported", object_id=str(job.pk)):
        subjects.update(event.subjects)
    assert {f"vcase:{pk}" for pk, _ in cases} <= subjects
    assert {f"worker:{w}" for _, w in cases} <= subjects
    inserted = RowChange.objects.filter(
        operation="INSERT",
        table_name__in=[VerificationCase._meta.db_table, Worker._meta.db_table],
        row_pk__in=[str(v) for pair in cases for v in pair],
    )
    assert not inserted.exists()
    # The flag ended with the import's writes: a later insert in the same way is recorded.
    single = _rehire_deceased(employer)
    assert RowChange.objects.filter(
        operation="INSERT", table_name=VerificationCase._meta.db_table, row_pk=str(single.pk)
    ).exists()


def test_importing_the_same_file_again_creates_nothing_twice(employer, ssa):
    data = csv_bytes(people())
    import_run(job_id=stage(employer, data).pk)
    count = VerificationCase.objects.count()
    again = import_run(job_id=stage(employer, data).pk)
    assert VerificationCase.objects.count() == count
    assert again.rows_already == 5
    assert again.rows_imported == 0
    assert again.rows_invalid == 1


def test_a_row_key_supplied_by_the_file_makes_a_changed_row_the_same_row(employer, ssa):
    import_run(
        job_id=stage(employer, csv_bytes([row(import_key="hr-1")], (*COLUMNS, "import_key"))).pk
    )
    again = import_run(
        job_id=stage(
            employer,
            csv_bytes([row(import_key="hr-1", middle_initial="Q")], (*COLUMNS, "import_key")),
        ).pk
    )
    assert again.rows_already == 1
    assert VerificationCase.objects.count() == 1


@pytest.mark.parametrize(
    "odd",
    ["", "José Ñúñez", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "\u2028", "\x7f"],
)
def test_a_row_key_is_the_hash_of_the_rows_json_whatever_its_text(odd):
    # Keys of rows imported before stay the same: the fast path writes what json.dumps writes.
    raw = {**row(), "last_name": odd, "import_key": ""}
    canonical = json.dumps(
        {k: v for k, v in sorted(raw.items()) if v != "" and k != "import_key"},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert row_key(raw) == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_rules_of_a_single_submit_apply_across_the_file(employer, ssa):
    rows = [
        row(employer_case_id="A1"),
        row(
            employer_case_id="A1",
            ssn="234-56-7890",
            first_name="José",
            last_name="Hernández-Díaz",
            date_of_birth="1985-11-03",
        ),
        row(
            ssn="521874390",
            first_name="Maria",
            hire_date=(TODAY - timedelta(days=30)).isoformat(),
            offer_accepted_on=(TODAY - timedelta(days=40)).isoformat(),
        ),
        row(date_of_birth="12/04/1990"),
        row(citizenship_status="martian", first_name="M4ria"),
    ]
    job = import_run(job_id=stage(employer, csv_bytes(rows)).pk)
    report = {
        (line, field) for line, field, _ in job.errors.values_list("line", "field", "message")
    }
    assert (3, "employer_case_id") in report  # the same case id as line 2
    assert (4, "late_reason") in report
    assert (
        4,
        "duplicate_reason",
    ) in report
    assert (5, "date_of_birth") in report
    assert {(6, "citizenship_status"), (6, "first_name")} <= report
    messages = {(line, f): m for line, f, m in job.errors.values_list("line", "field", "message")}
    assert messages[(4, "duplicate_reason")].startswith("Line 2 of this file")
    assert (
        messages[(5, "date_of_birth")]
        == "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
    )
    assert job.rows_imported == 1


def test_json_lines_are_read_too_and_a_broken_line_is_reported(employer, ssa):
    deep = "[" * 10_000 + "]" * 10_000  # a RecursionError in the decoder, not a ValueError
    data = (
        json.dumps(row())
        + "\n{not json\n"
        + json.dumps({**row(), "colour": "red"})
        + "\n"
        + deep
        + "\n"
    ).encode()
    job = import_run(job_id=stage(employer, data, name="hires.jsonl").pk)
    assert list(job.errors.values_list("line", "field", "message")) == [
        (2, "*", "Not valid JSON."),
        (3, "*", "Unknown field(s): colour."),
        (4, "*", "Not valid JSON."),
    ]
    assert job.rows_imported == 1


def test_a_semicolon_separated_file_from_a_spreadsheet_imports_as_a_comma_separated_one(
    employer, ssa
):
    """Where the comma is the decimal mark, spreadsheets save "CSV" with semicolons (and a BOM);
    header names are read whatever their case."""
    text = csv_bytes(people()).decode()
    rows = list(csv.reader(io.StringIO(text)))
    rows[0] = [name.upper() if name in ("ssn", "first_name") else name for name in rows[0]]
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    job = import_run(job_id=stage(employer, b"\xef\xbb\xbf" + out.getvalue().encode()).pk)
    assert (job.status, job.rows_total, job.rows_invalid, job.rows_imported) == (
        ImportStatus.DONE,
        6,
        1,
        5,
    )
    assert list(job.errors.values_list("line", "field")) == [(6, "ssn")]


def test_a_header_without_the_required_columns_is_refused_before_anything_is_staged(employer):
    with pytest.raises(Exception) as exc:
        stage(employer, b"first_name,colour\nMaria,red\n")
    assert "Line 1" in str(exc.value.message)
    assert not ImportJob.objects.exists()


def test_ask_mode_waits_for_the_choice_then_imports_the_good_rows(employer, ssa, adam):
    job = import_run(job_id=stage(employer, csv_bytes(people()), ImportMode.ASK).pk)
    assert job.status == ImportStatus.AWAITING_CHOICE
    assert not VerificationCase.objects.exists()
    import_choose(actor=adam, job=job, good_rows=True)
    job = import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert job.rows_imported == 5


def test_the_command_reports_bad_rows_by_line_and_exits_non_zero(employer, ssa, tmp_path, capsys):
    path = tmp_path / "hires.csv"
    path.write_bytes(csv_bytes(people()))
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_cases", str(path), "--employer", str(employer.pk), "--inline", "--no-progress"
        )
    assert "line 6: ssn:" in capsys.readouterr().err
    assert not VerificationCase.objects.exists()
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(people()[:4]))
    call_command(
        "import_cases", str(good), "--employer", str(employer.pk), "--inline", "--no-progress"
    )
    assert VerificationCase.objects.count() == 4


def test_a_repeated_ssn_with_a_reason_is_linked_to_the_earlier_row_of_the_file(employer, ssa):
    rows = [row(), row(duplicate_reason="rehire", employer_case_id="second")]
    job = import_run(job_id=stage(employer, csv_bytes(rows)).pk)
    assert job.rows_imported == 2
    first = VerificationCase.objects.get(employer=employer, employer_case_id="")
    second = VerificationCase.objects.get(employer=employer, employer_case_id="second")
    assert second.duplicate_of_id == first.pk


@pytest.mark.parametrize("mode", [ImportMode.GOOD_ROWS, ImportMode.ALL_OR_NOTHING])
def test_the_employers_cases_already_in_the_database_count_as_earlier_cases(
    employer, other_employer, ssa, mode
):
    other = other_employer
    jose = {
        "ssn": "234-56-7890",
        "first_name": "José",
        "last_name": "Hernández-Díaz",
        "date_of_birth": "1985-11-03",
    }
    locked = {"ssn": "456-78-9012", "first_name": "Locked", "last_name": "Person"}
    import_run(job_id=stage(other, csv_bytes([row(**locked, employer_case_id="A1")])).pk)
    import_run(job_id=stage(employer, csv_bytes([row(employer_case_id="A1"), row(**jose)])).pk)
    earlier_jose = VerificationCase.objects.get(employer=employer, ssn_last4="7890")
    rows = [
        row(**jose, duplicate_reason="rehire", employer_case_id="B2"),  # linked to the earlier case
        row(**locked, employer_case_id="C3"),  # only the other employer has a case of this SSN
        row(ssn="345-67-8901", first_name="Deceased", last_name="Person", employer_case_id="A1"),
        row(middle_initial="Q"),  # Maria again, within the window, without a reason
    ]
    job = import_run(job_id=stage(employer, csv_bytes(rows), mode=mode).pk)
    messages = {(line, f): m for line, f, m in job.errors.values_list("line", "field", "message")}
    assert messages[(4, "employer_case_id")] == "Already used by another case."
    maria = VerificationCase.objects.get(employer=employer, employer_case_id="A1")
    assert messages[(5, "duplicate_reason")].startswith(f"Case {maria.pk} for this SSN was created")
    assert set(messages) == {(4, "employer_case_id"), (5, "duplicate_reason")}
    if mode == ImportMode.ALL_OR_NOTHING:
        assert job.status == ImportStatus.REFUSED
        assert VerificationCase.objects.filter(employer=employer).count() == 2
        return
    assert job.rows_imported == 2
    assert VerificationCase.objects.get(employer_case_id="B2").duplicate_of_id == earlier_jose.pk
    assert VerificationCase.objects.get(employer_case_id="C3").duplicate_of_id is None


def test_imported_cases_are_announced_to_the_employers_webhooks(employer, ssa):
    """An employer's system hears of imported cases as of single submissions; nothing without a subscription."""
    WebhookSubscription.objects.create(
        employer=employer,
        url="https://hr.example.com/hooks",
        events=["case.status_changed", "case.further_action_notice_due"],
    )
    job = import_run(job_id=stage(employer, csv_bytes(people())).pk)
    assert job.rows_imported == 5
    events = WebhookEvent.objects.filter(employer=employer)
    kinds = sorted(events.values_list("type", flat=True))
    # Five status changes (draft to the instant result), and a notice due for each mismatch.
    assert kinds.count("case.status_changed") == 5
    assert kinds.count("case.further_action_notice_due") == 3
    assert WebhookDelivery.objects.filter(event__in=events).count() == 8
    assert set(events.values_list("case_id", flat=True)) == set(
        VerificationCase.objects.filter(employer=employer).values_list("pk", flat=True)
    )


def _rehire_deceased(employer):
    """A single submit of the file's "Deceased" row again (a rehire)."""
    return case_create(
        actor=None,
        employer=employer,
        data={
            "first_name": "Deceased",
            "last_name": "Person",
            "date_of_birth": date(1990, 4, 12),
            "ssn": "345-67-8901",
            "citizenship_status": "citizen",
            "document_type": "us_passport",
            "document_number": "X1234567",
            "document_expires_on": TODAY + timedelta(days=900),
            "offer_accepted_on": TODAY - timedelta(days=5),
            "i9_completed_on": TODAY - timedelta(days=1),
            "hire_date": TODAY,
            "duplicate_reason": "rehire",
        },
    )
