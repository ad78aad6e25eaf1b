"""HTML views of the privacy app, one module per screen family."""

from privacy.views.auth import (
    PasswordResetView,
    invitation_accept,
    login_view,
    logout_view,
    otp_enrol,
    otp_verify,
    recovery_codes_regenerate,
)

__all__ = [
    "PasswordResetView",
    "invitation_accept",
    "login_view",
    "logout_view",
    "otp_enrol",
    "otp_verify",
    "recovery_codes_regenerate",
]
