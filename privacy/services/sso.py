"""Single sign-on writes: an agency's provider and claim mapping, and the sign-in itself.

Roles never come from the identity provider: a user it creates has none, whatever the claims
say (roles, groups, entitlements are not read), and a later sign-in never touches them. Roles
come from an admin, through grants and agreements, after the user asks (`access_request_submit`).
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login

from audit.services import event_record
from core.errors import ValidationFailed
from privacy import policy
from privacy.crypto import encrypt
from privacy.middleware import LAST_SEEN, LOGIN_AT, OTP_VERIFIED_AT
from privacy.models import Agency, Unit, User, UserSession
from privacy.models.sso import (
    ExternalIdentity,
    IdentityProvider,
    IdentityProviderDevice,
    MfaTrust,
    UnitClaimMapping,
)
from privacy.sso import SsoRefused, discovery

PROVIDER_FIELDS = (
    "issuer",
    "client_id",
    "scopes",
    "enabled",
    "agency_claim",
    "agency_claim_value",
    "unit_claim",
    "default_unit",
    "mfa_trust",
    "mfa_acr_values",
    "mfa_amr_values",
)


def _shown(value: Any) -> Any:
    return value.code if isinstance(value, Unit) else value


@transaction.atomic
def sso_provider_save(
    *, actor: User, agency: Agency, client_secret: str = "", **fields: Any
) -> IdentityProvider:
    """Create or change an agency's identity provider; an enabled one must answer its discovery."""
    provider = IdentityProvider.objects.select_for_update().filter(agency=agency).first()
    created = provider is None
    if provider is None:
        provider = IdentityProvider(agency=agency)
        if not client_secret:
            raise ValidationFailed(
                "The client secret is required.",
                field_errors={"client_secret": ["Give the secret the provider issued."]},
            )
    before = {name: _shown(getattr(provider, name, None)) for name in PROVIDER_FIELDS}
    for name in PROVIDER_FIELDS:
        if name in fields:
            setattr(provider, name, fields[name])
    issuer = provider.issuer or ""
    if not issuer.startswith("https://") and not settings.SSO_ALLOW_HTTP_ISSUER:
        raise ValidationFailed(
            "The issuer must use HTTPS.", field_errors={"issuer": ["Use an https:// address."]}
        )
    provider.full_clean(exclude=["client_secret_enc"])
    if provider.enabled:
        try:
            discovery(provider, fresh=True)
        except SsoRefused as exc:
            raise ValidationFailed(exc.message, field_errors={"issuer": [exc.message]}) from exc
    provider.save()
    if client_secret:  # sealed for this row, so its id must exist first
        provider.client_secret_enc = encrypt(
            client_secret,
            table=IdentityProvider._meta.db_table,
            column="client_secret_enc",
            row_id=provider.pk,
        )
        provider.save(update_fields=["client_secret_enc"])
    changes = {
        name: [None if created else before[name], _shown(getattr(provider, name))]
        for name in PROVIDER_FIELDS
        if created or before[name] != _shown(getattr(provider, name))
    }
    if client_secret:
        changes["client_secret"] = ["", "(set)"]  # never the secret itself
    event_record(
        action="sso.provider_saved",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.pk,
        changes=changes,
        detail={"agency": agency.code, "created": created},
    )
    return provider


@transaction.atomic
def sso_mapping_save(
    *, actor: User, provider: IdentityProvider, value: str, unit: Unit
) -> UnitClaimMapping:
    """Map one value of the unit claim to a unit of the provider's agency (replacing any earlier)."""
    value = (value or "").strip()
    errors: dict[str, list[str]] = {}
    if not value:
        errors["value"] = ["Give the claim value."]
    if unit.agency_id != provider.agency_id:
        errors["unit"] = ["Pick a unit of this agency."]
    if not provider.unit_claim:
        errors["value"] = ["Name the unit claim on the provider first."]
    if errors:
        raise ValidationFailed("The mapping is not valid.", field_errors=errors)
    mapping = UnitClaimMapping.objects.filter(provider=provider, value=value).first()
    before = mapping.unit.code if mapping else None
    if mapping is None:
        mapping = UnitClaimMapping.objects.create(provider=provider, value=value, unit=unit)
    else:
        mapping.unit = unit
        mapping.save(update_fields=["unit", "updated_at"])
    event_record(
        action="sso.mapping_saved",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.pk,
        changes={f"{provider.unit_claim}={value}": [before, unit.code]},
        detail={"agency": provider.agency.code, "mapping": mapping.pk},
    )
    return mapping


@transaction.atomic
def sso_mapping_delete(*, actor: User, mapping: UnitClaimMapping) -> None:
    """Remove one claim-to-unit mapping (users keep their unit until their next sign-in)."""
    provider = mapping.provider
    event_record(
        action="sso.mapping_deleted",
        actor=actor,
        object_type="identity_provider",
        object_id=provider.pk,
        changes={f"{provider.unit_claim}={mapping.value}": [mapping.unit.code, None]},
        detail={"agency": provider.agency.code},
    )
    mapping.delete()


