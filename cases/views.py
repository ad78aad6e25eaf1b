"""HTML views of the triage queue, the case page, investigations, person search and dashboards.

Thin views (STYLE.md rule 7): parse input, fetch with permission, call one service, render or
redirect. Every page that shows people records ONE audit event naming all of them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import event_record
from cases import forms, selectors, services
from cases.access import allowed_agency_ids
from cases.charts import bar_chart, line_chart
from cases.models import (
    Case,
    CaseKind,
    CaseStatus,
    CaseTask,
    Closure,
    DismissReason,
    SavedView,
    Severity,
    _member_case_ids,
)
from cases.render import checks_html, options_html, queue_rows_html, queue_urls
from cases.search import person_search as search
from core.errors import DomainError, NotFound
from crossref import registry
from privacy.decorators import personal_data
from privacy.models import Unit, User
from privacy.policy import DataCategory, visible_fields
from privacy.reads import ReadKind, Shown, personal_data_shown
from privacy.selectors import break_glass_active
from privacy.services import break_glass_use
from privacy.services.access import sensitive_rate_check

# Fields of the queue and case page by data category (field minimisation for partner agencies).
FIELD_CATEGORIES = {
    "subject_name": DataCategory.VERIFICATION_CASES,
    "subject_last4": DataCategory.VERIFICATION_CASES,
    "employer_name": DataCategory.EMPLOYER_DATA,
}


def _today():
    return timezone.localdate()


def _require_case_work(user: Any) -> None:
    """Roles without case work (auditors, admins, verifiers) get 403, not an empty queue."""
    if not allowed_agency_ids(user, "view"):
        raise PermissionDenied("No case work for this role.")


def _visible_fields(user: Any, agency_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    out = {}
    for agency_id in set(agency_ids):
        owners = dict.fromkeys(set(FIELD_CATEGORIES.values()), agency_id)
        out[agency_id] = frozenset(visible_fields(user, FIELD_CATEGORIES, owners=owners))
    return out


def _rows(user: Any, cases: list[Case]) -> list[dict[str, Any]]:
    visible = _visible_fields(user, (c.owning_agency_id for c in cases))
    return [{"case": c, "fields": visible[c.owning_agency_id]} for c in cases]


def _read_kind(action: str, **extra: Any) -> ReadKind:
    return ReadKind(
        action=action,
        object_type="case",
        record_type="cases.case",
        category=DataCategory.INVESTIGATIONS,
        extra=extra,
    )


def _shown(request: HttpRequest, action: str, cases: Iterable[Case], **detail: Any) -> None:
    """One audit event naming everyone on the page, plus the accounting of disclosures."""
    cases = list(cases)
    single = action == "cases.case_viewed" and cases
    personal_data_shown(
        reader=request.user,
        kind=_read_kind(action),
        records=[Shown(c.pk, c.subject_ref, c.owning_agency_id) for c in cases],
        case_id=cases[0].pk if single else None,
        object_id=cases[0].pk if single else "",
        detail={"cases": [c.pk for c in cases], **detail},
    )


def _error(request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    messages.error(request, exc.message or "That could not be done.")
    for field_name, errs in exc.field_errors.items():
        for e in errs:
            messages.error(request, f"{field_name}: {e}")


# --- The queue -------------------------------------------------------------------------------------


def _queue_params(request: HttpRequest, views: list[SavedView]) -> QueryDict:
    """The request's filters, or the unit's default view when none are given."""
    params = request.GET
    if not set(params) - {"after"}:
        default = next(
            (v for v in views if v.is_unit_default and v.unit_id == request.user.unit_id), None
        )
        if default is not None:
            params = QueryDict(default.query)
    return params


def _queue_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    """What the results part of the queue shows (the rows, the pager): all that an htmx update renders."""
    today = _today()
    filters = selectors.QueueFilters.from_query(params)
    page = selectors.queue_page(
        user=request.user, filters=filters, today=today, after=request.GET.get("after", "")
    )
    query = params.copy()
    query.pop("after", None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["after"] = page.next_cursor
    _shown(
        request,
        "cases.queue_viewed",
        page.cases,
        filters=query.urlencode()[:500],
        after=request.GET.get("after", ""),
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
        "first_page": not request.GET.get("after"),
        "urls": queue_urls(),
    }


def _queue_controls(request: HttpRequest, filters: selectors.QueueFilters) -> dict[str, Any]:
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
def queue(request: HttpRequest) -> HttpResponse:
    """The triage queue: filters, sort, keyset pages, bulk actions and the keyboard."""
    _require_case_work(request.user)
    views = selectors.saved_views_for(user=request.user)
    params = _queue_params(request, views)
    context = _queue_context(request, params)
    if request.htmx and not request.htmx.boosted:
        return render(request, "cases/_queue_results.html", context)
    context.update(_queue_controls(request, context["filters"]), saved_views=views)
    return render(request, "cases/queue.html", context)


def _bulk_ids(request: HttpRequest, form: forms.BulkForm) -> tuple[list[int], str]:
    data = form.cleaned_data
    if data["scope"] == "filter":
        filters = selectors.QueueFilters.from_query(QueryDict(data.get("query") or ""))
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
def bulk(request: HttpRequest) -> HttpResponse:
    """One bulk action (assign, dismiss, tag, merge, snooze) as one audited operation."""
    _require_case_work(request.user)
    form = forms.BulkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        ids, scope = _bulk_ids(request, form)
        params: dict[str, Any] = {"scope": scope}
        try:
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
                messages.error(request, f"{field_name}: {e}" if field_name != "__all__" else e)
    query = request.POST.get("query", "")
    if request.htmx:
        context = _queue_context(request, QueryDict(query))
        return render(request, "cases/_queue_results.html", context)
    return redirect(f"{reverse('cases:queue')}?{query}")


def _agency_user(request: HttpRequest, pk: int | None) -> User:
    user = (
        User.objects.filter(pk=pk, agency_id=request.user.agency_id, is_active=True).first()
        if pk
        else None
    )
    if user is None:
        raise NotFound("No such colleague.")
    return user


@login_required
@personal_data
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """The queue as CSV: the visible fields only, capped, and one audit event naming everyone in it."""
    _require_case_work(request.user)
    if not allowed_agency_ids(request.user, "export"):
        raise PermissionDenied("No export for this role.")
    filters = selectors.QueueFilters.from_query(request.GET)
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
        detail={"filters": request.GET.urlencode()[:500]},
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
def saved_view_save(request: HttpRequest) -> HttpResponse:
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
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
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
def next_case(request: HttpRequest) -> HttpResponse:
    """Open the case assigned to me that is due first."""
    _require_case_work(request.user)
    case = selectors.next_case_for(user=request.user)
    if case is None:
        messages.info(request, "Nothing is assigned to you. Pick a case from the queue.")
        return redirect("cases:queue")
    return redirect("cases:detail", pk=case.pk)


# --- A case ----------------------------------------------------------------------------------------


@login_required
@personal_data
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A case: subjects (masked), findings side by side, related cases, timeline, notes, evidence, tasks, gate."""
    _require_case_work(request.user)
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    related = selectors.related_cases(user=request.user, case=case)
    _shown(request, "cases.case_viewed", [case, *related])
    _break_glass_use(request, case)
    fields = _visible_fields(request.user, [case.owning_agency_id])[case.owning_agency_id]
    context = {
        "case": case,
        "fields": fields,
        "findings": selectors.case_findings(case=case),
        "related": related,
        "timeline": selectors.case_timeline(case=case),
        "notes": list(case.notes.select_related("author")),
        "evidence": selectors.case_evidence(case=case),
        "tasks": list(case.tasks.select_related("assignee")),
        "linked_verification_cases": selectors.linked_verification_case_ids(case=case),
        "gate": services.gate_violations(case, proposer=request.user)
        if case.status == CaseStatus.CONTEST_WINDOW
        else [],
        "assignable": selectors.assignable_users(user=request.user),
        "today": _today(),
        "dismiss_reasons": DismissReason.choices,
        "kinds": CaseKind.choices,
        "delivery_form": forms.DeliveryForm(initial={"delivered_on": _today()}),
        "propose_form": forms.ProposeForm(),
        "decide_form": forms.ContestDecideForm(),
        "signoff_form": forms.SignOffForm(),
        "evidence_form": forms.EvidenceForm(),
        "note_form": forms.NoteForm(),
        "task_form": forms.TaskForm(),
        "verify_form": forms.VerifyForm(),
        "is_supervisor": request.user.has_role("supervisor"),
        "steps": _steps(case),
        "handoff_units": Unit.objects.exclude(agency_id=case.owning_agency_id).select_related(
            "agency"
        )
        if not case.is_closed
        else [],
    }
    return render(request, "cases/detail.html", context)


