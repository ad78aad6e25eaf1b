"""Identity rules on hand-built cases, including lawful name variants that must not flag."""

from __future__ import annotations

from datetime import date

import pytest

from crossref import services
from crossref.models import Finding
from tests.crossref.conftest import submit_instant

DOB = date(1985, 4, 9)


def run_rules(user, *codes: str):
    run = services.run_start(actor=user, rules=list(codes), enqueue=False, ssn_partitions=4)
    return services.run_execute_inline(run=run)


def findings(code: str) -> dict[int, Finding]:
    return {f.case_id: f for f in Finding.objects.filter(rule_code=code)}


# (submitted first, last, other last names) vs SSA (first, last): lawful variants from DOMAIN.md §2.
VARIANT_FAMILIES = [
    (("Maria", "Garcia Lopez", ""), ("Maria", "Garcia")),  # compound surname truncated
    (("Maria", "Lopez Garcia", ""), ("Maria", "Garcia Lopez")),  # compound surname reordered
    (("José", "Núñez", ""), ("Jose", "Nunez")),  # diacritics
    (("Ana", "Smith-Jones", ""), ("Ana", "Smith Jones")),  # hyphen vs space
    (("Sean", "O'Brien", ""), ("Sean", "OBrien")),  # apostrophe
    (("Mohammed", "Al-Rashid", ""), ("Mohammed", "Alrashid")),  # article joined
    (("Juan Carlos", "Perez", ""), ("Juan", "Perez")),  # two given names
    (("Maria", "Smith", "Gonzalez"), ("Maria", "Gonzalez")),  # maiden name in other last names
    (("MARIA", "DE LA CRUZ", ""), ("Maria", "de la Cruz")),  # case
    (("Katherine", "Johnson", ""), ("Katharine", "Johnson")),  # one-letter typo
]


def test_lawful_name_variants_raise_nothing(world, matcher):
    emp = world.employer()
    for i, ((first, last, other), (rf, rl)) in enumerate(VARIANT_FAMILIES):
        ssn = f"5{i:02d}12345{i % 10}"[:9]
        world.numident(ssn, rf, rl, DOB)
        world.case(emp, ssn, first, last, DOB, other_last_names=other)
    run_rules(matcher, "SSA-IDENTITY", "SSA-NOTFOUND", "SSA-CLERICAL", "SSN-MULTI-IDENTITY")
    assert Finding.objects.count() == 0


def test_it_flags_a_different_person_on_the_ssn(world, matcher):
    emp = world.employer()
    world.numident("123456789", "Robert", "Chen", DOB)
    c = world.case(emp, "123456789", "Maria", "Garcia", date(1990, 2, 3))
    run_rules(matcher, "SSA-IDENTITY")
    f = findings("SSA-IDENTITY")[c.pk]
    assert f.severity == "high"
    assert {x["field"] for x in f.fields} == {"last_name", "first_name", "date_of_birth"}
    assert f.run_id is not None
    assert f.agreement_id is not None
    assert f.reference_loads


def test_dob_day_month_swap_is_a_low_clerical_finding(world, matcher):
    emp = world.employer()
    world.numident("223456789", "Ana", "Silva", date(1985, 4, 9))
    c = world.case(emp, "223456789", "Ana", "Silva", date(1985, 9, 4))
    run_rules(matcher, "SSA-IDENTITY", "SSA-CLERICAL")
    assert c.pk not in findings("SSA-IDENTITY")
    f = findings("SSA-CLERICAL")[c.pk]
    assert (f.severity, f.is_clerical, f.evidence["kind"]) == ("low", True, "dob_day_month_swap")


def test_a_dob_one_digit_off_is_a_clerical_finding_and_two_digits_a_mismatch(world, matcher):
    """One mistyped digit of YYYYMMDD, the names agreeing: a keying slip, not a fraud lead."""
    emp = world.employer()
    world.numident("223456780", "Ana", "Silva", date(1985, 4, 19))
    slip = world.case(emp, "223456780", "Ana", "Silva", date(1985, 4, 16))
    world.numident("223456781", "Rui", "Costa", date(1985, 4, 19))
    other = world.case(emp, "223456781", "Rui", "Costa", date(1983, 4, 16))  # two digits
    world.numident("223456782", "Eva", "Lind", date(1985, 4, 19))
    stranger = world.case(emp, "223456782", "Kofi", "Mensah", date(1985, 4, 16))  # not her
    run_rules(matcher, "SSA-IDENTITY", "SSA-CLERICAL")
    f = findings("SSA-CLERICAL")[slip.pk]
    assert (f.severity, f.is_clerical, f.evidence["kind"]) == ("low", True, "dob_one_digit")
    assert "one mistyped digit" in f.summary
    assert slip.pk not in findings("SSA-IDENTITY")
    assert other.pk in findings("SSA-IDENTITY")
    assert other.pk not in findings("SSA-CLERICAL")
    assert findings("SSA-IDENTITY")[stranger.pk].severity == "high"  # name and date both wrong


