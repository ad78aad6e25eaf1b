"""Sign-in, second factor, sign-out and the home page of each role."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import DomainError, NotFound, RateLimited
from privacy import services
from privacy.forms import InvitationAcceptForm, LoginForm, TokenForm
from privacy.http import AuthedRequest
from privacy.models import IdentityProvider
from privacy.selectors import user_has_confirmed_device

_PENDING_DEVICE = "_crosscheck_pending_totp"


def _safe_next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target

    return reverse(default)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Password step; then the second-factor step or its enrolment."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect("home")
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            services.session_login(request=request, actor=user)
            target = "otp-verify" if user_has_confirmed_device(user=user) else "otp-enrol"

            return redirect(f"{reverse(target)}?next={_safe_next(request)}")
        if getattr(request, "axes_locked_out", False):
            return render(request, "registration/locked_out.html", status=429)
        services.login_failure_record(username=request.POST.get("username", ""))
    providers = IdentityProvider.objects.filter(enabled=True, agency__is_active=True)
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "identity_providers": providers.select_related("agency").order_by("agency__name"),
        },
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link cannot sign anyone out)."""
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("login")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, under hourly limits per address and per client (no mail beyond)."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        try:
            services.password_reset_throttle(
                email=form.cleaned_data["email"], client=self.request.META.get("REMOTE_ADDR", "")
            )
        except RateLimited as exc:
            form.add_error(None, exc.message)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_enrol(request: AuthedRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: scan, then confirm with the first code."""
    user = request.user
    if user_has_confirmed_device(user=user):
        return redirect("otp-verify")
    device = None
    pending = request.session.get(_PENDING_DEVICE)
    if pending:
        device = TOTPDevice.objects.filter(pk=pending, user=user, confirmed=False).first()
    if device is None:
        device = services.totp_device_start(actor=user)
        request.session[_PENDING_DEVICE] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.totp_device_confirm(
            request=request, actor=user, device=device, token=form.cleaned_data["token"]
        )
        if codes is not None:
            request.session.pop(_PENDING_DEVICE, None)
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "next": _safe_next(request)},
            )
        form.add_error(
            "token", "That code is not right. Check the time on your device and try again."
        )
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "registration/otp_enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": secret,
            "next": request.GET.get("next", ""),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify(request: AuthedRequest) -> HttpResponse:
    """Second-factor check with an authenticator code or a recovery code."""
    if not user_has_confirmed_device(user=request.user):
        return redirect("otp-enrol")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.second_factor_verify(
            request=request, actor=request.user, token=form.cleaned_data["token"]
        ):
            return redirect(_safe_next(request))
        form.add_error("token", "That code is not right.")
    return render(
        request, "registration/otp_verify.html", {"form": form, "next": request.GET.get("next", "")}
    )


@login_required
@require_POST
def recovery_codes_regenerate(request: AuthedRequest) -> HttpResponse:
    """Issue new recovery codes (needs a verified session: the middleware sees to that)."""
    if not request.user.is_verified():  # type: ignore[attr-defined]  # django-otp's middleware adds it
        return redirect("otp-verify")
    codes = services.recovery_codes_issue(actor=request.user)
    return render(request, "registration/recovery_codes.html", {"codes": codes, "next": "/"})


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """An invitee sets a password; signing in then asks for 2FA enrolment."""

    try:
        invitation = services.invitation_for_token(token=token)
    except NotFound:
        return render(request, "privacy/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(token=token, password=form.cleaned_data["password1"])
        except DomainError as exc:
            for name, errors in exc.field_errors.items():
                for error in errors:
                    form.add_error("password1" if name == "password" else None, error)
        else:
            messages.success(request, "Your password is set. Sign in to enrol your authenticator.")
            return redirect("login")
    return render(
        request, "privacy/invitation_accept.html", {"form": form, "invitee": invitation.user}
    )
