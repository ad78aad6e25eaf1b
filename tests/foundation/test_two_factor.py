import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from privacy.middleware import SIGN_IN_ROUTES
from privacy.models import BreakGlassGrant
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.urls")]


@pytest.mark.parametrize("persona", ["sam", "adam"])
def test_supervisors_and_admins_need_the_second_factor_everywhere(persona, login, request):
    user = request.getfixturevalue(persona)
    client = login(user, verify=False)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/")


@pytest.mark.parametrize("persona", ["alice", "audrey", "vera", "petra"])
def test_every_role_needs_the_second_factor_for_home_and_personal_data(persona, login, request):
    user = request.getfixturevalue(persona)
    client = login(user, verify=False)
    assert client.get("/")["Location"] == "/accounts/2fa/verify/?next=/"
    response = client.get("/test-person/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/?next=/test-person/")


def test_a_password_only_session_cannot_open_break_glass(login, alice, directory):
    client = login(alice, verify=False)
    response = client.post(
        "/privacy/break-glass/",
        {
            "subject_ref": "case:1",
            "justification": "Urgent lead from the field office, call pending.",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/")
    assert not BreakGlassGrant.objects.exists()
    assert client.post("/api/privacy/break-glass/", {"subject_ref": "case:1"}).status_code == 403


def _routes():
    """(name, url) of every named route of ours, parameters filled with a placeholder."""
    out = []

    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                kwargs = {
                    name: 1 if isinstance(conv, IntConverter) else "x"
                    for name, conv in p.pattern.converters.items()
                }
                if p.pattern.regex.groupindex and not kwargs:
                    continue  # a regex route of the admin's
                name = namespace + p.name
                out.append((name, reverse(name, kwargs=kwargs)))

    walk(get_resolver().url_patterns, "")
    return out


API_KEY_ROUTES = {
    "api-cases",
    "api-case-detail",
    "api-case-submit-draft",
    "api-case-notice",
    "api-case-notice-pdf",
    "api-case-decision",
    "api-case-refer",
    "api-case-close",
    "api-webhook-subscriptions",
    "api-webhook-subscription",
    "api-webhook-rotate",
    "api-webhook-ping",
    "api-webhook-deliveries",
    "api-webhook-delivery",
    "api-cases-batch",
    "api-import-detail",
    "api-key-info",
    "api-case-resubmit",
}


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_a_password_only_session_reaches_nothing_but_signing_in(persona, login, request):
    """Every route, GET and POST, as a user who gave a password and not yet the second factor."""
    client = login(request.getfixturevalue(persona), verify=False)
    reached = []
    for name, url in _routes():
        if name in SIGN_IN_ROUTES or name == "test-person":
            continue
        for method in (client.get, client.post):
            response = method(url)
            if name in API_KEY_ROUTES:
                ok = response.status_code == 401  # the session does not count there: a key does
            elif url.startswith("/api/"):
                ok = (
                    response.status_code == 403
                    and response.json()["error"]["code"] == "second_factor_required"
                )
            else:
                ok = response.status_code == 302 and response["Location"].startswith(
                    "/accounts/2fa/verify/"
                )
            if not ok:
                reached.append(f"{method.__name__.upper()} {url}: {response.status_code}")
    assert reached == []


def test_the_sign_in_routes_stay_open_to_a_password_only_session(login, alice):
    client = login(alice, verify=False)
    assert client.get("/accounts/2fa/verify/").status_code == 200
    assert client.get("/accounts/password/reset/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"


def test_a_verified_user_sees_personal_data(login, alice):
    assert login(alice).get("/test-person/").status_code == 200


def test_the_django_admin_needs_a_verified_second_factor(login, adam):
    unverified = login(adam, verify=False).get("/admin/")
    assert unverified.status_code == 302
    assert login(adam).get("/admin/").status_code == 200


def test_a_user_without_an_authenticator_enrols_then_gets_recovery_codes(client, directory):
    newbie = UserFactory(username="newbie", unit=directory["unit_a"], roles=["analyst"], totp=False)
    client.post("/accounts/login/", {"username": "newbie", "password": TEST_PASSWORD})
    page = client.get("/test-person/")
    assert page["Location"].startswith("/accounts/2fa/enrol/")
    enrol = client.get(page["Location"])
    assert enrol.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in enrol.content.decode()
    device = TOTPDevice.objects.get(user=newbie, confirmed=False)
    code = f"{totp(device.bin_key):06d}"
    done = client.post("/accounts/2fa/enrol/", {"token": code})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{8})</code>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/test-person/").status_code == 200
    assert AuditEvent.objects.filter(action="otp.enrolled", actor_id=newbie.pk).count() == 1
    assert StaticToken.objects.filter(device__user=newbie).count() == 10


def test_a_recovery_code_works_once(client, alice):
    from privacy.services import recovery_codes_issue

    codes = recovery_codes_issue(actor=alice)
    client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    assert client.post("/accounts/2fa/verify/", {"token": codes[0]}).status_code == 302
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "alice", "password": TEST_PASSWORD})
    again = client.post("/accounts/2fa/verify/", {"token": codes[0]})
    assert again.status_code == 200
    assert (
        AuditEvent.objects.filter(action="otp.recovery_code_used", actor_id=alice.pk).count() == 1
    )
