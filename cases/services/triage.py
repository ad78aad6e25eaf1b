"""Triage actions on flagged cases, one at a time or in bulk (each bulk call is one audited operation)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.services import event_record
from cases.models import (
    FLAGGED_STAGE,
    Case,
    CaseFinding,
    CaseNote,
    CaseTask,
    Closure,
    DismissReason,
    SavedView,
    Suppression,
)
from cases.services.common import audit, free_text, lock_visible, now, timeline, today
from cases.services.workflow import _close, assign
from core.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from privacy.models import User

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


# --- Single-case steps without their own audit event (callers record one) --------------------


def _dismiss(case: Case, *, actor: Any, reason: str, note: str) -> None:
    if reason not in DismissReason.values:
        raise ValidationFailed(
            "Choose a coded reason.", field_errors={"reason": ["Choose a coded reason."]}
        )
    if case.is_closed:
        raise IllegalTransition(f"Case {case.number} is already closed.")
    _close(case, actor=actor, closure=Closure.FALSE_POSITIVE, reason=reason)
    timeline(
        case,
        actor,
        "dismissed",
        f"Dismissed as false positive: {case.get_dismiss_reason_display()}",
        note=note[:500],
    )


def _tag(case: Case, *, actor: Any, add: Iterable[str], remove: Iterable[str]) -> None:
    add, remove = list(add), list(remove)
    for tag in add:
        if not _TAG.match(tag):
            raise ValidationFailed(
                "Tags are lower-case letters, digits, - and _.",
                field_errors={"tags": [f"Bad tag: {tag[:40]}"]},
            )
    tags = [t for t in case.tags if t not in remove]
    tags += [t for t in add if t not in tags]
    if tags != case.tags:
        case.tags = tags
        case.save(update_fields=["tags", "updated_at"])
        timeline(
            case, actor, "tagged", f"Tags: {', '.join(tags) or 'none'}", added=add, removed=remove
        )


def _snooze(case: Case, *, actor: Any, until: date, reason: str, rule_code: str = "") -> None:
    if until <= today():
        raise ValidationFailed(
            "Snooze until a future date.", field_errors={"until": ["Must be in the future."]}
        )
    if (until - today()).days > settings.CASES_MAX_SNOOZE_DAYS:
        raise ValidationFailed(
            f"Snoozes last at most {settings.CASES_MAX_SNOOZE_DAYS} days.",
            field_errors={"until": ["Too far."]},
        )
    if not reason.strip():
        raise ValidationFailed("Give a reason.", field_errors={"reason": ["Required."]})
    free_text(reason, field="reason")
    if case.is_closed:
        raise IllegalTransition(f"Case {case.number} is closed.")
    Suppression.objects.create(
        subject_key=case.subject_key,
        rule_code=rule_code,
        until=until,
        reason=reason[:500],
        created_by=actor,
    )
    case.snoozed_until = until
    case.save(update_fields=["snoozed_until", "updated_at"])
    timeline(case, actor, "snoozed", f"Snoozed until {until}: {reason[:200]}", rule=rule_code)


def _merge(source: Case, *, actor: Any, target: Case) -> None:
    if source.pk == target.pk:
        raise ValidationFailed("A case cannot be merged into itself.")
    if source.is_closed or target.is_closed:
        raise IllegalTransition("Only open cases are merged.")
    moved = list(CaseFinding.objects.filter(case=source).select_related("finding"))
    CaseFinding.objects.filter(case=source).update(case=target, is_new=True)
    for link in moved:
        f = link.finding
        if f.rule_code not in target.rule_codes:
            target.rule_codes = [*target.rule_codes, f.rule_code]
        if f.family not in target.rule_families:
            target.rule_families = [*target.rule_families, f.family]
    target.finding_count += len(moved)
    target.score = max(target.score, source.score)
    target.priority = min(target.priority, source.priority)
    target.due_date = min(target.due_date, source.due_date)
    target.tags = list(dict.fromkeys([*target.tags, *source.tags]))
    target.has_new_evidence = True
    target.save()
    source.merged_into = target
    source.finding_count = 0
    source.save(update_fields=["merged_into", "finding_count", "updated_at"])
    _close(source, actor=actor, closure=Closure.MERGED)
    timeline(source, actor, "merged", f"Merged into {target.number}", target=target.pk)
    timeline(
        target,
        actor,
        "merged_in",
        f"{source.number} merged in ({len(moved)} finding(s))",
        source=source.pk,
    )


# --- Single-case services ----------------------------------------------------------------------


@transaction.atomic
def case_dismiss(*, actor: User, case: Case, reason: str, note: str = "") -> Case:
    """Close as a false positive with one coded reason; counted against each rule that flagged it."""
    case = lock_visible(actor=actor, case=case)
    before = case.status
    _dismiss(case, actor=actor, reason=reason, note=note)
    audit(
        "cases.dismissed",
        actor=actor,
        case=case,
        changes={"status": [before, "closed"], "closure": ["", "false_positive"]},
        detail={"reason": reason},
    )
    return case


@transaction.atomic
def case_tag(
    *, actor: User, case: Case, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Case:
    """Add or remove tags."""
    case = lock_visible(actor=actor, case=case)
    before = list(case.tags)
    _tag(case, actor=actor, add=add, remove=remove)
    audit("cases.tagged", actor=actor, case=case, changes={"tags": [before, case.tags]})
    return case


@transaction.atomic
def case_snooze(*, actor: User, case: Case, until: date, reason: str, rule_code: str = "") -> Case:
    """Snooze the case's subject (or one rule for it) until a date, with a reason; it ends by itself."""
    case = lock_visible(actor=actor, case=case)
    _snooze(case, actor=actor, until=until, reason=reason, rule_code=rule_code)
    audit(
        "cases.snoozed",
        actor=actor,
        case=case,
        changes={"snoozed_until": [None, str(until)]},
        justification=reason,
        detail={"rule": rule_code},
    )
    return case


