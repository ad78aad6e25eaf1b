"""The enforcement-subject linkage (ENF-LINK) on hand-built cases: what links, what goes to review, what raises nothing."""

from __future__ import annotations

from datetime import date

import pytest

from crossref import selectors
from crossref.models import Finding
from crossref.rules import enforcement
from privacy import crypto
from tests.crossref.test_rules_identity import findings, run_rules
from verification.models import ReferenceLoad

DOB = date(1984, 3, 9)


def test_benign_spellings_of_the_subject_link_and_lookalikes_go_to_review(world, matcher):
    emp = world.employer()
    world.subject("S-1", "José", "García López", DOB, aliases=["Pepe Garcia"])
    world.subject("S-2", "Ana", "Silva", date(1990, 11, 4))
    world.subject("S-3", "Mohammed", "Al-Rashid", date(1975, 2, 2))
    world.subject("S-4", "Carlos", "Mendoza", date(1969, 8, 30))
    linked = [
        world.case(emp, "700000001", "JOSE", "GARCIA LOPEZ", DOB),  # case and diacritics
        world.case(emp, "700000002", "José", "García-López", DOB),  # hyphen for the space
        world.case(emp, "700000003", "José", "López García", DOB),  # compound reordered
        world.case(emp, "700000004", "Pepe", "Garcia", DOB),  # the alias
    ]
    truncated = world.case(
        emp, "700000005", "Jose", "Garcia", date(1984, 3, 9)
    )  # a word subset of the name
    swapped = world.case(
        emp, "700000006", "Ana", "Silva", date(1990, 4, 11)
    )  # day and month exchanged
    transliterated = world.case(emp, "700000007", "Muhammad", "Al Rasheed", date(1975, 2, 2))
    typo = world.case(emp, "700000008", "Carlos", "Mendosa", date(1969, 8, 30))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    # Spelling variants, a truncated compound surname, a one-letter typo and a day/month swap,
    # each with the rest of the record agreeing: leads.
    for case in [*linked, truncated, swapped, typo]:
        assert got[case.pk].severity == "high", case.last_name
    assert got[linked[3].pk].evidence["subject_ref"] == "S-1"  # through the alias
    # A transliteration of both names: plausible, not conclusive. More likely the same person than
    # not, with the date of birth agreeing, but less sure than any exact spelling.
    assert 0.5 <= got[transliterated.pk].score < 0.99
    assert got[transliterated.pk].score < min(got[case.pk].score for case in linked)
    levels = {f["field"]: f["level"] for f in got[swapped.pk].fields}
    assert levels["dob"] == "day_month_swapped"
    assert {f["field"]: f["level"] for f in got[typo.pk].fields}["family"] in ("close", "similar")


