"""Access recertification screens: admins open campaigns, supervisors decide their unit's grants."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.guards import roles_required
from privacy import selectors, services
from privacy.forms import CampaignForm
from privacy.http import AuthedRequest
from privacy.models import RecertificationCampaign, RecertificationItem, Role
from privacy.models.agreements import CampaignStatus
from privacy.views.common import run_service


@roles_required(Role.ADMIN, Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def campaign_list(request: AuthedRequest) -> HttpResponse:
    """Campaigns with their progress; admins open new ones here."""
    form = CampaignForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_role(Role.ADMIN):
            return HttpResponse(status=403)
        if form.is_valid():
            ok, campaign = run_service(
                request,
                form,
                lambda: services.campaign_open(actor=request.user, **form.cleaned_data),
            )
            if ok:
                messages.success(
                    request, f"Campaign opened with {campaign.items.count()} grants to review."
                )
                return redirect("privacy:campaign-detail", pk=campaign.pk)
    campaigns = RecertificationCampaign.objects.all()
    if request.GET.get("status") in CampaignStatus.values:
        campaigns = campaigns.filter(status=request.GET["status"])
    campaigns = campaigns.annotate(
        total=Count("items"), pending=Count("items", filter=Q(items__decision="pending"))
    )
    return render(
        request,
        "privacy/campaign_list.html",
        {"campaigns": campaigns, "form": form, "is_admin": request.user.has_role(Role.ADMIN)},
    )


@roles_required(Role.ADMIN, Role.SUPERVISOR)
def campaign_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """Admins see every item; a supervisor sees and decides those of their unit."""
    campaign = get_object_or_404(RecertificationCampaign, pk=pk)
    if request.user.has_role(Role.ADMIN):
        items = campaign.items.select_related(
            "grant__user", "grant__agreement", "unit", "decided_by"
        )
        decidable = set()
    else:
        items = selectors.recertification_items_for(
            supervisor=request.user, campaign_id=campaign.pk
        )
        decidable = {i.pk for i in items if i.decision == "pending"}
    return render(
        request,
        "privacy/campaign_detail.html",
        {"campaign": campaign, "items": items, "decidable": decidable},
    )


@roles_required(Role.SUPERVISOR)
@require_POST
def recertification_decide(request: AuthedRequest, pk: int) -> HttpResponse:
    """Confirm or revoke one grant."""
    item = get_object_or_404(RecertificationItem, pk=pk)
    confirm = request.POST.get("decision") == "confirm"
    ok, _ = run_service(
        request,
        None,
        lambda: services.recertification_decide(
            actor=request.user, item=item, confirm=confirm, reason=request.POST.get("reason", "")
        ),
    )
    if ok:
        messages.success(request, "Confirmed." if confirm else "Revoked.")
    return redirect("privacy:campaign-detail", pk=item.campaign_id)
