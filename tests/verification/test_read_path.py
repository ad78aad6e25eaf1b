"""The one read path: minimisation by the reader's agreements and the accounting of what was shown.

The reported leak: a partner analyst whose agreement covers verification cases and employer data,
but not SSA identity nor DHS immigration data, opened /verification/cases/<id>/ and saw the full
date of birth and the last four of the SSN and A-Number, and could list every case the same way.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from privacy.models import AgreementKind, Disclosure, Role
from privacy.reads import Minimised, hidden_fields, minimised_records
from privacy.services import agreement_activate, agreement_create, grant_create
from tests.factories import UserFactory
from tests.verification.conftest import i9
from verification import services
from verification.selectors import CASE_FIELD_CATEGORIES

pytestmark = pytest.mark.django_db

DOB = date(1979, 11, 23)
SSN = "521-87-4390"
A_NUMBER = "A098765432"


@pytest.fixture
def noncitizen_case(employer, ssa):
    case = services.case_create(
        actor=None,
        employer=employer,
        data=i9(
            date_of_birth=DOB,
            citizenship_status="permanent_resident",
            a_number=A_NUMBER,
            document_type="permanent_resident_card",
        ),
    )
    services.case_fan_issue(actor=None, case=case)
    services.case_decide(actor=None, case=case, decision="take_action")
    return services.case_refer(actor=None, case=case)


def _leaks(body: str) -> list[str]:
    """Every way the protected values could show in a page."""
    probes = {
        "dob iso": DOB.isoformat(),
        "dob us": DOB.strftime("%m/%d/%Y"),
        "dob long": "Nov. 23, 1979",
        "dob year-month": "1979-11",
        "ssn last4": "4390",
        "a-number last4": "5432",
    }
    return [name for name, value in probes.items() if value in body]


def test_the_partner_analyst_sees_no_dob_nor_last_fours_on_the_case_page(
    login, petra, noncitizen_case
):
    body = login(petra).get(f"/verification/cases/{noncitizen_case.pk}/").content.decode()
    assert "Garcia Lopez" in body  # verification-case data her agreement covers
    assert _leaks(body) == []
    assert "withheld" in body


def test_the_partner_analyst_sees_no_dob_nor_last_fours_in_the_list(login, petra, noncitizen_case):
    body = login(petra).get("/verification/cases/?status=referred").content.decode()
    assert f"/verification/cases/{noncitizen_case.pk}/" in body
    assert _leaks(body) == []


def test_the_home_verifier_still_sees_the_last_fours(login, vera, noncitizen_case):
    body = login(vera).get(f"/verification/cases/{noncitizen_case.pk}/").content.decode()
    assert "5432" in body  # USCIS's own A-Number data


def test_a_partner_read_is_audited_and_accounted_once_per_person(login, petra, noncitizen_case):
    client = login(petra)
    client.get(f"/verification/cases/{noncitizen_case.pk}/")
    [event] = AuditEvent.objects.filter(action="vcase.viewed", actor_id=petra.pk)
    assert f"worker:{noncitizen_case.worker_id}" in event.subjects
    [entry] = Disclosure.objects.filter(recipient_user_id=petra.pk, record_type="verification.case")
    assert entry.record_id == str(noncitizen_case.pk)
    assert entry.person_ref == f"worker:{noncitizen_case.worker_id}"
    assert entry.agreement_id is not None


def test_a_home_read_is_audited_but_not_a_disclosure(login, vera, noncitizen_case):
    login(vera).get(f"/verification/cases/{noncitizen_case.pk}/")
    assert AuditEvent.objects.filter(action="vcase.viewed", actor_id=vera.pk).count() == 1
    assert not Disclosure.objects.filter(recipient_user_id=vera.pk).exists()


def test_a_failed_form_post_renders_the_page_through_the_same_path(
    login, vera, petra, noncitizen_case
):
    # vera may change; a bad contact date re-renders the page (400), still accounted.
    response = login(vera).post(
        f"/verification/cases/{noncitizen_case.pk}/contact/", {"contacted_on": "not a date"}
    )
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="vcase.viewed", actor_id=vera.pk).count() == 1


def test_a_minimised_record_hides_its_fields_and_cannot_be_written(petra, noncitizen_case):
    [shown] = minimised_records(petra, [noncitizen_case], CASE_FIELD_CATEGORIES)
    assert isinstance(shown, Minimised)
    assert shown.date_of_birth is None
    assert shown.ssn_last4 is None
    assert shown.a_number_last4 is None
    assert shown.last_name == "Garcia Lopez"
    assert shown.record is noncitizen_case
    with pytest.raises(AttributeError):
        shown.date_of_birth = DOB


def test_an_expired_agreement_hides_every_categorised_field(eddie):
    assert hidden_fields(eddie, CASE_FIELD_CATEGORIES) == frozenset(CASE_FIELD_CATEGORIES)


@pytest.fixture
def vera_reads_ssa(directory, vera):
    """USCIS's status verifier holds a grant under an SSA-to-USCIS agreement for SSA identity data."""
    admin = UserFactory(
        username="ssa-admin", unit=directory["uscis_monitoring"], roles=[Role.ADMIN]
    )
    today = timezone.localdate()
    agreement = agreement_activate(
        actor=admin,
        agreement=agreement_create(
            actor=admin,
            reference="ssa-uscis-reads",
            title="SSA to USCIS status verification",
            kind=AgreementKind.MOU,
            source_agency=directory["ssa"],
            recipient_agency=directory["uscis"],
            purpose="Resolve referred SSA mismatches.",
            legal_authority="8 U.S.C. 1324a note",
            routine_use="SSA routine use",
            scope={"ssa_identity": ["view"]},
            effective_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
        ),
    )
    grant_create(actor=admin, user=vera, role=Role.STATUS_VERIFIER, agreement=agreement)
    return agreement


def test_ssa_values_beside_a_case_are_accounted_to_ssa(
    login, vera, vera_reads_ssa, directory, noncitizen_case
):
    """The comparisons' reference values are SSA's data: read at USCIS, an accountable entry."""
    ssa_values = noncitizen_case.comparisons.filter(source="ssa").exclude(reference_value="")
    assert ssa_values.exists()
    body = login(vera).get(f"/verification/cases/{noncitizen_case.pk}/").content.decode()
    assert ssa_values.first().reference_value in body
    [entry] = Disclosure.objects.all()  # the case and DHS's data are USCIS's own: no entry
    assert (entry.category, entry.owner_agency_id, entry.recipient_agency_id) == (
        "ssa_identity",
        directory["ssa"].pk,
        directory["uscis"].pk,
    )
    assert (entry.agreement_id, entry.accountable) == (vera_reads_ssa.pk, True)
    assert (entry.record_type, entry.record_id, entry.person_ref) == (
        "verification.case",
        str(noncitizen_case.pk),
        f"worker:{noncitizen_case.worker_id}",
    )
    [read] = AuditEvent.objects.filter(action="vcase.viewed", actor_id=vera.pk)
    assert "ssa_identity" in read.detail["categories"]


def test_without_ssa_in_the_agreement_no_ssa_values_are_shown_nor_accounted(
    login, vera, noncitizen_case
):
    login(vera).get(f"/verification/cases/{noncitizen_case.pk}/")
    assert not Disclosure.objects.exists()
    [read] = AuditEvent.objects.filter(action="vcase.viewed", actor_id=vera.pk)
    assert "ssa_identity" not in read.detail.get("categories", [])
