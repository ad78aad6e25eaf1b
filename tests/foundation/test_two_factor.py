import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.foundation.urls")]


@pytest.mark.parametrize("persona", ["sam", "adam"])
def test_supervisors_and_admins_need_the_second_factor_everywhere(persona, login, request):
    user = request.getfixturevalue(persona)
    client = login(user, verify=False)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/")


@pytest.mark.parametrize("persona", ["alice", "audrey", "vera"])
def test_other_roles_reach_home_but_not_personal_data_without_it(persona, login, request):
    user = request.getfixturevalue(persona)
    client = login(user, verify=False)
    assert client.get("/").status_code == 200
    response = client.get("/test-person/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/verify/?next=/test-person/")


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
