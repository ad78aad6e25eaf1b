"""Helpers shared by the case services: locking, re-checking scope, timeline, audit, notifications."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.services import event_record
from cases.models import (
    ADVERSE_CLOSURES,
    Case,
    CaseEvent,
    CaseFinding,
    Closure,
    Notification,
    NotificationKind,
)
from core.errors import NotFound, ValidationFailed
from core.redaction import holds_identifier
from crossref.models import Disposition
from crossref.services import finding_feedback_record
from privacy.models.mail import MailKind
from privacy.services.mail import mail_send

# Which e-mail preference each kind of case notification follows.
MAIL_KINDS: dict[str, str] = {
    NotificationKind.ASSIGNMENT: MailKind.ASSIGNMENT,
    NotificationKind.DUE_SOON: MailKind.REMINDER,
    NotificationKind.OVERDUE: MailKind.REMINDER,
    NotificationKind.HANDOFF: MailKind.HANDOFF,
    NotificationKind.CONTEST: MailKind.CONTEST,
    NotificationKind.SIGNOFF: MailKind.SIGNOFF,
}


def now():
    """The current time (one place, so tests can travel)."""
    return timezone.now()


def today():
    """Today's date in the project's time zone."""
    return timezone.localdate()


def lock(case: Case | int) -> Case:
    """The case row, locked for the rest of the transaction."""
    pk = case.pk if isinstance(case, Case) else case
    return Case.objects.select_for_update(of=("self",)).get(pk=pk)


def lock_visible(*, actor: Any, case: Case | int, action: str = "change") -> Case:
    """Lock the case and check, inside the transaction, that the actor may still act on it."""
    pk = case.pk if isinstance(case, Case) else case
    if not Case.objects.visible_to(actor, action).filter(pk=pk).exists():
        raise NotFound("No such case.")
    return lock(pk)


NO_IDENTIFIER = (
    "Remove the full identifier (an SSN, A-Number, passport or document number): notes and "
    "reasons hold none; the case shows its last four."
)


def free_text(value: str, *, field: str) -> str:
    """People's free text, refused if it holds a full identifier (as verification refuses it)."""
    if holds_identifier(value):
        raise ValidationFailed(NO_IDENTIFIER, field_errors={field: [NO_IDENTIFIER]})
    return value


def timeline(case: Case, actor: Any, kind: str, summary: str, **data: Any) -> CaseEvent:
    """Add a line to the case's timeline (its note or reason free of full identifiers)."""
    for field in ("note", "reason"):
        if isinstance(data.get(field), str):
            free_text(data[field], field=field)
    return CaseEvent.objects.create(
        case=case,
        actor=actor if getattr(actor, "pk", None) else None,
        kind=kind,
        summary=summary[:300],
        data=data,
    )


def audit(
    action: str,
    *,
    actor: Any,
    case: Case,
    changes: dict | None = None,
    detail: dict | None = None,
    justification: str = "",
) -> None:
    """One audit event about one case, naming its subject."""
    event_record(
        action=action,
        actor=actor,
        object_type="case",
        object_id=case.pk,
        subjects=[case.subject_ref],
        case_id=case.pk,
        changes=changes,
        detail=detail,
        justification=justification,
    )


def notify(*, user: Any, kind: str, case: Case | None, message: str) -> Notification | None:
    """An in-app notification, and the same by e-mail as the user chose for its kind."""
    if user is None:
        return None
    if kind in ("due_soon", "overdue") and case is not None:
        # Reminders go out once per case and user; the unique constraint makes a re-run harmless.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO cases_notification (user_id, kind, case_id, message, created_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING id",
                [user.pk, kind, case.pk, message[:300], now()],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        note = Notification.objects.get(pk=row[0])
    else:
        note = Notification.objects.create(user=user, kind=kind, case=case, message=message[:300])
    mail_send(
        user=user,
        kind=MAIL_KINDS.get(kind, MailKind.GENERAL),
        subject=message[:120],
        body=f"{message}\n\nOpen Crosscheck to see it. This message holds no personal data.",
        link=reverse("cases:detail", args=[case.pk]) if case is not None else "",
    )
    return note


def closure_outcome(closure: str) -> str | None:
    """The rule-quality outcome a case's closure gives its findings (None: a merge moves them)."""
    if closure == Closure.FALSE_POSITIVE:
        return Disposition.DISMISSED
    if closure in ADVERSE_CLOSURES:
        return Disposition.ADVERSE
    if closure == Closure.NO_VIOLATION:
        return Disposition.NO_ACTION
    return None


def findings_feedback(actor: Any, case: Case, outcome: str | None, reason: str = "") -> None:
    """Tell the cross-reference engine how triage judged each finding of the case (rule quality)."""
    if outcome is None:
        return
    for finding_id in CaseFinding.objects.filter(case=case).values_list("finding_id", flat=True):
        finding_feedback_record(actor=actor, finding_id=finding_id, outcome=outcome, reason=reason)