def _steps(case: Case) -> list[tuple[str, str, str]]:
    order = list(CaseStatus.values)
    here = order.index(case.status)
    return [
        (v, label, "now" if i == here else ("done" if i < here else ""))
        for i, (v, label) in enumerate(CaseStatus.choices)
    ]


def _break_glass_use(request: HttpRequest, case: Case) -> None:
    """A case seen only through break-glass lands in the supervisors' review (privacy)."""
    if case.opened_at is None and case.routed_unit_id == request.user.unit_id:
        return
    if case.pk not in _member_case_ids(request.user, "view_case") and break_glass_active(
        user=request.user, subject_ref=f"case:{case.pk}"
    ):
        break_glass_use(user=request.user, subject_ref=f"case:{case.pk}")


def _user_from(request: HttpRequest, value: Any) -> User | None:
    return _agency_user(request, int(value)) if value else None


# action name -> (form, handler(request, case, cleaned) -> message)
def _actions() -> dict[str, tuple[type, Callable[..., str]]]:
    u = lambda r: r.user  # noqa: E731
    return {
        "assign": (
            forms.AssignForm,
            lambda r, c, d: (
                services.case_assign_round_robin(actor=u(r), case=c)
                if d.get("round_robin")
                else services.case_assign(
                    actor=u(r), case=c, assignee=_user_from(r, d.get("assignee")) or u(r)
                )
            )
            and "Assigned.",
        ),
        "dismiss": (
            forms.DismissForm,
            lambda r, c, d: services.case_dismiss(
                actor=u(r), case=c, reason=d["reason"], note=d["note"]
            )
            and "Dismissed as a false positive.",
        ),
        "snooze": (
            forms.SnoozeForm,
            lambda r, c, d: services.case_snooze(
                actor=u(r), case=c, until=d["until"], reason=d["reason"], rule_code=d["rule_code"]
            )
            and "Snoozed.",
        ),
        "tag": (
            forms.TagForm,
            lambda r, c, d: services.case_tag(
                actor=u(r), case=c, add=_split(d["add"]), remove=_split(d["remove"])
            )
            and "Tags saved.",
        ),
        "merge": (
            forms.MergeForm,
            lambda r, c, d: services.case_merge(
                actor=u(r), case=c, into=_case_by_number(r, d["into"])
            )
            and "Merged.",
        ),
        "acknowledge": (
            forms.CloseForm,
            lambda r, c, d: services.case_evidence_acknowledge(actor=u(r), case=c)
            and "New findings marked as reviewed.",
        ),
        "open": (
            forms.CloseForm,
            lambda r, c, d: services.case_open_investigation(
                actor=u(r), case=c, kind=r.POST.get("kind") or None
            )
            and "Investigation opened.",
        ),
        "request_verification": (
            forms.CloseForm,
            lambda r, c, d: services.case_request_verification(actor=u(r), case=c)
            and "Verification requested.",
        ),
        "verify": (
            forms.VerifyForm,
            lambda r, c, d: services.case_verify_match(actor=u(r), case=c, note=d["note"])
            and "Match verified.",
        ),
        "notice": (
            forms.CloseForm,
            lambda r, c, d: services.case_notice_issue(actor=u(r), case=c) and "Notice generated.",
        ),
        "delivered": (
            forms.DeliveryForm,
            lambda r, c, d: services.case_notice_delivered(
                actor=u(r), case=c, method=d["method"], delivered_on=d["delivered_on"]
            )
            and "Delivery recorded; the contest window is open.",
        ),
        "contest": (
            forms.ContestForm,
            lambda r, c, d: services.case_contest_receive(actor=u(r), case=c, note=d["note"])
            and "Contest recorded.",
        ),
        "contest_decide": (
            forms.ContestDecideForm,
            lambda r, c, d: services.case_contest_decide(
                actor=u(r), case=c, outcome=d["outcome"], note=d["note"]
            )
            and "Contest decided.",
        ),
        "propose": (
            forms.ProposeForm,
            lambda r, c, d: services.case_disposition_propose(
                actor=u(r), case=c, closure=d["closure"], note=d["note"]
            )
            and "Disposition proposed for sign-off.",
        ),
        "signoff": (
            forms.SignOffForm,
            lambda r, c, d: services.case_disposition_sign_off(
                actor=u(r), case=c, approve=d["decision"] == "approve", note=d["note"]
            )
            and "Sign-off recorded.",
        ),
        "close": (
            forms.CloseForm,
            lambda r, c, d: services.case_close(
                actor=u(r), case=c, closure=Closure.NO_VIOLATION, note=d["note"]
            )
            and "Closed: no violation.",
        ),
        "escalate": (
            forms.CloseForm,
            lambda r, c, d: services.case_escalate(actor=u(r), case=c, note=d["note"])
            and "Escalated.",
        ),
        "member": (
            forms.MemberForm,
            lambda r, c, d: services.case_member_add(
                actor=u(r), case=c, user=_agency_user(r, d["user"])
            )
            and "Member added.",
        ),
        "handoff": (
            forms.HandoffForm,
            lambda r, c, d: services.case_handoff(
                actor=u(r),
                case=c,
                to_unit=_unit(d["to_unit"]),
                agreement_id=d["agreement"],
                note=d["note"],
            )
            and "Handed off.",
        ),
        "note": (
            forms.NoteForm,
            lambda r, c, d: services.case_note_add(actor=u(r), case=c, body=d["body"])
            and "Note added.",
        ),
        "task": (
            forms.TaskForm,
            lambda r, c, d: services.case_task_add(
                actor=u(r),
                case=c,
                title=d["title"],
                assignee=_user_from(r, d.get("assignee")),
                due_date=d.get("due_date"),
            )
            and "Task added.",
        ),
    }