def _claim_values(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def mapped_unit(provider: IdentityProvider, claims: dict[str, Any]) -> Unit | None:
    """The unit the claims place the person in: the first mapped value, else the default unit."""
    if provider.unit_claim:
        values = _claim_values(claims, provider.unit_claim)
        by_value = {
            m.value: m.unit
            for m in UnitClaimMapping.objects.filter(
                provider=provider, value__in=values
            ).select_related("unit")
        }
        for value in values:
            if value in by_value:
                return by_value[value]
    return provider.default_unit


def _username(provider: IdentityProvider, claims: dict[str, Any]) -> str:
    base = str(claims.get("preferred_username") or claims["sub"])
    base = re.sub(r"[^\w.@+-]", "-", base)[:100] or "user"
    name = f"{provider.agency.code}.{base}"
    candidate, n = name, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def sso_user_resolve(*, provider: IdentityProvider, claims: dict[str, Any]) -> User:
    """The user these claims sign in as: found by (provider, subject), or made with no roles.

    The agency comes from the provider (and its agency claim, if set); the unit from the mapping.
    Roles, groups or any other claim never give a role.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused("claims", "The identity provider did not say who you are.")
    member = _claim_values(claims, provider.agency_claim) if provider.agency_claim else []
    if provider.agency_claim and provider.agency_claim_value not in member:
        raise SsoRefused(
            "agency_claim",
            f"Your identity provider does not place you in {provider.agency.name}.",
            {"claim": provider.agency_claim},
        )
    unit = mapped_unit(provider, claims)
    with transaction.atomic():
        identity = (
            ExternalIdentity.objects.select_for_update()
            .select_related("user")
            .filter(provider=provider, subject=subject)
            .first()
        )
        if identity is None:
            return _user_create(provider, claims, subject, unit)
        user = identity.user
        if not user.is_active:
            raise SsoRefused(
                "user_disabled", "Your Crosscheck account is disabled.", {"user": user.pk}
            )
        if user.agency_id != provider.agency_id:
            raise SsoRefused(
                "agency_mismatch",
                "Your Crosscheck account belongs to another agency.",
                {"user": user.pk},
            )
        if unit is not None and unit.pk != user.unit_id:
            event_record(
                action="directory.user_changed",
                actor=user,
                object_type="user",
                object_id=user.pk,
                changes={"unit": [user.unit.code if user.unit else None, unit.code]},
                detail={"source": "sso claims", "provider": provider.pk},
            )
            user.unit = unit
            user.save(update_fields=["unit"])
            policy.forget()
        identity.last_login_at = timezone.now()
        identity.save(update_fields=["last_login_at"])
        return user


def _user_create(
    provider: IdentityProvider, claims: dict[str, Any], subject: str, unit: Unit | None
) -> User:
    email = str(claims.get("email") or "") if claims.get("email_verified") is not False else ""
    user = User(
        username=_username(provider, claims),
        email=email[:254],
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
        agency=provider.agency,
        unit=unit,
        roles=[],  # never from the provider: an admin grants roles after an access request
    )
    user.set_unusable_password()
    user.save()
    ExternalIdentity.objects.create(
        provider=provider, subject=subject, user=user, last_login_at=timezone.now()
    )
    event_record(
        action="directory.user_created",
        actor=user,
        object_type="user",
        object_id=user.pk,
        changes={
            "username": [None, user.username],
            "agency": [None, provider.agency.code],
            "unit": [None, unit.code if unit else None],
            "roles": [None, []],
        },
        detail={"source": "sso first sign-in", "provider": provider.pk},
    )
    return user


@transaction.atomic
def sso_session_login(
    *, request: HttpRequest, user: User, provider: IdentityProvider, mfa: bool, auth_time: Any
) -> None:
    """Sign the user in after the provider vouched for them; its MFA counts only if trusted."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    if mfa:
        device, _ = IdentityProviderDevice.objects.get_or_create(
            user=user,
            provider=provider,
            defaults={"name": f"{provider.agency.code} identity provider", "confirmed": True},
        )
        otp_login(request, device)
        # A reveal needs a recent second factor: the provider's, as of its authentication time.
        at = float(auth_time) if isinstance(auth_time, int | float) else now
        request.session[OTP_VERIFIED_AT] = min(at, now)
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.get_or_create(
        session_key=request.session.session_key, defaults={"user": user}
    )
    event_record(
        action="auth.login",
        actor=user,
        detail={
            "method": "oidc",
            "provider": provider.pk,
            "agency": provider.agency.code,
            "second_factor": "identity provider"
            if mfa
            else (
                "local TOTP required" if provider.mfa_trust == MfaTrust.NEVER else "not asserted"
            ),
        },
    )


def sso_failure_record(
    *, reason: str, provider: IdentityProvider | None, detail: dict[str, Any] | None = None
) -> None:
    """Record a refused single sign-on, with its reason (never a token or a secret)."""
    event_record(
        action="auth.login_failed",
        outcome="denied",
        object_type="identity_provider" if provider else "",
        object_id=provider.pk if provider else "",
        detail={"method": "oidc", "reason": reason, **(detail or {})},
    )
