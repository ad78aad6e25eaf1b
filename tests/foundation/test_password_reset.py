import pytest
from django.core import mail

pytestmark = pytest.mark.django_db


def test_it_mails_a_reset_link_and_says_the_same_for_unknown_addresses(client, alice):
    known = client.post("/accounts/password/reset/", {"email": alice.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    assert "/accounts/password/reset/" in mail.outbox[0].body
