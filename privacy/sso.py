"""The OpenID Connect client, one configuration per agency, on mozilla-django-oidc.

mozilla-django-oidc reads one provider from the settings; here each agency has its own
(`IdentityProvider`), so its request view and backend are given the provider's endpoints (read
from the issuer's discovery document) instead. What the library does is kept: state, nonce and
PKCE in the session, the code exchange, the JWKS look-up and the RS256 signature check. Two
checks it leaves out are added: the token's audience and issuer (it decodes with
`verify_aud=False`), and the presence of `exp`, `iat` and `sub`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from privacy.crypto import decrypt
from privacy.models.sso import IdentityProvider

SIGNING_ALGORITHM = "RS256"
# The session key that ties each pending state to the provider it was sent to.
SSO_STATES = "_crosscheck_sso_states"
CALLBACK_URL_NAME = "sso-callback"


class SsoRefused(Exception):
    """A sign-in through a provider was refused; `reason` is a short code for the audit trail."""

    def __init__(self, reason: str, message: str, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.detail = detail or {}


def client_secret(provider: IdentityProvider) -> str:
    """The provider's client secret, opened with the data key."""
    return decrypt(
        provider.client_secret_enc,
        table=IdentityProvider._meta.db_table,
        column="client_secret_enc",
        row_id=provider.pk,
    )


def discovery(provider: IdentityProvider, *, fresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document (cached), checked to name the same issuer (OIDC Discovery 4.3)."""
    key = f"privacy:sso:discovery:{provider.pk}:{provider.issuer}"
    document = None if fresh else cache.get(key)
    if document is None:
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = requests.get(
                url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoRefused(
                "discovery",
                "The identity provider could not be reached. Try again later.",
                {"error": type(exc).__name__},
            ) from exc
        missing = [
            k
            for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not document.get(k)
        ]
        if missing:
            raise SsoRefused(
                "discovery",
                "The identity provider's configuration is incomplete.",
                {"missing": missing},
            )
        if document["issuer"].rstrip("/") != provider.issuer.rstrip("/"):
            raise SsoRefused(
                "discovery",
                "The identity provider names another issuer than the one configured.",
                {"issuer": document["issuer"][:200]},
            )
        cache.set(key, document, timeout=settings.SSO_DISCOVERY_CACHE_SECONDS)
    return dict(document)


def _provider_settings(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "OIDC_RP_SCOPES": provider.scopes,
        "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_CREATE_USER": False,
        "OIDC_VERIFY_KID": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,
        "OIDC_REDIRECT_FIELD_NAME": "next",
    }


class ProviderRequestView(OIDCAuthenticationRequestView):  # type: ignore[misc]  # untyped library
    """The authorization request of one agency's provider (the library's view, our endpoints)."""

    def __init__(self, provider: IdentityProvider, document: dict[str, Any]):
        # The library's __init__ reads one provider from the settings; ours comes from the row.
        self.provider = provider
        self.OIDC_OP_AUTH_ENDPOINT = document["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self._settings = _provider_settings(provider)

    def get_settings(self, attr: str, *args: Any) -> Any:  # per provider, not static
        if attr in self._settings:
            return self._settings[attr]
        return getattr(settings, attr, args[0]) if args else getattr(settings, attr)


def authorization_redirect(request: HttpRequest, provider: IdentityProvider) -> HttpResponse:
    """Send the browser to the provider, remembering which provider this state belongs to."""
    view = ProviderRequestView(provider, discovery(provider))
    view.request = request
    response: HttpResponse = view.get(request)
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    pending = dict(request.session.get(SSO_STATES, {}))
    pending[state] = provider.pk
    request.session[SSO_STATES] = pending
    return response


class ProviderBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # untyped library
    """Code exchange and token checks for one agency's provider (not in AUTHENTICATION_BACKENDS:
    the callback calls it directly, then signs the user in with the model backend)."""

    def __init__(self, provider: IdentityProvider, document: dict[str, Any], resolve: Any):
        self.provider = provider
        self.document = document
        self.resolve = resolve  # claims -> user (privacy.services.sso.sso_user_resolve)
        self.claims: dict[str, Any] = {}
        self.OIDC_OP_TOKEN_ENDPOINT = document["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = document.get("userinfo_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = document["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = client_secret(provider)
        self.OIDC_RP_SIGN_ALGO = SIGNING_ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()
        self._settings = _provider_settings(provider)

    def get_settings(self, attr: str, *args: Any) -> Any:  # per provider, not static
        if attr in self._settings:
            return self._settings[attr]
        return getattr(settings, attr, args[0]) if args else getattr(settings, attr)

    def get_payload_data(self, token: Any, key: Any) -> dict[str, Any]:
        """Signature, expiry, audience and issuer, all checked (the library skips the audience)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SsoRefused("token", "The identity provider sent an unreadable token.") from exc
        if header.get("alg") != SIGNING_ALGORITHM:
            raise SsoRefused(
                "algorithm",
                "The identity provider signed the token with an algorithm we do not accept.",
                {"alg": str(header.get("alg"))[:20]},
            )
        checks: list[tuple[type[Exception], str, str]] = [
            (jwt.ExpiredSignatureError, "expired", "The sign-in token has expired. Sign in again."),
            (jwt.ImmatureSignatureError, "not_yet_valid", "The sign-in token is not valid yet."),
            (
                jwt.InvalidAudienceError,
                "audience",
                "The sign-in token was issued for another application.",
            ),
            (jwt.InvalidIssuerError, "issuer", "The sign-in token comes from another issuer."),
            (jwt.MissingRequiredClaimError, "claims", "The sign-in token lacks required claims."),
            (jwt.PyJWTError, "signature", "The sign-in token's signature is not valid."),
        ]
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[SIGNING_ALGORITHM],
                audience=self.provider.client_id,
                issuer=self.document["issuer"],
                leeway=settings.SSO_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            for kind, reason, message in checks:
                if isinstance(exc, kind):
                    raise SsoRefused(reason, message) from exc
            raise
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.provider.client_id:
            raise SsoRefused("audience", "The sign-in token was issued for another application.")
        return payload

    def verify_token(self, token: Any, **kwargs: Any) -> Any:
        """The library's check (key from the JWKS, nonce); its refusals become ours."""
        try:
            return super().verify_token(token, **kwargs)
        except SuspiciousOperation as exc:
            reason = "nonce" if "Nonce" in str(exc) else "signature"
            raise SsoRefused(
                reason, "The sign-in answer does not belong to this sign-in. Start again."
            ) from exc

    def get_or_create_user(self, access_token: Any, id_token: Any, payload: Any) -> Any:
        """Claims from the ID token and userinfo; the user is found or made by the service."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SsoRefused("userinfo", "The identity provider's answers disagree.")
            claims = {**userinfo, **payload}  # the signed ID token wins (acr, amr, auth_time)
        self.claims = claims
        return self.resolve(provider=self.provider, claims=claims)


def mfa_asserted(provider: IdentityProvider, claims: dict[str, Any]) -> bool:
    """True if this provider is trusted for MFA and the token asserts it (acr, or one amr value)."""
    if provider.mfa_trust != "acr_amr":
        return False
    acr_ok = set(provider.mfa_acr_values.split())
    amr_ok = set(provider.mfa_amr_values.split())
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = amr.split()
    return bool(
        (claims.get("acr") and str(claims["acr"]) in acr_ok) or (amr_ok & {str(a) for a in amr})
    )
