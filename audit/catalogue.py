"""The versioned event catalogue: every audit action and why it is recorded (AU-2)."""

from __future__ import annotations

CATALOGUE_VERSION = 1

# action -> why it is recorded. A service may record only actions listed here.
CATALOGUE: dict[str, str] = {
    # Authentication (AC-7, IA-2)
    "auth.login": "A user signed in: who holds a session, from where.",
    "auth.login_failed": "A failed sign-in: guessing and credential stuffing show here.",
    "auth.lockout": "An account/IP pair was locked after repeated failures.",
    "auth.logout": "A user signed out.",
    "auth.session_expired": "A session ended by idle or absolute timeout.",
    "auth.password_reset_requested": "A password reset was asked for.",
    "auth.password_changed": "A password was changed.",
    "otp.enrolled": "A TOTP device was confirmed.",
    "otp.verified": "A second factor was verified.",
    "otp.failed": "A wrong second factor was entered.",
    "otp.recovery_codes_issued": "New recovery codes replaced the old ones.",
    "otp.recovery_code_used": "A recovery code was used instead of the authenticator.",
    # Access control
    "access.denied": "A request was refused by the access policy (AC-3).",
    # Administration of the directory
    "directory.user_created": "A user account was provisioned.",
    "directory.user_changed": "A user's roles, unit or status changed.",
    "directory.demo_loaded": "Demo data was loaded (development only).",
}


def register(events: dict[str, str]) -> None:
    """Add an app's own events (called from its AppConfig.ready); a name may not be reused."""
    for action, why in events.items():
        if action in CATALOGUE and CATALOGUE[action] != why:
            raise ValueError(f"Audit action {action!r} is already catalogued with another meaning.")
        CATALOGUE[action] = why
