"""Across cases: investigations, person search, dashboards, notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import (
    Http404,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import event_record
from cases import forms, selectors, services
from cases.charts import bar_chart, line_chart
from cases.models import (
    Case,
)
from cases.search import person_search as search
from cases.views.common import _require_case_work, _rows, _shown, _today
from core.errors import DomainError
from privacy.decorators import personal_data
from privacy.http import AuthedRequest
from privacy.services.access import sensitive_rate_check


@login_required
@personal_data
@require_GET
def investigations(request: AuthedRequest) -> HttpResponse:
    """Investigations I am a member of."""
    _require_case_work(request.user)
    show_closed = request.GET.get("closed") == "1"
    cases = selectors.investigations_for(user=request.user, include_closed=show_closed)
    _shown(request, "cases.queue_viewed", cases, page="investigations")
    return render(
        request,
        "cases/investigations.html",
        {"rows": _rows(request.user, cases), "show_closed": show_closed, "today": _today()},
    )


@login_required
@personal_data
@require_http_methods(["GET", "POST"])
def person_search(request: AuthedRequest) -> HttpResponse:
    """Search verification records for a person: a purpose (case) is required; scoped; audited without the value."""
    _require_case_work(request.user)
    purpose_cases = list(
        Case.objects.visible_to(request.user)
        .open()
        .order_by("-created_at")
        .only("id", "number", "status")[:200]
    )
    form = forms.PersonSearchForm(request.POST or None, cases=purpose_cases)
    results = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        case = next((c for c in purpose_cases if str(c.pk) == data["purpose_case"]), None)
        if case is None:
            raise Http404
        if data["kind"] in ("ssn", "a_number"):
            try:
                sensitive_rate_check(request.user, "ssn_search")
            except DomainError as exc:
                messages.error(request, exc.message)
                return render(
                    request,
                    "cases/search.html",
                    {"form": form, "results": None},
                    status=exc.status_code,
                )
        results, key_kind, normalized = search(user=request.user, data=data)
        with transaction.atomic():
            # The value searched is never stored: the audit keeps its kind and a keyed hash.
            event_record(
                action="cases.person_searched",
                actor=request.user,
                object_type="case",
                object_id=case.pk,
                case_id=case.pk,
                subjects=[r["person_ref"] for r in results],
                justification=f"Search for case {case.number}",
                search_kind=key_kind,
                search_value=normalized,
                detail={"results": len(results)},
            )
    return render(request, "cases/search.html", {"form": form, "results": results})


@login_required
@personal_data
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    """The analyst's dashboard, and the supervisor's charts for supervisors."""
    _require_case_work(request.user)
    context: dict[str, Any] = {
        "analyst": selectors.analyst_dashboard(user=request.user, today=_today())
    }
    context["aging_chart"] = bar_chart(
        [(b["label"], b["count"]) for b in context["analyst"]["aging"]],
        title="My open cases by age",
    )
    if request.user.has_role("supervisor"):
        sup = selectors.supervisor_dashboard(user=request.user, today=_today())
        context["supervisor"] = sup
        context["backlog_chart"] = bar_chart(
            [(b["label"], b["count"]) for b in sup["backlog"]], title="Open backlog by age"
        )
        context["precision_chart"] = line_chart(
            {
                code: [(p["week"], p["precision"]) for p in points if p["precision"] is not None]
                for code, points in sup["precision"].items()
            },
            title="Precision per rule by week (1 - dismissal rate)",
        )
    return render(request, "cases/dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: AuthedRequest) -> HttpResponse:
    """My notifications; POST marks them read."""
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("cases:notifications")
    items = list(request.user.notifications.select_related("case")[:100])
    return render(request, "cases/notifications.html", {"items": items})
