"""Session lifetime and 2FA enforcement, checked on every request on the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from audit.services import event_record
from privacy import policy
from privacy.selectors import user_has_confirmed_device

LOGIN_AT = "_crosscheck_login_at"
LAST_SEEN = "_crosscheck_last_seen"
# When the second factor was last checked in this session (identifier reveals need it recent).
OTP_VERIFIED_AT = "_crosscheck_otp_verified_at"
# Paths that a half-signed-in user (password done, 2FA not yet) may reach.
_TWO_FACTOR_OPEN_PREFIXES = ("/accounts/", "/static/", "/healthz", "/api/")


class SessionLifetimeMiddleware:
    """End sessions idle for 15 minutes or older than 12 hours (settings), whatever the cookie says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The access policy caches grants and agreements for this request only, so an agreement
        # that expires or is suspended cuts access at the very next request.
        with policy.request_scope():
            return self._handle(request)

    def _handle(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            login_at = request.session.get(LOGIN_AT, now)
            last_seen = request.session.get(LAST_SEEN, now)
            reason = ""
            if now - last_seen > settings.SESSION_IDLE_TIMEOUT.total_seconds():
                reason = "idle"
            elif now - login_at > settings.SESSION_ABSOLUTE_LIFETIME.total_seconds():
                reason = "absolute"
            if reason:
                event_record(action="auth.session_expired", actor=user, detail={"reason": reason})
                request.session_expired = True  # type: ignore[attr-defined]  # no second "logout" event
                logout(request)
                if request.path.startswith("/api/") or request.headers.get("HX-Request"):
                    return JsonResponse(
                        {
                            "error": {
                                "code": "session_expired",
                                "message": "Your session has ended.",
                                "fields": {},
                            }
                        },
                        status=401,
                    )
                messages.info(request, "Your session ended. Please sign in again.")
                return redirect(f"{reverse('login')}?next={request.path}")
            request.session[LOGIN_AT] = login_at
            request.session[LAST_SEEN] = now
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Supervisors and admins need a verified second factor everywhere; everyone does for personal data.

    Views that show personal data are marked with `privacy.decorators.personal_data`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if request.path.startswith(_TWO_FACTOR_OPEN_PREFIXES):
            return None
        if not (user.needs_two_factor or getattr(view_func, "personal_data", False)):
            return None

        target = "otp-verify" if user_has_confirmed_device(user=user) else "otp-enrol"
        return redirect(f"{reverse(target)}?next={request.get_full_path()}")
