"""Start the test identity provider: migrate its PostgreSQL database, make its RSA key, clients and
users from the JSON config, then serve HTTP on SSO_IDP_PORT until terminated.

    SSO_IDP_PORT=8765 SSO_IDP_DATABASE_URL=postgres://postgres@127.0.0.1/idp SSO_IDP_CONFIG=/tmp/idp.json \\
        DJANGO_SETTINGS_MODULE=tests.sso_idp.settings python -m tests.sso_idp.serve
"""

from __future__ import annotations

import json
import os

import django


def main() -> None:
    django.setup()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application
    from oidc_provider.models import Client, ResponseType, RSAKey

    call_command("migrate", verbosity=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    RSAKey.objects.create(key=pem)
    with open(os.environ["SSO_IDP_CONFIG"]) as handle:
        config = json.load(handle)
    code, _ = ResponseType.objects.get_or_create(value="code", defaults={"description": "code"})
    for spec in config["clients"]:
        client = Client.objects.create(
            name=spec["client_id"],
            client_type="confidential",
            client_id=spec["client_id"],
            client_secret=spec["client_secret"],
            jwt_alg="RS256",
            require_consent=False,
            reuse_consent=True,
        )
        client.redirect_uris = spec["redirect_uris"]
        client.save()
        client.response_types.add(code)
    for spec in config["users"]:
        user = User.objects.create_user(
            spec["username"],
            email=spec.get("email", f"{spec['username']}@agency.example"),
            password=spec["password"],
            first_name=spec.get("first_name", spec["username"].capitalize()),
            last_name=spec.get("last_name", "Staff"),
        )
        if spec.get("is_active") is False:
            user.is_active = False
            user.save()
    run("127.0.0.1", int(os.environ["SSO_IDP_PORT"]), get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
