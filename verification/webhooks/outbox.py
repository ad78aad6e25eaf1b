"""The webhook outbox: events written in the caller's transaction, sent by Celery after it commits.

The lifecycle services call `case_changed` right after they save a case (case_common and submit),
so every status change, whoever makes it (an employer, a status verifier, a deadline sweep),
reaches the employer's subscriptions, and a rolled-back change emits nothing. The deadline sweep
calls `deadline_reminders` for the "due soon" events.

A payload names the case by its number and status only, with the deadline dates the event is
about: no name, date of birth or identifier. The employer reads the rest over the API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import event_record
from core.calendar import add_working_days
from verification.models import (
    CaseStatus,
    VerificationCase,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventType,
    WebhookSubscription,
)
from verification.webhooks.tasks import deliver

log = logging.getLogger(__name__)
T = WebhookEventType
S = CaseStatus


def _case(case: Any) -> dict[str, Any]:
    return {"id": case.pk, "status": case.status}


def body_of(event: WebhookEvent, data: dict[str, Any]) -> str:
    """The JSON body of an event, serialized once: every attempt signs exactly these bytes."""
    return json.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def send_after_commit(ids: list[int]) -> None:
    """Queue the first attempt of these deliveries once the transaction commits."""

    def send() -> None:
        for pk in ids:
            try:
                deliver.apply_async(args=(pk,))
            except Exception:  # the broker is down: the beat sweep sends due deliveries later
                log.warning("webhook delivery %s not queued; the sweep will send it", pk)

    transaction.on_commit(send)


def _subscribers(employer_id: int, types: Iterable[str]) -> list[tuple[int, list[str]]]:
    return list(
        WebhookSubscription.objects.filter(
            employer_id=employer_id, deleted_at__isnull=True, events__overlap=list(types)
        )
        .order_by("pk")
        .values_list("pk", "events")
    )


def _emit(
    *,
    employer_id: int,
    kind: str,
    data: dict[str, Any],
    subscriptions: list[int],
    case_id: int | None = None,
    dedupe_key: str = "",
) -> WebhookEvent | None:
    """One event and a delivery per subscription, in the caller's transaction."""
    if not subscriptions:
        return None
    event = WebhookEvent(employer_id=employer_id, type=kind, case_id=case_id, dedupe_key=dedupe_key)
    event.body = body_of(event, data)
    if dedupe_key:
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            return None  # this occurrence was emitted already (a sweep run twice)
    else:
        event.save(force_insert=True)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event=event, subscription_id=pk, employer_id=employer_id)
            for pk in subscriptions
        ]
    )
    event_record(
        action="webhook.event_queued",
        object_type="webhook_event",
        object_id=event.event_id,
        subjects=[f"employer:{employer_id}"] + ([f"vcase:{case_id}"] if case_id else []),
        detail={"type": kind, "deliveries": [d.pk for d in deliveries], "dedupe": dedupe_key},
    )
    send_after_commit([d.pk for d in deliveries])
    return event


def emit(
    *,
    employer_id: int,
    kind: str,
    data: dict[str, Any],
    case_id: int | None = None,
    dedupe_key: str = "",
) -> WebhookEvent | None:
    """Queue one event for every live subscription of the employer that wants it (None if none)."""
    subs = [pk for pk, events in _subscribers(employer_id, [kind]) if kind in events]
    return _emit(
        employer_id=employer_id,
        kind=kind,
        data=data,
        subscriptions=subs,
        case_id=case_id,
        dedupe_key=dedupe_key,
    )


def emit_to(*, subscription: WebhookSubscription, kind: str, data: dict[str, Any]) -> WebhookEvent:
    """Queue one event for one subscription only (a ping)."""
    event = _emit(
        employer_id=subscription.employer_id,
        kind=kind,
        data=data,
        subscriptions=[subscription.pk],
    )
    assert event is not None
    return event


