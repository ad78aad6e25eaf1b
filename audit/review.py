"""The review workflow: sampled and flagged events go to supervisors, who mark each reviewed."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit import anomalies
from audit.models import AuditEvent, Outcome, ReviewAssignment, ReviewReason
from audit.services import event_record
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed


def _supervisors(agency_code: str) -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, roles__contains=["supervisor"], agency__code=agency_code)
        .order_by("pk")
    )


def _previous_day() -> tuple[datetime, datetime]:
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1), today


class _Assigner:
    """Hands events to reviewers: never an actor's own, each (event, rule) once, least-loaded first."""

    def __init__(self) -> None:
        self.load: dict[int, int] = defaultdict(int)
        self.made: list[ReviewAssignment] = []
        self.seen: set[tuple[int, str]] = set()

    def give(self, event: AuditEvent, reason: str, rule: str, explanation: str) -> None:
        """Assign `event` to the least-loaded supervisor of its actor's agency who is not its actor."""
        reviewers = [s for s in _supervisors(event.actor_agency) if s.pk != event.actor_id]
        if not reviewers or (event.pk, rule) in self.seen:
            return
        reviewer = min(reviewers, key=lambda s: (self.load[s.pk], s.pk))
        assignment, created = ReviewAssignment.objects.get_or_create(
            event_id=event.pk,
            reviewer=reviewer,
            rule=rule,
            defaults={
                "event_occurred_at": event.occurred_at,
                "event_actor_id": event.actor_id,
                "reason": reason,
                "explanation": explanation,
            },
        )
        self.seen.add((event.pk, rule))
        if created:
            self.load[reviewer.pk] += 1
            self.made.append(assignment)


def _sample(
    *, start: datetime, end: datetime, per_reviewer: int, rng: random.Random
) -> list[AuditEvent]:
    """A random sample of each agency's events of the window, `per_reviewer` per supervisor."""
    agencies = (
        AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .exclude(actor_agency="")
        .order_by()
        .values_list("actor_agency", flat=True)
        .distinct()
    )
    sampled: list[AuditEvent] = []
    for agency in agencies:
        supervisors = _supervisors(agency)
        pool = list(
            AuditEvent.objects.filter(
                occurred_at__gte=start, occurred_at__lt=end, actor_agency=agency
            )
            .exclude(action__startswith="audit.")
            .values_list("id", flat=True)[:50_000]
        )
        chosen = rng.sample(pool, min(len(pool), per_reviewer * len(supervisors)))
        sampled += AuditEvent.objects.filter(pk__in=chosen).order_by("id")
    return sampled


@transaction.atomic
def review_assign(
    *,
    actor: Any,
    start: datetime | None = None,
    end: datetime | None = None,
    sample_size: int | None = None,
    seed: int | None = None,
) -> list[ReviewAssignment]:
    """Assign the window's flagged events and a random sample to the supervisors of each actor's agency.

    Nobody is given their own events; the least-loaded supervisor takes each one.
    """
    if start is None or end is None:
        start, end = _previous_day()
    per_reviewer = settings.AUDIT_REVIEW_SAMPLE_PER_REVIEWER if sample_size is None else sample_size
    rng = random.Random(seed)  # not for security: which events are sampled is itself recorded
    assigner = _Assigner()
    flags = anomalies.flags_for(start=start, end=end)
    events = AuditEvent.objects.in_bulk([i for f in flags for i in f.event_ids if i])
    for flag in flags:
        for event_id in flag.event_ids:
            if event_id in events:
                assigner.give(
                    events[event_id],
                    ReviewReason.FLAG,
                    flag.rule,
                    f"{anomalies.RULES[flag.rule]} {flag.explanation}",
                )
    for event in _sample(start=start, end=end, per_reviewer=per_reviewer, rng=rng):
        assigner.give(event, ReviewReason.SAMPLE, "", "Random sample for routine review (AU-6).")
    if assigner.made:
        event_record(
            action="audit.review_assigned",
            actor=actor,
            object_type="audit.review",
            detail={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "assignments": len(assigner.made),
                "flags": len(flags),
                "by_rule": _count(flags),
            },
        )
    return assigner.made


def _count(flags: list[anomalies.Flag]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for flag in flags:
        counts[flag.rule] += 1
    return dict(counts)


def review_complete(*, actor: Any, assignment_id: int, note: str) -> ReviewAssignment:
    """Mark an assigned event reviewed with a note. One's own events may not be reviewed.

    A refusal is recorded (denied) in its own transaction, so it stays when the error propagates.
    """
    assignment = ReviewAssignment.objects.filter(pk=assignment_id, reviewer=actor).first()
    if assignment is None:
        raise NotFound("No such review assignment.")
    if assignment.event_actor_id == actor.pk:
        with transaction.atomic():
            event_record(
                action="audit.reviewed",
                actor=actor,
                object_type="audit.event",
                object_id=assignment.event_id,
                outcome=Outcome.DENIED,
                detail={"assignment": assignment.pk, "reason": "own event"},
            )
        raise Forbidden("You cannot review your own events.")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            "Write a note.", field_errors={"note": ["Write what you checked and concluded."]}
        )
    with transaction.atomic():
        assignment = ReviewAssignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.reviewed_at is not None:
            raise Conflict("This event has already been reviewed.")
        assignment.reviewed_at = timezone.now()
        assignment.note = note[:4000]
        assignment.save(update_fields=["reviewed_at", "note"])
        event_record(
            action="audit.reviewed",
            actor=actor,
            object_type="audit.event",
            object_id=assignment.event_id,
            detail={
                "assignment": assignment.pk,
                "reason": assignment.reason,
                "rule": assignment.rule,
                "note": assignment.note,
            },
        )
    return assignment
