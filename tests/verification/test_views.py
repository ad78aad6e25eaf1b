"""The screens: every persona x every route, the verifier's resolution, the admin's key management."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from privacy.policy import decide
from tests.verification.conftest import i9
from verification import services
from verification.models import CaseStatus, Employer, EmployerApiKey

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "sam", "adam", "audrey", "vera", "sally", "petra", "eddie"]


@pytest.fixture
def referred(employer, ssa):
    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="John", last_name="Smith")
    )
    services.case_fan_issue(actor=None, case=case)
    services.case_decide(actor=None, case=case, decision="take_action")
    return services.case_refer(actor=None, case=case)


def allowed(user, action, category):
    return decide(user, action=action, category=category).allowed


@pytest.mark.parametrize("persona", PERSONAS)
def test_case_screens_follow_the_policy_for_every_persona(request, login, persona, referred):
    user = request.getfixturevalue(persona)
    client = login(user)
    can_view = allowed(user, "view", "verification_cases")
    can_change = allowed(user, "change", "verification_cases")
    assert client.get("/verification/cases/").status_code == (200 if can_view else 403)
    assert client.get(f"/verification/cases/{referred.pk}/").status_code == (
        200 if can_view else 404
    )
    response = client.post(
        f"/verification/cases/{referred.pk}/resolve/",
        {"resolution": "continuance", "note": "More time"},
    )
    assert response.status_code == (302 if can_change else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_employer_screens_follow_the_policy_for_every_persona(request, login, persona, employer):
    user = request.getfixturevalue(persona)
    client = login(user)
    can = allowed(user, "change", "employer_data")
    assert client.get("/verification/employers/").status_code == (200 if can else 403)
    assert client.get(f"/verification/employers/{employer.pk}/").status_code == (
        200 if can else 403
    )
    assert client.post(
        f"/verification/employers/{employer.pk}/keys/", {"label": "x", "valid_days": 30}
    ).status_code == (200 if can else 403)


@pytest.mark.parametrize(
    "path",
    [
        "/verification/cases/",
        "/verification/cases/1/",
        "/verification/employers/",
        "/verification/employers/new/",
    ],
)
def test_anonymous_and_api_keys_are_sent_to_sign_in(path, api_key):
    assert Client().get(path).status_code == 302
    assert Client().get(path, HTTP_AUTHORIZATION=f"Bearer {api_key.raw}").status_code == 302


def test_case_screens_need_a_second_factor(login, vera, referred):
    client = login(vera, verify=False)
    response = client.get(f"/verification/cases/{referred.pk}/")
    assert response.status_code == 302
    assert "2fa" in response["Location"]


@pytest.fixture
def vera_reads_numident(directory, vera):
    """USCIS's status verifier holds a grant under an SSA-to-USCIS agreement for SSA identity data."""
    from datetime import timedelta

    from django.utils import timezone

    from privacy.models import AgreementKind, Role
    from privacy.services import agreement_activate, agreement_create, grant_create
    from tests.factories import UserFactory

    admin = UserFactory(
        username="ssa-uscis-admin",
        unit=directory["uscis_monitoring"],
        roles=[Role.ADMIN],
        is_staff=True,
    )
    today = timezone.localdate()
    agreement = agreement_activate(
        actor=admin,
        agreement=agreement_create(
            actor=admin,
            reference="ssa-uscis-2026",
            title="SSA to USCIS status verification",
            kind=AgreementKind.MOU,
            source_agency=directory["ssa"],
            recipient_agency=directory["uscis"],
            purpose="Resolve referred SSA mismatches.",
            legal_authority="8 U.S.C. 1324a note",
            routine_use="SSA routine use",
            scope={"ssa_identity": ["view", "search"]},
            effective_on=today - timedelta(days=30),
            expires_on=today + timedelta(days=300),
        ),
    )
    grant_create(actor=admin, user=vera, role=Role.STATUS_VERIFIER, agreement=agreement)
    return agreement


def test_the_verifier_sees_the_comparison_with_the_mismatch_marked(
    login, vera, vera_reads_numident, referred
):
    page = login(vera).get(f"/verification/cases/{referred.pk}/").content.decode()
    assert "Garcia Lopez" in page  # the reference value beside the submitted one
    assert 'class="mismatch"' in page
    assert "521874390" not in page
    assert "•••4390" in page


def test_the_verifier_resolves_a_referred_case_as_confirmed(login, vera, referred):
    response = login(vera).post(
        f"/verification/cases/{referred.pk}/resolve/", {"resolution": "confirmed", "note": ""}
    )
    assert response.status_code == 302
    referred.refresh_from_db()
    assert referred.result == CaseStatus.EMPLOYMENT_AUTHORIZED
    assert referred.resolved_by == vera


