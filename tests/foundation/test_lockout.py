import logging

import pytest

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _fail(client, username="alice", ip="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": "wrong-password"}, REMOTE_ADDR=ip
    )


def test_three_failures_lock_the_username_and_ip_pair(client, alice, caplog):
    caplog.set_level(logging.WARNING, logger="axes")
    assert _fail(client).status_code == 200
    assert _fail(client).status_code == 200
    locked = _fail(client)
    assert locked.status_code == 429
    assert "temporarily locked" in locked.content.decode()
    # Even the right password is refused while locked.
    right = client.post(
        "/accounts/login/", {"username": "alice", "password": TEST_PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lockout is logged and audited.
    assert AuditEvent.objects.filter(action="auth.lockout", outcome="denied").count() == 1


def test_the_lock_is_keyed_on_username_and_ip_together(client, alice):
    for _ in range(3):
        _fail(client, ip="10.0.0.2")
    other_ip = client.post(
        "/accounts/login/", {"username": "alice", "password": TEST_PASSWORD}, REMOTE_ADDR="10.0.0.3"
    )
    assert other_ip.status_code == 302


def test_an_unknown_username_locks_the_same_way(client, alice):
    responses = [_fail(client, username="ghost", ip="10.0.0.4").status_code for _ in range(3)]
    known = [_fail(client, username="alice", ip="10.0.0.5").status_code for _ in range(3)]
    assert responses == known == [200, 200, 429]
