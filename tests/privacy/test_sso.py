"""Single sign-on through a real OpenID Connect provider (django-oidc-provider, second process).

The browser's side is played by `requests` against the provider (its sign-in form, then
authorize) and by Django's test client against Crosscheck; Crosscheck itself talks to the
provider over HTTP (discovery, token, JWKS, userinfo), as in production.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import psycopg2
import pytest
import requests
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from privacy import policy, services
from privacy.models import (
    AccessRequest,
    ExternalIdentity,
    IdentityProvider,
    Role,
    RoleGrant,
    UnitClaimMapping,
    User,
)
from tests.smtp import free_port

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://testserver/accounts/sso/callback/"
PASSWORD = "correct horse battery staple"
SECRET = "ice-client-secret-5b1e"
ICE = {"org": "ICE-HSI"}
ADMIN_CLAIMS = {"roles": ["admin"], "groups": ["admin", "supervisor"], "role": "admin"}
USERS = [
    {"username": "ann", "claims": {**ICE, "ou": "HSI-WS-A", **ADMIN_CLAIMS}},
    {
        "username": "mia",
        "claims": {**ICE, "ou": "HSI-WS-B", "amr": ["pwd", "otp"], **ADMIN_CLAIMS},
    },
    {"username": "late", "claims": {**ICE, "ou": "HSI-WS-A"}, "exp_offset": -3600},
    {"username": "wrongaud", "claims": {**ICE, "ou": "HSI-WS-A"}, "aud": "another-application"},
    {"username": "outsider", "claims": {"org": "CBP", "ou": "HSI-WS-A"}},
]


@pytest.fixture(scope="session")
def idp(tmp_path_factory: Any, django_db_setup: Any) -> Any:
    """The identity provider process for the whole run; its issuer URL."""
    folder = tmp_path_factory.mktemp("idp")
    config = folder / "idp.json"
    config.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "client_id": "crosscheck-ice",
                        "client_secret": SECRET,
                        "redirect_uris": [CALLBACK],
                    }
                ],
                "users": [{**u, "password": PASSWORD} for u in USERS],
            }
        )
    )
    port = free_port()
    log = (folder / "idp.log").open("wb")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sso_idp.settings",
        "SSO_IDP_PORT": str(port),
        "SSO_IDP_DATABASE_URL": _idp_database(),
        "SSO_IDP_CONFIG": str(config),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sso_idp.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    issuer = f"http://127.0.0.1:{port}/openid"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            output = (folder / "idp.log").read_text()[-2000:]
            raise RuntimeError(f"the identity provider did not start: {output}")
        time.sleep(0.2)
    yield issuer
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(10)
    log.close()
    _idp_database(drop=True)


def _idp_database(*, drop: bool = False) -> str:
    """A PostgreSQL database of the provider's own beside the test database, made afresh (or dropped)."""
    db = connection.settings_dict
    name = f"{db['NAME']}_idp"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or "5432"
    admin = psycopg2.connect(
        dbname="postgres", user=db.get("USER"), password=db.get("PASSWORD"), host=host, port=port
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    auth = f"{db.get('USER') or ''}:{db.get('PASSWORD') or ''}@" if db.get("USER") else ""
    return f"postgres://{auth}{host}:{port}/{name}"


@pytest.fixture
def ice_idp(idp: str, directory: dict[str, Any], adam: User) -> IdentityProvider:
    """ICE-HSI signs in through the provider: org=ICE-HSI places people there, ou picks the unit;
    a sign-in counts as the second factor when amr names otp or hwk."""
    provider = services.sso_provider_save(
        actor=adam,
        agency=directory["ice"],
        issuer=idp,
        client_id="crosscheck-ice",
        client_secret=SECRET,
        scopes="openid email profile",
        enabled=True,
        agency_claim="org",
        agency_claim_value="ICE-HSI",
        unit_claim="ou",
        default_unit=None,
        mfa_trust="acr_amr",
        mfa_acr_values="",
        mfa_amr_values="otp hwk",
    )
    services.sso_mapping_save(
        actor=adam, provider=provider, value="HSI-WS-A", unit=directory["unit_a"]
    )
    services.sso_mapping_save(
        actor=adam, provider=provider, value="HSI-WS-B", unit=directory["unit_b"]
    )
    return provider


def _authorize(client: Client, agency: str = "ice-hsi", query: str = "") -> str:
    start = client.get(f"/accounts/sso/{agency}/{query}")
    assert start.status_code == 302, start.content[:300]
    return str(start["Location"])


def _provider_answer(authorize: str, username: str) -> str:
    """Play the browser at the provider: sign in on its form, follow authorize; the callback path."""
    browser = requests.Session()
    first = browser.get(authorize, allow_redirects=False, timeout=10)
    assert first.status_code == 302
    login_url = urljoin(authorize, first.headers["Location"])
    browser.get(login_url, timeout=10)
    signed_in = browser.post(
        login_url,
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": parse_qs(urlsplit(login_url).query)["next"][0],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:300]
    answer = browser.get(
        urljoin(authorize, signed_in.headers["Location"]), allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK), location
    return location[len("http://testserver") :]


def sso_sign_in(client: Client, username: str) -> tuple[Any, str]:
    """A whole sign-in; Crosscheck's answer to the callback, and the callback path."""
    callback = _provider_answer(_authorize(client), username)
    return client.get(callback), callback


def _failures() -> list[str]:
    return [
        e.detail["reason"]
        for e in AuditEvent.objects.filter(action="auth.login_failed").order_by("id")
        if e.detail.get("method") == "oidc"
    ]


def test_a_first_sign_in_creates_a_user_in_the_mapped_unit_with_no_roles(ice_idp, directory):
    client = Client()
    response, _ = sso_sign_in(client, "ann")
    # No MFA asserted for ann: on to the local authenticator's enrolment.
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/enrol/")
    user = User.objects.get(external_identities__provider=ice_idp)
    assert (user.username, user.agency, user.unit) == (
        "ice-hsi.ann",
        directory["ice"],
        directory["unit_a"],
    )
    assert user.roles == []
    assert not user.has_usable_password()
    assert user.email == "ann@agency.example"
    login = AuditEvent.objects.get(action="auth.login", actor_id=user.pk)
    assert login.detail["method"] == "oidc"
    assert login.detail["second_factor"] == "not asserted"
    created = AuditEvent.objects.get(action="directory.user_created", object_id=str(user.pk))
    assert created.detail["source"] == "sso first sign-in"
    # Half signed in: every page but the sign-in steps asks for the second factor.
    page = client.get("/privacy/me/access-request/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/2fa/enrol/")


def test_roles_and_groups_claims_give_nothing(ice_idp, directory):
    client = Client()
    response, _ = sso_sign_in(client, "mia")  # claims roles=admin, groups=admin, role=admin
    assert response.status_code == 302
    assert response["Location"] == "/"  # MFA asserted (amr otp): verified, straight in
    mia = User.objects.get(username="ice-hsi.mia")
    assert mia.roles == []
    assert not RoleGrant.objects.filter(user=mia).exists()
    for category in policy.DataCategory.values:
        for action in policy.Action.values:
            assert not policy.allowed_owner_ids(mia, action=action, category=category)
    assert client.get("/").status_code == 200
    for admin_page in ("/privacy/users/", "/privacy/agencies/", "/privacy/access-requests/"):
        assert client.get(admin_page).status_code == 403, admin_page


def test_the_page_asked_for_is_reached_after_sign_in_and_foreign_targets_are_ignored(ice_idp):
    client = Client()
    answer = _provider_answer(_authorize(client, query="?next=/privacy/me/mail/"), "mia")
    assert client.get(answer)["Location"] == "/privacy/me/mail/"
    other = Client()
    answer = _provider_answer(_authorize(other, query="?next=https://evil.example/"), "mia")
    assert other.get(answer)["Location"] == "/"
    without_mfa = Client()
    answer = _provider_answer(_authorize(without_mfa, query="?next=/privacy/me/mail/"), "ann")
    assert (
        without_mfa.get(answer)["Location"] == "/accounts/2fa/enrol/?next=%2Fprivacy%2Fme%2Fmail%2F"
    )


def test_the_providers_mfa_counts_only_where_the_agency_trusts_it(ice_idp, adam):
    ice_idp.mfa_trust = "never"
    ice_idp.save()
    client = Client()
    response, _ = sso_sign_in(client, "mia")
    assert response["Location"].startswith("/accounts/2fa/enrol/")
    assert client.get("/privacy/me/mail/").status_code == 302
    login = AuditEvent.objects.get(action="auth.login", detail__method="oidc")
    assert login.detail["second_factor"] == "local TOTP required"


def test_a_token_issued_for_another_audience_is_refused(ice_idp):
    response, _ = sso_sign_in(Client(), "wrongaud")
    assert response.status_code == 403
    assert b"issued for another application" in response.content
    assert _failures() == ["audience"]
    assert not User.objects.filter(username__startswith="ice-hsi.").exists()


def test_an_expired_token_is_refused(ice_idp):
    response, _ = sso_sign_in(Client(), "late")
    assert response.status_code == 403
    assert b"has expired" in response.content
    assert _failures() == ["expired"]
    assert not ExternalIdentity.objects.exists()


def test_a_disabled_user_cannot_sign_in_again(ice_idp, adam):
    sso_sign_in(Client(), "ann")
    ann = User.objects.get(username="ice-hsi.ann")
    services.user_deactivate(actor=adam, user=ann, reason="Left the agency.")
    client = Client()
    response, _ = sso_sign_in(client, "ann")
    assert response.status_code == 403
    assert b"account is disabled" in response.content
    assert _failures() == ["user_disabled"]
    assert "_auth_user_id" not in client.session


def test_someone_the_provider_places_in_another_agency_is_refused(ice_idp):
    response, _ = sso_sign_in(Client(), "outsider")
    assert response.status_code == 403
    assert b"does not place you in ICE HSI" in response.content
    assert _failures() == ["agency_claim"]


def test_a_replayed_answer_is_refused(ice_idp):
    client = Client()
    first, callback = sso_sign_in(client, "ann")
    assert first.status_code == 302
    # The same answer again, in the same browser and in another one: the state is spent.
    for replay in (client, Client()):
        response = replay.get(callback)
        assert response.status_code == 403
        assert b"unknown or was already used" in response.content
    assert _failures() == ["state", "state"]
    assert AuditEvent.objects.filter(action="auth.login", detail__method="oidc").count() == 1


def _state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def _code(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code"][0]


def test_an_answer_meant_for_another_sign_in_is_refused(ice_idp):
    client = Client()
    first, second = _authorize(client), _authorize(client)
    answer = _provider_answer(first, "ann")
    # The first sign-in's code under the second's state: PKCE makes the provider refuse it.
    swapped = {"code": _code(answer), "state": _state(second)}
    response = client.get("/accounts/sso/callback/?" + urlencode(swapped))
    assert response.status_code == 403
    assert _failures() == ["token_refused"]
    assert "_auth_user_id" not in client.session


def test_a_token_whose_nonce_belongs_to_another_sign_in_is_refused(ice_idp):
    client = Client()
    first, second = _authorize(client), _authorize(client)
    answer = _provider_answer(first, "ann")
    # Give the second sign-in the first's PKCE verifier, so that only the nonce tells them apart.
    session = client.session
    states = session["oidc_states"]
    states[_state(second)]["code_verifier"] = states[_state(first)]["code_verifier"]
    session["oidc_states"] = states
    session.save()
    swapped = {"code": _code(answer), "state": _state(second)}
    response = client.get("/accounts/sso/callback/?" + urlencode(swapped))
    assert response.status_code == 403
    assert b"does not belong to this sign-in" in response.content
    assert _failures() == ["nonce"]
    assert "_auth_user_id" not in client.session


def test_a_forged_callback_without_a_started_sign_in_is_refused(ice_idp):
    response = Client().get("/accounts/sso/callback/?code=stolen&state=guessed")
    assert response.status_code == 403
    assert _failures() == ["state"]


def test_the_unit_follows_the_mapping_and_every_change_is_audited(ice_idp, directory, adam, login):
    sso_sign_in(Client(), "ann")
    ann = User.objects.get(username="ice-hsi.ann")
    assert ann.unit == directory["unit_a"]
    admin = login(adam)
    mapping_add = f"/privacy/agencies/{directory['ice'].pk}/sso/mappings/"
    response = admin.post(mapping_add, {"value": "HSI-WS-A", "unit": directory["unit_b"].pk})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="sso.mapping_saved").latest("id")
    assert event.actor_id == adam.pk
    assert event.changes == {"ou=HSI-WS-A": ["worksite-a", "worksite-b"]}
    # A unit of another agency is refused, and nothing changes.
    admin.post(mapping_add, {"value": "HSI-WS-A", "unit": directory["twc_unit"].pk})
    assert UnitClaimMapping.objects.get(value="HSI-WS-A").unit == directory["unit_b"]
    sso_sign_in(Client(), "ann")
    ann.refresh_from_db()
    assert ann.unit == directory["unit_b"]
    moved = AuditEvent.objects.filter(action="directory.user_changed", object_id=str(ann.pk))
    assert moved.latest("id").changes == {"unit": ["worksite-a", "worksite-b"]}
    mapping = UnitClaimMapping.objects.get(value="HSI-WS-B")
    assert admin.post(f"/privacy/sso/mappings/{mapping.pk}/delete/").status_code == 302
    assert AuditEvent.objects.filter(action="sso.mapping_deleted").count() == 1


def test_the_provider_screen_is_for_admins_and_keeps_the_secret_secret(
    ice_idp, directory, adam, alice, login
):
    url = f"/privacy/agencies/{directory['ice'].pk}/sso/"
    assert login(alice).get(url).status_code == 403
    admin = login(adam)
    page = admin.get(url)
    assert page.status_code == 200
    assert SECRET.encode() not in page.content
    assert b"http://testserver/accounts/sso/callback/" in page.content
    form = {
        "issuer": ice_idp.issuer,
        "client_id": "crosscheck-ice",
        "client_secret": "",
        "scopes": "email profile",  # no openid
        "enabled": "on",
        "agency_claim": "org",
        "agency_claim_value": "ICE-HSI",
        "unit_claim": "ou",
        "mfa_trust": "acr_amr",
        "mfa_amr_values": "otp",
    }
    bad = admin.post(url, form)
    assert bad.status_code == 200
    assert b"The scopes must include openid." in bad.content
    unreachable = admin.post(
        url, {**form, "scopes": "openid email", "issuer": f"http://127.0.0.1:{free_port()}/x"}
    )
    assert b"could not be reached" in unreachable.content
    ice_idp.refresh_from_db()
    assert ice_idp.scopes == "openid email profile"
    saved = admin.post(url, {**form, "scopes": "openid email", "mfa_amr_values": "hwk"})
    assert saved.status_code == 302
    event = AuditEvent.objects.filter(action="sso.provider_saved").latest("id")
    assert event.changes == {
        "scopes": ["openid email profile", "openid email"],
        "mfa_amr_values": ["otp hwk", "hwk"],
    }
    assert SECRET not in json.dumps([e.changes for e in AuditEvent.objects.all()])


def test_a_new_user_asks_for_access_and_an_admin_grants_it(ice_idp, directory, adam, login):
    client = Client()
    sso_sign_in(client, "mia")  # verified by the provider's MFA
    mia = User.objects.get(username="ice-hsi.mia")
    assert b"Ask for access" in client.get("/").content
    empty = client.post("/privacy/me/access-request/", {"justification": "short"})
    assert empty.status_code == 200
    assert not AccessRequest.objects.exists()
    sent = client.post(
        "/privacy/me/access-request/",
        {
            "roles": [Role.ANALYST],
            "unit": directory["unit_b"].pk,
            "justification": "I triage worksite B's flagged cases from Monday.",
        },
    )
    assert sent.status_code == 302
    request = AccessRequest.objects.get(user=mia)
    admin = login(adam)
    assert b"ice-hsi.mia" in admin.get("/privacy/access-requests/").content
    declined_without_reason = admin.post(
        f"/privacy/access-requests/{request.pk}/decide/", {"approve": "0"}
    )
    assert declined_without_reason.status_code == 302
    request.refresh_from_db()
    assert request.status == "pending"
    admin.post(
        f"/privacy/access-requests/{request.pk}/decide/",
        {"approve": "1", "roles": [Role.ANALYST], "note": "Welcome"},
    )
    mia.refresh_from_db()
    assert mia.roles == [Role.ANALYST]
    assert AuditEvent.objects.filter(
        action="directory.user_changed", object_id=str(mia.pk), actor_id=adam.pk
    ).exists()
    assert AuditEvent.objects.get(action="access_request.decided").detail["roles_given"] == [
        "analyst"
    ]
    assert mia.inbox.filter(title="Your access request was approved").exists()


def test_the_client_secret_is_sealed_and_rotates_with_the_data_key(directory, adam, settings):
    from django.core.management import call_command

    from privacy.sso import client_secret
    from tests.verification.test_crypto import KEY_A, KEY_B

    settings.DATA_KEYS = KEY_A
    provider = services.sso_provider_save(
        actor=adam,
        agency=directory["uscis"],
        issuer="https://login.uscis.example/openid",
        client_id="crosscheck",
        client_secret="s3cret-of-uscis",
        enabled=False,  # not contacted while off
    )
    assert provider.client_secret_enc.startswith("a1$")
    assert "s3cret" not in provider.client_secret_enc
    settings.DATA_KEYS = f"{KEY_B},{KEY_A}"
    call_command("rotate_keys", chunk=10)
    provider.refresh_from_db()
    assert provider.client_secret_enc.startswith("b2$")
    settings.DATA_KEYS = KEY_B
    assert client_secret(provider) == "s3cret-of-uscis"
    # Changing other fields keeps the secret; an empty secret field never clears it.
    services.sso_provider_save(actor=adam, agency=directory["uscis"], client_id="crosscheck-2")
    provider.refresh_from_db()
    assert client_secret(provider) == "s3cret-of-uscis"


def test_a_provider_switched_off_mid_sign_in_refuses_the_answer(ice_idp, adam):
    client = Client()
    authorize = _authorize(client)
    services.sso_provider_save(actor=adam, agency=ice_idp.agency, enabled=False)
    response = client.get(_provider_answer(authorize, "ann"))
    assert response.status_code == 403
    assert _failures() == ["provider_disabled"]
    assert Client().get("/accounts/sso/ice-hsi/").status_code == 404
