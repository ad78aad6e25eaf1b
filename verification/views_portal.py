"""The employer portal's case screens: the list (action needed first), create, the case page and
its actions (notice, decision, referral, closure, close and resubmit).

Every view fetches through `selectors_portal` (404 for anything outside the person's employers),
calls one service, and audits what it showed. Validation messages are the API's: the case form is
checked by the API's input serializer and the submit service.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import event_record
from core.api import unechoed
from core.errors import DomainError, NotFound, ValidationFailed
from core.markers import personal_data
from verification import selectors_portal as sel
from verification import services
from verification.api import CaseSubmitApi
from verification.forms_portal import CaseForm, CloseForm, DecisionForm, NoticeForm
from verification.models import CaseStatus, EmployerAccess
from verification.services.portal import case_resubmit


def access_or_404(request: HttpRequest, employer_id: Any) -> EmployerAccess:
    """The signed-in person's grant for the employer in the URL, or 404."""
    try:
        return sel.portal_access(user=request.user, employer_id=employer_id)
    except NotFound as exc:
        raise Http404("No such employer.") from exc


def _case_or_404(access: EmployerAccess, pk: Any) -> Any:
    try:
        return sel.portal_case(employer=access.employer, pk=pk)
    except NotFound as exc:
        raise Http404("No such case.") from exc


def _apply(form: Any, error: DomainError) -> None:
    for field, msgs in (error.field_errors or {}).items():
        for message in msgs:
            form.add_error(field if field in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


def _shown(action: str, cases: list[Any], employer_id: int) -> None:
    if cases:
        event_record(
            action=action,
            object_type="verification_case",
            object_id=cases[0].pk if len(cases) == 1 else "",
            subjects=[f"vcase:{c.pk}" for c in cases] + [f"employer:{employer_id}"],
            detail={"count": len(cases), "channel": "portal"},
        )


@login_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """The employers the person acts for (one: straight to its cases)."""
    accesses = list(sel.portal_accesses(user=request.user))
    if not accesses:
        raise Http404("You act for no employer.")
    if len(accesses) == 1:
        return redirect("portal:case-list", employer_id=accesses[0].employer_id)
    return render(request, "verification/portal/home.html", {"accesses": accesses})


@login_required
@personal_data
@require_http_methods(["GET"])
def case_list(request: HttpRequest, employer_id: int) -> HttpResponse:
    """The employer's cases, those needing action first."""
    access = access_or_404(request, employer_id)
    status = request.GET.get("status", "")
    status = status if status in CaseStatus.values else ""
    page = Paginator(sel.portal_cases(employer=access.employer, status=status), 50).get_page(
        request.GET.get("page")
    )
    cases = list(page.object_list)
    _shown("vcase.listed", cases, access.employer_id)
    return render(
        request,
        "verification/portal/case_list.html",
        {
            "access": access,
            "page": page,
            "cases": cases,
            "status": status,
            "statuses": CaseStatus.choices,
            "accesses": sel.portal_accesses(user=request.user),
        },
    )


def _sites(access: EmployerAccess) -> list[tuple[int, str]]:
    return [(s.pk, str(s)) for s in access.employer.sites.filter(is_active=True)]


def _submit_form(
    request: HttpRequest, access: EmployerAccess, *, old: Any = None
) -> tuple[CaseForm, Any]:
    """Check a posted case form as the API would, then create (or resubmit) the case."""
    form = CaseForm(request.POST, sites=_sites(access))
    form.full_clean()  # every field accepts text: this only binds the values
    sent = form.api_data()
    serializer = CaseSubmitApi.Input(data=sent)
    if not serializer.is_valid():
        # The API's own messages, values typed not repeated (as the API answers them).
        messages = unechoed(
            {f: [str(e) for e in errs] for f, errs in serializer.errors.items()},
            {str(v).strip() for v in sent.values() if isinstance(v, str)},
        )
        for field, errors in messages.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return form, None
    data = dict(serializer.validated_data)
    data.pop("submit", None)
    token_hash = hashlib.sha256(request.POST.get("form_token", "").encode()).hexdigest()
    key = f"portal:{request.user.pk}:{token_hash[:40]}"
    try:
        if old is not None:
            case = case_resubmit(actor=request.user, case=old, data=data)
        else:
            case = services.case_create(
                actor=request.user,
                employer=access.employer,
                data=data,
                idempotency_key=key if request.POST.get("form_token") else "",
                request_hash=token_hash,
            )
    except DomainError as exc:
        _apply(form, exc)
        return form, None
    return form, case


@login_required
@personal_data
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest, employer_id: int) -> HttpResponse:
    """Create a case from Form I-9 data; the instant result follows at once."""
    access = access_or_404(request, employer_id)
    if request.method == "POST":
        form, case = _submit_form(request, access)
        if case is not None:
            messages.success(request, f"Case {case.pk} created: {case.get_status_display()}.")
            return redirect("portal:case-detail", employer_id=access.employer_id, pk=case.pk)
        status = 400
    else:
        form, status = CaseForm(sites=_sites(access)), 200
    return render(
        request,
        "verification/portal/case_form.html",
        {"access": access, "form": form, "form_token": _token(request), "old": None},
        status=status,
    )


