"""The instant result writes its identity findings with the same rule code, in the submit's transaction."""

from __future__ import annotations

from datetime import date, timedelta

from crossref import services
from crossref.models import Finding
from verification import services as verification_services

DOB = date(1990, 4, 12)


def i9(**overrides):
    today = date.today()
    data = {
        "first_name": "Maria",
        "last_name": "Garcia Lopez",
        "middle_initial": "",
        "other_last_names": "",
        "date_of_birth": DOB,
        "ssn": "521-87-4390",
        "citizenship_status": "citizen",
        "document_type": "us_passport",
        "document_number": "X1234567",
        "document_expires_on": today + timedelta(days=900),
        "offer_accepted_on": today - timedelta(days=5),
        "i9_completed_on": today - timedelta(days=1),
        "hire_date": today,
        "employee_email": "",
        "employer_case_id": "",
    }
    data.update(overrides)
    return data


def test_a_lawful_variant_submits_without_findings(world):
    world.numident("521874390", "Maria", "Garcia Lopez", DOB)
    case = verification_services.case_create(
        actor=None, employer=world.employer(), data=i9(last_name="García")
    )
    assert not Finding.objects.filter(case_id=case.pk).exists()


def test_a_mismatch_at_submit_is_a_finding_of_the_batch_rule(world, matcher):
    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    [finding] = Finding.objects.filter(case_id=case.pk)
    assert (finding.rule_code, finding.run_id, finding.severity) == ("SSA-IDENTITY", None, "high")
    assert finding.reference_loads
    # The batch run finds the same thing and adds nothing.
    run = services.run_execute_inline(
        run=services.run_start(actor=matcher, rules=["SSA-IDENTITY"], enqueue=False)
    )
    assert Finding.objects.filter(case_id=case.pk).count() == 1
    assert run.partitions.filter(status="done").count() == run.partitions_total


def test_a_dob_swap_at_submit_is_a_clerical_finding(world):
    world.numident("521874390", "Maria", "Garcia Lopez", date(1990, 12, 4))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    [finding] = Finding.objects.filter(case_id=case.pk)
    assert (finding.rule_code, finding.is_clerical, finding.severity) == (
        "SSA-CLERICAL",
        True,
        "low",
    )


def _numident_reads(queries):
    return [q["sql"] for q in queries if "numident" in q["sql"].lower()]


def test_a_clean_submit_reads_numident_once(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world.numident("521874390", "Maria", "Garcia Lopez", DOB)
    with CaptureQueriesContext(connection) as ctx:
        case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert case.result == "employment_authorized"
    assert len(_numident_reads(ctx.captured_queries)) == 1


def test_verification_submits_with_no_listener_registered(world, monkeypatch):
    from verification import submitted

    monkeypatch.setattr(submitted, "_listeners", [])
    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert case.status == "tentative_nonconfirmation"
    assert not Finding.objects.filter(case_id=case.pk).exists()


def test_every_listener_hears_the_result_the_status_came_from(world, monkeypatch):
    from verification import submitted

    heard = []
    monkeypatch.setattr(submitted, "_listeners", [])
    submitted.register(lambda *, case, result: heard.append((case.pk, result.status)))
    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert heard == [(case.pk, case.status)]