def test_a_corrected_record_needs_a_note_without_pii(login, vera, referred):
    client = login(vera)
    assert (
        client.post(
            f"/verification/cases/{referred.pk}/resolve/",
            {"resolution": "corrected_record", "note": ""},
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/verification/cases/{referred.pk}/resolve/",
            {"resolution": "corrected_record", "note": "SSN 521874390"},
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/verification/cases/{referred.pk}/resolve/",
            {"resolution": "corrected_record", "note": "Name updated"},
        ).status_code
        == 302
    )


def test_the_verifier_records_contact(login, vera, referred):
    assert (
        login(vera)
        .post(
            f"/verification/cases/{referred.pk}/contact/",
            {"contacted_on": referred.referred_on.isoformat()},
        )
        .status_code
        == 302
    )
    referred.refresh_from_db()
    assert referred.contacted_on == referred.referred_on


def test_the_queue_lists_without_n_plus_one(
    login, vera, employer, ssa, django_assert_max_num_queries
):
    client = login(vera)
    for n in range(5):
        case = services.case_create(
            actor=None,
            employer=employer,
            data=i9(first_name="John", last_name="Smith", duplicate_reason="rehire" if n else ""),
        )
        services.case_fan_issue(actor=None, case=case)
        services.case_decide(actor=None, case=case, decision="take_action")
        services.case_refer(actor=None, case=case)
    with django_assert_max_num_queries(20):
        response = client.get("/verification/cases/")
    assert response.content.decode().count("/verification/cases/") >= 5


def test_admin_enrols_an_employer(login, adam):
    client = login(adam)
    response = client.post(
        "/verification/employers/new/",
        {
            "ein": "23-4567890",
            "name": "New Co",
            "naics": "722511",
            "state": "TX",
            "mou_signed_on": "2026-01-15",
        },
    )
    assert response.status_code == 302
    employer = Employer.objects.get(ein="234567890")
    assert (employer.name, employer.naics, employer.state) == ("New Co", "722511", "TX")
    assert employer.mou_signed_on.isoformat() == "2026-01-15"
    assert employer.enrolled_by == adam
    assert response["Location"].endswith(f"/verification/employers/{employer.pk}/")
    assert AuditEvent.objects.filter(
        action="employer.enrolled", actor_id=adam.pk, object_id=str(employer.pk)
    ).exists()
    bad = client.post(
        "/verification/employers/new/",
        {
            "ein": "07-0000000",
            "name": "",
            "naics": "x",
            "state": "ZZ",
            "mou_signed_on": "2026-01-15",
        },
    )
    assert bad.status_code == 400
    assert not Employer.objects.filter(ein="070000000").exists()
    errors = bad.context["form"].errors
    assert {"name", "naics", "state"} <= set(errors)


def test_admin_issues_rotates_and_revokes_keys_shown_once(login, adam, employer):
    client = login(adam)
    issued = client.post(
        f"/verification/employers/{employer.pk}/keys/", {"label": "Payroll", "valid_days": 90}
    )
    assert issued.status_code == 200
    assert issued["Cache-Control"] == "no-store"
    key = EmployerApiKey.objects.get(employer=employer, label="Payroll")
    assert "ccv1_" in issued.content.decode()
    detail = client.get(f"/verification/employers/{employer.pk}/").content.decode()
    assert key.prefix in detail
    assert key.key_hash not in detail
    rotated = client.post(f"/verification/keys/{key.pk}/rotate/")
    assert rotated.status_code == 200
    new = EmployerApiKey.objects.get(replaces=key)
    assert client.post(f"/verification/keys/{new.pk}/revoke/").status_code == 302
    new.refresh_from_db()
    assert new.revoked_at is not None


# vera (USCIS) sees the document number's last four on the case page, and no SSN: the reveal
# tests ask for the document number, the full X1234567 of `i9()`.
DOCUMENT = {"field": "document_number", "reason": "Caller verification for referral contact"}


def test_revealing_a_full_identifier_needs_a_reason_and_is_audited(login, vera, referred):
    from audit.models import AuditEvent

    client = login(vera)
    assert (
        client.post(
            f"/verification/cases/{referred.pk}/reveal/", {**DOCUMENT, "reason": "short"}
        ).status_code
        == 400
    )
    response = client.post(f"/verification/cases/{referred.pk}/reveal/", DOCUMENT)
    assert response.status_code == 200
    assert "X1234567" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.filter(action="vcase.identifier_revealed").get()
    assert event.justification == "Caller verification for referral contact"
    assert "X1234567" not in str(event.detail)


