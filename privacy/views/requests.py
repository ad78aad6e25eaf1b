"""Privacy Act screens: subject access and amendment requests, and the accounting of disclosures."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from audit.services import event_record
from core.errors import NotFound
from privacy import selectors, services
from privacy.decorators import personal_data
from privacy.forms import DecisionForm, ReasonForm, StatementForm, SubjectRequestForm
from privacy.http import AuthedRequest
from privacy.models import Role, SubjectRequest, SubjectRequestStatus
from privacy.views.common import run_service

STAFF = (Role.ADMIN, Role.SUPERVISOR)
READERS = (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR)


def _get(request: AuthedRequest, pk: int, action: str = "view") -> SubjectRequest:
    try:
        return selectors.get_subject_request_for_user(user=request.user, pk=pk, action=action)
    except NotFound as exc:
        raise Http404 from exc


@roles_required(*STAFF)
@personal_data
def subject_request_list(request: AuthedRequest) -> HttpResponse:
    """Open requests first, with their deadlines in federal working days."""
    qs = SubjectRequest.objects.visible_to(request.user)
    if request.GET.get("status") != "all":
        qs = qs.open()
    page = Paginator(qs.order_by("respond_due_on", "id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/subject_request_list.html",
        {"page": page, "today": timezone.localdate(), "all": request.GET.get("status") == "all"},
    )


@roles_required(*STAFF)
@personal_data
@require_http_methods(["GET", "POST"])
def subject_request_create(request: AuthedRequest) -> HttpResponse:
    """Intake: who asks, what for; records are matched across the registry at once."""
    form = SubjectRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        ok, result = run_service(
            request, form, lambda: services.subject_request_create(actor=request.user, **data)
        )
        if ok:
            messages.success(
                request,
                f"Request {result.reference} recorded; {len(result.matched_records)} records matched.",
            )
            return redirect("privacy:subject-request-detail", pk=result.pk)
    return render(
        request,
        "privacy/form.html",
        {"form": form, "title": "New Privacy Act request", "back": "privacy:subject-request-list"},
    )


@roles_required(*STAFF)
@personal_data
def subject_request_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The request, its clock, matched records, and the next steps."""
    subject_request = _get(request, pk)
    return render(
        request,
        "privacy/subject_request_detail.html",
        {
            "req": subject_request,
            "pauses": subject_request.pauses.all(),
            "statements": subject_request.statements.all(),
            "notices": subject_request.notices.select_related("recipient_agency"),
            "reason_form": ReasonForm(),
            "decision_form": DecisionForm(),
            "statement_form": StatementForm(),
            "Status": SubjectRequestStatus,
            "today": timezone.localdate(),
        },
    )


_STEPS: dict[str, Callable[..., Any]] = {
    "acknowledge": lambda r, s, p: services.subject_request_acknowledge(actor=r.user, request=s),
    "pause": lambda r, s, p: services.subject_request_pause(
        actor=r.user, request=s, reason=p.get("reason", "")
    ),
    "resume": lambda r, s, p: services.subject_request_resume(actor=r.user, request=s),
    "match": lambda r, s, p: services.subject_request_match(actor=r.user, request=s),
    "verify": lambda r, s, p: services.subject_request_verify_identity(
        actor=r.user, request=s, evidence=p.get("evidence", "")
    ),
    "decide": lambda r, s, p: services.amendment_decide(
        actor=r.user, request=s, grant=p.get("grant") == "1", reason=p.get("reason", "")
    ),
    "disagreement": lambda r, s, p: services.disagreement_file(
        actor=r.user, request=s, text=p.get("text", "")
    ),
    "close": lambda r, s, p: services.subject_request_close(
        actor=r.user, request=s, reason=p.get("reason", "")
    ),
}


@roles_required(*STAFF)
@personal_data
@require_POST
def subject_request_step(request: AuthedRequest, pk: int, step: str) -> HttpResponse:
    """One step of the request's workflow."""
    subject_request = _get(request, pk, action="change")
    if step not in _STEPS:
        raise Http404
    ok, _ = run_service(request, None, lambda: _STEPS[step](request, subject_request, request.POST))
    if ok:
        messages.success(request, "Done.")
    return redirect("privacy:subject-request-detail", pk=subject_request.pk)


@roles_required(*STAFF)
@personal_data
@require_POST
def subject_request_respond(request: AuthedRequest, pk: int) -> HttpResponse:
    """Send the access package and download it (JSON: records and disclosure report)."""
    subject_request = _get(request, pk, action="change")
    ok, package = run_service(
        request,
        None,
        lambda: services.subject_request_respond(actor=request.user, request=subject_request),
    )
    if not ok:
        return redirect("privacy:subject-request-detail", pk=subject_request.pk)
    response = HttpResponse(
        json.dumps(package, indent=2, default=str), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{subject_request.reference}.json"'
    return response


@roles_required(*READERS)
@personal_data
def disclosure_report(request: AuthedRequest) -> HttpResponse:
    """The accounting of disclosures about one person; `for_subject=1` leaves out (b)(7) entries."""
    person = request.GET.get("person", "").strip()
    for_subject = request.GET.get("for_subject") == "1"
    entries = (
        services.disclosure_report(person_refs=[person], for_subject=for_subject) if person else []
    )
    if person:
        event_record(
            action="disclosure.report_viewed",
            actor=request.user,
            subjects=[person],
            detail={"for_subject": for_subject, "format": request.GET.get("format", "html")},
        )
    if person and request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="disclosures.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "date",
                "nature",
                "purpose",
                "recipient",
                "recipient address",
                "basis",
                "routine use",
                "agreement",
                "record",
            ]
        )
        for d in entries:
            writer.writerow(
                [
                    d.occurred_at.date().isoformat(),
                    d.get_nature_display(),
                    d.purpose,
                    d.recipient_label,
                    d.recipient_agency_address,
                    d.get_basis_display(),
                    d.routine_use,
                    d.agreement.reference if d.agreement else "",
                    f"{d.record_type}:{d.record_id}",
                ]
            )
        return response
    if person and request.GET.get("format") == "json":
        return JsonResponse(
            {
                "person": person,
                "for_subject": for_subject,
                "entries": [
                    {
                        "date": d.occurred_at.isoformat(),
                        "nature": d.nature,
                        "purpose": d.purpose,
                        "recipient": d.recipient_label,
                        "recipient_address": d.recipient_agency_address,
                        "basis": d.basis,
                        "routine_use": d.routine_use,
                        "record": f"{d.record_type}:{d.record_id}",
                    }
                    for d in entries
                ],
            }
        )
    return render(
        request,
        "privacy/disclosure_report.html",
        {"person": person, "entries": entries, "for_subject": for_subject},
    )
