"""The user's own e-mail settings, and the one-click unsubscribe that needs no sign-in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from privacy import services
from privacy.forms_sso import MailPreferencesForm
from privacy.http import AuthedRequest
from privacy.models.mail import Delivery, MailDigestItem, MailKind, MailPreference
from privacy.services.mail import unsubscribe_target
from privacy.views.common import run_service


@login_required
@require_http_methods(["GET", "POST"])
def mail_preferences(request: AuthedRequest) -> HttpResponse:
    """How each kind of e-mail reaches me: at once, in a daily digest, or never."""
    current = dict(MailPreference.objects.filter(user=request.user).values_list("kind", "delivery"))
    form = MailPreferencesForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.mail_preferences_set(actor=request.user, choices=form.cleaned_data),
        )
        if ok:
            messages.success(request, "Your e-mail settings are saved.")
            return redirect("privacy:mail-preferences")
    pending = MailDigestItem.objects.filter(user=request.user, sent_at__isnull=True).count()
    return render(
        request,
        "privacy/mail_preferences.html",
        {"form": form, "pending": pending, "daily": Delivery.DAILY, "email": request.user.email},
    )


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no token; the link is the proof
@never_cache
@require_http_methods(["GET", "POST"])
def mail_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link stops and a button; POST stops it (one click from a mail client)."""
    try:
        user, kinds = unsubscribe_target(token=token)
        if request.method == "POST":
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            user, kinds = services.mail_unsubscribe(token=token, one_click=one_click)
    except NotFound as exc:
        return render(request, "privacy/mail_unsubscribe.html", {"error": exc.message}, status=400)
    return render(
        request,
        "privacy/mail_unsubscribe.html",
        {
            "done": request.method == "POST",
            "labels": [MailKind(k).label for k in kinds],
            "username": user.username,
        },
    )
