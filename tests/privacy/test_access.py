"""Sensitive access: identifier reveals, the rate limit and anomalies, break-glass, recertification,
expiry warnings, the nightly tidy-up, and an agreement's expiry cutting access mid-session."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.cache import SessionStore
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms

from audit.models import AuditEvent
from core.errors import Forbidden, RateLimited, ValidationFailed
from privacy import selectors, services
from privacy.middleware import OTP_VERIFIED_AT
from privacy.models import Agreement, AgreementStatus, Notification, RoleGrant
from privacy.models.agreements import ItemDecision
from privacy.policy import decide
from privacy.services import ReverifyRequired

pytestmark = pytest.mark.django_db


def _request(user, *, verified_ago: float | None = 10):
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    if verified_ago is not None:
        request.session[OTP_VERIFIED_AT] = time.time() - verified_ago
    return request


def _reveal(user, request=None, purpose="Confirming identity for case 26-001"):
    return services.identifier_reveal(
        request=request or _request(user),
        actor=user,
        purpose=purpose,
        record_type="verification_case",
        record_id=7,
        field="ssn",
        reveal=lambda: "123-45-6789",
        person_ref="person:1",
    )


def test_a_reveal_needs_a_purpose_and_a_recent_second_factor(alice):
    with pytest.raises(ValidationFailed):
        _reveal(alice, purpose="x")
    with pytest.raises(ReverifyRequired):
        _reveal(alice, request=_request(alice, verified_ago=301))
    with pytest.raises(ReverifyRequired):
        _reveal(alice, request=_request(alice, verified_ago=None))
    assert _reveal(alice) == "123-45-6789"
    event = AuditEvent.objects.get(action="identifier.revealed")
    assert event.justification == "Confirming identity for case 26-001"
    assert event.subjects == ["person:1"]
    assert "6789" not in str(event.detail)


def test_the_second_factor_check_is_timed_in_the_session(login, alice):
    client = login(alice)
    assert time.time() - client.session[OTP_VERIFIED_AT] < 60


def test_more_than_n_reveals_a_minute_answer_429_and_raise_one_anomaly_for_supervisors(
    alice, sam, settings
):
    settings.PRIVACY_SENSITIVE_RATE_PER_MINUTE = 3
    with time_machine.travel(timezone.now(), tick=False):  # the limit counts per clock minute
        for _ in range(3):
            _reveal(alice)
        for _ in range(2):
            with pytest.raises(RateLimited) as err:
                _reveal(alice)
            assert err.value.status_code == 429
    assert AuditEvent.objects.filter(action="identifier.revealed").count() == 3
    anomaly = AuditEvent.objects.get(action="access.anomaly")
    assert anomaly.actor_username == "alice"
    assert anomaly.detail["kind"] == "reveal"
    assert Notification.objects.filter(user=sam, title__contains="alice").count() == 1


def test_ssn_searches_are_limited_by_the_same_helper(bob, settings):
    settings.PRIVACY_SENSITIVE_RATE_PER_MINUTE = 1
    with time_machine.travel(timezone.now(), tick=False):  # the limit counts per clock minute
        services.sensitive_rate_check(bob, "ssn_search")
        with pytest.raises(RateLimited):
            services.sensitive_rate_check(bob, "ssn_search")
        services.sensitive_rate_check(bob, "reveal")  # a separate counter


def test_break_glass_needs_a_written_justification_and_is_time_boxed(bob, sam, settings):
    settings.PRIVACY_BREAK_GLASS_HOURS = 4
    with pytest.raises(ValidationFailed):
        services.break_glass_open(actor=bob, subject_ref="case:42", justification="need it")
    grant = services.break_glass_open(
        actor=bob,
        subject_ref="case:42",
        justification="Subject arrested tonight; the case agent is unreachable.",
    )
    assert selectors.break_glass_active(user=bob, subject_ref="case:42")
    assert not selectors.break_glass_active(user=bob, subject_ref="case:43")
    assert services.break_glass_use(user=bob, subject_ref="case:42").uses == 1
    assert (
        AuditEvent.objects.filter(action="access.break_glass_used", detail__review=True).count()
        == 1
    )
    assert AuditEvent.objects.filter(action="access.break_glass_opened").exists()
    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        assert not selectors.break_glass_active(user=bob, subject_ref="case:42")
        assert services.break_glass_use(user=bob, subject_ref="case:42") is None
    with pytest.raises(Forbidden):
        services.break_glass_review(actor=bob, grant=grant)
    assert services.break_glass_review(actor=sam, grant=grant).reviewed_by == sam


def test_a_recertification_campaign_lapses_what_supervisors_did_not_confirm(
    adam, sam, alice, bob, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    kept = services.grant_create(actor=adam, user=alice, role="supervisor")
    revoked = services.grant_create(actor=adam, user=alice, role="auditor")
    services.grant_create(
        actor=adam, user=bob, role="supervisor"
    )  # another unit: no supervisor decides it
    with django_capture_on_commit_callbacks(execute=True):
        campaign = services.campaign_open(
            actor=adam, name="Q4 2026", deadline=today + timedelta(days=14)
        )
    assert any("Recertify" in m.subject for m in mail.outbox)
    items = list(selectors.recertification_items_for(supervisor=sam, campaign_id=campaign.pk))
    assert {i.grant_id for i in items} == {kept.pk, revoked.pk}
    services.recertification_decide(
        actor=sam, item=next(i for i in items if i.grant_id == kept.pk), confirm=True
    )
    services.recertification_decide(
        actor=sam,
        item=next(i for i in items if i.grant_id == revoked.pk),
        confirm=False,
        reason="Not needed",
    )
    with pytest.raises(Forbidden):
        services.recertification_decide(actor=bob, item=items[0], confirm=True)
    assert services.campaigns_close_due(on=today + timedelta(days=15)) == 1
    assert RoleGrant.objects.get(pk=kept.pk).lapsed_at is None
    assert RoleGrant.objects.get(pk=revoked.pk).revoked_at is not None
    bob_grant = RoleGrant.objects.get(user=bob)
    assert bob_grant.lapsed_at is not None
    assert campaign.items.get(grant=bob_grant).decision == ItemDecision.LAPSED


def test_admins_are_warned_30_7_and_1_days_before_an_agreement_expires_once_each(
    adam, partner_agreements, django_capture_on_commit_callbacks
):
    agreement = partner_agreements["uscis"]
    for days in (30, 7, 1):
        on = agreement.expires_on - timedelta(days=days)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.agreement_expiry_warnings_send(on=on) >= 1
            assert services.agreement_expiry_warnings_send(on=on) == 0
    titles = list(
        Notification.objects.filter(
            user=adam, title__startswith="Agreement uscis-twc-2026"
        ).values_list("title", flat=True)
    )
    assert sorted(titles) == sorted(
        [
            "Agreement uscis-twc-2026 expires in 30 days",
            "Agreement uscis-twc-2026 expires in 7 days",
            "Agreement uscis-twc-2026 expires in 1 day",
        ]
    )
    assert sum("uscis-twc-2026" in m.subject for m in mail.outbox) >= 3


def test_the_nightly_tidy_marks_expired_agreements_and_removes_permissions_no_grant_backs(
    petra, eddie, partner_agreements, expired_agreements, monkeypatch
):
    monkeypatch.setattr(Agreement, "privacy_category", "verification_cases", raising=False)
    kept_on = partner_agreements["uscis"]
    assign_perm("privacy.view_agreement", petra, kept_on)
    assign_perm("privacy.view_agreement", eddie, kept_on)
    result = services.grants_tidy()
    assert result == {"agreements_expired": 2, "object_permissions_removed": 1}
    assert (
        Agreement.objects.get(pk=expired_agreements["uscis"].pk).status == AgreementStatus.EXPIRED
    )
    assert get_perms(petra, kept_on) == ["view_agreement"]
    assert get_perms(eddie, kept_on) == []


def test_an_agreement_expiring_cuts_access_at_the_next_request_of_the_same_session(
    login, petra, partner_agreements
):
    client = login(petra)
    before = client.get("/privacy/me/").content.decode()
    assert "USCIS" in before
    assert decide(petra, action="view", category="verification_cases").allowed
    # midnight passes: the agreement's last day was yesterday; no job has run, the session goes on
    Agreement.objects.filter(pk=partner_agreements["uscis"].pk).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    after = client.get("/privacy/me/")
    assert after.status_code == 200  # still signed in
    assert "USCIS" not in after.content.decode()
    assert not decide(petra, action="view", category="verification_cases").allowed


def test_suspension_cuts_a_partners_verification_screens_mid_session(
    login, petra, partner_agreements
):
    url = reverse("verification:case-list")  # a renamed route fails here, it is never a skip
    client = login(petra)
    assert client.get(url).status_code == 200
    services.agreement_suspend(
        actor=partner_agreements["admin"],
        agreement=partner_agreements["uscis"],
        reason="Breach review",
    )
    assert client.get(url).status_code == 403


def test_a_missed_day_is_caught_up_with_the_nearest_warning_only(adam, partner_agreements):
    agreement = partner_agreements["uscis"]
    on = agreement.expires_on - timedelta(days=5)  # the 30- and 7-day runs were missed
    sent = services.agreement_expiry_warnings_send(on=on)
    assert sent >= 1
    titles = list(
        Notification.objects.filter(
            user=adam, title__startswith="Agreement uscis-twc-2026"
        ).values_list("title", flat=True)
    )
    assert titles == ["Agreement uscis-twc-2026 expires in 5 days"]


def test_no_grant_under_an_agreement_whose_last_day_has_passed(adam, petra, partner_agreements):
    """Found by the access oracle: the agreement ran until yesterday and the nightly job has not
    marked it expired; a grant under it ended before it started and the database refused it (500)."""
    agreement = partner_agreements["ice"]
    yesterday = timezone.localdate() - timedelta(days=1)
    Agreement.objects.filter(pk=agreement.pk).update(expires_on=yesterday)
    agreement.refresh_from_db()
    before = RoleGrant.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        services.grant_create(actor=adam, user=petra, role="analyst", agreement=agreement)
    assert refused.value.field_errors == {"agreement": ["Ended."]}
    assert RoleGrant.objects.count() == before
