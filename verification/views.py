"""Screens: status verifiers resolve cases; admins enrol employers and manage their API keys."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import event_record
from core.errors import DomainError, Forbidden, NotFound, RateLimited, ValidationFailed
from privacy.decorators import personal_data
from privacy.policy import DataCategory, decide
from privacy.reads import (
    AlsoShown,
    Minimised,
    ReadKind,
    Shown,
    hidden_fields,
    minimised_records,
    personal_data_shown,
    show,
)
from privacy.services.access import ReverifyRequired
from verification import selectors, services
from verification.forms import (
    ApiKeyForm,
    CaseFilterForm,
    ContactForm,
    EmployerForm,
    ResolveForm,
    RevealForm,
    SiteForm,
)
from verification.lifecycle import ALLOWED
from verification.models import CaseStatus, Employer
from verification.notices import NOTICE_FIELDS, NOTICE_KINDS, notices_available, pdf_response
from verification.privacy_sources import VerificationCaseSource


def _apply_errors(form: Any, error: DomainError) -> None:
    """Put a service's field errors on the form (unknown fields become form-wide errors)."""
    for field, messages_ in (error.field_errors or {}).items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


CASES_SHOWN = ReadKind(
    action="vcase.viewed",
    object_type="verification_case",
    record_type="verification.case",  # the personal-data source's name: retention and amendments find it
    category=DataCategory.VERIFICATION_CASES,
    purpose="Verification case work under the agreement",
)
CASES_LISTED = dataclasses.replace(CASES_SHOWN, action="vcase.listed")


def _shown(cases: list[Any]) -> list[Shown]:
    return [Shown(c.pk, f"worker:{c.worker_id}") for c in cases]


def _reference_shown(case: Any, comparisons: Any) -> list[AlsoShown]:
    """SSA's and DHS's values among the comparisons shown beside a case, as data of SSA and DHS
    (their categories' owners) about the worker, part of the case's record."""
    categories = sorted(
        {
            selectors.COMPARISON_CATEGORIES[c.source]
            for c in comparisons
            if c.reference_value and c.source in selectors.COMPARISON_CATEGORIES
        }
    )
    return [AlsoShown(c, VerificationCaseSource.name, _shown([case])) for c in categories]


def _minimised(user: Any, cases: list[Any]) -> list[Minimised]:
    return minimised_records(user, cases, selectors.CASE_FIELD_CATEGORIES)


def _case_or_404(user: Any, pk: int, action: str = "view") -> Any:
    try:
        return selectors.get_case_for_user(user=user, pk=pk, action=action)
    except NotFound as exc:
        raise Http404("No such case.") from exc