def test_transposed_ssn_digits_are_a_low_clerical_finding(world, matcher):
    emp = world.employer()
    world.numident("323456789", "Ana", "Silva", DOB)
    c = world.case(emp, "324356789", "Ana", "Silva", DOB)
    run_rules(matcher, "SSA-NOTFOUND", "SSA-CLERICAL", "SSA-IDENTITY")
    assert c.pk not in findings("SSA-NOTFOUND")
    f = findings("SSA-CLERICAL")[c.pk]
    assert (f.severity, f.evidence["kind"]) == ("low", "ssn_transposition")


def test_not_found_deceased_locked(world, matcher):
    emp = world.employer()
    missing = world.case(emp, "423456789", "Ana", "Silva", DOB)
    world.numident("523456789", "Bo", "Li", DOB, death=date(2020, 1, 1))
    dead = world.case(emp, "523456789", "Bo", "Li", DOB)
    world.numident("623456789", "Cy", "Ng", DOB, locked=True)
    locked = world.case(emp, "623456789", "Cy", "Ng", DOB)
    run_rules(matcher, "SSA-NOTFOUND", "SSA-DECEASED", "SSA-LOCKED")
    assert set(findings("SSA-NOTFOUND")) == {missing.pk}
    assert set(findings("SSA-DECEASED")) == {dead.pk}
    assert set(findings("SSA-LOCKED")) == {locked.pk}


def test_citizenship_mismatch_is_downgraded_when_dhs_shows_naturalization(world, matcher):
    emp = world.employer()
    world.numident("723456789", "Lan", "Tran", DOB, citizenship="alien_authorized")
    world.dhs(first="Lan", last="Tran", dob=DOB, naturalized=date(2019, 5, 1))
    natural = world.case(emp, "723456789", "Lan", "Tran", DOB)
    world.numident("823456789", "Ivan", "Petrov", date(1970, 1, 2), citizenship="alien_authorized")
    claimed = world.case(emp, "823456789", "Ivan", "Petrov", date(1970, 1, 2))
    run_rules(matcher, "SSA-CITIZENSHIP")
    got = findings("SSA-CITIZENSHIP")
    assert natural.pk not in got  # downgraded to nothing: DHS confirms the naturalization
    assert got[claimed.pk].severity == "medium"


def test_a_stale_citizenship_can_be_downgraded_to_a_low_review_instead(world, matcher, settings):
    settings.CROSSREF = {**settings.CROSSREF, "STALE_CITIZENSHIP_REVIEW": True}
    emp = world.employer()
    world.numident("723456789", "Lan", "Tran", DOB, citizenship="alien_authorized")
    world.dhs(first="Lan", last="Tran", dob=DOB, naturalized=date(2019, 5, 1))
    natural = world.case(emp, "723456789", "Lan", "Tran", DOB)
    run_rules(matcher, "SSA-CITIZENSHIP")
    f = findings("SSA-CITIZENSHIP")[natural.pk]
    assert (f.severity, f.is_clerical) == ("low", True)


def test_naturalization_confirmed_by_a_name_variant_but_never_by_a_look_alike_born_the_same_day(
    world, matcher
):
    emp = world.employer()
    world.dhs(
        first="Wei", last="Zhang", dob=DOB, naturalized=date(2015, 1, 1)
    )  # born the same day, someone else
    world.dhs(first="José", last="Núñez García", dob=DOB, naturalized=date(2018, 3, 1))
    world.numident("723456789", "Jose", "Nunez", DOB, citizenship="alien_authorized")
    variant = world.case(
        emp, "723456789", "Jose", "Nunez", DOB
    )  # diacritics, second surname left out
    world.numident("823456789", "Ana", "Lopez", DOB, citizenship="alien_authorized")
    look_alike = world.case(emp, "823456789", "Ana", "Lopez", DOB)
    run_rules(matcher, "SSA-CITIZENSHIP")
    got = findings("SSA-CITIZENSHIP")
    assert variant.pk not in got
    assert got[look_alike.pk].severity == "medium"
    assert got[look_alike.pk].evidence == {
        "numident_id": got[look_alike.pk].evidence["numident_id"]
    }  # no DHS record


