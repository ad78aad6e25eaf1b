"""Retention screens: schedules, legal holds, purge preview and approval."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from privacy import registry, services
from privacy.forms import HoldForm, ReasonForm, ScheduleForm
from privacy.http import AuthedRequest
from privacy.models import LegalHold, PurgeRun, RetentionSchedule, Role
from privacy.services.retention import retention_years
from privacy.views.common import run_service


@roles_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def retention_overview(request: AuthedRequest) -> HttpResponse:
    """Schedules per source, open holds, and recent purge runs; set a schedule here."""
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.retention_schedule_save(actor=request.user, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Schedule saved.")
            return redirect("privacy:retention")
    sources = [
        {"name": s.name, "label": s.label, "years": retention_years(s)} for s in registry.sources()
    ]
    return render(
        request,
        "privacy/retention.html",
        {
            "sources": sources,
            "schedules": RetentionSchedule.objects.all(),
            "form": form,
            "hold_form": HoldForm(),
            "holds": LegalHold.objects.filter(released_at__isnull=True).select_related("placed_by"),
            "runs": PurgeRun.objects.select_related("requested_by", "approved_by")[:20],
            "reason_form": ReasonForm(),
        },
    )


@roles_required(Role.ADMIN)
@require_POST
def hold_place(request: AuthedRequest) -> HttpResponse:
    """Place a legal hold."""
    form = HoldForm(request.POST)
    if form.is_valid():
        ok, _ = run_service(
            request,
            None,
            lambda: services.legal_hold_place(actor=request.user, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Hold placed.")
    else:
        messages.error(request, "A hold needs a reason and a record or person.")
    return redirect("privacy:retention")


@roles_required(Role.ADMIN)
@require_POST
def hold_release(request: AuthedRequest, pk: int) -> HttpResponse:
    """Release a legal hold."""
    hold = get_object_or_404(LegalHold, pk=pk)
    ok, _ = run_service(
        request,
        None,
        lambda: services.legal_hold_release(
            actor=request.user, hold=hold, reason=request.POST.get("reason", "")
        ),
    )
    if ok:
        messages.success(request, "Hold released.")
    return redirect("privacy:retention")


@roles_required(Role.ADMIN)
@require_POST
def purge_preview(request: AuthedRequest) -> HttpResponse:
    """Compute what a purge would destroy now."""
    run = services.purge_preview(actor=request.user)
    return redirect("privacy:purge-detail", pk=run.pk)


@roles_required(Role.ADMIN)
def purge_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A purge run: preview counts per source, then what was destroyed."""
    run = get_object_or_404(PurgeRun.objects.select_related("requested_by", "approved_by"), pk=pk)
    return render(
        request, "privacy/purge_detail.html", {"run": run, "tombstones": run.tombstones.count()}
    )


@roles_required(Role.ADMIN)
@require_POST
def purge_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    """Approve a previewed purge; a worker destroys in chunks."""
    run = get_object_or_404(PurgeRun, pk=pk)
    ok, _ = run_service(request, None, lambda: services.purge_approve(actor=request.user, run=run))
    if ok:
        messages.success(request, "Purge approved; destruction runs in the background.")
    return redirect("privacy:purge-detail", pk=run.pk)
