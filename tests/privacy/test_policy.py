"""The access policy through the database: home roles, grants under agreements, validity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import IllegalTransition, ValidationFailed
from privacy import policy
from privacy.models import Agreement, AgreementKind, AgreementStatus, Role
from privacy.policy import Action, DataCategory, decide
from privacy.services import (
    agreement_activate,
    agreement_approve,
    agreement_create,
    agreement_renew,
    agreement_suspend,
    agreement_update,
    grant_create,
    grant_revoke,
)

pytestmark = pytest.mark.django_db


def test_a_home_analyst_works_her_own_agencys_data(alice):
    decision = decide(alice, action=Action.VIEW, category=DataCategory.ENFORCEMENT)
    assert decision.allowed
    assert decision.basis == "home"
    assert not decision.accountable


def test_a_partner_inside_an_active_mou_sees_the_covered_categories_as_an_accountable_disclosure(
    petra, partner_agreements
):
    decision = decide(petra, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES)
    assert decision.allowed
    assert decision.basis == "b3"
    assert decision.accountable
    assert decision.agreement_id == partner_agreements["uscis"].pk


def test_a_partner_is_refused_categories_and_actions_outside_the_scope(petra):
    assert not decide(petra, action=Action.VIEW, category=DataCategory.SSA_IDENTITY).allowed
    assert not decide(petra, action=Action.CHANGE, category=DataCategory.VERIFICATION_CASES).allowed
    assert not decide(petra, action=Action.EXPORT, category=DataCategory.EMPLOYER_DATA).allowed


def test_a_partner_whose_mou_expired_yesterday_is_refused(eddie):
    decision = decide(eddie, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES)
    assert not decision.allowed
    assert decision.reason == "the agreement is not in force"


def test_suspending_an_agreement_cuts_access_at_once(petra, partner_agreements):
    agreement_suspend(
        actor=partner_agreements["admin"],
        agreement=partner_agreements["uscis"],
        reason="Audit finding",
    )
    assert not decide(petra, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES).allowed


def test_a_revoked_grant_stops_working(petra, partner_agreements):
    for grant in petra.grants.all():
        grant_revoke(actor=partner_agreements["admin"], grant=grant, reason="Left the unit")
    assert not decide(petra, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES).allowed


def test_within_one_department_access_under_an_agreement_is_b1_and_not_accountable(
    directory, alice, adam
):
    mou = agreement_create(
        actor=adam,
        reference="uscis-ice",
        title="USCIS to ICE",
        kind=AgreementKind.MOU,
        source_agency=directory["uscis"],
        recipient_agency=directory["ice"],
        purpose="Worksite enforcement leads",
        legal_authority="8 U.S.C. 1103",
        scope={"verification_cases": ["view"]},
        effective_on=timezone.localdate(),
        expires_on=timezone.localdate() + timedelta(days=90),
    )
    agreement_activate(actor=adam, agreement=mou)
    grant_create(actor=adam, user=alice, role=Role.ANALYST, agreement=mou)
    decision = decide(alice, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES)
    assert decision.allowed
    assert decision.basis == "b1"
    assert not decision.accountable


def test_the_role_must_allow_the_action_even_when_the_scope_does(directory, adam):
    from tests.factories import UserFactory

    auditor = UserFactory(username="twc-auditor", unit=directory["twc_unit"], roles=[])
    mou = agreement_create(
        actor=adam,
        reference="x",
        title="x",
        source_agency=directory["uscis"],
        recipient_agency=directory["twc"],
        purpose="p",
        legal_authority="a",
        scope={"verification_cases": ["view"]},
        effective_on=timezone.localdate(),
        expires_on=timezone.localdate() + timedelta(days=9),
    )
    agreement_activate(actor=adam, agreement=mou)
    grant_create(actor=adam, user=auditor, role=Role.AUDITOR, agreement=mou)
    assert not decide(auditor, action=Action.VIEW, category=DataCategory.VERIFICATION_CASES).allowed


def test_a_grant_must_be_under_an_agreement_naming_the_users_agency(
    directory, alice, partner_agreements
):
    with pytest.raises(ValidationFailed):
        grant_create(
            actor=partner_agreements["admin"],
            user=alice,
            role=Role.ANALYST,
            agreement=partner_agreements["uscis"],
        )


def test_agreement_owner_ids_lists_the_agencies_reached_through_agreements(petra, directory):
    assert policy.agreement_owner_ids(petra, action="view", category="investigations") == [
        directory["ice"].pk
    ]
    assert policy.allowed_owner_ids(petra, action="view", category="investigations") == [
        directory["twc"].pk,
        directory["ice"].pk,
    ]


def _matching(directory, adam, **overrides):
    today = timezone.localdate()
    fields = {
        "reference": "ssa-uscis-cma",
        "title": "SSA-USCIS CMA",
        "kind": AgreementKind.MATCHING,
        "source_agency": directory["ssa"],
        "recipient_agency": directory["uscis"],
        "purpose": "Verify employment eligibility",
        "legal_authority": "8 U.S.C. 1324a note",
        "scope": {"ssa_identity": ["view", "run_matching"]},
        "effective_on": today,
        "expires_on": today + timedelta(days=540),
    }
    fields.update(overrides)
    return agreement_create(actor=adam, **fields)


def test_a_matching_agreement_lasts_at_most_18_months(directory, adam):
    with pytest.raises(ValidationFailed) as err:
        _matching(directory, adam, expires_on=timezone.localdate() + timedelta(days=600))
    assert "18 months" in str(err.value.field_errors)


def test_a_matching_agreement_needs_the_board_and_a_signed_copy_before_it_is_active(
    directory, adam
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from privacy.services import agreement_document_upload

    cma = _matching(directory, adam)
    with pytest.raises(IllegalTransition):
        agreement_activate(actor=adam, agreement=cma)
    agreement_approve(actor=adam, agreement=cma, dib_reference="DIB 2026-04")
    with pytest.raises(IllegalTransition):
        agreement_activate(actor=adam, agreement=cma)
    agreement_document_upload(
        actor=adam, agreement=cma, document=SimpleUploadedFile("signed.pdf", b"%PDF-1.4 test")
    )
    assert agreement_activate(actor=adam, agreement=cma).status == AgreementStatus.ACTIVE


def test_a_matching_agreement_renews_once_by_at_most_twelve_months(
    directory, adam, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from privacy.services import agreement_document_upload

    settings.MEDIA_ROOT = tmp_path
    cma = _matching(directory, adam)
    agreement_approve(actor=adam, agreement=cma, dib_reference="DIB 2026-04")
    agreement_document_upload(
        actor=adam, agreement=cma, document=SimpleUploadedFile("signed.pdf", b"%PDF-1.4 test")
    )
    agreement_activate(actor=adam, agreement=cma)
    with pytest.raises(ValidationFailed):
        agreement_renew(actor=adam, agreement=cma, expires_on=cma.expires_on + timedelta(days=400))
    renewed = agreement_renew(
        actor=adam, agreement=cma, expires_on=cma.expires_on + timedelta(days=360)
    )
    assert renewed.original_expires_on == cma.expires_on
    with pytest.raises(IllegalTransition):
        agreement_renew(
            actor=adam, agreement=renewed, expires_on=renewed.expires_on + timedelta(days=30)
        )


def test_an_active_agreements_terms_cannot_be_edited(partner_agreements):
    with pytest.raises(IllegalTransition):
        agreement_update(
            actor=partner_agreements["admin"],
            agreement=partner_agreements["uscis"],
            scope={"ssa_identity": ["view"]},
        )
    assert (
        Agreement.objects.get(pk=partner_agreements["uscis"].pk).scope.get("ssa_identity") is None
    )