def test_a_stale_citizenship_review_cites_the_record_of_the_same_name_over_an_earlier_variant(
    world, matcher, settings
):
    settings.CROSSREF = {**settings.CROSSREF, "STALE_CITIZENSHIP_REVIEW": True}
    emp = world.employer()
    world.dhs(
        first="Lan", last="Tran Nguyen", dob=DOB, naturalized=date(2012, 5, 1)
    )  # a variant, lower id
    same = world.dhs(
        first="LAN", last="Trần", dob=DOB, naturalized=date(2019, 5, 1)
    )  # the same name, normalized
    world.numident("723456789", "Lan", "Tran", DOB, citizenship="alien_authorized")
    natural = world.case(emp, "723456789", "Lan", "Tran", DOB)
    run_rules(matcher, "SSA-CITIZENSHIP")
    f = findings("SSA-CITIZENSHIP")[natural.pk]
    assert f.evidence["dhs_id"] == same.pk
    assert (f.severity, f.is_clerical) == ("low", True)


@pytest.mark.parametrize(
    ("start", "until", "expected"),
    [
        (date(2020, 1, 1), date(2025, 1, 1), "expired_at_hire"),
        (date(2026, 6, 1), date(2030, 1, 1), "not_yet_valid"),
        (date(2020, 1, 1), date(2030, 1, 1), None),
    ],
)
def test_dhs_work_authorization(world, matcher, start, until, expected):
    emp = world.employer()
    world.dhs(a_number="A012345678", first="Wei", last="Zhang", dob=DOB, start=start, until=until)
    c = world.case(
        emp,
        "923456789",
        "Wei",
        "Zhang",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A012345678",
        hire_date=date(2026, 3, 2),
    )
    run_rules(matcher, "DHS-AUTH", "DHS-NOTFOUND", "DHS-IDENTITY")
    got = findings("DHS-AUTH")
    assert (got[c.pk].evidence["kind"] if c.pk in got else None) == expected
    assert not findings("DHS-NOTFOUND")
    assert not findings("DHS-IDENTITY")


def test_dhs_not_found_and_disagreeing(world, matcher):
    emp = world.employer()
    missing = world.case(
        emp,
        "133456789",
        "Wei",
        "Zhang",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A099999999",
    )
    world.dhs(a_number="A011111111", first="Olga", last="Ivanova", dob=date(1960, 1, 1))
    other = world.case(
        emp,
        "143456789",
        "Wei",
        "Zhang",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A011111111",
    )
    run_rules(matcher, "DHS-NOTFOUND", "DHS-IDENTITY")
    assert set(findings("DHS-NOTFOUND")) == {missing.pk}
    assert set(findings("DHS-IDENTITY")) == {other.pk}


@pytest.mark.parametrize("path", ["batch", "instant"])
def test_the_dhs_record_a_case_leads_to(world, matcher, path):
    """A-Number first, then I-94, then passport; of several records with one number, the one born the same day.

    The batch matches every case once for the run (the staging copy), the instant result looks its
    one case up (verification.instant): both must lead to the same record.
    """
    emp, other_day = world.employer(), date(1960, 1, 1)
    # One A-Number on three records (keying errors at DHS): the ones with the case's date of birth
    # win over a lower id, and of those the lower id.
    world.dhs(a_number="A011111111", first="Olga", last="Ivanova", dob=other_day)
    world.dhs(a_number="A011111111", first="Wei", last="Zhang", dob=DOB)
    world.dhs(a_number="A011111111", first="Mei", last="Lin", dob=DOB)
    shared = world.case(
        emp,
        "153456789",
        "Wei",
        "Zhang",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A011111111",
    )
    # An A-Number that leads somewhere outranks an I-94 that leads elsewhere, even to a better match.
    a_number_record = world.dhs(a_number="A022222222", first="Ana", last="Silva", dob=other_day)
    world.dhs(i94="94000000001", first="Ana", last="Silva", dob=DOB)
    by_a_number = world.case(
        emp,
        "163456789",
        "Ana",
        "Silva",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A022222222",
        i94="94000000001",
    )
    # An A-Number that leads nowhere falls through to the I-94, then to the passport.
    world.dhs(i94="94000000002", first="Ivan", last="Petrov", dob=DOB)
    by_i94 = world.case(
        emp,
        "173456789",
        "Ivan",
        "Petrov",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A099999999",
        i94="94000000002",
        passport="P7000001",
    )
    passport_record = world.dhs(passport="P7000002", first="Kenji", last="Watanabe", dob=DOB)
    by_passport = world.case(
        emp,
        "183456789",
        "Yuki",
        "Tanaka",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A099999998",
        passport="P7000002",
    )
    nothing = world.case(
        emp,
        "193456789",
        "Lan",
        "Tran",
        DOB,
        citizenship_status="authorized_alien",
        a_number="A099999997",
        i94="94000000009",
    )
    world.case(emp, "113456789", "Mary", "Smith", DOB)  # a citizen: not looked up at DHS at all
    if path == "batch":
        run_rules(matcher, "DHS-NOTFOUND", "DHS-IDENTITY")
    else:
        submit_instant(shared, "153456789", a_number="A011111111")
        submit_instant(by_a_number, "163456789", a_number="A022222222", i94="94000000001")
        submit_instant(
            by_i94, "173456789", a_number="A099999999", i94="94000000002", passport="P7000001"
        )
        submit_instant(by_passport, "183456789", a_number="A099999998", passport="P7000002")
        submit_instant(nothing, "193456789", a_number="A099999997", i94="94000000009")
    assert set(findings("DHS-NOTFOUND")) == {nothing.pk}
    identity = findings("DHS-IDENTITY")
    # The others' records agree with them: the right ones were found.
    assert set(identity) == {by_a_number.pk, by_passport.pk}
    assert identity[by_a_number.pk].evidence == {
        "dhs_id": a_number_record.pk,
        "matched_by": "a_number",
    }
    assert identity[by_passport.pk].evidence == {
        "dhs_id": passport_record.pk,
        "matched_by": "passport",
    }


