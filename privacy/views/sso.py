"""Single sign-on: the sign-in through an agency's provider, its administration, and the
requests for access that a new user (who has no roles) sends."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.guards import roles_required
from privacy import services
from privacy.forms_sso import (
    AccessDecisionForm,
    AccessRequestForm,
    IdentityProviderForm,
    UnitMappingForm,
)
from privacy.http import AuthedRequest
from privacy.models import Agency, Role
from privacy.models.sso import (
    AccessRequest,
    AccessRequestStatus,
    IdentityProvider,
    UnitClaimMapping,
)
from privacy.selectors import user_has_confirmed_device
from privacy.sso import SSO_STATES, ProviderBackend, SsoRefused, authorization_redirect, discovery
from privacy.sso import mfa_asserted as provider_mfa_asserted
from privacy.views.common import run_service


def _refused(
    request: HttpRequest,
    reason: str,
    message: str,
    provider: IdentityProvider | None,
    **detail: Any,
) -> HttpResponse:
    services.sso_failure_record(reason=reason, provider=provider, detail=detail)
    return render(
        request,
        "registration/sso_failed.html",
        {"message": message, "provider": provider},
        status=403,
    )


@never_cache
@require_GET
def sso_start(request: HttpRequest, agency: str) -> HttpResponse:
    """Send the browser to the agency's identity provider (state, nonce and PKCE kept in the session)."""
    provider = (
        IdentityProvider.objects.select_related("agency")
        .filter(agency__code=agency, enabled=True, agency__is_active=True)
        .first()
    )
    if provider is None:
        return render(
            request,
            "registration/sso_failed.html",
            {"message": "This agency does not sign in through an identity provider."},
            status=404,
        )
    try:
        return authorization_redirect(request, provider)
    except SsoRefused as exc:
        return _refused(request, exc.reason, exc.message, provider, **exc.detail)


def _pop_state(request: HttpRequest, state: str) -> tuple[dict[str, Any] | None, int | None]:
    """Take the state out of the session whatever happens next, so it can be used once only."""
    states = dict(request.session.get("oidc_states", {}))
    providers = dict(request.session.get(SSO_STATES, {}))
    entry, provider_id = states.pop(state, None), providers.pop(state, None)
    request.session["oidc_states"] = states
    request.session[SSO_STATES] = providers
    request.session.save()
    return entry, provider_id


@never_cache
@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: check state, code, token and claims; sign in, or say why not."""
    state = request.GET.get("state", "")
    entry, provider_id = _pop_state(request, state) if state else (None, None)
    provider = (
        IdentityProvider.objects.select_related("agency").filter(pk=provider_id).first()
        if provider_id
        else None
    )
    if entry is None or provider is None:
        return _refused(
            request,
            "state",
            "This sign-in answer is unknown or was already used. Start the sign-in again.",
            provider,
        )
    if not provider.enabled or not provider.agency.is_active:
        return _refused(
            request, "provider_disabled", "Sign-in through this provider is off.", provider
        )
    if request.GET.get("error"):
        return _refused(
            request,
            "provider_error",
            "The identity provider did not sign you in.",
            provider,
            error=request.GET["error"][:100],
        )
    if time.time() - float(entry.get("added_on", 0)) > settings.SSO_STATE_MAX_AGE:
        return _refused(
            request, "state_expired", "The sign-in took too long. Start again.", provider
        )
    target = request.session.get("oidc_login_next") or reverse("home")
    if request.user.is_authenticated:
        logout(request)  # a new sign-in replaces whoever held this browser's session
    try:
        backend = ProviderBackend(provider, discovery(provider), services.sso_user_resolve)
        user = backend.authenticate(
            request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
        )
    except SsoRefused as exc:
        return _refused(request, exc.reason, exc.message, provider, **exc.detail)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        return _refused(
            request,
            "token_refused",
            "The identity provider refused this sign-in answer (used twice, or too old). Start again.",
            provider,
            status=status,
        )
    except (requests.RequestException, ValueError) as exc:
        return _refused(
            request,
            "provider_unreachable",
            "The identity provider could not be reached. Try again later.",
            provider,
            error=type(exc).__name__,
        )
    if user is None:
        return _refused(request, "no_user", "The sign-in could not be completed.", provider)
    mfa = provider_mfa_asserted(provider, backend.claims)
    services.sso_session_login(
        request=request,
        user=user,
        provider=provider,
        mfa=mfa,
        auth_time=backend.claims.get("auth_time"),
    )
    if not mfa:
        step = "otp-verify" if user_has_confirmed_device(user=user) else "otp-enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': target})}")
    return redirect(target)


# --- administration of an agency's provider and its mapping -------------------------------------


@roles_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def sso_provider_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """An agency's identity provider, and the claim values that map people to its units."""
    agency = get_object_or_404(Agency, pk=pk)
    provider = IdentityProvider.objects.filter(agency=agency).first()
    form = IdentityProviderForm(request.POST or None, agency=agency, provider=provider)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.sso_provider_save(
                actor=request.user, agency=agency, **form.cleaned_data
            ),
        )
        if ok:
            messages.success(request, "Identity provider saved.")
            return redirect("privacy:sso-provider", pk=agency.pk)
    mappings = (
        UnitClaimMapping.objects.filter(provider=provider).select_related("unit")
        if provider
        else UnitClaimMapping.objects.none()
    )
    return render(
        request,
        "privacy/sso_provider.html",
        {
            "agency": agency,
            "provider": provider,
            "form": form,
            "mappings": mappings,
            "mapping_form": UnitMappingForm(agency=agency),
            "callback": request.build_absolute_uri(reverse("sso-callback")),
        },
    )


