"""Employer API keys warn before they expire: whoever issued the key and the employer-data
owner's admins hear 30, 7 and 1 days ahead, once each, by e-mail to a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from privacy.models import Role
from privacy.services import mail_digests_send, mail_preferences_set
from tests.factories import UserFactory
from verification import services
from verification.services.apikey_expiry import apikey_expiry_warnings_send

pytestmark = pytest.mark.django_db


def test_a_key_warns_its_issuer_and_the_owners_admins_once_per_threshold(
    smtp, employer, adam, directory, django_capture_on_commit_callbacks
):
    other_admin = UserFactory(
        username="uscis-admin-2", unit=directory["uscis_status"], roles=[Role.ADMIN]
    )
    elsewhere = UserFactory(
        username="ssa-admin", unit=directory["ssa_numident"], roles=[Role.ADMIN]
    )
    key, _ = services.apikey_issue(actor=adam, employer=employer, label="payroll", valid_days=40)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert apikey_expiry_warnings_send(now=now) == 0  # 40 days out: not yet
    with (
        time_machine.travel(now + timedelta(days=12)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert apikey_expiry_warnings_send() == 1
        assert apikey_expiry_warnings_send() == 0  # the same threshold never twice
    [to_adam] = smtp.to(adam.email)
    assert str(to_adam.message["Subject"]).strip() == (
        f"[Crosscheck] API key {key.prefix}… of Acme Farms expires in 28 days"
    )
    assert f"/verification/employers/{employer.pk}/" in to_adam.text
    assert "List-Unsubscribe" in to_adam.message
    assert len(smtp.to(other_admin.email)) == 1
    assert smtp.to(elsewhere.email) == []  # SSA does not own employer data
    with (
        time_machine.travel(now + timedelta(days=39, hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert apikey_expiry_warnings_send() == 1  # the 1-day warning (the 7-day one was missed)
    assert len(smtp.to(adam.email)) == 2
    events = AuditEvent.objects.filter(action="apikey.expiry_warned", object_id=str(key.pk))
    assert sorted(e.detail["days_before"] for e in events) == [1, 30]


def test_revoked_and_rotated_keys_do_not_warn(smtp, employer, adam):
    revoked, _ = services.apikey_issue(actor=adam, employer=employer, label="old", valid_days=5)
    services.apikey_revoke(actor=adam, key=revoked)
    rotated, _ = services.apikey_issue(actor=adam, employer=employer, label="hr", valid_days=400)
    services.apikey_rotate(actor=adam, key=rotated)  # the old one ends after the grace hours
    assert apikey_expiry_warnings_send() == 0


def test_an_admin_who_chose_the_digest_gets_it_there(smtp, employer, adam):
    mail_preferences_set(actor=adam, choices={"api_key_expiry": "daily"})
    services.apikey_issue(actor=adam, employer=employer, label="payroll", valid_days=3)
    assert apikey_expiry_warnings_send() == 1
    assert smtp.received == []
    assert mail_digests_send()["lines"] == 1
    [digest] = smtp.to(adam.email)
    assert "An employer API key is about to expire (1)" in digest.text
