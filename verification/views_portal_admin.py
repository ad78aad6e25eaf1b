"""The employer portal's bulk imports, and its administration: people and API keys.

Imports: upload (the same path as the command and the API), a progress bar polled with htmx,
the line-numbered report, and the choice between good rows only and nothing. Administration is
for the employer's administrators: invite people, let an agent act for the employer, take access
back, issue, rotate and revoke API keys (a key's value shown once).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import event_record
from core.errors import DomainError, NotFound
from privacy.models import Role, User
from verification import selectors, services
from verification import selectors_portal as sel
from verification.forms_portal import (
    AdminInviteForm,
    GrantForm,
    InviteForm,
    PortalKeyForm,
    UploadForm,
)
from verification.imports.jobs import import_choose, live
from verification.imports.staging import import_stage
from verification.models import EmployerAccess, EmployerApiKey, ImportJob
from verification.services import portal as portal_services
from verification.tasks import enqueue_import
from verification.views_portal import access_or_404


def _user(request: HttpRequest) -> User:
    """The signed-in person (every view here is behind login_required)."""
    return cast(User, request.user)


def _admin_or_404(request: HttpRequest, employer_id: Any) -> EmployerAccess:
    try:
        return sel.portal_admin_access(user=request.user, employer_id=employer_id)
    except NotFound as exc:
        raise Http404("No such employer.") from exc


def _apply(form: Any, error: DomainError) -> None:
    for field, msgs in (error.field_errors or {}).items():
        for message in msgs:
            form.add_error(field if field in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


# --- Imports -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest, employer_id: int) -> HttpResponse:
    """The employer's imports, and the upload of a new file."""
    access = access_or_404(request, employer_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = import_stage(
                    actor=_user(request),
                    employer=access.employer,
                    stream=upload.file,
                    file_name=upload.name,
                    mode=form.cleaned_data["mode"],
                    channel="portal",
                    enqueue=enqueue_import,
                )
            except DomainError as exc:
                _apply(form, exc)
            else:
                return redirect("portal:import-detail", employer_id=access.employer_id, pk=job.pk)
        status = 400
    jobs = ImportJob.objects.filter(employer=access.employer).order_by("-id")[:50]
    return render(
        request,
        "verification/portal/import_list.html",
        {"access": access, "form": form, "jobs": jobs},
        status=status,
    )


def _job_or_404(access: EmployerAccess, pk: Any) -> ImportJob:
    try:
        return sel.portal_import(employer=access.employer, pk=pk)
    except NotFound as exc:
        raise Http404("No such import.") from exc


@login_required
@never_cache
@require_http_methods(["GET"])
def import_detail(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """An import: its progress (htmx polls the bar until it ends) and its report."""
    access = access_or_404(request, employer_id)
    job = live(_job_or_404(access, pk))
    partial = request.headers.get("HX-Request") == "true"
    if not partial:
        event_record(
            action="vimport.report_viewed",
            object_type="import_job",
            object_id=job.pk,
            subjects=[f"employer:{job.employer_id}"],
        )
    return render(
        request,
        "verification/portal/_import_progress.html"
        if partial
        else "verification/portal/import_detail.html",
        {"access": access, "job": job, "errors": job.errors.all()[:1000]},
    )


@login_required
@require_POST
def import_choice(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """After the report: import the good rows only, or refuse the whole file."""
    access = access_or_404(request, employer_id)
    job = _job_or_404(access, pk)
    try:
        import_choose(
            actor=_user(request), job=job, good_rows=request.POST.get("choice") == "good_rows"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if request.POST.get("choice") == "good_rows":
            enqueue_import(job.pk)
    return redirect("portal:import-detail", employer_id=access.employer_id, pk=job.pk)


# --- Administration: people and API keys -------------------------------------------------------


def _admin_page(
    request: HttpRequest, access: EmployerAccess, status: int = 200, **forms: Any
) -> HttpResponse:
    employer = access.employer
    return render(
        request,
        "verification/portal/admin.html",
        {
            "access": access,
            "people": EmployerAccess.objects.active()
            .filter(employer=employer)
            .select_related("user"),
            "keys": employer.api_keys.all(),
            "invite_form": forms.get("invite_form") or InviteForm(),
            "grant_form": forms.get("grant_form") or GrantForm(),
            "key_form": forms.get("key_form") or PortalKeyForm(),
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET"])
def admin_page(request: HttpRequest, employer_id: int) -> HttpResponse:
    """People who act for the employer, and its API keys."""
    return _admin_page(request, _admin_or_404(request, employer_id))


@login_required
@require_POST
def person_invite(request: HttpRequest, employer_id: int) -> HttpResponse:
    """Invite a new person to act for the employer (an e-mailed link)."""
    access = _admin_or_404(request, employer_id)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            portal_services.employer_user_invite(
                actor=_user(request), employer=access.employer, **form.cleaned_data
            )
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} invited.")
            return redirect("portal:admin", employer_id=access.employer_id)
    return _admin_page(request, access, status=400, invite_form=form)


@login_required
@require_POST
def person_grant(request: HttpRequest, employer_id: int) -> HttpResponse:
    """Let an existing portal user (an agent) act for the employer too."""
    access = _admin_or_404(request, employer_id)
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            portal_services.employer_access_grant(
                actor=_user(request), employer=access.employer, **form.cleaned_data
            )
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(
                request, f"{form.cleaned_data['username']} now acts for {access.employer.name}."
            )
            return redirect("portal:admin", employer_id=access.employer_id)
    return _admin_page(request, access, status=400, grant_form=form)


@login_required
@require_POST
def person_revoke(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Take a person's access to the employer back."""
    access = _admin_or_404(request, employer_id)
    try:
        target = sel.portal_person(employer=access.employer, pk=pk)
    except NotFound as exc:
        raise Http404("No such access.") from exc
    try:
        portal_services.employer_access_revoke(actor=_user(request), access=target)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Access taken back.")
    return redirect("portal:admin", employer_id=access.employer_id)


def _shown_once(
    request: HttpRequest, access: EmployerAccess, key: EmployerApiKey, raw: str, rotated: bool
) -> HttpResponse:
    response = render(
        request,
        "verification/portal/apikey_issued.html",
        {"access": access, "key": key, "raw": raw, "rotated": rotated},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def key_issue(request: HttpRequest, employer_id: int) -> HttpResponse:
    """Issue an API key with its scopes and rate; the value is shown once."""
    access = _admin_or_404(request, employer_id)
    form = PortalKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.apikey_issue(
                actor=_user(request), employer=access.employer, **form.cleaned_data
            )
        except DomainError as exc:
            _apply(form, exc)
        else:
            return _shown_once(request, access, key, raw, rotated=False)
    return _admin_page(request, access, status=400, key_form=form)


def _key_or_404(access: EmployerAccess, pk: Any) -> EmployerApiKey:
    try:
        return sel.portal_key(employer=access.employer, pk=pk)
    except NotFound as exc:
        raise Http404("No such key.") from exc


@login_required
@require_POST
def key_rotate(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Replace a key; the old one works for a short grace period."""
    access = _admin_or_404(request, employer_id)
    try:
        new, raw = services.apikey_rotate(actor=_user(request), key=_key_or_404(access, pk))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:admin", employer_id=access.employer_id)
    return _shown_once(request, access, new, raw, rotated=True)


@login_required
@require_POST
def key_revoke(request: HttpRequest, employer_id: int, pk: int) -> HttpResponse:
    """Revoke a key at once."""
    access = _admin_or_404(request, employer_id)
    key = services.apikey_revoke(actor=_user(request), key=_key_or_404(access, pk))
    messages.success(request, f"Key {key.prefix}… revoked.")
    return redirect("portal:admin", employer_id=access.employer_id)


# --- An admin invites an employer's administrator ------------------------------------------------


@login_required
@require_POST
def employer_admin_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin invites the administrator of an enrolled employer."""
    if not (selectors.can_manage_employers(request.user) and _user(request).has_role(Role.ADMIN)):
        raise PermissionDenied
    try:
        employer = selectors.get_employer_for_user(user=request.user, pk=pk, action="change")
    except NotFound as exc:
        raise Http404("No such employer.") from exc
    form = AdminInviteForm(request.POST)
    if form.is_valid():
        try:
            portal_services.employer_admin_invite(
                actor=_user(request), employer=employer, **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(
                request,
                f"{exc.message} {' '.join(m for ms in exc.field_errors.values() for m in ms)}",
            )
        else:
            messages.success(
                request,
                f"{form.cleaned_data['username']} invited as {employer.name}'s administrator.",
            )
    else:
        messages.error(request, "Give a username, a name and an e-mail address.")
    return redirect("verification:employer-detail", pk=employer.pk)