@roles_required(Role.ADMIN)
@require_POST
def sso_mapping_add(request: AuthedRequest, pk: int) -> HttpResponse:
    """Map a claim value to a unit of the agency."""
    provider = get_object_or_404(IdentityProvider.objects.select_related("agency"), agency_id=pk)
    form = UnitMappingForm(request.POST, agency=provider.agency)
    if form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.sso_mapping_save(
                actor=request.user, provider=provider, **form.cleaned_data
            ),
        )
        if ok:
            messages.success(request, "Mapping saved.")
    if form.errors:
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("privacy:sso-provider", pk=pk)


@roles_required(Role.ADMIN)
@require_POST
def sso_mapping_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    """Remove a claim-to-unit mapping."""
    mapping = get_object_or_404(UnitClaimMapping.objects.select_related("provider__agency"), pk=pk)
    agency_pk = mapping.provider.agency_id
    services.sso_mapping_delete(actor=request.user, mapping=mapping)
    messages.success(request, "Mapping removed.")
    return redirect("privacy:sso-provider", pk=agency_pk)


# --- requests for access --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def access_request_create(request: AuthedRequest) -> HttpResponse:
    """Ask an administrator for roles (a first SSO sign-in lands here: it gives none)."""
    mine = AccessRequest.objects.filter(user=request.user).select_related("unit", "decided_by")
    pending = mine.filter(status=AccessRequestStatus.PENDING).first()
    form = AccessRequestForm(
        request.POST or None,
        agency_id=request.user.agency_id,
        initial={"unit": request.user.unit_id},
    )
    if request.method == "POST" and pending is None and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.access_request_submit(actor=request.user, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Your request was sent to your agency's administrators.")
            return redirect("privacy:access-request")
    return render(
        request,
        "privacy/access_request.html",
        {"form": form, "pending": pending, "history": mine[:10]},
    )


@roles_required(Role.ADMIN)
def access_request_list(request: AuthedRequest) -> HttpResponse:
    """Requests for access, pending first."""
    requests_ = AccessRequest.objects.select_related(
        "user", "user__agency", "unit", "decided_by"
    ).order_by("-status", "-created_at")
    page = Paginator(requests_, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/access_request_list.html",
        {"page": page, "form": AccessDecisionForm(), "pending": AccessRequestStatus.PENDING},
    )


@roles_required(Role.ADMIN)
@require_POST
def access_request_decide(request: AuthedRequest, pk: int) -> HttpResponse:
    """Approve or decline one request."""
    access = get_object_or_404(AccessRequest, pk=pk)
    form = AccessDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or decline.")
        return redirect("privacy:access-request-list")
    ok, _ = run_service(
        request,
        None,
        lambda: services.access_request_decide(
            actor=request.user,
            request=access,
            approve=form.cleaned_data["approve"],
            roles=form.cleaned_data["roles"] or None,
            note=form.cleaned_data["note"],
        ),
    )
    if ok:
        messages.success(request, "Decision recorded.")
    return redirect("privacy:access-request-list")