def case_events(case: VerificationCase, before: str) -> list[tuple[str, dict[str, Any]]]:
    """The events a change of the case from status `before` implies (type, data)."""
    if case.status == before:
        return []
    out: list[tuple[str, dict[str, Any]]] = [
        (T.STATUS_CHANGED, {"case": _case(case), "previous_status": before})
    ]
    if case.status == S.CLOSED:
        out.append(
            (
                T.CLOSED,
                {"case": _case(case), "result": case.result, "closure_code": case.closure_code},
            )
        )
    elif case.status == S.TENTATIVE_NONCONFIRMATION and case.decision_due_on:
        out.append(
            (
                T.FAN_DUE,
                {
                    "case": _case(case),
                    "decision_due_on": case.decision_due_on.isoformat(),
                    "reminder": False,
                },
            )
        )
    elif case.status == S.REFERRED and case.contact_due_on:
        out.append(
            (
                T.REFERRAL_DEADLINE,
                {
                    "case": _case(case),
                    "contact_due_on": case.contact_due_on.isoformat(),
                    "reminder": False,
                },
            )
        )
    return out


def case_changed(*, case: VerificationCase, before: str) -> list[WebhookEvent]:
    """Queue the events of a lifecycle change, in the transaction that saved the case."""
    implied = case_events(case, before)
    if not implied:
        return []
    # The employer row loaded with the case (a submit's, from its API key) says whether any live
    # subscription wants one of these events; only then are the subscriptions read.
    employer = case._state.fields_cache.get("employer")
    if employer is not None and not set(employer.webhook_events).intersection(
        t for t, _ in implied
    ):
        return []
    subs = _subscribers(case.employer_id, [t for t, _ in implied])
    out = []
    for kind, data in implied:
        event = _emit(
            employer_id=case.employer_id,
            kind=kind,
            data=data,
            subscriptions=[pk for pk, events in subs if kind in events],
            case_id=case.pk,
        )
        if event is not None:
            out.append(event)
    return out


def cases_created(*, employer_id: int, cases: Iterable[VerificationCase]) -> int:
    """The events of cases created with their instant result in bulk (an import), in its transaction.

    As `case_changed` from a draft for each case; the employer's subscriptions are read once, and
    nothing more is done when it has none.
    """
    subs = _subscribers(employer_id, [T.STATUS_CHANGED, T.CLOSED, T.FAN_DUE, T.REFERRAL_DEADLINE])
    if not subs:
        return 0
    emitted = 0
    for case in cases:
        for kind, data in case_events(case, S.DRAFT):
            chosen = [pk for pk, events in subs if kind in events]
            if _emit(
                employer_id=employer_id, kind=kind, data=data, subscriptions=chosen, case_id=case.pk
            ):
                emitted += 1
    return emitted


def deadline_reminders(*, on: date | None = None) -> int:
    """ "Due soon" events for open deadlines within WEBHOOK_REMINDER_WORKING_DAYS; once each.

    A mismatch whose notice was not yet recorded as given, with its decision deadline near; a
    referral with no contact yet, with its contact deadline near. Only employers subscribed to
    these events are read. Each case is its own transaction, like the other sweeps.
    """
    on = on or timezone.localdate()
    soon = add_working_days(on, settings.WEBHOOK_REMINDER_WORKING_DAYS)
    employers = WebhookSubscription.objects.filter(
        deleted_at__isnull=True, events__overlap=[T.FAN_DUE, T.REFERRAL_DEADLINE]
    ).values("employer_id")
    cases = VerificationCase.objects.filter(employer_id__in=employers)
    fan = cases.filter(
        status=S.TENTATIVE_NONCONFIRMATION,
        fan_issued_on__isnull=True,
        decision="",
        decision_due_on__gte=on,
        decision_due_on__lte=soon,
    ).values_list("pk", "employer_id", "status", "decision_due_on")
    referral = cases.filter(
        status=S.REFERRED,
        contacted_on__isnull=True,
        contact_due_on__gte=on,
        contact_due_on__lte=soon,
    ).values_list("pk", "employer_id", "status", "contact_due_on")
    sent = 0
    for kind, field, rows in (
        (T.FAN_DUE, "decision_due_on", list(fan)),
        (T.REFERRAL_DEADLINE, "contact_due_on", list(referral)),
    ):
        for pk, employer_id, status, due in rows:
            with transaction.atomic():
                event = emit(
                    employer_id=employer_id,
                    kind=kind,
                    data={
                        "case": {"id": pk, "status": status},
                        field: due.isoformat(),
                        "reminder": True,
                    },
                    case_id=pk,
                    dedupe_key=f"reminder:{due.isoformat()}",
                )
            sent += event is not None
    return sent
