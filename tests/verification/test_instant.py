"""The instant result on lawful variants, mismatches, flags and DHS paths, through the real services."""

from datetime import date, timedelta

import pytest

from tests.verification.conftest import i9
from verification import services
from verification.models import CaseStatus, ClosureCode, TncSource

pytestmark = pytest.mark.django_db


def submit(employer, **overrides):
    return services.case_create(actor=None, employer=employer, data=i9(**overrides))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("Maria", "Garcia Lopez"),
        ("MARIA", "GARCÍA LÓPEZ"),
        ("Maria", "Garcia-Lopez"),
        ("Maria", "Lopez Garcia"),
        ("Maria", "Garcia"),
        ("Maria", "López"),
        ("María José", "Garcia Lopez"),
        ("Maria", "GarciaLopez"),
    ],
)
def test_lawful_name_variants_are_employment_authorized(employer, ssa, first, last):
    case = submit(employer, first_name=first, last_name=last)
    assert case.status == CaseStatus.CLOSED
    assert case.result == CaseStatus.EMPLOYMENT_AUTHORIZED
    assert case.closure_code == ClosureCode.EA_AUTOMATIC
    assert not case.comparisons.filter(outcome__in=["mismatch", "not_found", "flag"]).exists()


def test_a_different_name_is_an_ssa_mismatch_naming_the_field(employer, ssa):
    case = submit(employer, first_name="John", last_name="Smith")
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    assert case.tnc_source == TncSource.SSA
    last = case.comparisons.get(source="ssa", field="last_name")
    assert last.outcome == "mismatch"
    assert last.submitted_value == "Smith"
    assert last.reference_value == "Garcia Lopez"
    assert last.score < 50
    assert case.decision_due_on is not None


def test_a_near_name_is_authorized_with_a_name_review(employer, ssa):
    """Both names only near (another spelling of each): authorized, with a name review."""
    case = submit(employer, first_name="Marja", last_name="Garsya Lopes")
    assert case.status == CaseStatus.EMPLOYMENT_AUTHORIZED
    assert case.name_review_requested


def test_one_name_spelt_as_it_sounds_with_the_rest_agreeing_is_authorized_and_closed(employer, ssa):
    """The SSN, the date of birth and the given name agree; the surname is another spelling of
    the same sound: a lawful variant, closed automatically, with no review for anybody."""
    case = submit(employer, first_name="Maria", last_name="Garsya Lopes")
    assert case.status == CaseStatus.CLOSED
    assert not case.name_review_requested
    last = case.comparisons.get(source="ssa", field="last_name")
    assert last.outcome == "variant"


def test_a_dob_day_month_swap_is_a_mismatch_marked_clerical(employer, ssa):
    case = submit(employer, date_of_birth=date(1990, 12, 4))
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    assert case.comparisons.get(field="date_of_birth").hint == "dob_day_month_swap"


def test_a_transposed_ssn_is_not_found_with_a_transposition_hint(employer, ssa):
    case = submit(employer, ssn="521-87-3490")
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    ssn = case.comparisons.get(field="ssn")
    assert ssn.outcome == "not_found"
    assert ssn.hint == "ssn_transposition"
    assert ssn.reference_value.endswith("4390")


def test_an_unknown_ssn_is_an_ssa_mismatch(employer, ssa):
    case = submit(employer, ssn="111-22-3333")
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    assert case.comparisons.get(field="ssn").hint == ""


@pytest.mark.parametrize(
    ("ssn", "first", "field"),
    [("345-67-8901", "Deceased", "death"), ("456-78-9012", "Locked", "ssn_lock")],
)
def test_deceased_and_locked_ssns_are_mismatches(employer, ssa, ssn, first, field):
    case = submit(employer, ssn=ssn, first_name=first, last_name="Person")
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    assert case.comparisons.get(field=field).outcome == "flag"


def noncitizen(**overrides):
    today = date.today()
    data = {
        "ssn": "567-89-0123",
        "first_name": "Nadia",
        "last_name": "Haddad",
        "date_of_birth": date(1992, 2, 20),
        "citizenship_status": "authorized_alien",
        "a_number": "A012345678",
        "document_type": "employment_authorization",
        "document_number": "EAD0001234",
        "document_expires_on": today + timedelta(days=300),
    }
    data.update(overrides)
    return data


