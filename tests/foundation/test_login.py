import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from tests.conftest import current_code
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_asks_for_the_second_factor(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/")
    assert AuditEvent.objects.filter(action="auth.login", actor_id=alice.pk).count() == 1


def test_it_rotates_the_session_key_at_login(client, alice):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    assert client.session.session_key != before


def test_it_answers_the_same_for_unknown_users_and_wrong_passwords(client, alice):
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "not-the-password"})
    unknown = client.post(
        "/accounts/login/", {"username": "nobody-here", "password": "not-the-password"}
    )
    assert wrong.status_code == unknown.status_code == 200

    def body(response):
        return (
            response.content.decode()
            .replace("nobody-here", "USERNAME")
            .replace('value="alice"', 'value="USERNAME"')
        )

    def strip(html):
        return "\n".join(line for line in html.splitlines() if "csrfmiddlewaretoken" not in line)

    assert strip(body(wrong)) == strip(body(unknown))
    assert "Incorrect username or password." in wrong.content.decode()
    failures = AuditEvent.objects.filter(action="auth.login_failed", outcome="denied")
    assert failures.count() == 2


def test_logout_needs_post_and_ends_the_session(login, alice):
    client = login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=alice.pk).count() == 1


def test_the_second_factor_is_verified_with_a_current_code(client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
        bad = client.post(
            "/accounts/2fa/verify/",
            {"token": "000000" if current_code(alice) != "000000" else "111111"},
        )
        assert bad.status_code == 200
        assert "That code is not right." in bad.content.decode()
        # django-otp throttles a device for a moment after a wrong code.
        throttled = client.post(
            "/accounts/2fa/verify/", {"token": current_code(alice), "next": "/"}
        )
        assert throttled.status_code == 200
        clock.shift(3)
        good = client.post("/accounts/2fa/verify/", {"token": current_code(alice), "next": "/"})
    assert good.status_code == 302
    assert AuditEvent.objects.filter(action="otp.failed", actor_id=alice.pk).count() == 2
    assert AuditEvent.objects.filter(action="otp.verified", actor_id=alice.pk).count() == 1


def test_it_refuses_an_open_redirect_after_sign_in(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    response = client.post(
        "/accounts/2fa/verify/", {"token": current_code(alice), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