@login_required
@personal_data
@require_http_methods(["GET"])
def case_list(request: HttpRequest) -> HttpResponse:
    """The status verifier's queue: Needs More Time, referred and continuance cases by default."""
    if not decide(request.user, action="view", category=DataCategory.VERIFICATION_CASES).allowed:
        raise PermissionDenied
    form = CaseFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.case_list_for_user(
        user=request.user,
        statuses=filters.get("status") or None,
        tnc_source=filters.get("tnc_source", ""),
        employer_query=filters.get("employer", ""),
        escalated=bool(filters.get("escalated")),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    cases = list(page.object_list)
    return show(
        request,
        "verification/case_list.html",
        {
            "page": page,
            "cases": _minimised(request.user, cases),
            "form": form,
            **_deadline_context(),
        },
        kind=CASES_LISTED,
        records=_shown(cases),
    )


@login_required
@personal_data
@never_cache
@require_http_methods(["GET"])
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A case beside the reference data it was compared with, disagreeing fields marked."""
    case = _case_or_404(request.user, pk)
    can_change = decide(
        request.user, action="change", category=DataCategory.VERIFICATION_CASES
    ).allowed
    return _detail_page(request, case, can_change=can_change)


def _detail_page(
    request: HttpRequest,
    case: Any,
    *,
    can_change: bool = True,
    status: int = 200,
    resolve_form: Any = None,
    contact_form: Any = None,
    **extra: Any,
) -> HttpResponse:
    """The case page, through the read path: minimised for the reader, its showing recorded."""
    context = _detail_context(case, can_change, resolve_form, contact_form, user=request.user)
    context.update(extra)
    return show(
        request,
        "verification/case_detail.html",
        context,
        kind=CASES_SHOWN,
        records=_shown([case]),
        also=_reference_shown(case, context["comparisons"]),
        status=status,
    )


def _deadline_context() -> dict[str, Any]:
    """What the screens need to mark overdue deadlines and explain escalations."""
    return {
        "today": timezone.localdate(),
        "nmt_days": settings.VERIFICATION_NMT_WORKING_DAYS,
        "continuance_days": settings.VERIFICATION_CONTINUANCE_ESCALATION_WORKING_DAYS,
    }


def _detail_context(
    case: Any,
    can_change: bool,
    resolve_form: Any = None,
    contact_form: Any = None,
    *,
    user: Any = None,
) -> dict[str, Any]:
    offered = selectors.reveal_offer(user=user, case=case)
    return {
        "notices": [(k, NOTICE_KINDS[k]) for k in notices_available(case)],
        "can_print_notices": not _notice_withheld(user),
        "languages": settings.LANGUAGES,
        **_deadline_context(),
        "case": _minimised(user, [case])[0],
        "comparisons": selectors.comparisons_for_case(case=case, user=user),
        "can_resolve": can_change and case.status in ALLOWED["resolve"],
        "can_contact": can_change and case.status in ALLOWED["record_contact"],
        "resolve_form": resolve_form or ResolveForm(status=case.status),
        "contact_form": contact_form or ContactForm(),
        "reveal_offer": offered,
        "reveal_form": RevealForm(offered=offered),
    }


def _notice_withheld(user: Any) -> frozenset[str]:
    """What a notice prints that `user`'s agreements withhold (nothing: they may print it)."""
    return hidden_fields(user, {f: selectors.CASE_FIELD_CATEGORIES[f] for f in NOTICE_FIELDS})


@login_required
@personal_data
@require_http_methods(["GET"])
def case_notice(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """A notice to the worker (FAN, RDC, closure) as a PDF, in the worker's language or the one
    asked for (`?language=es`): the print audited, the case's showing accounted (privacy.reads).

    A notice prints the SSN's last four: a reader whose agreements withhold it does not get the
    notice (a notice cannot be minimised for its reader; it is the worker's).
    """
    case = _case_or_404(request.user, pk)
    if kind not in NOTICE_KINDS:
        raise Http404("No such notice.")
    withheld = _notice_withheld(request.user)
    if withheld:
        event_record(
            action="vcase.notice_refused",
            actor=request.user,
            object_type="verification_case",
            object_id=case.pk,
            subjects=[case.subject],
            detail={"notice": kind, "withheld": sorted(withheld)},
        )
        return render(request, "verification/notice_refused.html", {"case_pk": case.pk}, status=403)
    try:
        with transaction.atomic():
            notice = services.case_notice_print(
                actor=request.user,
                case=case,
                kind=kind,
                language=request.GET.get("language", ""),
            )
            personal_data_shown(
                reader=request.user,
                kind=CASES_SHOWN,
                records=_shown([case]),
                detail={"page": "notice", "notice": kind, "language": notice.language},
            )
    except DomainError as exc:
        for field, errors in exc.field_errors.items():
            for error in errors:
                messages.error(request, f"{field}: {error}")
        messages.error(request, exc.message)
        return _detail_page(request, case, status=exc.status_code)
    return pdf_response(notice.content, notice.filename)


@login_required
@personal_data
@require_POST
def case_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve a case: confirmed, corrected record, final nonconfirmation, ..."""
    case = _case_or_404(request.user, pk, action="change")
    form = ResolveForm(request.POST, status=case.status)
    if form.is_valid():
        try:
            services.case_resolve(
                actor=request.user,
                case=case,
                resolution=form.cleaned_data["resolution"],
                note=form.cleaned_data["note"],
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("verification:case-detail", pk=case.pk)
        else:
            messages.success(request, f"Case {case.pk} resolved.")
            return redirect("verification:case-list")
    return _detail_page(request, case, resolve_form=form, status=400)


@login_required
@personal_data
@require_POST
def case_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that the worker contacted the agency about a referral."""
    case = _case_or_404(request.user, pk, action="change")
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.case_contact_record(
                actor=request.user, case=case, contacted_on=form.cleaned_data["contacted_on"]
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("verification:case-detail", pk=case.pk)
        else:
            messages.success(request, "Contact recorded.")
            return redirect("verification:case-detail", pk=case.pk)
    return _detail_page(request, case, contact_form=form, status=400)


@login_required
@personal_data
@never_cache
@require_POST
def case_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one full identifier of the case, once, for a written reason (audited).

    Only one the case page offers (`selectors.reveal_offer`): none on a case no longer worked,
    none whose masked form the reader's agreement withholds.
    """
    case = _case_or_404(request.user, pk, action="change")
    offered = selectors.reveal_offer(user=request.user, case=case)
    if not offered:
        raise PermissionDenied("This case offers no identifier to reveal.")
    form = RevealForm(request.POST, offered=offered)
    revealed = None
    if form.is_valid():
        try:
            revealed = services.case_identifier_reveal(
                actor=request.user,
                case=case,
                field=form.cleaned_data["field"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except Forbidden as exc:  # the case moved on since it was fetched
            raise PermissionDenied(exc.message) from exc
        except ReverifyRequired:
            return redirect(
                f"{reverse('otp-verify')}?next={reverse('verification:case-detail', args=[case.pk])}"
            )
        except RateLimited as exc:
            form.add_error(None, exc.message or "Too many reveals in a minute; try again shortly.")
            return _detail_page(request, case, status=429, reveal_form=form)
    response = _detail_page(
        request,
        case,
        status=200 if revealed else 400,
        reveal_form=form,
        revealed=revealed,
        revealed_field=form.cleaned_data.get("field") if revealed else "",
    )
    response["Cache-Control"] = "no-store"
    return response


# --- Employer onboarding (admins) ------------------------------------------------------------------


def _require_manager(request: HttpRequest) -> None:
    if not selectors.can_manage_employers(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET"])
def employer_list(request: HttpRequest) -> HttpResponse:
    """Enrolled employers, searchable by name or EIN."""
    _require_manager(request)
    query = (request.GET.get("q") or "").strip()[:100].replace("\x00", "")
    qs = Employer.objects.visible_to(request.user)
    if query:
        digits = query.replace("-", "")
        qs = qs.filter(ein=digits) if digits.isdigit() else qs.filter(name__icontains=query)
    page = Paginator(qs.order_by("name"), 50).get_page(request.GET.get("page"))
    return render(request, "verification/employer_list.html", {"page": page, "q": query})


@login_required
@require_http_methods(["GET", "POST"])
def employer_new(request: HttpRequest) -> HttpResponse:
    """Enrol an employer with its E-Verify MOU date."""
    _require_manager(request)
    form = EmployerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            employer = services.employer_enrol(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{employer.name} enrolled.")
            return redirect("verification:employer-detail", pk=employer.pk)
    return render(
        request,
        "verification/employer_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _employer_or_404(request: HttpRequest, pk: int) -> Employer:
    _require_manager(request)
    try:
        return selectors.get_employer_for_user(user=request.user, pk=pk, action="change")
    except NotFound as exc:
        raise Http404("No such employer.") from exc


@login_required
@never_cache
@require_http_methods(["GET"])
def employer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An employer, its sites and its API keys."""
    employer = _employer_or_404(request, pk)
    return render(
        request,
        "verification/employer_detail.html",
        {
            "employer": employer,
            "sites": employer.sites.all(),
            "keys": employer.api_keys.all(),
            "site_form": SiteForm(),
            "key_form": ApiKeyForm(),
        },
    )


@login_required
@require_POST
def site_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a hiring site."""
    employer = _employer_or_404(request, pk)
    form = SiteForm(request.POST)
    if form.is_valid():
        try:
            services.site_add(actor=request.user, employer=employer, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Site added.")
            return redirect("verification:employer-detail", pk=employer.pk)
    return render(
        request,
        "verification/employer_detail.html",
        {
            "employer": employer,
            "sites": employer.sites.all(),
            "keys": employer.api_keys.all(),
            "site_form": form,
            "key_form": ApiKeyForm(),
        },
        status=400,
    )


def _key_shown_once(request: HttpRequest, key: Any, raw: str, *, rotated: bool) -> HttpResponse:
    response = render(
        request, "verification/apikey_issued.html", {"key": key, "raw": raw, "rotated": rotated}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def apikey_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a key; its value is shown on this one page and never again."""
    employer = _employer_or_404(request, pk)
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.apikey_issue(
                actor=request.user,
                employer=employer,
                label=form.cleaned_data["label"],
                valid_days=form.cleaned_data["valid_days"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            return _key_shown_once(request, key, raw, rotated=False)
    return render(
        request,
        "verification/employer_detail.html",
        {
            "employer": employer,
            "sites": employer.sites.all(),
            "keys": employer.api_keys.all(),
            "site_form": SiteForm(),
            "key_form": form,
        },
        status=400,
    )


@login_required
@require_POST
def apikey_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace a key; the old one works for a short grace period."""
    _require_manager(request)
    try:
        key = selectors.get_apikey_for_user(user=request.user, pk=pk)
        new, raw = services.apikey_rotate(actor=request.user, key=key)
    except NotFound as exc:
        raise Http404("No such key.") from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("verification:employer-detail", pk=key.employer_id)
    return _key_shown_once(request, new, raw, rotated=True)


@login_required
@require_POST
def apikey_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a key at once."""
    _require_manager(request)
    try:
        key = selectors.get_apikey_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404("No such key.") from exc
    services.apikey_revoke(actor=request.user, key=key)
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("verification:employer-detail", pk=key.employer_id)


__all__ = ["CaseStatus"]
