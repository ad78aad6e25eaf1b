"""The supervisors' and auditors' audit pages: browser, timeline, event, review, export, status.

Supervisors read their own agency's trail and review it; auditors read every agency's trail and
review nothing. Everyone else gets 403 (and the attempt is recorded). An event that is missing
or outside the reader's scope is 404 alike. Every page shows personal data, so 2FA is required.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import anomalies, chain, export, review, selectors
from audit.catalogue import CATALOGUE, SINCE
from audit.forms import EventFilterForm, ReviewForm
from audit.guards import roles_required
from audit.models import ReviewReason
from audit.services import event_record
from audit.tasks import verify
from core.errors import DomainError
from core.ids import parse_id
from core.markers import personal_data

READERS = ("supervisor", "auditor")
REVIEWERS = ("supervisor",)


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _filters(request: HttpRequest) -> tuple[EventFilterForm, dict[str, Any]]:
    form = EventFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return form, data


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return parse_id(value)


def _page_subjects(events: list[Any]) -> list[str]:
    return sorted({s for e in events for s in e.subjects})


@login_required
@personal_data
@never_cache
@require_GET
@roles_required(*READERS, template="audit/forbidden.html")
def browser(request: HttpRequest) -> HttpResponse:
    """The audit browser: filters, newest first, keyset pages ("Older" loads the next by htmx)."""
    form, filters = _filters(request)
    qs = selectors.events_filtered(user=request.user, filters=filters)
    page = selectors.events_page(
        qs, before=_before(request), by_person=selectors.names_a_person(filters)
    )
    event_record(
        action="audit.browsed",
        actor=request.user,
        object_type="audit.page",
        subjects=_page_subjects(page.events),
        detail={
            "filters": {k: str(v) for k, v in filters.items() if v not in (None, "", False)},
            "before": _before(request),
            "rows": len(page.events),
        },
    )
    query = request.GET.copy()
    query.pop("before", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "catalogue": CATALOGUE}
    if _htmx(request) and request.GET.get("before"):
        return render(request, "audit/_rows.html", context)
    return render(request, "audit/browser.html", context)


@login_required
@personal_data
@never_cache
@require_GET
@roles_required(*READERS, template="audit/forbidden.html")
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One event in full, with its place in the chain and why its action is recorded."""
    event = selectors.event_for_user(user=request.user, pk=pk)
    if event is None:
        raise Http404("No such audit event.")
    event_record(
        action="audit.event_viewed",
        actor=request.user,
        object_type="audit.event",
        object_id=event.pk,
        subjects=event.subjects,
    )
    return render(
        request,
        "audit/event.html",
        {
            "event": event,
            "seal": selectors.seal_of(event),
            "why": CATALOGUE.get(event.action, ""),
            "since": SINCE.get(event.action),
        },
    )


def _flag_groups(flags: list[Any], shown: int = 5) -> list[dict[str, Any]]:
    """Flags by rule, each rule once with its count and its first `shown` flags (a busy week can raise thousands)."""
    groups: dict[str, list[Any]] = {}
    for flag in flags:
        groups.setdefault(flag.rule, []).append(flag)
    return [
        {
            "rule": rule,
            "rule_text": items[0].rule_text,
            "count": len(items),
            "flags": items[:shown],
            "more": max(len(items) - shown, 0),
        }
        for rule, items in groups.items()
    ]


@login_required
@personal_data
@never_cache
@require_GET
@roles_required(*READERS, template="audit/forbidden.html")
def timeline(request: HttpRequest, user_id: int) -> HttpResponse:
    """One user's activity: events per day over 30 days, their flags this week, and their events."""

    qs = selectors.events_filtered(user=request.user, filters={"user": str(user_id)})
    page = selectors.events_page(qs, before=_before(request))
    if not page.events and not _before(request):
        raise Http404("No activity of this user is visible to you.")
    days = selectors.timeline_days(qs=qs)
    peak = max((n for _, n in days), default=0) or 1
    now = timezone.now()
    flags = _flag_groups(
        [
            f
            for f in anomalies.flags_for(start=now - timedelta(days=7), end=now, events=qs)
            if f.user_id == user_id
        ]
    )
    event_record(
        action="audit.timeline_viewed",
        actor=request.user,
        object_type="user",
        object_id=user_id,
        subjects=_page_subjects(page.events),
        detail={"rows": len(page.events)},
    )
    context = {
        "subject_user_id": user_id,
        "username": page.events[0].actor_username if page.events else "",
        "page": page,
        "days": [(d, n, round(100 * n / peak)) for d, n in days],
        "flags": flags,
        "query": "",
    }
    if _htmx(request) and request.GET.get("before"):
        return render(request, "audit/_rows.html", context)
    return render(request, "audit/timeline.html", context)


