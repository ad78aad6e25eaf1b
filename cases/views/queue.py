"""The triage queue: filters and saved views, htmx updates, bulk actions, the CSV export, next case."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cases import forms, selectors, services
from cases.access import allowed_agency_ids
from cases.models import (
    Case,
    CaseStatus,
    DismissReason,
    SavedView,
    Severity,
)
from cases.render import checks_html, options_html, queue_rows_html, queue_urls
from cases.views.common import (
    FIELD_CATEGORIES,
    _agency_user,
    _error,
    _read_kind,
    _require_case_work,
    _rows,
    _shown,
    _today,
    _visible_fields,
)
from core.errors import DomainError, NotFound, ValidationFailed
from crossref import registry
from privacy.decorators import personal_data
from privacy.http import AuthedRequest
from privacy.reads import Shown, personal_data_shown


def _queue_params(request: AuthedRequest, views: list[SavedView]) -> QueryDict:
    """The request's filters, or the unit's default view when none are given."""
    params = request.GET
    if not set(params) - {"after"}:
        default = next(
            (v for v in views if v.is_unit_default and v.unit_id == request.user.unit_id), None
        )
        if default is not None:
            view_params = QueryDict(default.query, mutable=True)
            view_params.setlist("after", request.GET.getlist("after"))
            return view_params
    return params


def _queue_context(request: AuthedRequest, params: QueryDict) -> dict[str, Any]:
    """What the results part of the queue shows (the rows, the pager): all that an htmx update renders.

    A filter that does not parse is left out, with a message saying so.
    """
    today = _today()
    parsed = forms.parse_queue_query(params)
    filters = parsed.fresh_filters()
    for problem in parsed.problems:
        messages.warning(request, problem)
    after = parsed.cursor
    page = selectors.queue_page(user=request.user, filters=filters, today=today, after=after)
    query = QueryDict(parsed.query, mutable=True)
    query.pop("after", None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["after"] = page.next_cursor
    _shown(
        request,
        "cases.queue_viewed",
        page.cases,
        filters=query.urlencode()[:500],
        after=after,
    )
    fields = _visible_fields(request.user, (c.owning_agency_id for c in page.cases))
    return {
        "page": page,
        "rows": page.cases,
        "rows_html": queue_rows_html(page.cases, fields=fields, today=today),
        "filters": filters,
        "query": query.urlencode(),
        "next_query": next_query.urlencode() if page.next_cursor else "",
        "today": today,
        "first_page": not after,
        "urls": queue_urls(),
    }


def _queue_controls(request: AuthedRequest, filters: selectors.QueueFilters) -> dict[str, Any]:
    """The full page's filter form and pickers, their option lists rendered once in Python."""

    assignees = selectors.assignable_choices(user=request.user)
    return {
        "status_checks": checks_html("status", CaseStatus.choices, filters.status),
        "severity_checks": checks_html("severity", Severity.choices, filters.severity),
        "rule_options": options_html(
            ((r.code, f"{r.code} — {r.title}") for r in registry.current_rules()), (filters.rule,)
        ),
        "sort_options": options_html(
            ((k, v[1]) for k, v in selectors.SORTS.items()), (filters.sort,)
        ),
        "assignee_filter_options": options_html(assignees, (filters.assignee,)),
        "assignee_options": options_html(assignees),
        "bulk_options": options_html(forms.BULK_CHOICES),
        "dismiss_options": options_html(DismissReason.choices),
    }


@login_required
@personal_data
@require_GET
def queue(request: AuthedRequest) -> HttpResponse:
    """The triage queue: filters, sort, keyset pages, bulk actions and the keyboard."""
    _require_case_work(request.user)
    views = selectors.saved_views_for(user=request.user)
    params = _queue_params(request, views)
    context = _queue_context(request, params)
    if request.htmx and not request.htmx.boosted:
        return render(request, "cases/_queue_results.html", context)
    context.update(_queue_controls(request, context["filters"]), saved_views=views)
    return render(request, "cases/queue.html", context)


def _bulk_ids(request: AuthedRequest, form: forms.BulkForm) -> tuple[list[int], str]:
    data = form.cleaned_data
    if data["scope"] == "filter":
        query = forms.QueueFilterForm(QueryDict(data.get("query") or ""))
        if query.problems():
            # "All matching" a filter that did not parse would be more cases than were meant.
            raise ValidationFailed(" ".join(query.problems()))
        filters = query.filters()
        ids = list(
            selectors.queue_queryset(
                user=request.user, filters=filters, today=_today(), action="change"
            ).values_list("pk", flat=True)[: settings.CASES_BULK_MAX + 1]
        )
        return ids, "filter"
    return data["ids"], "selection"


