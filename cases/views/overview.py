"""Across cases: investigations, person search, dashboards, notifications."""

from __future__ import annotations

import csv
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
from cases.charts import case_charts, verification_outcomes
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
    """Charts of the work, each with its table and CSV, under the queue's filters (`?chart=KEY&format=csv`)."""
    _require_case_work(request.user)
    form = forms.QueueFilterForm(request.GET)
    filters = form.filters()
    today = _today()
    params = {k: request.GET.get(k, "") for k in ("tnc_source", "employer")}
    charts = [
        *case_charts(user=request.user, filters=filters, today=today),
        verification_outcomes(user=request.user, params=params, today=today),
    ]
    wanted = request.GET.get("chart", "")
    if request.GET.get("format") == "csv":
        chart = next((c for c in charts if c.key == wanted), None)
        if chart is None:
            raise Http404
        return _chart_csv(chart)
    query = request.GET.urlencode()
    return render(
        request,
        "cases/dashboard.html",
        {
            "charts": charts,
            "filters": filters,
            "form": form,
            "query": query,
            "analyst": selectors.analyst_dashboard(user=request.user, today=today),
        },
    )


def _chart_csv(chart: Any) -> HttpResponse:
    """A chart's table as CSV (counts only: no personal data)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="crosscheck-{chart.key}.csv"'
    writer = csv.writer(response)
    writer.writerow(chart.headers)
    writer.writerows(["" if v is None else v for v in row] for row in chart.rows)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: AuthedRequest) -> HttpResponse:
    """My notifications; POST marks them read."""
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("cases:notifications")
    items = list(request.user.notifications.select_related("case")[:100])
    return render(request, "cases/notifications.html", {"items": items})