def _split(value: str) -> list[str]:
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


def _unit(pk: int) -> Unit:
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None:
        raise NotFound("No such unit.")
    return unit


def _case_by_number(request: HttpRequest, number: str) -> Case:
    case = (
        Case.objects.visible_to(request.user, "change")
        .filter(number=number.strip().upper())
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


@login_required
@personal_data
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one workflow action on a case from its page."""
    _require_case_work(request.user)
    table = _actions()
    if action not in table:
        raise Http404
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk, action="change")
    except NotFound as exc:
        raise Http404 from exc
    form_class, handler = table[action]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            messages.success(request, handler(request, case, form.cleaned_data))
        except DomainError as exc:
            _error(request, exc)
    else:
        for field_name, errs in form.errors.items():
            for e in errs:
                messages.error(request, f"{field_name}: {e}")
    if (
        action == "merge"
        and case.pk
        and not Case.objects.visible_to(request.user).filter(pk=pk).exists()
    ):
        return redirect("cases:queue")
    return redirect("cases:detail", pk=pk)


@login_required
@personal_data
@require_POST
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add evidence to a case (hash recorded, custody started)."""
    _require_case_work(request.user)
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk, action="change")
    except NotFound as exc:
        raise Http404 from exc
    form = forms.EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.evidence_add(
                actor=request.user,
                case=case,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
            )
            messages.success(request, "Evidence added.")
        except DomainError as exc:
            _error(request, exc)
    else:
        messages.error(request, "Choose a file.")
    return redirect("cases:detail", pk=pk)