def test_a_near_name_is_a_low_review_lead_and_a_known_nickname_raises_nothing(world, matcher):
    """The identity rule judges names on the shared scale: both names near (transliterations)
    are for review (low), one near name with the SSN, the date of birth and the other name
    agreeing is a lawful variant (a typo or a transliteration: nothing), a nickname from the
    tables is the same name, a different name is a mismatch."""
    emp = world.employer()
    world.numident("423456780", "Samir", "Haddad", DOB)
    near = world.case(emp, "423456780", "Sameer", "Hadded", DOB)
    world.numident("423456783", "Samir", "Haddad", DOB)
    lone = world.case(emp, "423456783", "Sameer", "Haddad", DOB)
    world.numident("423456784", "Joshua", "Jones", DOB)
    typo = world.case(emp, "423456784", "Joshuq", "Jones", DOB)
    world.numident("423456785", "Joshua", "Jones", date(1960, 1, 1))
    typo_other_day = world.case(emp, "423456785", "Joshuq", "Jones", DOB)
    world.numident("423456781", "Sandra", "White", DOB)
    nickname = world.case(emp, "423456781", "Sandy", "White", DOB)
    world.numident("423456782", "Olga", "White", DOB)
    other = world.case(emp, "423456782", "Priya", "White", DOB)
    run_rules(matcher, "SSA-IDENTITY")
    got = findings("SSA-IDENTITY")
    assert got[near.pk].severity == "low"
    assert lone.pk not in got
    assert typo.pk not in got
    assert got[typo_other_day.pk].severity == "high"  # the name is near, the date disagrees
    assert nickname.pk not in got
    assert got[other.pk].severity == "medium"


def test_dhs_identity_judges_a_near_name_as_ssa_identity_does(world, matcher):
    """A transliteration against the DHS record is a low review lead, not a fraud-level mismatch."""
    emp = world.employer()
    world.dhs(a_number="A022222221", first="Samir", last="Haddad", dob=DOB)
    near = world.case(
        emp,
        "153456781",
        "Sameer",
        "Hadded",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A022222221",
    )
    world.dhs(a_number="A022222222", first="Olga", last="Haddad", dob=DOB)
    other = world.case(
        emp,
        "153456782",
        "Priya",
        "Haddad",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A022222222",
    )
    world.dhs(a_number="A022222223", first="Samir", last="Haddad", dob=date(1960, 1, 1))
    near_and_dob = world.case(
        emp,
        "153456783",
        "Sameer",
        "Haddad",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A022222223",
    )
    world.dhs(a_number="A022222224", first="Samir", last="Haddad", dob=DOB)
    lone = world.case(
        emp,
        "153456784",
        "Sameer",
        "Haddad",
        DOB,
        citizenship_status="permanent_resident",
        a_number="A022222224",
    )
    run_rules(matcher, "DHS-IDENTITY")
    got = findings("DHS-IDENTITY")
    assert lone.pk not in got  # one near name, everything else agreeing: a lawful variant
    assert got[near.pk].severity == "low"
    assert got[other.pk].severity == "medium"
    assert got[near_and_dob.pk].severity == "high"  # the date of birth disagrees as well
    assert got[near.pk].score < got[other.pk].score