@pytest.fixture
def dhs(load_ref):
    today = date.today()
    return load_ref(
        "dhs",
        [
            {
                "a_number": "012345678",
                "first_name": "Nadia",
                "last_name": "Haddad",
                "date_of_birth": "1992-02-20",
                "class_of_admission": "C09",
                "work_authorized_from": "2020-01-01",
                "work_authorized_until": (today + timedelta(days=300)).isoformat(),
            },
            {
                "a_number": "022222222",
                "first_name": "Li",
                "last_name": "Wei",
                "date_of_birth": "1988-07-01",
                "class_of_admission": "H1B",
                "work_authorized_from": "2019-01-01",
                "work_authorized_until": (today - timedelta(days=3)).isoformat(),
            },
            {
                "a_number": "033333333",
                "first_name": "Maria",
                "last_name": "Garcia Lopez",
                "date_of_birth": "1990-04-12",
                "class_of_admission": "IR1",
                "naturalized_on": "2015-06-01",
            },
        ],
    )


def test_an_authorized_noncitizen_matching_dhs_is_authorized(employer, ssa, dhs):
    case = submit(employer, **noncitizen())
    assert case.result == CaseStatus.EMPLOYMENT_AUTHORIZED, list(
        case.comparisons.values("source", "field", "outcome")
    )


def test_expired_work_authorization_is_a_dhs_mismatch(employer, ssa, dhs):
    case = submit(
        employer,
        **noncitizen(
            ssn="678-90-1234",
            first_name="Li",
            last_name="Wei",
            date_of_birth=date(1988, 7, 1),
            a_number="22222222",
        ),
    )
    assert case.status == CaseStatus.TENTATIVE_NONCONFIRMATION
    assert case.tnc_source == TncSource.DHS
    assert case.comparisons.get(field="work_authorization").hint == "expired"


def test_no_dhs_record_needs_more_time(employer, ssa, dhs):
    case = submit(employer, **noncitizen(a_number="099999999"))
    assert case.status == CaseStatus.NEEDS_MORE_TIME
    assert case.nmt_due_on is not None


def test_a_naturalized_citizen_with_stale_ssa_citizenship_is_authorized(employer, load_ref, dhs):
    from tests.verification.conftest import person

    load_ref("ssa", [person(citizenship="alien_authorized")])
    case = submit(employer)
    assert case.result == CaseStatus.EMPLOYMENT_AUTHORIZED
    assert case.comparisons.get(field="citizenship").hint == "stale_citizenship"


def test_a_citizen_ssa_cannot_confirm_and_dhs_does_not_know_needs_more_time(employer, ssa):
    case = submit(
        employer,
        ssn="567-89-0123",
        first_name="Nadia",
        last_name="Haddad",
        date_of_birth=date(1992, 2, 20),
    )
    assert case.status == CaseStatus.NEEDS_MORE_TIME


def test_of_several_dhs_records_of_one_number_the_one_born_that_day_is_read(load_ref):
    # The single submit's compiled query and the bulk import's rows must pick the same record.
    from privacy.crypto import blind_index
    from verification.instant import BulkLookup, Lookup, Submitted

    shared = {"a_number": "044444444", "class_of_admission": "C09"}
    load_ref(
        "dhs",
        [
            {**shared, "first_name": "Ana", "last_name": "Ruiz", "date_of_birth": "1980-01-02"},
            {**shared, "first_name": "Eva", "last_name": "Ruiz", "date_of_birth": "1991-05-06"},
            {
                "a_number": "055555555",
                "first_name": "Bo",
                "last_name": "Li",
                "date_of_birth": "1970-03-04",
            },
        ],
    )
    number = blind_index("044444444", kind="a_number")

    def sub(born: date, a_number: str = "044444444") -> Submitted:
        return Submitted(
            first_name="Eva",
            last_name="Ruiz",
            other_last_names="",
            date_of_birth=born,
            ssn="123456789",
            citizenship_status="authorized_alien",
            hire_date=date.today(),
            a_number=a_number,
        )

    subs = [
        sub(date(1991, 5, 6)),
        sub(date(1980, 1, 2)),
        sub(date(2000, 1, 1)),
        sub(date(1991, 5, 6), "055555555"),
    ]
    bulk = BulkLookup(subs)
    single = Lookup()
    picked = []
    for s in subs:
        bidx = blind_index(s.a_number, kind="a_number")
        one, many = (
            single.immigration("a_number", bidx, s.date_of_birth),
            bulk.immigration("a_number", bidx, s.date_of_birth),
        )
        assert one is not None
        assert (one.pk, one.first_name) == (many.pk, many.first_name)
        picked.append(one.first_name)
    assert picked == ["Eva", "Ana", "Ana", "Bo"]  # born that day, else the lowest id
    assert (
        single.immigration("a_number", blind_index("066666666", kind="a_number"), date(1991, 5, 6))
        is None
    )
    assert single.immigration("i94", number, date(1991, 5, 6)) is None  # an A-Number is no I-94
