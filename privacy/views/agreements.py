"""Agreement screens: list, detail, drafting, lifecycle, renewal and the signed document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from core.errors import NotFound
from privacy import selectors, services
from privacy.forms import AgreementForm, ApproveForm, DocumentForm, ReasonForm, RenewForm
from privacy.http import AuthedRequest
from privacy.models import Agreement, AgreementStatus, Role
from privacy.policy import Action, DataCategory
from privacy.views.common import run_service

READERS = (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR)


def _get(request: AuthedRequest, pk: int) -> Agreement:
    try:
        return selectors.get_agreement_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


@roles_required(*READERS)
def agreement_list(request: AuthedRequest) -> HttpResponse:
    """Every agreement the user may see, filterable by status; those ending within 30 days stand out."""
    status = request.GET.get("status", "")
    expiring = request.GET.get("expiring", "")
    agreements = selectors.agreements_for(
        user=request.user,
        status=status if status in AgreementStatus.values else "",
        expiring_within=int(expiring) if expiring in ("30", "60", "90") else None,
    ).select_related("source_agency", "recipient_agency")
    return render(
        request,
        "privacy/agreement_list.html",
        {
            "agreements": agreements,
            "status": status,
            "expiring_within": expiring if expiring in ("30", "60", "90") else "",
            "statuses": AgreementStatus.choices,
            "expiring": set(
                selectors.agreements_expiring(within_days=30).values_list("pk", flat=True)
            ),
        },
    )


@roles_required(*READERS)
def agreement_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The terms, scope grid, grants under it and the lifecycle actions an admin may take."""
    agreement = _get(request, pk)
    scope_rows = [
        {
            "category": label,
            "cells": [a in (agreement.scope or {}).get(c, []) for a in Action.values],
        }
        for c, label in DataCategory.choices
    ]
    return render(
        request,
        "privacy/agreement_detail.html",
        {
            "agreement": agreement,
            "scope_rows": scope_rows,
            "actions": Action.choices,
            "grants": agreement.grants.select_related("user").order_by("user__username"),
            "is_admin": request.user.has_role(Role.ADMIN),
            "in_force": agreement.in_force(),
            "reason_form": ReasonForm(),
            "approve_form": ApproveForm(),
            "renew_form": RenewForm(),
            "document_form": DocumentForm(),
        },
    )


@roles_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def agreement_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Draft a new agreement or change a draft."""
    agreement = _get(request, pk) if pk else None
    form = AgreementForm(request.POST or None, instance=agreement)
    if request.method == "POST" and form.is_valid():
        if agreement is None:
            ok, result = run_service(
                request, form, lambda: services.agreement_create(actor=request.user, **form.terms())
            )
        else:
            ok, result = run_service(
                request,
                form,
                lambda: services.agreement_update(
                    actor=request.user, agreement=agreement, **form.terms()
                ),
            )
        if ok:
            messages.success(request, "Agreement saved.")
            return redirect("privacy:agreement-detail", pk=result.pk)
    return render(
        request,
        "privacy/form.html",
        {"form": form, "title": "Agreement", "back": "privacy:agreement-list", "multipart": False},
    )


_TRANSITIONS: dict[str, tuple[Any, Callable[..., Any]]] = {
    "approve": (
        ApproveForm,
        lambda r, a, d: services.agreement_approve(
            actor=r.user, agreement=a, dib_reference=d["dib_reference"]
        ),
    ),
    "activate": (None, lambda r, a, d: services.agreement_activate(actor=r.user, agreement=a)),
    "suspend": (
        ReasonForm,
        lambda r, a, d: services.agreement_suspend(actor=r.user, agreement=a, reason=d["reason"]),
    ),
    "resume": (None, lambda r, a, d: services.agreement_resume(actor=r.user, agreement=a)),
    "terminate": (
        ReasonForm,
        lambda r, a, d: services.agreement_terminate(actor=r.user, agreement=a, reason=d["reason"]),
    ),
    "renew": (
        RenewForm,
        lambda r, a, d: services.agreement_renew(
            actor=r.user, agreement=a, expires_on=d["expires_on"]
        ),
    ),
}


_DONE = {
    "approve": "Board approval recorded.",
    "activate": "Agreement activated.",
    "suspend": "Agreement suspended.",
    "resume": "Suspension lifted.",
    "terminate": "Agreement terminated.",
    "renew": "Agreement renewed.",
}


@roles_required(Role.ADMIN)
@require_POST
def agreement_transition(request: AuthedRequest, pk: int, step: str) -> HttpResponse:
    """Approve, activate, suspend, resume, terminate or renew."""
    agreement = _get(request, pk)
    if step not in _TRANSITIONS:
        raise Http404
    form_class, call = _TRANSITIONS[step]
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("privacy:agreement-detail", pk=agreement.pk)
    data = form.cleaned_data if form is not None else {}
    ok, _ = run_service(request, None, lambda: call(request, agreement, data))
    if ok:
        messages.success(request, _DONE[step])
    return redirect("privacy:agreement-detail", pk=agreement.pk)


@roles_required(Role.ADMIN)
@require_POST
def agreement_document(request: AuthedRequest, pk: int) -> HttpResponse:
    """Upload the signed agreement."""
    agreement = _get(request, pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        ok, _ = run_service(
            request,
            None,
            lambda: services.agreement_document_upload(
                actor=request.user, agreement=agreement, document=form.cleaned_data["document"]
            ),
        )
        if ok:
            messages.success(request, "Signed agreement uploaded.")
    else:
        messages.error(request, "Choose a PDF.")
    return redirect("privacy:agreement-detail", pk=agreement.pk)


@roles_required(*READERS)
def agreement_document_download(request: AuthedRequest, pk: int) -> HttpResponseBase:
    """The signed agreement, for those who may see the agreement."""
    agreement = _get(request, pk)
    if not agreement.signed_document:
        raise Http404
    return FileResponse(
        agreement.signed_document.open("rb"),
        as_attachment=True,
        filename=f"{agreement.reference}.pdf",
    )