@login_required
@personal_data
@require_GET
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Evidence as a download only: never inline, never with the uploader's content type."""
    try:
        evidence = selectors.get_evidence_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    services.evidence_download_record(actor=request.user, evidence=evidence)
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@personal_data
@require_GET
def notice_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice kept as evidence, shown for printing exactly as it was generated (with its hash)."""
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    notice = case.evidence.filter(kind="notice").order_by("-created_at").first()
    if notice is None:
        raise Http404
    with notice.file.open("rb") as fh:
        html = fh.read().decode()
    _shown(request, "cases.case_viewed", [case], page="notice")
    return render(
        request, "cases/notice_print.html", {"case": case, "notice": notice, "notice_html": html}
    )


@login_required
@personal_data
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done."""
    task = CaseTask.objects.filter(
        pk=pk, case__in=Case.objects.visible_to(request.user, "change")
    ).first()
    if task is None:
        raise Http404
    try:
        services.case_task_complete(actor=request.user, task=task)
    except DomainError as exc:
        _error(request, exc)
    return redirect("cases:detail", pk=task.case_id)


# --- Investigations, search, dashboards, notifications ---------------------------------------------


@login_required
@personal_data
@require_GET
def investigations(request: HttpRequest) -> HttpResponse:
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
def person_search(request: HttpRequest) -> HttpResponse:
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
def dashboard(request: HttpRequest) -> HttpResponse:
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
def notifications(request: HttpRequest) -> HttpResponse:
    """My notifications; POST marks them read."""
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("cases:notifications")
    items = list(request.user.notifications.select_related("case")[:100])
    return render(request, "cases/notifications.html", {"items": items})
