"""Reads of the audit trail: filtered, scoped to the reviewer, and keyset-paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit import chain, db
from audit.models import AuditEvent, AuditSeal, ReviewAssignment, VerificationRun
from core.ids import is_id, parse_id

PAGE_SIZE = 50


@dataclass
class Page:
    """One keyset page, newest first: `next_before` is the cursor of the following page."""

    events: list[AuditEvent]
    next_before: int | None


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def events_filtered(*, user: Any, filters: dict[str, Any]) -> Any:
    """The events `user` may read, narrowed by the browser's filters."""
    qs = AuditEvent.objects.visible_to(user)
    if filters.get("user"):
        value = str(filters["user"]).strip()
        if is_id(value):  # past bigint, an id no one has
            pk = parse_id(value)
            qs = qs.filter(actor_id=pk) if pk is not None else qs.none()
        else:  # by id, which is indexed; the username only for accounts that no longer exist
            pk = (
                get_user_model().objects.filter(username=value).values_list("pk", flat=True).first()
            )
            qs = qs.filter(actor_id=pk) if pk is not None else qs.filter(actor_username=value)
    if filters.get("agency"):
        qs = qs.filter(actor_agency=filters["agency"])
    if filters.get("action"):
        action = str(filters["action"]).strip()
        qs = (
            qs.filter(action__startswith=action.rstrip("*"))
            if action.endswith(("*", "."))
            else qs.filter(action=action)
        )
    if filters.get("person"):
        person = str(filters["person"]).strip()
        reference = person if ":" in person else f"person:{person}"
        qs = qs.filter(subjects__contains=[reference])
    if filters.get("case"):
        qs = qs.filter(case_id=filters["case"])
    if filters.get("agreement"):
        qs = qs.filter(agreement_id=filters["agreement"])
    if filters.get("outcome"):
        qs = qs.filter(outcome=filters["outcome"])
    if filters.get("break_glass"):
        qs = qs.filter(break_glass=True)
    if filters.get("start"):
        qs = qs.filter(occurred_at__gte=_day_start(filters["start"]))
    if filters.get("end"):
        qs = qs.filter(occurred_at__lt=_day_start(filters["end"]) + timedelta(days=1))
    return qs


def names_a_person(filters: dict[str, Any]) -> bool:
    """Whether the filters name a person, whose events the subjects index finds (see `events_page`)."""
    return bool(str(filters.get("person") or "").strip())


def events_page(
    qs: Any, *, before: int | None = None, size: int = PAGE_SIZE, by_person: bool = False
) -> Page:
    """Newest first after the cursor `before` (an event id): constant cost on any page.

    `by_person`: the filters name a person. The planner cannot tell how many events a person has
    (the subjects' statistics cover the most common people only), and guesses thousands: it then
    walks the whole trail backwards in id order, looking for the first 50 of a person who has 10
    (`make bench AREA=audit`, part 4: 2.7 s over 10M events). Ordering by an expression
    of the id (id + 0) takes that path away: the person's events come from the subjects' GIN index
    and are sorted, as a person's trail is short (the browser's page over 10M events: 19 ms p50
    for a person with a few events, 136 ms for one with 13,000).
    """
    if before:
        qs = qs.filter(id__lt=before)
    order = (F("id") + 0).desc() if by_person else F("id").desc()
    rows = list(qs.order_by(order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(events=rows, next_before=rows[-1].pk if more and rows else None)


def event_for_user(*, user: Any, pk: int) -> AuditEvent | None:
    """One event if `user` may read it; None for missing and forbidden alike."""
    return AuditEvent.objects.visible_to(user).filter(pk=pk).first()


def seal_of(event: AuditEvent) -> AuditSeal | None:
    """The chain link of an event (None while not sealed yet)."""
    return AuditSeal.objects.filter(event_id=event.pk, occurred_at=event.occurred_at).first()


def timeline_days(*, qs: Any, days: int = 30) -> list[tuple[Any, int]]:
    """Events per local day over the last `days` days, oldest first (the timeline's sparkline), counted in SQL."""
    today = timezone.localdate()
    since = _day_start(today - timedelta(days=days - 1))
    counts = dict(
        qs.filter(occurred_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        (today - timedelta(days=i), counts.get(today - timedelta(days=i), 0))
        for i in range(days - 1, -1, -1)
    ]


def review_queue(*, user: Any, reason: str = "", open_only: bool = False) -> Any:
    """The user's review assignments, open ones first; optionally of one reason, or open only."""
    qs = ReviewAssignment.objects.for_reviewer(user)
    if reason:
        qs = qs.filter(reason=reason)
    if open_only:
        qs = qs.open()
    return qs.order_by("reviewed_at", "-assigned_at")


def chain_status() -> dict[str, Any]:
    """What the status panel shows: the last verification, the head, the backlog, the partitions."""

    last_run = VerificationRun.objects.order_by("-started_at").first()
    last_failure = VerificationRun.objects.filter(ok=False).order_by("-started_at").first()
    try:
        found = chain.checkpoints()
        key_problem = ""
    except (OSError, TypeError, ValueError) as exc:  # no key here: say so, do not fail the panel
        found, key_problem = [], f"The checkpoint key cannot be read: {exc.__class__.__name__}."
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_seal")
        sealed = int(cursor.fetchone()[0])
    return {
        "last_run": last_run,
        "last_failure": last_failure,
        "head": chain.head(),
        "sealed": sealed,
        "unsealed": chain.unsealed_count(),
        "checkpoints": len(found),
        "last_checkpoint": found[-1] if found else None,
        "checkpoint_path": str(chain.checkpoint_path()),
        "key_problem": key_problem,
        "partitions": db.partitions(),
    }
