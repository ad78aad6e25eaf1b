"""Screens of the engine: runs (start, follow live, cancel), shadow comparisons, rule quality."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.guards import roles_required
from core import queues
from core.errors import DomainError, NotFound
from crossref import registry, selectors, services
from crossref.forms import RunForm
from crossref.models import Run, RunMode, RunStatus

RUN_ROLES = ("admin", "supervisor")


def _idle_queue(run: Run) -> dict[str, str] | None:
    """The queue of a running run's partitions when no worker consumes it (the page says so)."""
    queue = (
        queues.idle_queue_of(services.PARTITION_TASK) if run.status == RunStatus.RUNNING else None
    )
    if queue is None:
        return None
    return {
        "name": queue,
        "worker": f"celery -A config worker -Q {','.join(queues.expected_queues())}",
    }


def _run_or_404(request: HttpRequest, pk: int, action: str = "view") -> Run:
    try:
        return selectors.get_run_for_user(user=request.user, pk=pk, action=action)
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_http_methods(["GET", "POST"])
@roles_required(*RUN_ROLES)
def run_list(request: HttpRequest) -> HttpResponse:
    """Recent runs, and the form to start one under the user's agreements."""
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.run_start(
                actor=request.user,
                rules=data["rules"],
                scope={
                    "date_from": data["date_from"],
                    "date_to": data["date_to"],
                    "employer_ids": data["employer_ids"],
                },
                mode=RunMode.SHADOW if data["shadow"] else RunMode.NORMAL,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("crossref:run-detail", pk=run.pk)
    runs = Run.objects.visible_to(request.user).select_related("owner")[:50]
    return render(request, "crossref/run_list.html", {"runs": runs, "form": form})


@login_required
@require_GET
@roles_required(*RUN_ROLES)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: live progress, and for a shadow run the comparison of versions."""
    run = _run_or_404(request, pk)
    context = {
        "run": run,
        "progress": selectors.run_progress(run=run),
        "comparison": selectors.shadow_compare(run=run) if run.mode == RunMode.SHADOW else [],
        "idle_queue": _idle_queue(run),
    }
    return render(request, "crossref/run_detail.html", context)


@login_required
@require_GET
@roles_required(*RUN_ROLES)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment htmx polls every two seconds while the run is running."""
    run = _run_or_404(request, pk)
    return render(
        request,
        "crossref/_progress.html",
        {"run": run, "progress": selectors.run_progress(run=run), "idle_queue": _idle_queue(run)},
    )


@login_required
@require_POST
@roles_required(*RUN_ROLES)
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a run (its owner or an admin)."""
    run = _run_or_404(request, pk)
    try:
        services.run_cancel(actor=request.user, run=run)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"Run {run.pk} cancelled.")
    return redirect("crossref:run-detail", pk=run.pk)


@login_required
@require_GET
@roles_required(*RUN_ROLES)
def quality(request: HttpRequest) -> HttpResponse:
    """Per-rule quality counts for the Data Integrity Board: hits and triage outcomes."""
    rules = sorted(registry.REGISTRY.values(), key=lambda r: (r.family, r.code, r.version))
    return render(
        request, "crossref/quality.html", {"quality": selectors.rule_quality(), "rules": rules}
    )