def test_lawful_workers_who_only_share_a_date_or_a_name_raise_nothing(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Viktor", "Kovalenko", DOB, docs=[("a_number", "A123456789")])
    quiet = [
        world.case(emp, "710000001", "Maria", "Garcia", DOB),  # same date, another person
        world.case(emp, "710000002", "Victoria", "Kowalski", DOB),  # same date, same initials
        world.case(
            emp, "710000003", "Viktor", "Kovalenko", date(1984, 3, 10)
        ),  # same name, another date
        world.case(
            emp, "710000004", "Maria", "Garcia Lopez", DOB
        ),  # a lawful variant of her own name
    ]
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    for case in quiet:
        assert case.pk not in got, (case.first_name, case.last_name, case.date_of_birth)


def test_a_shared_document_number_links_when_the_date_or_the_name_bears_it_out(world, matcher):
    emp = world.employer()
    world.subject("S-9", "Radu", "Petrescu", date(1979, 1, 2), docs=[("a_number", "A987654321")])
    bidx = crypto.blind_index("A987654321", kind="a_number")
    alias = world.case(
        emp, "720000001", "Ion", "Popescu", date(1979, 1, 2), a_number_bidx=bidx
    )  # same date
    other_day = world.case(
        emp, "720000002", "Radu", "Petrescu", date(1981, 6, 7), a_number_bidx=bidx
    )  # same name
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    for case in (alias, other_day):
        assert got[case.pk].severity == "high", case.first_name
        assert got[case.pk].evidence["document_match"] is True
        assert got[case.pk].evidence["document_only"] is False


# The four false links of the 1M bench (P2): a worker's document number equal to a stranger
# subject's, with nothing else in common (case name and date, subject name, aliases and date).
DOCUMENT_ONLY = [
    (
        ("Omar", "Youssef", date(1968, 12, 30)),
        ("Kwame", "Lefèvre", ["Kwame Lefevre"], date(1966, 10, 7)),
    ),
    (("Raúl", "Muñoz", date(1956, 2, 28)), ("Kevin", "Thomas", [], date(1968, 1, 15))),
    (
        ("Sarah", "Pemberton", date(1977, 3, 8)),
        ("Luis", "Villanueva", ["Luis Villanueva"], date(1964, 3, 25)),
    ),
    (
        ("Andrés", "Castro Díaz", date(1978, 12, 28)),
        ("Michael", "Howard", ["Michael Howard"], date(1957, 7, 16)),
    ),
]


@pytest.mark.parametrize(("case_identity", "subject_identity"), DOCUMENT_ONLY)
def test_a_document_shared_by_another_name_and_another_date_is_only_for_review(
    world, matcher, case_identity, subject_identity
):
    emp = world.employer()
    first, last, aliases, dob = subject_identity
    world.subject("S-D", first, last, dob, aliases=aliases, docs=[("a_number", "A555000111")])
    bidx = crypto.blind_index("A555000111", kind="a_number")
    stranger = world.case(emp, "721000001", *case_identity, a_number_bidx=bidx)
    # The subject's own identity with the same document still links, under its date or its swap.
    same = world.case(emp, "721000002", first, last, dob, a_number_bidx=bidx)
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert got[stranger.pk].severity == "low"
    assert got[stranger.pk].evidence["document_only"] is True
    assert got[stranger.pk].evidence["document_match"] is True
    assert "neither the name nor the date of birth" in got[stranger.pk].summary
    assert got[stranger.pk].score < 0.5
    assert got[same.pk].severity == "high"
    assert got[same.pk].evidence["document_only"] is False


def test_the_linkage_alone_counts_every_case_without_a_staging_copy(world, matcher):
    emp = world.employer()
    world.subject("S-1", "Carlos", "Mendoza", DOB)
    for i in range(12):
        world.case(emp, f"73000{i:04d}", "Ana", "Silva", date(1970, 1, 1 + i))
    hit = world.case(emp, "730009999", "Carlos", "Mendoza", DOB)
    run = run_rules(matcher, "ENF-LINK")
    assert run.staged_rows is None  # no rule of the run reads the staging copy
    assert selectors.run_progress(run=run).rows_examined == 13
    assert list(Finding.objects.filter(rule_code="ENF-LINK").values_list("case_id", flat=True)) == [
        hit.pk
    ]
    # Idempotent: a second run adds nothing.
    run_rules(matcher, "ENF-LINK")
    assert Finding.objects.filter(rule_code="ENF-LINK").count() == 1


def test_common_name_lookalikes_born_the_same_day_stay_out_of_fraud_leads(
    world, matcher, monkeypatch
):
    # Subjects share the workers' names and birth years: blocking compares only the cases with a
    # key in common, and the model keeps the look-alikes out of the leads.
    fetched: list[int] = []  # compared
    blocked: list[int] = []  # put in a block (before the bound per pair)
    real = enforcement.candidates

    def spy(cases, index, within=None, cursor=None):
        pc, ps, per_rule = real(cases, index, within, cursor)
        fetched.extend(cases.ids[pc].tolist())
        blocked.extend(cases.ids[real(cases, index)[0]].tolist())
        return pc, ps, per_rule

    monkeypatch.setattr(enforcement, "candidates", spy)
    emp = world.employer()
    world.subject("S-1", "María", "García", DOB)
    strangers = [
        world.case(emp, f"74000{i:04d}", first, last, DOB)
        for i, (first, last) in enumerate(
            [
                ("Wei", "Chen"),
                ("John", "Smith"),
                ("Olga", "Ivanova"),
                ("Priya", "Patel"),
                ("Kevin", "Young"),
            ]
        )
    ]
    lookalikes = [
        world.case(emp, "740100001", "Maria", "Gonzalez", DOB),  # the same common given name
        world.case(emp, "740100002", "José", "García", DOB),  # the same common surname
        world.case(emp, "740100003", "Mariana", "Gomez", DOB),  # the same first letters
    ]
    other_day = world.case(emp, "740100004", "Maria", "Garcia", date(1984, 3, 10))
    compound = world.case(emp, "740100005", "Maria", "Garcia Lopez", DOB)  # her compound surname
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert not {c.pk for c in strangers} & set(blocked)  # they share no blocking key
    # Blocked together (blocking survives a wrong day of birth), but the same name on another day
    # is not the same person by itself: the bound per pair leaves that pair uncompared.
    assert {c.pk for c in [*lookalikes, other_day]} <= set(blocked)
    assert {c.pk for c in lookalikes} <= set(fetched)
    assert other_day.pk not in fetched
    for case in [*lookalikes, *strangers, other_day]:
        assert case.pk not in got, (case.first_name, case.last_name)
    assert got[compound.pk].severity == "high"


def test_a_new_enforcement_load_blocks_on_its_own_keys_in_the_same_session(world, matcher):
    # The subjects' keys live in a temporary table of the connection, named by load and checksum:
    # a later load in the same session must not be blocked on the earlier load's keys.
    emp = world.employer()
    world.subject("S-1", "Carlos", "Mendoza", DOB)
    first = world.case(emp, "750000001", "Carlos", "Mendoza", DOB)
    second = world.case(emp, "750000002", "Wei", "Chen", date(1991, 7, 5))
    run_rules(matcher, "ENF-LINK")
    assert set(findings("ENF-LINK")) == {first.pk}
    old = world.loads["enforcement"]
    ReferenceLoad.objects.filter(pk=old.pk).update(status="superseded")
    world.loads["enforcement"] = ReferenceLoad.objects.create(
        source="enforcement",
        source_agency="ice-hsi",
        file_name="enforcement-2.csv",
        vintage=date(2026, 2, 1),
        checksum="1" * 64,
        status="current",
    )
    world.subject("S-2", "Wei", "Chen", date(1991, 7, 5))
    Finding.objects.all().delete()
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert set(got) == {second.pk}
    assert got[second.pk].evidence["subject_ref"] == "S-2"


def test_a_subject_without_a_date_of_birth_does_not_stop_the_run(world, matcher):
    """Enforcement records are often partial: an undated subject used to crash every partition."""
    emp = world.employer()
    world.subject("S-U", "Radu", "Petrescu", None, docs=[("a_number", "A987650000")])
    world.subject("S-D", "Ana", "Silva", DOB)
    bidx = crypto.blind_index("A987650000", kind="a_number")
    by_document = world.case(
        emp, "730000001", "Radu", "Petrescu", date(1979, 1, 2), a_number_bidx=bidx
    )
    by_name = world.case(emp, "730000002", "Ana", "Silva", DOB)
    run = run_rules(matcher, "ENF-LINK")
    assert run.status == "done", run.error
    got = findings("ENF-LINK")
    assert got[by_document.pk].evidence["subject_ref"] == "S-U"
    assert got[by_name.pk].evidence["subject_ref"] == "S-D"


def test_partial_subjects_run_and_link_on_what_they_have(world, matcher):
    """A surname and a document, or an alias alone: no crash, and a shared document still links."""
    emp = world.employer()
    world.subject("S-P", "", "Volkov", None, docs=[("a_number", "A555000222")])
    world.subject("S-A", "", "", None, aliases=["Vic Volkov"])
    bidx = crypto.blind_index("A555000222", kind="a_number")
    holder = world.case(emp, "740000001", "Viktor", "Volkov", date(1961, 5, 5), a_number_bidx=bidx)
    stranger = world.case(emp, "740000002", "Maria", "Lopez", date(1990, 1, 1))
    run = run_rules(matcher, "ENF-LINK")
    assert run.status == "done", run.error
    got = findings("ENF-LINK")
    assert got[holder.pk].evidence["subject_ref"] == "S-P"
    assert stranger.pk not in got  # two empty names are no evidence of anything


def test_a_case_links_to_a_subject_through_the_ssn(world, matcher):
    """A subject's SSN (a typed document) meets the case's SSN: the name bears it out, the date does not."""
    emp = world.employer()
    world.subject("S-S", "Ivan", "Petrov", date(1950, 2, 2), docs=[("ssn", "750000001")])
    case = world.case(emp, "750000001", "Ivan", "Petrov", date(1971, 8, 8))
    run_rules(matcher, "ENF-LINK")
    got = findings("ENF-LINK")
    assert got[case.pk].evidence["subject_ref"] == "S-S"
    assert got[case.pk].evidence["document_match"] is True
