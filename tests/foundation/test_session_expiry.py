from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_an_idle_session_ends_after_15_minutes(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, alice)
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=14))
        assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=15, seconds=1))
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    event = AuditEvent.objects.get(action="auth.session_expired", actor_id=alice.pk)
    assert event.detail == {"reason": "idle"}
    assert not AuditEvent.objects.filter(action="auth.logout", actor_id=alice.pk).exists()


def test_an_active_session_still_ends_after_12_hours(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, alice)
        for _ in range(12 * 6 - 1):  # a request every 10 minutes, never idle
            clock.shift(timedelta(minutes=10))
            assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=10, seconds=1))
        response = client.get("/")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="auth.session_expired", actor_id=alice.pk).detail == {
        "reason": "absolute"
    }


def test_an_expired_api_session_gets_a_401_not_a_redirect(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, alice)
        clock.shift(timedelta(minutes=16))
        response = client.get("/api/schema/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"