@login_required
@personal_data
@never_cache
@require_GET
@roles_required(*READERS, template="audit/forbidden.html")
def export_view(request: HttpRequest) -> HttpResponseBase:
    """Download the filtered range as CSV or JSONL, with its chain proof; the export is recorded."""
    _form, filters = _filters(request)
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        fmt = "csv"
    qs = selectors.events_filtered(user=request.user, filters=filters)
    filename, content_type, lines = export.export_events(
        actor=request.user, qs=qs, fmt=fmt, filters=filters
    )
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@personal_data
@never_cache
@require_http_methods(["GET", "POST"])
@roles_required(*REVIEWERS, template="audit/forbidden.html")
def review_queue(request: HttpRequest) -> HttpResponse:
    """The supervisor's review queue: sampled and flagged events, each marked reviewed with a note."""
    error = ""
    if request.method == "POST":
        form = ReviewForm(request.POST)
        assignment_id = request.POST.get("assignment", "")
        if form.is_valid() and assignment_id.isdigit():
            try:
                review.review_complete(
                    actor=request.user,
                    assignment_id=int(assignment_id),
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                if exc.status_code == 404:
                    raise Http404(exc.message) from exc
                error = exc.message
                code = exc.status_code
            else:
                if not _htmx(request):
                    messages.success(request, "Marked reviewed.")
                    return redirect("audit:review")
                code = 200
        else:
            error, code = "Write a note.", 400
        if _htmx(request):
            assignment = (
                selectors.review_queue(user=request.user).filter(pk=int(assignment_id or 0)).first()
            )
            return render(
                request,
                "audit/_review_item.html",
                {"a": assignment, "error": error, "form": ReviewForm()},
                status=code,
            )
        messages.error(request, error)
        return redirect("audit:review")
    reason = request.GET.get("reason", "")
    open_only = request.GET.get("state") == "open"
    assignments = list(
        selectors.review_queue(
            user=request.user,
            reason=reason if reason in ReviewReason.values else "",
            open_only=open_only,
        )[:200]
    )
    events = {
        e.pk: e
        for e in selectors.events_filtered(user=request.user, filters={}).filter(
            pk__in=[a.event_id for a in assignments]
        )
    }
    for a in assignments:
        a.event = events.get(a.event_id)
    event_record(
        action="audit.browsed",
        actor=request.user,
        object_type="audit.review_queue",
        subjects=_page_subjects(list(events.values())),
        detail={"assignments": len(assignments)},
    )
    return render(
        request,
        "audit/review.html",
        {
            "assignments": assignments,
            "form": ReviewForm(),
            "rules": anomalies.RULES,
            "assignment_rule_active": anomalies.assignment_rule_active(),
            "open": sum(1 for a in assignments if a.reviewed_at is None),
        },
    )


@login_required
@personal_data
@never_cache
@require_GET
@roles_required(*READERS, template="audit/forbidden.html")
def status(request: HttpRequest) -> HttpResponse:
    """The chain's health: last verification, head, checkpoints, backlog and partitions."""
    return render(request, "audit/status.html", {"status": selectors.chain_status()})


@login_required
@personal_data
@require_POST
@roles_required(*READERS, template="audit/forbidden.html")
def verify_now(request: HttpRequest) -> HttpResponse:
    """Queue a verification of the whole chain (the worker runs it and the panel shows it)."""

    transaction.on_commit(lambda: verify.delay(trigger=f"user:{request.user.pk}", full=True))
    if _htmx(request):
        return HttpResponse(
            '<p class="msg" role="status">Verification queued. Reload this panel in a moment.</p>'
        )
    messages.info(request, "Verification queued.")
    return redirect("audit:status")


def checkpoint_public_key(request: HttpRequest) -> HttpResponse:
    """The checkpoint verification key (public), so exports can be checked elsewhere."""

    pem = chain.verify_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return HttpResponse(pem, content_type="application/x-pem-file")
