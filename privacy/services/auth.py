"""Sign-in and second factors. Each write is atomic and audited."""

from __future__ import annotations

import secrets
import time

from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import event_record
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
