"""Reads about users, agencies and units."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.models import User


def user_has_confirmed_device(*, user: User) -> bool:
    """True if the user has a confirmed TOTP authenticator."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
