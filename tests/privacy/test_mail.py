"""Staff e-mail preferences: at once, daily digest or never; one-click unsubscribe; expiry warnings.

Every message goes to a real SMTP server (aiosmtpd, the `smtp` fixture) through Django's SMTP
backend, and the tests read what it received.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from privacy import services
from privacy.models import Delivery, MailDigestItem, MailKind, MailPreference, Role
from privacy.services.mail import UNSUBSCRIBE_SALT, unsubscribe_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _notify(user, kind, title="Agreement uscis-twc-2026 expires in 7 days", **extra):
    return services.notify(user=user, title=title, body="Renew it in time.", kind=kind, **extra)


def _unsubscribe_path(received) -> str:
    header = str(received.message["List-Unsubscribe"]).strip()
    assert header.startswith("<")
    assert header.endswith(">")
    return urlsplit(header[1:-1]).path


def test_a_message_goes_out_at_once_by_default_with_one_click_unsubscribe_headers(
    smtp, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(alice, MailKind.AGREEMENT_EXPIRY)
    [got] = smtp.to(alice.email)
    assert got.message["Subject"] == "[Crosscheck] Agreement uscis-twc-2026 expires in 7 days"
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/accounts/mail/unsubscribe/" in got.message["List-Unsubscribe"]
    assert "Renew it in time." in got.text
    assert "Stop these e-mails (one click, no sign-in)" in got.text
    assert "/privacy/me/mail/" in got.text
    event = AuditEvent.objects.get(action="mail.sent")
    assert event.detail == {"kind": "agreement_expiry", "delivery": "immediate"}


def test_one_click_unsubscribe_needs_no_sign_in_and_stops_only_that_kind(
    smtp, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(alice, MailKind.AGREEMENT_EXPIRY)
    path = _unsubscribe_path(smtp.to(alice.email)[0])
    anonymous = Client(enforce_csrf_checks=True)  # a mail client's POST carries no CSRF token
    response = anonymous.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert MailPreference.objects.get(user=alice).delivery == Delivery.NEVER
    event = AuditEvent.objects.get(action="mail.unsubscribed")
    assert event.actor_id == alice.pk
    assert event.changes == {"agreement_expiry": ["immediate", "never"]}
    assert event.detail == {"how": "one-click"}

    smtp.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _notify(alice, MailKind.AGREEMENT_EXPIRY)  # stopped
        _notify(alice, MailKind.GRANT_EXPIRY, title="Your analyst access ends in 7 days")
    assert [r.message["Subject"] for r in smtp.to(alice.email)] == [
        "[Crosscheck] Your analyst access ends in 7 days"
    ]
    assert AuditEvent.objects.filter(action="mail.suppressed").count() == 1
    # The in-app message stays whatever the e-mail choice.
    assert alice.inbox.filter(title__startswith="Agreement").count() == 2


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(smtp, alice):
    token = unsubscribe_token(user=alice, kinds=[MailKind.REMINDER])
    page = Client().get(f"/accounts/mail/unsubscribe/{token}/")
    assert page.status_code == 200
    assert b"Reminders: my cases due soon or overdue" in page.content
    assert not MailPreference.objects.exists()  # link scanners that GET change nothing
    assert Client().post(f"/accounts/mail/unsubscribe/{token}/").status_code == 200
    assert MailPreference.objects.get(user=alice, kind=MailKind.REMINDER).delivery == "never"
    assert AuditEvent.objects.get(action="mail.unsubscribed").detail == {"how": "link"}


def test_a_forged_or_altered_or_stale_link_is_refused_and_changes_nothing(alice, bob):
    good = unsubscribe_token(user=alice, kinds=[MailKind.CONTEST])
    body, _, signature = good.rpartition(":")
    # An attacker swaps in bob's id: the signature no longer matches.
    forged = signing.dumps({"u": bob.pk, "k": ["contest"]}, salt="another-salt")
    altered = body + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    for token in (forged, altered, "not-a-token"):
        response = Client().post(f"/accounts/mail/unsubscribe/{token}/")
        assert response.status_code == 400
        assert b"not valid or has expired" in response.content
    # A genuinely signed token naming a kind that does not exist is refused too.
    odd = signing.dumps({"u": alice.pk, "k": ["everything"]}, salt=UNSUBSCRIBE_SALT)
    assert Client().post(f"/accounts/mail/unsubscribe/{odd}/").status_code == 400
    with time_machine.travel(timezone.now() + timedelta(days=366)):
        assert Client().post(f"/accounts/mail/unsubscribe/{good}/").status_code == 400
    assert not MailPreference.objects.exists()
    assert not AuditEvent.objects.filter(action="mail.unsubscribed").exists()


def test_alices_link_cannot_touch_bobs_settings(alice, bob):
    token = unsubscribe_token(user=alice, kinds=[MailKind.ASSIGNMENT])
    Client().post(f"/accounts/mail/unsubscribe/{token}/")
    assert list(MailPreference.objects.values_list("user_id", "kind", "delivery")) == [
        (alice.pk, "assignment", "never")
    ]


def test_the_daily_digest_gathers_a_days_messages_into_one_mail(
    smtp, alice, django_capture_on_commit_callbacks
):
    services.mail_preferences_set(
        actor=alice,
        choices={MailKind.AGREEMENT_EXPIRY: Delivery.DAILY, MailKind.GRANT_EXPIRY: Delivery.DAILY},
    )
    with django_capture_on_commit_callbacks(execute=True):
        _notify(alice, MailKind.AGREEMENT_EXPIRY, title="Agreement A expires in 7 days")
        _notify(alice, MailKind.AGREEMENT_EXPIRY, title="Agreement B expires today")
        _notify(alice, MailKind.GRANT_EXPIRY, title="Your analyst access ends in 30 days")
    assert smtp.received == []
    assert AuditEvent.objects.filter(action="mail.queued").count() == 3

    assert services.mail_digests_send() == {"digests": 1, "lines": 3, "failed": 0}
    [digest] = smtp.to(alice.email)
    assert digest.message["Subject"] == "[Crosscheck] Daily digest: 3 messages"
    text = digest.text
    assert "An agreement is about to expire (2)" in text
    assert "A role grant is about to expire (1)" in text
    assert text.index("Agreement A expires") < text.index("Agreement B expires")
    # One link stops every kind the digest held, for this user only.
    token = _unsubscribe_path(digest).rstrip("/").rsplit("/", 1)[1]
    assert signing.loads(token, salt=UNSUBSCRIBE_SALT) == {
        "u": alice.pk,
        "k": ["agreement_expiry", "grant_expiry"],
    }
    assert AuditEvent.objects.get(action="mail.digest_sent").detail == {
        "lines": 3,
        "kinds": ["agreement_expiry", "grant_expiry"],
    }
    # Run again: nothing is sent twice.
    assert services.mail_digests_send() == {"digests": 0, "lines": 0, "failed": 0}
    assert len(smtp.to(alice.email)) == 1
    # A month on, the sent lines are gone (the audit trail keeps that they were sent).
    assert MailDigestItem.objects.filter(user=alice).count() == 3
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        services.mail_digests_send()
    assert not MailDigestItem.objects.filter(user=alice).exists()


def test_a_refused_digest_stays_queued_and_others_still_go_out(smtp, directory, alice):
    refused = UserFactory(username="refuser", email="refuse-me@example.test", unit=alice.unit)
    for user in (refused, alice):
        services.mail_preferences_set(actor=user, choices={MailKind.GENERAL: Delivery.DAILY})
        _notify(user, MailKind.GENERAL, title="Something happened")
    assert services.mail_digests_send() == {"digests": 1, "lines": 1, "failed": 1}
    assert len(smtp.to(alice.email)) == 1
    assert MailDigestItem.objects.filter(user=refused, sent_at__isnull=True).count() == 1
    assert not AuditEvent.objects.filter(action="mail.digest_sent", object_id=str(refused.pk))


def test_unsubscribing_drops_lines_already_waiting_for_the_digest(smtp, alice):
    services.mail_preferences_set(actor=alice, choices={MailKind.CONTEST: Delivery.DAILY})
    _notify(alice, MailKind.CONTEST, title="A contest was received on case FC-1")
    services.mail_unsubscribe(token=unsubscribe_token(user=alice, kinds=[MailKind.CONTEST]))
    assert services.mail_digests_send()["lines"] == 0
    assert smtp.received == []


def test_the_settings_page_saves_each_kind_and_answers_bad_input_in_the_form(login, alice):
    client = login(alice)
    page = client.get("/privacy/me/mail/")
    assert page.status_code == 200
    assert b"A case is assigned to me" in page.content
    choices = dict.fromkeys(MailKind.values, Delivery.IMMEDIATE)
    bad = client.post("/privacy/me/mail/", {**choices, "reminder": "hourly"})
    assert bad.status_code == 200
    assert b"That is not one of the choices" in bad.content
    assert not MailPreference.objects.exists()
    ok = client.post("/privacy/me/mail/", {**choices, "reminder": "daily", "contest": "never"})
    assert ok.status_code == 302
    assert dict(MailPreference.objects.filter(user=alice).values_list("kind", "delivery")) == {
        "reminder": "daily",
        "contest": "never",
    }
    event = AuditEvent.objects.get(action="mail.preferences_changed")
    assert event.changes == {"reminder": ["immediate", "daily"], "contest": ["immediate", "never"]}


def test_the_settings_page_needs_a_signed_in_user(client):
    response = client.get("/privacy/me/mail/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_grant_expiry_warns_the_holder_and_admins_once_per_threshold(
    smtp, directory, petra, django_capture_on_commit_callbacks
):
    admin = UserFactory(username="twc-admin", unit=directory["twc_unit"], roles=[Role.ADMIN])
    grant = petra.grants.first()
    today = timezone.localdate()
    grant.valid_until = today + timedelta(days=6)
    grant.save(update_fields=["valid_until"])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.grant_expiry_warnings_send(on=today) == 1
    [to_petra] = smtp.to(petra.email)
    assert "access under" in to_petra.message["Subject"]
    assert "ends in 6 days" in to_petra.message["Subject"]
    [to_admin] = smtp.to(admin.email)
    assert to_admin.message["Subject"].startswith("[Crosscheck] petra's analyst access")
    assert to_admin.message["List-Unsubscribe"]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.grant_expiry_warnings_send(on=today) == 0  # once per threshold
        assert services.grant_expiry_warnings_send(on=today + timedelta(days=2)) == 0
        assert services.grant_expiry_warnings_send(on=today + timedelta(days=5)) == 1  # 1 day left
    assert len(smtp.to(petra.email)) == 2
    events = AuditEvent.objects.filter(action="grant.expiry_warned", object_id=str(grant.pk))
    assert [e.detail["days_before"] for e in events.order_by("id")] == [7, 1]


def test_a_holder_who_chose_never_for_grant_expiry_gets_none_but_the_admin_does(
    smtp, directory, petra, django_capture_on_commit_callbacks
):
    admin = UserFactory(username="twc-admin", unit=directory["twc_unit"], roles=[Role.ADMIN])
    services.mail_preferences_set(actor=petra, choices={MailKind.GRANT_EXPIRY: Delivery.NEVER})
    grant = petra.grants.first()
    grant.valid_until = timezone.localdate() + timedelta(days=20)
    grant.save(update_fields=["valid_until"])
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_expiry_warnings_send()
    assert smtp.to(petra.email) == []
    assert len(smtp.to(admin.email)) == 1
