"""Break-glass access and the in-app notifications inbox."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from privacy import policy, selectors, services
from privacy.forms import BreakGlassForm
from privacy.http import AuthedRequest
from privacy.models import Agency, BreakGlassGrant, Notification, Role
from privacy.selectors import grants_of
from privacy.views.common import run_service


def _safe(request: AuthedRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@roles_required(Role.ANALYST, Role.SUPERVISOR, Role.STATUS_VERIFIER)
@require_http_methods(["GET", "POST"])
def break_glass(request: AuthedRequest) -> HttpResponse:
    """Ask for time-boxed access to a record outside one's assignments, with a written justification."""
    form = BreakGlassForm(
        request.POST or None, initial={"subject_ref": request.GET.get("subject", "")}
    )
    target = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "POST" and form.is_valid():
        ok, grant = run_service(
            request,
            form,
            lambda: services.break_glass_open(actor=request.user, **form.cleaned_data),
        )
        if ok:
            messages.warning(
                request,
                f"Access open until {grant.expires_at:%H:%M}. Your supervisor will review it.",
            )
            return redirect(_safe(request, target))
    return render(
        request,
        "privacy/break_glass.html",
        {"form": form, "next": target, "subject": request.GET.get("subject", "")},
    )


@roles_required(Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
def break_glass_list(request: AuthedRequest) -> HttpResponse:
    """Break-glass grants, unreviewed first."""
    unreviewed = request.GET.get("state") == "unreviewed"
    grants = selectors.break_glass_for(user=request.user, unreviewed=unreviewed).select_related(
        "user", "reviewed_by"
    )
    page = Paginator(grants, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/break_glass_list.html",
        {
            "page": page,
            "unreviewed": unreviewed,
            "can_review": request.user.has_role(Role.SUPERVISOR),
        },
    )


@roles_required(Role.SUPERVISOR)
@require_POST
def break_glass_review(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark a break-glass grant reviewed."""
    grant = get_object_or_404(BreakGlassGrant.objects.visible_to(request.user), pk=pk)
    ok, _ = run_service(
        request,
        None,
        lambda: services.break_glass_review(
            actor=request.user, grant=grant, note=request.POST.get("note", "")
        ),
    )
    if ok:
        messages.success(request, "Reviewed.")
    return redirect("privacy:break-glass-list")


@login_required
def notification_list(request: AuthedRequest) -> HttpResponse:
    """The user's own messages, newest first."""
    page = Paginator(Notification.objects.filter(user=request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "privacy/notification_list.html", {"page": page})


@login_required
@require_POST
def notification_read(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark one of one's own messages read (another user's answers 404)."""
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    services.notification_mark_read(actor=request.user, notification=note)
    return redirect(note.link or "privacy:notification-list")


@login_required
def my_access(request: AuthedRequest) -> HttpResponse:
    """What the signed-in user may do right now, per data category and action, and whose data."""

    names = dict(Agency.objects.values_list("pk", "code"))
    rows = []
    for category, label in policy.DataCategory.choices:
        cells = []
        for action in policy.Action.values:
            owners = policy.allowed_owner_ids(request.user, action=action, category=category)
            cells.append([names.get(o, "?").upper() for o in owners])
        rows.append({"label": label, "cells": cells})
    return render(
        request,
        "privacy/my_access.html",
        {
            "rows": rows,
            "actions": policy.Action.choices,
            "grants": selectors.grants_in_force(user=request.user)
            if request.GET.get("grants") == "in_force"
            else grants_of(user=request.user),
            "in_force_only": request.GET.get("grants") == "in_force",
        },
    )