def _token(request: HttpRequest) -> str:
    """A value the form carries once: a double submit of the same form creates one case."""
    return (
        request.POST.get("form_token")
        or hashlib.sha256(f"{request.user.pk}:{timezone.now().timestamp()}".encode()).hexdigest()[
            :32
        ]
    )


def _detail(
    request: HttpRequest, access: EmployerAccess, case: Any, status: int = 200, **forms: Any
) -> HttpResponse:
    _shown("vcase.viewed", [case], access.employer_id)
    step = sel.next_step(case, today=timezone.localdate())
    disagreeing = [
        c for c in case.comparisons.all() if c.outcome in ("mismatch", "not_found", "flag")
    ]
    return render(
        request,
        "verification/portal/case_detail.html",
        {
            "access": access,
            "case": case,
            "step": step,
            "disagreeing": disagreeing,
            "notice_form": forms.get("notice_form") or NoticeForm(),
            "decision_form": forms.get("decision_form") or DecisionForm(),
            "close_form": forms.get("close_form") or CloseForm(status=case.status),
            "today": timezone.localdate(),
        },
        status=status,
    )


@login_required
@personal_data
@require_http_methods(["GET"])
def case_detail(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """A case: its instant result, what to do next, the clock, and the actions it allows."""
    access = access_or_404(request, employer_id)
    return _detail(request, access, _case_or_404(access, pk))


def _act(
    request: HttpRequest, employer_id: int, pk: int, form_class: Any, name: str, run: Any
) -> HttpResponse:
    access = access_or_404(request, employer_id)
    case = _case_or_404(access, pk)
    form = form_class(request.POST, **({"status": case.status} if form_class is CloseForm else {}))
    if form.is_valid():
        try:
            run(case, form.cleaned_data)
        except ValidationFailed as exc:
            _apply(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("portal:case-detail", employer_id=access.employer_id, pk=case.pk)
        else:
            messages.success(request, "Saved.")
            return redirect("portal:case-detail", employer_id=access.employer_id, pk=case.pk)
    return _detail(request, access, _case_or_404(access, pk), status=400, **{name: form})


@login_required
@personal_data
@require_POST
def case_notice(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Record that the worker was given the Further Action Notice."""
    return _act(
        request,
        employer_id,
        pk,
        NoticeForm,
        "notice_form",
        lambda case, d: services.case_fan_issue(
            actor=request.user, case=case, issued_on=d["issued_on"]
        ),
    )


@login_required
@personal_data
@require_POST
def case_decision(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Record the worker's decision: contest or not."""
    return _act(
        request,
        employer_id,
        pk,
        DecisionForm,
        "decision_form",
        lambda case, d: services.case_decide(actor=request.user, case=case, decision=d["decision"]),
    )


@login_required
@personal_data
@require_POST
def case_refer(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Refer a contested mismatch: the contact clock starts."""
    access = access_or_404(request, employer_id)
    case = _case_or_404(access, pk)
    try:
        services.case_refer(actor=request.user, case=case)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Referred.")
    return redirect("portal:case-detail", employer_id=access.employer_id, pk=case.pk)


@login_required
@personal_data
@require_POST
def case_close(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Close a case with a coded reason."""
    return _act(
        request,
        employer_id,
        pk,
        CloseForm,
        "close_form",
        lambda case, d: services.case_close(
            actor=request.user, case=case, code=d["code"], text=d["text"]
        ),
    )


@login_required
@personal_data
@require_http_methods(["GET", "POST"])
def case_resubmit_view(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Close a case as 'information not correct' and submit the corrected data, linked to it."""
    access = access_or_404(request, employer_id)
    old = _case_or_404(access, pk)
    if "resubmit" not in sel.next_step(old, today=timezone.localdate()).actions:
        raise Http404("This case cannot be resubmitted.")
    if request.method == "POST":
        form, case = _submit_form(request, access, old=old)
        if case is not None:
            messages.success(
                request,
                f"Case {old.pk} closed; case {case.pk} resubmitted: {case.get_status_display()}.",
            )
            return redirect("portal:case-detail", employer_id=access.employer_id, pk=case.pk)
        status = 400
    else:
        initial = {
            f: getattr(old, f)
            for f in (
                "first_name",
                "last_name",
                "middle_initial",
                "other_last_names",
                "employee_email",
                "citizenship_status",
                "passport_country",
                "document_type",
                "employer_case_id",
            )
        }
        for f in (
            "date_of_birth",
            "document_expires_on",
            "offer_accepted_on",
            "i9_completed_on",
            "hire_date",
        ):
            initial[f] = getattr(old, f).isoformat() if getattr(old, f) else ""
        initial["hiring_site"] = old.hiring_site_id or ""
        initial["employer_case_id"] = ""  # the old case keeps its id
        form, status = CaseForm(initial=initial, sites=_sites(access)), 200
    _shown("vcase.viewed", [old], access.employer_id)
    return render(
        request,
        "verification/portal/case_form.html",
        {"access": access, "form": form, "form_token": _token(request), "old": old},
        status=status,
    )
