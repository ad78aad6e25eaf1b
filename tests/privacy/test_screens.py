"""The privacy screens in the browser's shoes: admins manage, others are refused, services do the work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from privacy.models import Agreement, AgreementStatus, Invitation, RoleGrant, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/privacy/agencies/",
        "/privacy/users/",
        "/privacy/agreements/",
        "/privacy/recertification/",
        "/privacy/requests/",
        "/privacy/retention/",
        "/privacy/disclosures/",
        "/privacy/notifications/",
        "/privacy/users/invite/",
        "/privacy/agreements/new/",
        "/privacy/requests/new/",
        "/privacy/agencies/new/",
    ],
)
def test_the_admin_reaches_every_privacy_screen(login, adam, url):
    response = login(adam).get(url)
    assert response.status_code == 200, url


@pytest.mark.parametrize("bad", [{"q": "al\x00ice"}, {"agency": "ice\x00"}])
def test_the_user_directory_leaves_out_a_search_with_a_nul_and_says_so(login, adam, alice, bad):
    """PostgreSQL cannot hold a NUL in a string: the search reached it and was a 500."""
    response = login(adam).get("/privacy/users/", bad)
    assert response.status_code == 200
    body = response.content.decode()
    assert "A search with a NUL character was not applied." in body
    assert "\x00" not in body
    assert "alice" in body  # the list, unfiltered


def test_an_analyst_is_refused_the_admin_screens(login, alice):
    client = login(alice)
    for url in (
        "/privacy/users/",
        "/privacy/agreements/",
        "/privacy/retention/",
        "/privacy/requests/",
    ):
        assert client.get(url).status_code == 403, url


def test_the_admin_drafts_and_activates_an_agreement_in_the_browser(login, adam, directory):
    client = login(adam)
    today = timezone.localdate()
    response = client.post(
        "/privacy/agreements/new/",
        {
            "reference": "uscis-twc-pilot",
            "title": "Pilot",
            "kind": "mou",
            "source_agency": directory["uscis"].pk,
            "recipient_agency": directory["twc"].pk,
            "purpose": "Pilot",
            "legal_authority": "8 U.S.C. 1324a",
            "routine_use": "H",
            "disclosure_basis": "b3",
            "justification": "",
            "data_elements": "",
            "effective_on": today.isoformat(),
            "expires_on": (today + timedelta(days=90)).isoformat(),
            "scope_cells": ["verification_cases:view", "verification_cases:search"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get(reference="uscis-twc-pilot")
    assert agreement.scope == {"verification_cases": ["view", "search"]}
    client.post(f"/privacy/agreements/{agreement.pk}/activate/")
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE
    page = client.get(f"/privacy/agreements/{agreement.pk}/")
    assert b"Pilot" in page.content


def test_a_user_invited_sets_a_password_and_is_sent_to_2fa_enrolment(
    login, adam, directory, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(adam).post(
            "/privacy/users/invite/",
            {
                "username": "newbie",
                "first_name": "New",
                "last_name": "Bie",
                "email": "newbie@example.test",
                "unit": directory["unit_a"].pk,
                "roles": ["analyst"],
            },
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    token = mail.outbox[0].body.split("/accounts/invitation/")[1].split("/")[0]
    assert Invitation.objects.get(user__username="newbie").accepted_at is None
    response = client.post(
        f"/accounts/invitation/{token}/",
        {"password1": "a-very-long-pass-phrase-9", "password2": "a-very-long-pass-phrase-9"},
    )
    assert response.status_code == 302
    response = client.post(
        "/accounts/login/", {"username": "newbie", "password": "a-very-long-pass-phrase-9"}
    )
    assert response["Location"].startswith("/accounts/2fa/enrol/")
    assert client.get(f"/accounts/invitation/{token}/").status_code == 404  # single use


def test_deactivating_a_user_ends_all_their_sessions_at_once(login, adam, alice):
    first, second = login(alice), login(alice, verify=False)  # a TOTP code works once
    assert first.get("/").status_code == 200
    login(adam).post(f"/privacy/users/{alice.pk}/deactivate/", {"reason": "Left the agency"})
    assert not User.objects.get(pk=alice.pk).is_active
    for client in (first, second):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(
        action="directory.user_deactivated", detail__sessions_ended=2
    ).exists()


def test_the_admin_gives_and_revokes_a_grant(login, adam, petra, partner_agreements):
    client = login(adam)
    client.post(
        f"/privacy/users/{petra.pk}/grants/",
        {"role": "analyst", "agreement": partner_agreements["uscis"].pk},
    )
    grant = RoleGrant.objects.filter(user=petra).order_by("-id").first()
    client.post(f"/privacy/grants/{grant.pk}/revoke/", {"reason": "No longer needed"})
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_the_api_lists_agreements_and_the_accounting_for_readers_only(
    login, adam, alice, petra, partner_agreements
):
    client = login(adam)
    body = client.get("/api/privacy/agreements/").json()
    assert {a["reference"] for a in body} >= {"uscis-twc-2026", "ice-twc-2026"}
    assert client.get("/api/privacy/disclosures/?person=person:1&for_subject=1").status_code == 200
    assert client.get("/api/privacy/disclosures/").status_code == 400
    assert login(alice).get("/api/privacy/agreements/").status_code == 403


def test_the_api_tells_a_partner_what_she_may_do_and_opens_break_glass(login, petra, directory):
    client = login(petra)
    access = client.get("/api/privacy/me/access/").json()
    assert access["verification_cases"]["view"] == ["uscis"]
    assert access["ssa_identity"]["view"] == []
    response = client.post(
        "/api/privacy/break-glass/",
        {"subject_ref": "case:9", "justification": "short"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "justification" in response.json()["error"]["fields"]
    response = client.post(
        "/api/privacy/break-glass/",
        {
            "subject_ref": "case:9",
            "justification": "The case agent is on leave; a hearing is tomorrow.",
        },
        content_type="application/json",
    )
    assert response.status_code == 201


def test_an_unverified_session_cannot_use_the_privacy_api(login, adam):
    assert login(adam, verify=False).get("/api/privacy/agreements/").status_code == 403
