"""One case: its page, the workflow actions on it, evidence, the printable notice, tasks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases import desk, forms, selectors, services
from cases.models import (
    Case,
    CaseKind,
    CaseStatus,
    CaseTask,
    Closure,
    DismissReason,
)
from cases.notices import render_cma
from cases.services.evidence import notice_file_name
from cases.views.common import (
    _agency_user,
    _break_glass_use,
    _case_by_number,
    _error,
    _require_case_work,
    _shown,
    _split,
    _today,
    _unit,
    _user_from,
    _visible_fields,
)
from core.errors import DomainError, NotFound
from privacy.categories import DataCategory
from privacy.decorators import personal_data
from privacy.http import AuthedRequest
from privacy.models import Unit
from verification.notices import pdf_response, pick_language


@login_required
@personal_data
@require_GET
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A case: subjects (masked), findings side by side, related cases, timeline, notes, evidence, tasks, gate."""
    _require_case_work(request.user)
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    related = selectors.related_cases(user=request.user, case=case)
    findings = selectors.case_findings(case=case, user=request.user)
    _shown(request, "cases.case_viewed", [case, *related], findings=findings)
    _break_glass_use(request, case)
    fields = _visible_fields(request.user, [case.owning_agency_id])[case.owning_agency_id]
    context = {
        "case": case,
        "fields": fields,
        "findings": findings,
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
        "notice_form": forms.NoticeForm(auto_id="notice-%s"),
        "propose_form": forms.ProposeForm(),
        "decide_form": forms.ContestDecideForm(),
        "signoff_form": forms.SignOffForm(),
        "evidence_form": forms.EvidenceForm(),
        "note_form": forms.NoteForm(),
        "task_form": forms.TaskForm(),
        "verify_form": forms.VerifyForm(),
        "is_supervisor": request.user.has_role("supervisor"),
        "steps": _steps(case),
        "sla": desk.sla(case, _today()),
        "gate_steps": desk.gate_steps(case, _today()),
        "next_actions": desk.next_actions(case, is_supervisor=request.user.has_role("supervisor")),
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


def _actor(request: AuthedRequest) -> Any:
    """The acting user of a workflow step."""
    return request.user


# action name -> (form, handler(request, case, cleaned) -> message): the workflow steps a case page posts.
ACTIONS: dict[str, tuple[type, Callable[..., Any]]] = {
    "assign": (
        forms.AssignForm,
        lambda r, c, d: (
            services.case_assign_round_robin(actor=_actor(r), case=c)
            if d.get("round_robin")
            else services.case_assign(
                actor=_actor(r), case=c, assignee=_user_from(r, d.get("assignee")) or _actor(r)
            )
        )
        and "Assigned.",
    ),
    "dismiss": (
        forms.DismissForm,
        lambda r, c, d: services.case_dismiss(
            actor=_actor(r), case=c, reason=d["reason"], note=d["note"]
        )
        and "Dismissed as a false positive.",
    ),
    "snooze": (
        forms.SnoozeForm,
        lambda r, c, d: services.case_snooze(
            actor=_actor(r), case=c, until=d["until"], reason=d["reason"], rule_code=d["rule_code"]
        )
        and "Snoozed.",
    ),
    "tag": (
        forms.TagForm,
        lambda r, c, d: services.case_tag(
            actor=_actor(r), case=c, add=_split(d["add"]), remove=_split(d["remove"])
        )
        and "Tags saved.",
    ),
    "merge": (
        forms.MergeForm,
        lambda r, c, d: services.case_merge(
            actor=_actor(r), case=c, into=_case_by_number(r, d["into"])
        )
        and "Merged.",
    ),
    "acknowledge": (
        forms.CloseForm,
        lambda r, c, d: services.case_evidence_acknowledge(actor=_actor(r), case=c)
        and "New findings marked as reviewed.",
    ),
    "open": (
        forms.CloseForm,
        lambda r, c, d: services.case_open_investigation(
            actor=_actor(r), case=c, kind=r.POST.get("kind") or None
        )
        and "Investigation opened.",
    ),
    "request_verification": (
        forms.CloseForm,
        lambda r, c, d: services.case_request_verification(actor=_actor(r), case=c)
        and "Verification requested.",
    ),
    "verify": (
        forms.VerifyForm,
        lambda r, c, d: services.case_verify_match(actor=_actor(r), case=c, note=d["note"])
        and "Match verified.",
    ),
    "notice": (
        forms.NoticeForm,
        lambda r, c, d: services.case_notice_issue(actor=_actor(r), case=c, language=d["language"])
        and "Notice generated.",
    ),
    "delivered": (
        forms.DeliveryForm,
        lambda r, c, d: services.case_notice_delivered(
            actor=_actor(r), case=c, method=d["method"], delivered_on=d["delivered_on"]
        )
        and "Delivery recorded; the contest window is open.",
    ),
    "contest": (
        forms.ContestForm,
        lambda r, c, d: services.case_contest_receive(actor=_actor(r), case=c, note=d["note"])
        and "Contest recorded.",
    ),
    "contest_decide": (
        forms.ContestDecideForm,
        lambda r, c, d: services.case_contest_decide(
            actor=_actor(r), case=c, outcome=d["outcome"], note=d["note"]
        )
        and "Contest decided.",
    ),
    "propose": (
        forms.ProposeForm,
        lambda r, c, d: services.case_disposition_propose(
            actor=_actor(r), case=c, closure=d["closure"], note=d["note"]
        )
        and "Disposition proposed for sign-off.",
    ),
    "signoff": (
        forms.SignOffForm,
        lambda r, c, d: services.case_disposition_sign_off(
            actor=_actor(r), case=c, approve=d["decision"] == "approve", note=d["note"]
        )
        and "Sign-off recorded.",
    ),
    "close": (
        forms.CloseForm,
        lambda r, c, d: services.case_close(
            actor=_actor(r), case=c, closure=Closure.NO_VIOLATION, note=d["note"]
        )
        and "Closed: no violation.",
    ),
    "escalate": (
        forms.CloseForm,
        lambda r, c, d: services.case_escalate(actor=_actor(r), case=c, note=d["note"])
        and "Escalated.",
    ),
    "member": (
        forms.MemberForm,
        lambda r, c, d: services.case_member_add(
            actor=_actor(r), case=c, user=_agency_user(r, d["user"])
        )
        and "Member added.",
    ),
    "handoff": (
        forms.HandoffForm,
        lambda r, c, d: services.case_handoff(
            actor=_actor(r),
            case=c,
            to_unit=_unit(d["to_unit"]),
            agreement_id=d["agreement"],
            note=d["note"],
        )
        and "Handed off.",
    ),
    "note": (
        forms.NoteForm,
        lambda r, c, d: services.case_note_add(actor=_actor(r), case=c, body=d["body"])
        and "Note added.",
    ),
    "task": (
        forms.TaskForm,
        lambda r, c, d: services.case_task_add(
            actor=_actor(r),
            case=c,
            title=d["title"],
            assignee=_user_from(r, d.get("assignee")),
            due_date=d.get("due_date"),
        )
        and "Task added.",
    ),
}


@login_required
@personal_data
@require_POST
def case_action(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    """Run one workflow action on a case from its page."""
    _require_case_work(request.user)
    table = ACTIONS
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
            messages.success(request, str(handler(request, case, form.cleaned_data)))
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
def evidence_upload(request: AuthedRequest, pk: int) -> HttpResponse:
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
def evidence_download(request: AuthedRequest, pk: int) -> HttpResponseBase:
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
def notice_print(request: AuthedRequest, pk: int) -> HttpResponseBase:
    """The notice kept as evidence, as the PDF it was generated (or, with `?language=`, the same
    notice in another language: its findings and date, not kept). Audited and accounted as a
    view of the case and of the reference values it shows."""
    try:
        case = selectors.get_case_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    notice = case.evidence.filter(kind="notice").order_by("-created_at").first()
    if notice is None:
        raise Http404
    findings = selectors.notice_findings(case=case, notice=notice)
    # The notice is kept exactly as generated, for the worker: it cannot be minimised for the
    # reader. A reader outside a category it shows does not get it (a colleague covered does).
    refused = selectors.categories_refused(user=request.user, findings=findings)
    if refused:
        labels = ", ".join(str(DataCategory(c).label) for c in refused)
        messages.error(
            request,
            f"The notice shows {labels} data, which your agreements do not cover: a colleague "
            "whose agreements do must print it.",
        )
        return redirect("cases:detail", pk=case.pk)
    asked = request.GET.get("language", "")
    try:
        language = pick_language(asked) if asked else ""
    except DomainError as exc:
        _error(request, exc)
        return redirect("cases:detail", pk=case.pk)
    stored = notice.declared_type == "application/pdf"
    if not language and not stored:  # a notice kept as HTML before notices became PDFs
        with notice.file.open("rb") as fh:
            html = fh.read().decode()
        _shown(request, "cases.case_viewed", [case], findings=findings, page="notice")
        return render(
            request,
            "cases/notice_print.html",
            {"case": case, "notice": notice, "notice_html": html},
        )
    if language and notice_file_name(case, language) != notice.original_name:
        data = render_cma(
            case=case,
            findings=findings,
            language=language,
            issued_on=timezone.localdate(notice.created_at),
        )
        name = notice_file_name(case, language)
    else:
        with notice.file.open("rb") as fh:
            data = fh.read()
        name = notice.original_name
    _shown(
        request,
        "cases.case_viewed",
        [case],
        findings=findings,
        page="notice",
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return pdf_response(data, name)


@login_required
@personal_data
@require_POST
def task_done(request: AuthedRequest, pk: int) -> HttpResponse:
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
