"""Admin screens of webhooks: every delivery with its answer (and replay), subscriptions, allowances.

Admins are those who manage employers (employer data, change). Views are thin: parse, fetch
with permission (404 for missing and forbidden alike), call one service, render or redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.services import event_record
from core.errors import DomainError, NotFound
from verification import selectors as verification_selectors
from verification.models import Employer
from verification.webhooks import selectors, services
from verification.webhooks.forms import (
    AllowanceForm,
    DeliveryFilterForm,
    RotateForm,
    SubscriptionForm,
)


def _require_admin(request: HttpRequest) -> None:
    if not verification_selectors.can_manage_employers(request.user):
        raise PermissionDenied


def _found(fetch: Any, *args: Any) -> Any:
    try:
        return fetch(*args)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _apply_errors(form: Any, error: DomainError) -> None:
    for field, messages_ in (error.field_errors or {}).items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


@login_required
@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    """Every delivery, newest first, with its state, response code and body excerpt."""
    _require_admin(request)
    form = DeliveryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(selectors.deliveries_for_user(request.user, filters=filters), 50).get_page(
        request.GET.get("page")
    )
    event_record(
        action="webhook.deliveries_listed",
        object_type="webhook_delivery",
        subjects=sorted({f"employer:{d.employer_id}" for d in page.object_list}),
        detail={"filters": {k: v for k, v in filters.items() if v}, "count": len(page)},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "verification/webhooks/deliveries.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


@login_required
@never_cache
@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One delivery: its event's body, every attempt with its answer, its replays."""
    _require_admin(request)
    delivery = _found(selectors.delivery_for_user, request.user, pk)
    return render(
        request,
        "verification/webhooks/delivery.html",
        {
            "delivery": delivery,
            "attempts": delivery.tries.all(),
            "replays": delivery.replays.order_by("id"),
        },
    )


@login_required
@require_POST
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a delivery's event again (same event id), as a new delivery."""
    _require_admin(request)
    delivery = _found(selectors.delivery_for_user, request.user, pk)
    try:
        replay = services.delivery_replay(actor=request.user, delivery=delivery)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("verification:webhook-delivery", pk=delivery.pk)
    messages.success(request, f"Delivery {delivery.pk} replayed as delivery {replay.pk}.")
    return redirect("verification:webhook-delivery", pk=replay.pk)


def _employers(request: HttpRequest) -> Any:
    return Employer.objects.visible_to(request.user, action="change").order_by("name")


def _subscriptions_page(
    request: HttpRequest, *, sub_form: Any = None, allow_form: Any = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "verification/webhooks/subscriptions.html",
        {
            "subscriptions": selectors.subscriptions_for_user(request.user),
            "allowances": selectors.allowances_for_user(request.user),
            "sub_form": sub_form or SubscriptionForm(employers=_employers(request)),
            "allow_form": allow_form or AllowanceForm(),
            "rotate_form": RotateForm(),
        },
        status=status,
    )


@login_required
@require_GET
def subscriptions(request: HttpRequest) -> HttpResponse:
    """Every live subscription, the host allowances, and the forms to add either."""
    _require_admin(request)
    return _subscriptions_page(request)


def _secret_shown_once(
    request: HttpRequest, sub: Any, secret: str, *, rotated: bool
) -> HttpResponse:
    response = render(
        request,
        "verification/webhooks/secret.html",
        {"subscription": sub, "secret": secret, "rotated": rotated},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def subscription_new(request: HttpRequest) -> HttpResponse:
    """Subscribe an employer's endpoint for it; the secret is shown on this one page."""
    _require_admin(request)
    form = SubscriptionForm(request.POST, employers=_employers(request))
    if form.is_valid():
        try:
            sub, secret = services.subscription_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            return _secret_shown_once(request, sub, secret, rotated=False)
    return _subscriptions_page(request, sub_form=form, status=400)


@login_required
@require_POST
def subscription_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace a subscription's secret; the old one signs beside it during the overlap."""
    _require_admin(request)
    sub = _found(selectors.subscription_for_user, request.user, pk)
    form = RotateForm(request.POST)
    hours = form.cleaned_data.get("overlap_hours") if form.is_valid() else None
    if form.errors:
        messages.error(request, "The overlap must be a whole number of hours, 0 or more.")
        return redirect("verification:webhook-subscriptions")
    try:
        sub, secret = services.subscription_secret_rotate(
            actor=request.user, subscription=sub, overlap_hours=hours
        )
    except DomainError as exc:
        messages.error(
            request, "; ".join(m for ms in exc.field_errors.values() for m in ms) or exc.message
        )
        return redirect("verification:webhook-subscriptions")
    return _secret_shown_once(request, sub, secret, rotated=True)


@login_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a subscription; its pending deliveries are cancelled."""
    _require_admin(request)
    sub = _found(selectors.subscription_for_user, request.user, pk)
    services.subscription_delete(actor=request.user, subscription=sub)
    messages.success(request, f"Subscription to {sub.url} deleted.")
    return redirect("verification:webhook-subscriptions")


@login_required
@require_POST
def allowance_add(request: HttpRequest) -> HttpResponse:
    """Let webhooks call a host or network the address rule refuses."""
    _require_admin(request)
    form = AllowanceForm(request.POST)
    if form.is_valid():
        try:
            allowance = services.allowance_add(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Webhooks may now call {allowance.host}.")
            return redirect("verification:webhook-subscriptions")
    return _subscriptions_page(request, allow_form=form, status=400)


@login_required
@require_POST
def allowance_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an allowance; the next attempt to call that host is refused."""
    _require_admin(request)
    allowance = _found(selectors.allowance_for_user, request.user, pk)
    services.allowance_remove(actor=request.user, allowance=allowance)
    messages.success(request, f"{allowance.host} is no longer allowed.")
    return redirect("verification:webhook-subscriptions")
