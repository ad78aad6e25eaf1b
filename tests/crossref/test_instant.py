"""The instant result writes its identity findings with the same rule code, in the submit's transaction.

verification matches a submitted case with SSA and DHS once; crossref's listener derives the
findings from the rows that match read, and they are the very findings a batch run gives.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crossref import services, sources
from crossref.instant import case_submitted
from crossref.models import Finding
from verification import services as verification_services
from verification import submitted

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
    # The loads in force, read with the case's Numident record (not asked for again).
    current = sources.current_loads()
    assert sorted(finding.reference_loads) == sorted(current[s] for s in current)
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


# The submit's duplicate look-up reads the SSN's Numident record; it is a prepared statement
# (core.prepared), sent as its PREPARE once a database session, then as EXECUTE alone.
_PREPARED_NUMIDENT = re.compile(r"^\s*(PREPARE|EXECUTE) vcase_prior_1_")


def _reads_numident(sql: str) -> bool:
    return "numident" in sql.lower() or bool(_PREPARED_NUMIDENT.match(sql))


def _numident_reads(queries):
    return [q["sql"] for q in queries if _reads_numident(q["sql"])]


def test_a_clean_submit_reads_numident_once(world):
    world.numident("521874390", "Maria", "Garcia Lopez", DOB)
    with CaptureQueriesContext(connection) as ctx:
        case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert case.result == "employment_authorized"
    assert len(_numident_reads(ctx.captured_queries)) == 1


def test_verification_submits_with_no_listener_registered(world, monkeypatch):
    monkeypatch.setattr(submitted, "_listeners", [])
    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert case.status == "tentative_nonconfirmation"
    assert not Finding.objects.filter(case_id=case.pk).exists()


def test_every_listener_hears_the_result_the_status_came_from(world, monkeypatch):
    heard = []
    monkeypatch.setattr(submitted, "_listeners", [])
    submitted.register(lambda *, case, result: heard.append((case.pk, result.status)))
    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    case = verification_services.case_create(actor=None, employer=world.employer(), data=i9())
    assert heard == [(case.pk, case.status)]


# --- One match per submit, and the batch's findings ---------------------------------------------

TODAY = date.today()
OTHER_DAY = date(1961, 7, 30)


def noncitizen(ssn: str, first: str, last: str, **overrides):
    data = {
        "ssn": ssn,
        "first_name": first,
        "last_name": last,
        "citizenship_status": "authorized_alien",
        "document_type": "employment_authorization",
        "document_number": "EAD0001234",
        "document_expires_on": TODAY + timedelta(days=300),
    }
    data.update(overrides)
    return i9(**data)


def every_identity_outcome(world):
    """Reference records and the I-9 data of cases meeting them in every way the identity rules tell apart."""
    n = world.numident
    n("521874390", "Maria", "Garcia Lopez", DOB)
    n("521874391", "Maria", "Garcia", DOB)  # compound surname truncated: a lawful variant
    n("521874392", "Robert", "Chen", OTHER_DAY)  # someone else
    n("521874393", "Mario", "Garcia Lopez", DOB)  # a near name
    n("521874394", "Maria", "Garcia Lopez", OTHER_DAY)  # born another day
    n("521874395", "Maria", "Garcia Lopez", date(1990, 12, 4))  # day and month swapped
    n(
        "521874369", "Maria", "Garcia Lopez", DOB
    )  # the record of 521874396 keyed with 9 and 6 swapped
    n("521874397", "Maria", "Garcia Lopez", DOB, death=date(2020, 1, 1))
    n("521874398", "Maria", "Garcia Lopez", DOB, locked=True)
    n("521874380", "Maria", "Garcia Lopez", DOB, citizenship="noncitizen")  # not naturalized
    n("521874381", "Ana", "Silva", DOB, citizenship="noncitizen")  # naturalized: SSA is stale
    world.dhs(
        a_number="A044444444", first="Ana", last="Silva", dob=DOB, naturalized=date(2015, 5, 5)
    )
    n("521874382", "Olga", "Ivanova", OTHER_DAY)  # a transposed SSN's record of someone else too
    n("521874328", "Olga", "Ivanova", OTHER_DAY)
    n("521874383", "Maria", "Garcia Lopez", DOB)  # a case that attests citizenship SSA lacks
    cases = [
        i9(ssn="521-87-4390"),
        i9(ssn="521-87-4391"),
        i9(ssn="521-87-4392"),
        i9(ssn="521-87-4393"),
        i9(ssn="521-87-4394"),
        i9(ssn="521-87-4395"),
        i9(ssn="521-87-4396"),
        i9(ssn="521-87-4397"),
        i9(ssn="521-87-4398"),
        i9(ssn="521-87-4399"),  # no record anywhere
        i9(ssn="521-87-4380"),
        i9(ssn="521-87-4381", first_name="Ana", last_name="Silva"),
        i9(ssn="521-87-4382", first_name="Olga", last_name="Ivanova", date_of_birth=DOB),
    ]
    # Noncitizens: the SSA side agrees, DHS tells them apart.
    for i, (first, last) in enumerate(
        [("Nadia", "Haddad"), ("Li", "Wei"), ("Omar", "Farah"), ("Eva", "Novak"), ("Ken", "Sato")]
    ):
        n(f"52187450{i}", first, last, DOB, citizenship="noncitizen")
    world.dhs(a_number="051111111", first="Nadia", last="Haddad", dob=DOB, start=date(2020, 1, 1))
    world.dhs(a_number="052222222", first="Lee", last="Chang", dob=OTHER_DAY)  # someone else
    world.dhs(
        a_number="A053333333", first="Omar", last="Farah", dob=DOB, until=TODAY - timedelta(days=3)
    )
    world.dhs(
        i94="94000000004", first="Eva", last="Novak", dob=DOB, start=TODAY + timedelta(days=20)
    )
    cases += [
        noncitizen("521-87-4500", "Nadia", "Haddad", a_number="A051111111"),
        noncitizen("521-87-4501", "Li", "Wei", a_number="A052222222"),
        noncitizen("521-87-4502", "Omar", "Farah", a_number="A053333333"),
        noncitizen("521-87-4503", "Eva", "Novak", a_number="A059999999", i94="94000000004"),
        noncitizen("521-87-4504", "Ken", "Sato", a_number="A058888888"),  # no DHS record
    ]
    return cases


def snapshot():
    return sorted(
        (
            f.rule_code,
            f.rule_version,
            f.subject_type,
            f.subject_key,
            f.evidence_key,
            f.severity,
            f.score,
            f.is_clerical,
            f.fields,
            f.evidence,
            f.summary,
        )
        for f in Finding.objects.all()
    )


def test_instant_findings_are_the_batch_findings_of_every_identity_outcome(world, matcher):
    employer = world.employer()
    for data in every_identity_outcome(world):
        verification_services.case_create(
            actor=None, employer=employer, data={**data, "duplicate_reason": "rehire"}
        )
    instant = snapshot()
    rules = {
        "SSA-NOTFOUND",
        "SSA-CLERICAL",
        "SSA-IDENTITY",
        "SSA-DECEASED",
        "SSA-LOCKED",
        "SSA-CITIZENSHIP",
        "DHS-NOTFOUND",
        "DHS-IDENTITY",
        "DHS-AUTH",
    }
    # Every identity rule has something to say about these cases (else the comparison proves little).
    assert {f[0] for f in instant} == rules

    def batch():
        """Run the identity rules over every case; (hits, new findings) over its partitions."""
        run = services.run_execute_inline(
            run=services.run_start(actor=matcher, rules=sorted(rules), enqueue=False)
        )
        parts = list(run.partitions.all())
        assert {p.status for p in parts} == {"done"}
        return (
            sum(sum(p.hits.values()) for p in parts),
            sum(sum(p.new_findings.values()) for p in parts),
        )

    # A later batch run over the same cases finds the same and adds nothing twice.
    assert batch() == (len(instant), 0)
    assert snapshot() == instant
    # Without the instant findings, the batch writes exactly them.
    Finding.objects.all().delete()
    batch()
    assert snapshot() == instant


REFERENCE_TABLES = ("verification_numident", "verification_immigrationrecord")


def _reference_reads(queries):
    """The statements that read SSA or DHS rows. The submit reads the SSN's Numident record inside
    its duplicate look-up (a prepared statement): named by a marker."""
    return [
        "duplicate look-up + Numident" if _PREPARED_NUMIDENT.match(q["sql"]) else q["sql"]
        for q in queries
        if any(t in q["sql"] for t in REFERENCE_TABLES) or _PREPARED_NUMIDENT.match(q["sql"])
    ]


@pytest.mark.parametrize("index", range(18))
def test_the_reference_data_is_read_once_per_submit(world, monkeypatch, index):
    """The listener that writes the findings reads no SSA or DHS row: the instant match did, once."""
    employer = world.employer()
    data = {**every_identity_outcome(world)[index], "duplicate_reason": "rehire"}

    def submit():
        with CaptureQueriesContext(connection) as ctx:
            case = verification_services.case_create(actor=None, employer=employer, data=data)
        return case, _reference_reads(ctx.captured_queries)

    heard = []
    monkeypatch.setattr(submitted, "_listeners", [])
    submitted.register(lambda *, case, result: heard.append(result))
    first, alone = submit()  # verification's own match, with a listener that reads nothing
    monkeypatch.setattr(submitted, "_listeners", [case_submitted])
    case, with_findings = submit()
    assert len(heard) == 1
    assert with_findings == alone
    # One read per question the match asks (the SSA record, its transposed SSNs, the
    # naturalization, the DHS record by each identifier tried), never a second round.
    assert len(alone) == len(set(alone)) <= 5
    assert case.status == first.status
    if heard[0].status != "employment_authorized" or heard[0].name_review:
        assert Finding.objects.filter(case_id=case.pk).exists()


def test_the_findings_commit_or_roll_back_with_the_case(world, monkeypatch):
    """A listener after crossref's failing rolls the submit back: no case, no finding."""

    def fails(*, case, result):
        raise RuntimeError("a later listener failed")

    world.numident("521874390", "Robert", "Chen", date(1960, 1, 1))
    monkeypatch.setattr(submitted, "_listeners", [case_submitted, fails])
    employer = world.employer()
    with pytest.raises(RuntimeError):
        verification_services.case_create(actor=None, employer=employer, data=i9())
    assert not employer.cases.exists()
    assert not Finding.objects.exists()
    monkeypatch.setattr(submitted, "_listeners", [case_submitted])
    case = verification_services.case_create(actor=None, employer=employer, data=i9())
    assert list(Finding.objects.values_list("case_id", "rule_code")) == [(case.pk, "SSA-IDENTITY")]
