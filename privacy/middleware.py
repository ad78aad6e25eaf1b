"""Per-request checks on the server: session lifetime, second factor, no-store on personal data."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.authentication import SessionAuthentication

from audit.services import event_record
from core.api import error_body
from core.markers import response_scope, shows_personal_data
from privacy import policy
from privacy.selectors import user_has_confirmed_device

LOGIN_AT = "_crosscheck_login_at"
LAST_SEEN = "_crosscheck_last_seen"
# When the second factor was last checked in this session (identifier reveals need it recent).
OTP_VERIFIED_AT = "_crosscheck_otp_verified_at"
# The routes of signing in, the only ones a half-signed-in user (password done, second factor
# not yet) may reach; and /healthz, which answers anonymous probes anyway.
SIGN_IN_ROUTES = frozenset(
    {
        "login",
        "logout",
        "invitation-accept",
        "otp-enrol",
        "otp-verify",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "healthz",
        # single sign-on (the provider's answer) and the one-click unsubscribe of e-mails
        "sso-start",
        "sso-callback",
        "mail-unsubscribe",
    }
)


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


class NoStoreMiddleware:
    """Answers that show personal data are `Cache-Control: no-store` (and no-cache, private).

    Two signals, either suffices: the view is marked `personal_data`, or the response recorded a
    read of personal data through `privacy.reads` (which every page about people goes through).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with response_scope() as marks:
            response = self.get_response(request)
        if marks.personal_data or getattr(request, "_crosscheck_personal_data", False):
            add_never_cache_headers(response)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        if shows_personal_data(view_func):
            request._crosscheck_personal_data = True  # type: ignore[attr-defined]


class TwoFactorRequiredMiddleware:
    """Every route but those of signing in needs a verified second factor.

    A signed-in user who has not passed it is sent to the second-factor step (its enrolment if
    they have no authenticator yet); an API call gets a 403 in the API's error format. API views
    that do not accept the session (the employer API: its keys) are outside this: the session
    does not reach them, so its second factor is not theirs to ask.
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
        match = request.resolver_match
        if match is not None and match.view_name in SIGN_IN_ROUTES:
            return None
        if not _accepts_the_session(view_func):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                error_body("second_factor_required", "Sign in with your second factor."),
                status=403,
            )
        target = "otp-verify" if user_has_confirmed_device(user=user) else "otp-enrol"
        url = f"{reverse(target)}?next={quote(request.get_full_path(), safe='/')}"
        if request.headers.get("HX-Request"):
            return HttpResponseClientRedirect(url)
        return redirect(url)


def _accepts_the_session(view_func: Callable[..., Any]) -> bool:
    """False for a DRF view none of whose authenticators reads the session (API keys only)."""
    view_class = getattr(view_func, "cls", None)
    if view_class is None:
        return True
    return any(
        issubclass(auth, SessionAuthentication)
        for auth in getattr(view_class, "authentication_classes", ())
    )