@login_required
@personal_data
@require_POST
def bulk(request: AuthedRequest) -> HttpResponse:
    """One bulk action (assign, dismiss, tag, merge, snooze) as one audited operation."""
    _require_case_work(request.user)
    form = forms.BulkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ids, scope = _bulk_ids(request, form)
            params: dict[str, Any] = {"scope": scope}
            if data["action"] == "assign":
                params["assignee"] = (
                    _agency_user(request, data.get("assignee"))
                    if data.get("assignee")
                    else request.user
                )
            elif data["action"] == "dismiss":
                params.update(reason=data["reason"], note=data.get("note", ""))
            elif data["action"] == "tag":
                params["add"] = [t.strip().lower() for t in data["tags"].split(",") if t.strip()]
            elif data["action"] == "snooze":
                params.update(until=data["until"], reason=data["snooze_reason"])
            elif data["action"] == "merge":
                target = (
                    Case.objects.visible_to(request.user, "change")
                    .filter(number=data["into"].strip().upper())
                    .only("pk")
                    .first()
                )
                if target is None:
                    raise NotFound("No such target case.")
                params["into"] = target.pk
            done = services.cases_bulk_apply(
                actor=request.user, action=data["action"], case_ids=ids, params=params
            )
            messages.success(
                request, f"{dict(forms.BULK_CHOICES)[data['action']]}: {len(done)} case(s)."
            )
        except NotFound as exc:
            messages.error(request, exc.message)
        except DomainError as exc:
            _error(request, exc)
    else:
        for field_name, errs in form.errors.items():
            for e in errs:
                messages.error(request, f"{field_name}: {e}" if field_name != "__all__" else str(e))
    query = request.POST.get("query", "")
    if request.htmx:
        context = _queue_context(request, QueryDict(query))
        return render(request, "cases/_queue_results.html", context)
    return redirect(f"{reverse('cases:queue')}?{query}")


@login_required
@personal_data
@require_GET
def export_csv(request: AuthedRequest) -> HttpResponseBase:
    """The queue as CSV: the visible fields only, capped, and one audit event naming everyone in it."""
    _require_case_work(request.user)
    if not allowed_agency_ids(request.user, "export"):
        raise PermissionDenied("No export for this role.")
    form = forms.QueueFilterForm(request.GET)
    if form.problems():
        return HttpResponseBadRequest(
            "\n".join(form.problems()) + "\n", content_type="text/plain; charset=utf-8"
        )
    filters = form.filters()
    cases = list(
        selectors.export_rows(
            user=request.user, filters=filters, today=_today(), limit=settings.CASES_EXPORT_MAX
        )
    )
    rows = _rows(request.user, cases)
    personal_data_shown(
        reader=request.user,
        kind=_read_kind("cases.exported"),
        records=[Shown(c.pk, c.subject_ref, c.owning_agency_id) for c in cases],
        nature="export",
        detail={"filters": form.query().urlencode()[:500]},
    )
    columns = [
        "number",
        "status",
        "priority",
        "severity",
        "score",
        "subject_name",
        "subject_last4",
        "employer_name",
        "state",
        "rules",
        "tags",
        "assignee",
        "due_date",
        "created_at",
    ]

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def stream():
        visible_cols = [
            c for c in columns if c not in FIELD_CATEGORIES or all(c in r["fields"] for r in rows)
        ]
        yield writer.writerow(visible_cols)
        for r in rows:
            c = r["case"]
            values = {
                "number": c.number,
                "status": c.get_status_display(),
                "priority": c.priority,
                "severity": c.severity,
                "score": f"{c.score:.2f}",
                "subject_name": c.subject_name,
                "subject_last4": c.subject_last4,
                "employer_name": c.employer_name,
                "state": c.state,
                "rules": " ".join(c.rule_codes),
                "tags": " ".join(c.tags),
                "assignee": c.assignee.username if c.assignee else "",
                "due_date": c.due_date.isoformat(),
                "created_at": c.created_at.isoformat(timespec="seconds"),
            }
            yield writer.writerow([_csv_safe(values[k]) for k in visible_cols])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="queue-{_today().isoformat()}.csv"'
    return response


def _csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in exported text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@login_required
@require_POST
def saved_view_save(request: AuthedRequest) -> HttpResponse:
    """Save the current filter as a view."""
    _require_case_work(request.user)
    form = forms.SavedViewForm(request.POST)
    if form.is_valid():
        try:
            services.saved_view_save(
                actor=request.user,
                name=form.cleaned_data["name"],
                query=form.cleaned_data["query"],
                shared=form.cleaned_data["shared"],
                unit_default=form.cleaned_data["unit_default"],
            )
            messages.success(request, "View saved.")
        except DomainError as exc:
            _error(request, exc)
    return redirect(f"{reverse('cases:queue')}?{form.data.get('query', '')}")


@login_required
@require_POST
def saved_view_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    """Delete a saved view."""
    view = SavedView.objects.filter(pk=pk).first()
    if view is None:
        raise Http404
    try:
        services.saved_view_delete(actor=request.user, view=view)
    except DomainError as exc:
        _error(request, exc)
    return redirect("cases:queue")


@login_required
@require_GET
def next_case(request: AuthedRequest) -> HttpResponse:
    """Open the case assigned to me that is due first."""
    _require_case_work(request.user)
    case = selectors.next_case_for(user=request.user)
    if case is None:
        messages.info(request, "Nothing is assigned to you. Pick a case from the queue.")
        return redirect("cases:queue")
    return redirect("cases:detail", pk=case.pk)
