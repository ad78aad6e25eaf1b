"""Admin screens: agencies, units, users (invitation, changes, deactivation) and their grants."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from privacy import selectors, services
from privacy.forms import AgencyForm, GrantForm, InviteForm, ReasonForm, UnitForm, UserEditForm
from privacy.http import AuthedRequest
from privacy.models import Agency, Role, RoleGrant, Unit, User
from privacy.views.common import run_service

ADMIN = (Role.ADMIN,)


@roles_required(*ADMIN)
def agency_list(request: AuthedRequest) -> HttpResponse:
    """Agencies by department, with their units."""
    agencies = (
        Agency.objects.select_related("department")
        .prefetch_related("units")
        .annotate(user_count=Count("users"))
    )
    return render(request, "privacy/agency_list.html", {"agencies": agencies})


@roles_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def agency_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change an agency."""
    agency = get_object_or_404(Agency, pk=pk) if pk else None
    form = AgencyForm(request.POST or None, instance=agency)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.agency_save(actor=request.user, agency=agency, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Agency saved.")
            return redirect("privacy:agency-list")
    return render(
        request,
        "privacy/form.html",
        {"form": form, "title": "Agency", "back": "privacy:agency-list"},
    )


@roles_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def unit_edit(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a unit."""
    unit = get_object_or_404(Unit, pk=pk) if pk else None
    form = UnitForm(request.POST or None, instance=unit)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.unit_save(actor=request.user, unit=unit, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Unit saved.")
            return redirect("privacy:agency-list")
    return render(
        request, "privacy/form.html", {"form": form, "title": "Unit", "back": "privacy:agency-list"}
    )


@roles_required(*ADMIN)
def user_list(request: AuthedRequest) -> HttpResponse:
    """Users with their agency, unit, roles and state; filter by text, agency and status."""
    users = User.objects.select_related("agency", "unit").annotate(
        grant_count=Count(
            "grants", filter=Q(grants__revoked_at__isnull=True, grants__lapsed_at__isnull=True)
        )
    )
    q = request.GET.get("q", "").strip()
    agency = request.GET.get("agency", "")
    if "\x00" in q + agency:  # no name or code holds one, and PostgreSQL cannot take it
        messages.error(request, "A search with a NUL character was not applied.")
        q, agency = "", ""
    if q:
        users = users.filter(
            Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q)
        )
    if agency:
        users = users.filter(agency__code=agency)
    if request.GET.get("lapsing") == "30":
        users = users.filter(
            pk__in=selectors.users_with_lapsing_grants(within_days=30).values("pk")
        )
    if request.GET.get("status") == "inactive":
        users = users.filter(is_active=False)
    elif request.GET.get("status") != "all":
        users = users.filter(is_active=True)
    page = Paginator(users.order_by("username"), 50).get_page(request.GET.get("page"))
    return render(
        request, "privacy/user_list.html", {"page": page, "q": q, "agencies": Agency.objects.all()}
    )


@roles_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def user_invite(request: AuthedRequest) -> HttpResponse:
    """Provision a user by invitation (an e-mailed one-time link; 2FA enrolment at first sign-in)."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, result = run_service(
            request,
            form,
            lambda: services.user_invite(
                actor=request.user,
                username=data["username"],
                email=data["email"],
                unit=data["unit"],
                roles=data["roles"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            ),
        )
        if ok:
            messages.success(request, f"Invitation sent to {data['email']}.")
            return redirect("privacy:user-detail", pk=result[0].pk)
    return render(
        request,
        "privacy/form.html",
        {"form": form, "title": "Invite a user", "back": "privacy:user-list"},
    )


@roles_required(*ADMIN)
def user_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """One user: directory data, grants, sessions."""
    user = get_object_or_404(User.objects.select_related("agency", "unit"), pk=pk)
    return render(
        request,
        "privacy/user_detail.html",
        {
            "subject": user,
            "grants": selectors.grants_of(user=user),
            "grant_form": GrantForm(user=user),
            "reason_form": ReasonForm(),
            "sessions": user.session_keys.count(),
            "invitation": getattr(user, "invitation", None),
        },
    )


@roles_required(*ADMIN)
@require_http_methods(["GET", "POST"])
def user_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """Change a user's name, unit or home roles."""
    user = get_object_or_404(User, pk=pk)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "unit": user.unit_id,
        "roles": user.roles,
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok, _ = run_service(
            request,
            form,
            lambda: services.user_update(actor=request.user, user=user, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "User saved.")
            return redirect("privacy:user-detail", pk=user.pk)
    return render(
        request,
        "privacy/form.html",
        {"form": form, "title": f"Edit {user.username}", "back": "privacy:user-list"},
    )


@roles_required(*ADMIN)
@require_POST
def user_deactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    """Deactivate a user and end all their sessions."""
    user = get_object_or_404(User, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        ok, _ = run_service(
            request,
            None,
            lambda: services.user_deactivate(
                actor=request.user, user=user, reason=form.cleaned_data["reason"]
            ),
        )
        if ok:
            messages.success(request, f"{user.username} is deactivated; their sessions have ended.")
    else:
        messages.error(request, "Say why the account is deactivated.")
    return redirect("privacy:user-detail", pk=user.pk)


@roles_required(*ADMIN)
@require_POST
def user_reactivate(request: AuthedRequest, pk: int) -> HttpResponse:
    """Let a deactivated user sign in again."""
    user = get_object_or_404(User, pk=pk)
    services.user_reactivate(actor=request.user, user=user)
    messages.success(request, f"{user.username} can sign in again.")
    return redirect("privacy:user-detail", pk=user.pk)


@roles_required(*ADMIN)
@require_POST
def grant_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """Give a user a role grant (home, or under an agreement of their agency)."""
    user = get_object_or_404(User, pk=pk)
    form = GrantForm(request.POST, user=user)
    if form.is_valid():
        ok, _ = run_service(
            request,
            None,
            lambda: services.grant_create(actor=request.user, user=user, **form.cleaned_data),
        )
        if ok:
            messages.success(request, "Grant given.")
    else:
        messages.error(
            request,
            "The grant has invalid fields: "
            + "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()),
        )
    return redirect("privacy:user-detail", pk=user.pk)


@roles_required(*ADMIN)
@require_POST
def grant_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    """Revoke a grant now."""
    grant = get_object_or_404(RoleGrant, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.grant_revoke(actor=request.user, grant=grant, reason=form.cleaned_data["reason"])
        messages.success(request, "Grant revoked.")
    else:
        messages.error(request, "Say why the grant is revoked.")
    return redirect("privacy:user-detail", pk=grant.user_id)
