"""SSN, enforcement-linkage and employer-behaviour rules on hand-built cases."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from crossref.models import Finding
from tests.crossref.test_rules_identity import findings, run_rules

DOB = date(1988, 7, 21)


def test_ssn_velocity_flags_k_employers_inside_the_window(world, matcher, settings):
    settings.CROSSREF = {**settings.CROSSREF, "VELOCITY_K": 3, "VELOCITY_WINDOW_DAYS": 30}
    employers = [world.employer() for _ in range(4)]
    for i, emp in enumerate(employers[:3]):
        world.case(
            emp,
            "111223333",
            "Ana",
            "Silva",
            DOB,
            hire_date=date(2026, 3, 2) + timedelta(days=5 * i),
        )
    # Another worker changes jobs three times, a year apart: lawful.
    for i, emp in enumerate(employers[:3]):
        world.case(
            emp, "222334444", "Bo", "Li", DOB, hire_date=date(2023, 1, 2) + timedelta(days=400 * i)
        )
    run_rules(matcher, "SSN-VELOCITY")
    got = list(Finding.objects.filter(rule_code="SSN-VELOCITY"))
    assert len(got) == 1
    assert got[0].fields[0]["submitted"] == 3
    assert got[0].severity == "high"


def test_multi_identity_flags_different_people_but_not_variants(world, matcher):
    emp, emp2 = world.employer(), world.employer()
    world.case(emp, "333445555", "Maria", "Garcia Lopez", DOB)
    world.case(emp2, "333445555", "María", "Lopez", DOB)  # the same person: variant
    world.case(emp, "444556666", "Maria", "Garcia", DOB)
    world.case(emp2, "444556666", "Dmitri", "Volkov", date(1970, 1, 1))  # another person
    run_rules(matcher, "SSN-MULTI-IDENTITY")
    got = list(Finding.objects.filter(rule_code="SSN-MULTI-IDENTITY"))
    assert len(got) == 1
    assert len(got[0].evidence["identities"]) == 2


def test_enforcement_linkage_threshold_alias_and_document(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Carlos", "Mendoza", DOB, aliases=["Carlitos Mendosa"])
    world.subject("S-2", "Pavel", "Novak", date(1979, 3, 3), docs=[("document", "X1234567")])
    world.subject("S-3", "Helena", "Brandt", date(1990, 5, 5))
    exact = world.case(emp, "555667777", "Carlos", "Mendoza", DOB)
    alias = world.case(emp, "555667778", "Carlitos", "Mendosa", DOB)
    doc = world.case(
        emp,
        "555667779",
        "Paul",
        "Nowak",
        date(1979, 3, 3),
        document_number_bidx=__import__("privacy.crypto", fromlist=["x"]).blind_index(
            "X1234567", kind="document"
        ),
    )
    near = world.case(emp, "555667780", "Helen", "Brand", date(1990, 5, 5))
    unrelated = world.case(emp, "555667781", "Helena", "Brandt", date(1991, 8, 9))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert got[exact.pk].severity == "high"
    assert got[exact.pk].evidence["subject_ref"] == "S-1"
    assert got[alias.pk].severity == "high"
    assert got[doc.pk].evidence["document_match"] is True
    assert near.pk in got
    assert unrelated.pk not in got


def _many(world, emp, n, **extra):
    return [
        world.case(emp, f"6{emp.pk:03d}{i:05d}"[:9], "Ana", "Silva", DOB, **extra) for i in range(n)
    ]


def test_employer_rate_rules_use_a_z_test_against_peers(world, matcher):
    peers = [world.employer(naics="311", state="CA") for _ in range(5)]
    for p in peers:
        _many(world, p, 20)
        _many(world, p, 1, tnc_source="ssa")
    bad = world.employer(naics="311", state="CA")
    _many(world, bad, 12)
    _many(world, bad, 8, tnc_source="ssa")
    run_rules(matcher, "EMP-TNC-RATE")
    got = list(Finding.objects.filter(rule_code="EMP-TNC-RATE"))
    assert [f.employer_id for f in got] == [bad.pk]
    assert got[0].evidence["z"] > got[0].evidence["z_critical"]


def test_employer_case_rules(world, matcher):
    emp = world.employer(mou=date(2020, 1, 1))
    fed = world.employer(mou=date(2020, 1, 1), federal=True)
    old = timezone.now() - timedelta(days=60)
    idle = world.case(
        emp,
        "700000001",
        "A",
        "B",
        DOB,
        status="tentative_nonconfirmation",
        tnc_source="ssa",
        tnc_issued_on=date(2026, 1, 5),
        decision="",
    )
    kept = world.case(
        emp, "700000002", "A", "B", DOB, status="closed", closure_code="continues_after_fnc"
    )
    pre = world.case(emp, "700000003", "A", "B", DOB, offer_accepted_on=date(2026, 4, 1))
    existing = world.case(
        emp,
        "700000004",
        "A",
        "B",
        DOB,
        hire_date=date(2018, 1, 1),
        created_at=timezone.now() - timedelta(days=10),
    )
    world.case(fed, "700000005", "A", "B", DOB, hire_date=date(2018, 1, 1))
    open_fnc = world.case(
        emp, "700000006", "A", "B", DOB, status="final_nonconfirmation", status_changed_at=old
    )
    run_rules(
        matcher, "EMP-TNC-IDLE", "EMP-FNC-KEPT", "EMP-PRESCREEN", "EMP-EXISTING", "EMP-NOT-CLOSED"
    )
    assert set(findings("EMP-TNC-IDLE")) == {idle.pk}
    assert set(findings("EMP-FNC-KEPT")) == {kept.pk}
    assert set(findings("EMP-PRESCREEN")) == {pre.pk}
    assert set(findings("EMP-EXISTING")) == {existing.pk}
    assert set(findings("EMP-NOT-CLOSED")) == {open_fnc.pk}
    assert all(f.subject_key == f"employer:{emp.pk}" for f in Finding.objects.all())


def test_late_creation_rate_counts_federal_working_days(world, matcher):
    peers = [world.employer(naics="722", state="NY") for _ in range(5)]
    for p in peers:
        _many(world, p, 20)
    late = world.employer(naics="722", state="NY")
    hire = date(2026, 3, 2)  # a Monday
    _many(world, late, 5)
    # Created 8 working days after the first day of work, no coded reason.
    created = timezone.make_aware(timezone.datetime(2026, 3, 12, 12, 0))
    _many(world, late, 10, hire_date=hire, created_at=created)
    # Late with a coded reason still counts: the reason is recorded, the lateness is the pattern.
    excused = world.employer(naics="722", state="NY")
    _many(world, excused, 12, hire_date=hire, created_at=created, late_reason="awaiting_ssn")
    # Created on the 3rd working day: on time.
    ontime = world.employer(naics="722", state="NY")
    _many(
        world,
        ontime,
        12,
        hire_date=hire,
        created_at=timezone.make_aware(timezone.datetime(2026, 3, 5, 12, 0)),
    )
    run_rules(matcher, "EMP-LATE")
    flagged = {f.employer_id for f in Finding.objects.filter(rule_code="EMP-LATE")}
    assert flagged == {late.pk, excused.pk}