def test_only_users_who_may_change_cases_can_reveal(login, alice, referred):
    assert (
        login(alice)
        .post(
            f"/verification/cases/{referred.pk}/reveal/",
            {"field": "ssn", "reason": "Just curious about it"},
        )
        .status_code
        == 404
    )


def test_a_closed_case_offers_no_reveal_and_the_endpoint_refuses_one(login, vera, referred):
    services.case_close(actor=None, case=referred, code="voluntarily_quit")
    client = login(vera)
    page = client.get(f"/verification/cases/{referred.pk}/").content.decode()
    assert f"/verification/cases/{referred.pk}/reveal/" not in page
    response = client.post(f"/verification/cases/{referred.pk}/reveal/", DOCUMENT)
    assert response.status_code == 403
    assert "X1234567" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="vcase.identifier_revealed").exists()


def test_an_identifier_the_page_withholds_cannot_be_revealed(login, vera, referred):
    client = login(vera)
    page = client.get(f"/verification/cases/{referred.pk}/").content.decode()
    assert "withheld (outside your agreement)" in page  # vera's SSN line: no SSA identity data
    assert 'value="ssn"' not in page
    response = client.post(
        f"/verification/cases/{referred.pk}/reveal/",
        {"field": "ssn", "reason": "Caller verification for referral contact"},
    )
    assert response.status_code == 400
    assert "521874390" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="vcase.identifier_revealed").exists()


def test_the_reveal_service_refuses_what_the_page_does_not_offer(vera, referred, rf):
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.case_identifier_reveal(
            actor=vera, case=referred, field="ssn", reason=DOCUMENT["reason"], request=rf.get("/")
        )
    assert not AuditEvent.objects.filter(action="vcase.identifier_revealed").exists()


def test_a_reveal_needs_a_recent_second_factor_check(login, vera, referred, settings):
    import time_machine
    from django.utils import timezone

    from audit.models import AuditEvent

    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = login(vera)
        clock.shift(settings.PRIVACY_REVEAL_REVERIFY_SECONDS + 60)
        response = client.post(f"/verification/cases/{referred.pk}/reveal/", DOCUMENT)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/")
    assert "X1234567" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="vcase.identifier_revealed").exists()


def test_reveals_beyond_the_rate_limit_are_refused(login, vera, referred, settings):
    import time_machine
    from django.utils import timezone

    from audit.models import AuditEvent

    settings.PRIVACY_SENSITIVE_RATE_PER_MINUTE = 2
    # The limit counts per clock minute: the clock stands still so the three fall in one minute.
    with time_machine.travel(timezone.now(), tick=False):
        client = login(vera)
        codes = [
            client.post(f"/verification/cases/{referred.pk}/reveal/", DOCUMENT).status_code
            for _ in range(3)
        ]
    assert codes == [200, 200, 429]
    assert AuditEvent.objects.filter(action="vcase.identifier_revealed").count() == 2


def test_a_partner_agencys_view_is_accounted_for_once_per_person(login, petra, vera, referred):
    from privacy.models import Disclosure

    client = login(petra)
    client.get(f"/verification/cases/{referred.pk}/")
    entry = Disclosure.objects.get(record_type="verification.case", record_id=str(referred.pk))
    assert entry.recipient_username == "petra"
    assert entry.accountable  # Texas is another department than DHS
    assert entry.person_ref == f"worker:{referred.worker_id}"
    # The home agency's own staff make no entry.
    login(vera).get(f"/verification/cases/{referred.pk}/")
    assert Disclosure.objects.count() == 1


def test_a_partner_without_ssa_identity_in_its_agreement_sees_no_numident_values(
    login, petra, sally, employer, ssa
):
    from verification import selectors
    from verification.models import CaseComparison

    case = services.case_create(
        actor=None, employer=employer, data=i9(first_name="Jon", last_name="Smithe")
    )
    reference_values = {
        c.reference_value
        for c in CaseComparison.objects.filter(case=case, source="ssa")
        if c.reference_value and c.reference_value != c.submitted_value
    }
    assert reference_values, "the instant result compared the case with Numident"
    # SSA's own staff see the Numident side; the state partner's agreement has no SSA identity data.
    assert {c.source for c in selectors.comparisons_for_case(case=case, user=sally)} >= {"ssa"}
    assert not selectors.comparisons_for_case(case=case, user=petra).filter(source="ssa").exists()
    partner_page = login(petra).get(f"/verification/cases/{case.pk}/")
    assert partner_page.status_code == 200
    assert not any(value in partner_page.content.decode() for value in reference_values)
