import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    """The limits count in Redis for an hour: each test starts from none (the test Redis db)."""
    cache.clear()


def test_it_mails_a_reset_link_and_says_the_same_for_unknown_addresses(client, alice):
    known = client.post("/accounts/password/reset/", {"email": alice.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_a_fourth_request_for_one_address_in_an_hour_sends_nothing(client, alice, settings):
    assert settings.PRIVACY_PASSWORD_RESET_PER_ACCOUNT == 3
    with time_machine.travel(timezone.now(), tick=False) as clock:
        codes = [
            client.post(
                "/accounts/password/reset/",
                {"email": alice.email.upper()},
                REMOTE_ADDR=f"203.0.113.{i}",  # from four places: the limit is the address's
            ).status_code
            for i in range(4)
        ]
        refused = client.post("/accounts/password/reset/", {"email": alice.email})
        assert codes == [302, 302, 302, 429]
        assert refused.status_code == 429
        assert "Too many password-reset requests" in refused.content.decode()
        assert len(mail.outbox) == 3
        clock.shift(3600)
        assert client.post("/accounts/password/reset/", {"email": alice.email}).status_code == 302
    assert len(mail.outbox) == 4
    event = AuditEvent.objects.filter(action="auth.password_reset_requested").latest("id")
    assert event.outcome == "denied"
    assert event.detail["scope"] == "account"
    assert alice.email not in str(event.detail)


def test_an_unknown_address_is_limited_alike(client):
    codes = [
        client.post("/accounts/password/reset/", {"email": "nobody@example.test"}).status_code
        for _ in range(4)
    ]
    assert codes == [302, 302, 302, 429]


def test_one_client_cannot_spray_requests_over_many_addresses(client, alice, settings):
    limit = settings.PRIVACY_PASSWORD_RESET_PER_CLIENT
    with time_machine.travel(timezone.now(), tick=False):
        codes = [
            client.post("/accounts/password/reset/", {"email": f"n{i}@example.test"}).status_code
            for i in range(limit)
        ]
        spray = client.post("/accounts/password/reset/", {"email": alice.email})
        elsewhere = client.post(
            "/accounts/password/reset/", {"email": alice.email}, REMOTE_ADDR="198.51.100.7"
        )
    assert codes == [302] * limit
    assert spray.status_code == 429
    assert "from your network" in spray.content.decode()
    assert elsewhere.status_code == 302
    assert [m.to for m in mail.outbox] == [[alice.email]]