@transaction.atomic
def case_merge(*, actor: User, case: Case, into: Case) -> Case:
    """Merge a case into another (its findings move; it closes as merged). Returns the target."""
    target = lock_visible(actor=actor, case=into)
    source = lock_visible(actor=actor, case=case)
    _merge(source, actor=actor, target=target)
    audit("cases.merged", actor=actor, case=source, detail={"into": target.pk})
    return target


@transaction.atomic
def case_evidence_acknowledge(*, actor: User, case: Case) -> Case:
    """Mark the new findings of a case as reviewed."""
    case = lock_visible(actor=actor, case=case)
    CaseFinding.objects.filter(case=case, is_new=True).update(is_new=False)
    case.has_new_evidence = False
    case.save(update_fields=["has_new_evidence", "updated_at"])
    timeline(case, actor, "evidence_reviewed", "New findings reviewed")
    audit("cases.evidence_reviewed", actor=actor, case=case)
    return case


# --- Bulk: one audited operation over a selection or over "all matching this filter" -------------

BULK_ACTIONS = ("assign", "dismiss", "tag", "merge", "snooze")


@transaction.atomic
def cases_bulk_apply(
    *, actor: User, action: str, case_ids: Iterable[int], params: dict[str, Any]
) -> list[Case]:
    """Apply one triage action to many cases at once; all or nothing, one audit event naming every subject."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed("Unknown bulk action.")
    ids = sorted({int(i) for i in case_ids})
    if not ids:
        raise ValidationFailed("Select at least one case.")
    if len(ids) > settings.CASES_BULK_MAX:
        raise ValidationFailed(
            f"At most {settings.CASES_BULK_MAX} cases at once; narrow the filter."
        )
    # Lock in id order (no deadlock between two bulk operations) and only what the actor may change.
    cases = list(
        Case.objects.visible_to(actor, "change")
        .filter(pk__in=ids)
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    if len(cases) != len(ids):
        raise NotFound("Some selected cases are not available to you.")
    target = None
    if action == "merge":
        target_id = params.get("into")
        target = (
            Case.objects.visible_to(actor, "change")
            .filter(pk=target_id)
            .select_for_update(of=("self",))
            .first()
        )
        if target is None:
            raise NotFound("No such target case.")
        cases = [c for c in cases if c.pk != target.pk]
    assignee = None
    if action == "assign":
        assignee = params.get("assignee") or actor
    for case in cases:
        if action in ("dismiss", "snooze") and case.status not in FLAGGED_STAGE:
            raise IllegalTransition(
                f"Case {case.number} is an investigation; work it on its own page."
            )
        if action == "assign" and assignee is not None:
            assign(case, actor=actor, assignee=assignee)
        elif action == "dismiss":
            _dismiss(
                case, actor=actor, reason=params.get("reason", ""), note=params.get("note", "")
            )
        elif action == "tag":
            _tag(case, actor=actor, add=params.get("add", []), remove=params.get("remove", []))
        elif action == "snooze":
            _snooze(case, actor=actor, until=params["until"], reason=params.get("reason", ""))
        elif action == "merge" and target is not None:
            _merge(case, actor=actor, target=target)
    event_record(
        action=f"cases.bulk_{action}",
        actor=actor,
        object_type="case",
        object_id=getattr(target, "pk", ""),
        subjects=[c.subject_ref for c in cases] + ([target.subject_ref] if target else []),
        detail={
            "cases": [c.pk for c in cases],
            "count": len(cases),
            "scope": params.get("scope", "selection"),
            "assignee": getattr(assignee, "pk", None),
            "reason": params.get("reason", ""),
            "tags": params.get("add", []),
            "until": str(params.get("until", "")),
        },
        justification=params.get("reason", "") if action == "snooze" else "",
    )
    return cases


# --- Notes and tasks -----------------------------------------------------------------------------


@transaction.atomic
def case_note_add(*, actor: User, case: Case, body: str) -> CaseNote:
    """Add a note to a case."""
    case = lock_visible(actor=actor, case=case)
    body = body.strip()
    if not body:
        raise ValidationFailed("The note is empty.", field_errors={"body": ["Required."]})
    free_text(body, field="body")
    note = CaseNote.objects.create(case=case, author=actor, body=body)
    timeline(case, actor, "note", "Note added", note=note.pk)
    audit("cases.note_added", actor=actor, case=case, detail={"note": note.pk, "length": len(body)})
    return note


@transaction.atomic
def case_task_add(
    *,
    actor: User,
    case: Case,
    title: str,
    assignee: User | None = None,
    due_date: date | None = None,
) -> CaseTask:
    """Add a task to a case."""
    case = lock_visible(actor=actor, case=case)
    if not title.strip():
        raise ValidationFailed("The task needs a title.", field_errors={"title": ["Required."]})
    if assignee is not None and assignee.agency_id != case.owning_agency_id:
        raise ValidationFailed("Tasks go to users of the owning agency.")
    task = CaseTask.objects.create(
        case=case, title=title.strip()[:200], assignee=assignee, due_date=due_date, created_by=actor
    )
    timeline(case, actor, "task", f"Task added: {task.title}", task=task.pk)
    audit("cases.task_added", actor=actor, case=case, detail={"task": task.pk})
    return task


@transaction.atomic
def case_task_complete(*, actor: User, task: CaseTask) -> CaseTask:
    """Mark a task done."""
    case = lock_visible(actor=actor, case=task.case_id)
    task = CaseTask.objects.select_for_update().get(pk=task.pk, case=case)
    if task.done_at:
        raise IllegalTransition("The task is already done.")
    task.done_at = now()
    task.save(update_fields=["done_at", "updated_at"])
    timeline(case, actor, "task_done", f"Task done: {task.title}", task=task.pk)
    audit("cases.task_done", actor=actor, case=case, detail={"task": task.pk})
    return task


# --- Saved views -----------------------------------------------------------------------------------


@transaction.atomic
def saved_view_save(
    *, actor: User, name: str, query: str, shared: bool = False, unit_default: bool = False
) -> SavedView:
    """Save the current queue filter, for oneself or shared with one's unit (optionally its default)."""
    name = name.strip()[:80]
    if not name:
        raise ValidationFailed("Name the view.", field_errors={"name": ["Required."]})
    if unit_default and not actor.has_role("supervisor"):
        raise Forbidden("Only a supervisor sets the unit's default view.")
    unit = actor.unit if (shared or unit_default) else None
    if unit_default:
        SavedView.objects.filter(unit=unit, is_unit_default=True).update(is_unit_default=False)
    view = SavedView.objects.create(
        owner=actor,
        unit=unit,
        name=name,
        query=query.lstrip("?")[:1000],
        is_unit_default=unit_default,
    )
    event_record(
        action="cases.view_saved",
        actor=actor,
        object_type="saved_view",
        object_id=view.pk,
        detail={"shared": bool(unit), "default": unit_default},
    )
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Delete one's own saved view (a supervisor may delete the unit's shared ones)."""
    if view.owner_id != actor.pk and not (
        actor.has_role("supervisor") and view.unit_id == actor.unit_id
    ):
        raise NotFound("No such view.")
    event_record(
        action="cases.view_deleted", actor=actor, object_type="saved_view", object_id=view.pk
    )
    view.delete()
