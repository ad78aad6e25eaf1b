"""Sign-in and second factors. Each write is atomic and audited."""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import event_record
from core.errors import RateLimited
from privacy.middleware import LAST_SEEN, LOGIN_AT, OTP_VERIFIED_AT
from privacy.models import User, UserSession

RECOVERY_CODE_COUNT = 10


@transaction.atomic
def session_login(*, request: HttpRequest, actor: User) -> None:
    """Sign the user in (Django rotates the session key) and record it."""
    login(request, actor, backend="django.contrib.auth.backends.ModelBackend")
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    if request.session.session_key is None:
        request.session.save()
    # Remembered so that deactivating the user can end this session at once.
    UserSession.objects.get_or_create(
        session_key=request.session.session_key, defaults={"user": actor}
    )
    event_record(action="auth.login", actor=actor)


def login_failure_record(*, username: str) -> None:
    """Record a failed sign-in without saying whether the username exists."""
    event_record(action="auth.login_failed", outcome="denied", detail={"username": username[:150]})


PASSWORD_RESET_WINDOW_SECONDS = 3600


def password_reset_throttle(*, email: str, client: str) -> None:
    """Count one password-reset request; over the hourly limits raise RateLimited, before any mail.

    Two limits, per clock hour: per address asked for (known or not, so the answer says nothing
    about which addresses exist) and per client address. A refusal is audited.
    """
    window = int(time.time() // PASSWORD_RESET_WINDOW_SECONDS)
    account = salted_hmac("crosscheck.password-reset", email.strip().lower()).hexdigest()
    for scope, who, limit in (
        ("account", account, settings.PRIVACY_PASSWORD_RESET_PER_ACCOUNT),
        ("client", client, settings.PRIVACY_PASSWORD_RESET_PER_CLIENT),
    ):
        key = f"privacy:pwreset:{scope}:{who}:{window}"
        cache.add(key, 0, timeout=PASSWORD_RESET_WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=PASSWORD_RESET_WINDOW_SECONDS * 2)
            count = 1
        if count > limit:
            event_record(
                action="auth.password_reset_requested",
                outcome="denied",
                detail={"refused": "rate limit", "scope": scope, "limit_per_hour": limit},
            )
            raise RateLimited(
                "Too many password-reset requests"
                + (" for this address" if scope == "account" else " from your network")
                + ". No e-mail was sent. Wait an hour, or ask your administrator for help."
            )


@transaction.atomic
def totp_device_start(*, actor: User) -> TOTPDevice:
    """An unconfirmed authenticator for the user; any earlier unconfirmed one is replaced."""
    TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
    return TOTPDevice.objects.create(user=actor, name="Authenticator", confirmed=False)


@transaction.atomic
def totp_device_confirm(
    *, request: HttpRequest, actor: User, device: TOTPDevice, token: str
) -> list[str] | None:
    """Confirm the authenticator with its first code; returns fresh recovery codes, or None if wrong."""
    if not device.verify_token(token):
        event_record(action="otp.failed", actor=actor, outcome="denied", detail={"step": "enrol"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
    otp_login(request, device)
    request.session[OTP_VERIFIED_AT] = time.time()
    event_record(action="otp.enrolled", actor=actor, object_type="totp_device", object_id=device.pk)
    return recovery_codes_issue(actor=actor)


@transaction.atomic
def recovery_codes_issue(*, actor: User) -> list[str]:
    """Replace the user's recovery codes with ten new single-use ones."""
    device, _ = StaticDevice.objects.get_or_create(
        user=actor, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [secrets.token_hex(4) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    event_record(
        action="otp.recovery_codes_issued",
        actor=actor,
        object_type="static_device",
        object_id=device.pk,
    )
    return codes


@transaction.atomic
def second_factor_verify(*, request: HttpRequest, actor: User, token: str) -> bool:
    """Check a TOTP or recovery code; on success the session counts as verified."""
    for device in TOTPDevice.objects.filter(user=actor, confirmed=True):
        if device.verify_token(token):
            otp_login(request, device)
            request.session[OTP_VERIFIED_AT] = time.time()
            event_record(
                action="otp.verified", actor=actor, object_type="totp_device", object_id=device.pk
            )
            return True
    for static in StaticDevice.objects.filter(user=actor, confirmed=True):
        if static.verify_token(token):
            otp_login(request, static)
            request.session[OTP_VERIFIED_AT] = time.time()
            event_record(
                action="otp.recovery_code_used",
                actor=actor,
                object_type="static_device",
                object_id=static.pk,
            )
            return True
    event_record(action="otp.failed", actor=actor, outcome="denied", detail={"step": "verify"})
    return False
