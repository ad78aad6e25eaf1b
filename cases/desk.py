"""The top of the case page, the analyst's desk: the SLA state, the due-process gate as steps, and
the actions the case allows next (each a link to its form below, with its keyboard shortcut)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cases.models import FLAGGED_STAGE, Case, CaseStatus
from cases.queue import sla_state
from core.calendar import working_days_between

SLA_LABELS = {"overdue": "Overdue", "soon": "Due soon", "later": "On time"}


@dataclass(frozen=True)
class NextAction:
    """An action the case allows now: a label, the form control it leads to, its shortcut."""

    label: str
    target: str
    key: str


@dataclass(frozen=True)
class GateStep:
    """One segment of the due-process step indicator."""

    label: str
    state: str  # "complete", "current" or ""
    detail: str


def sla(case: Case, today: date) -> dict[str, Any]:
    """The SLA state of an open case and the federal working days left (negative when late)."""
    if case.is_closed:
        return {}
    state = sla_state(case.due_date, today)
    if case.due_date >= today:
        left = working_days_between(today, case.due_date)
    else:
        left = -working_days_between(case.due_date, today)
    return {"state": state, "label": SLA_LABELS[state], "working_days": left}


def gate_steps(case: Case, today: date) -> list[GateStep]:
    """Independent verification → notice → contest window → disposition (CMPPA (p))."""
    window_over = bool(case.contest_deadline and case.contest_deadline <= today)
    done = [
        case.verified_by_id is not None,
        case.notice_delivered_on is not None,
        window_over or case.contest_outcome == "upheld",
        case.signed_off_by_id is not None or case.is_closed,
    ]
    details = [
        f"by {case.verified_by} on {case.verified_at:%Y-%m-%d}"
        if case.verified_by_id and case.verified_at
        else "",
        f"delivered {case.notice_delivered_on}" if case.notice_delivered_on else "",
        f"until {case.contest_deadline}" if case.contest_deadline else "30 days from delivery",
        case.get_proposed_closure_display() + " proposed" if case.proposed_closure else "",
    ]
    labels = ["Independent verification", "Notice", "Contest window", "Disposition"]
    current = next((i for i, d in enumerate(done) if not d), len(done))
    return [
        GateStep(label, "complete" if done[i] else ("current" if i == current else ""), details[i])
        for i, label in enumerate(labels)
    ]


def next_actions(case: Case, *, is_supervisor: bool) -> list[NextAction]:
    """What the case allows now, most likely first."""
    if case.is_closed:
        return []
    if case.status in FLAGGED_STAGE:
        return [
            NextAction("Open as investigation", "open-kind", "o"),
            NextAction("Dismiss as false positive", "dismiss-reason", "d"),
            NextAction("Assign", "assign-to", "a"),
            NextAction("Snooze", "snooze-until", "s"),
        ]
    steps = {
        CaseStatus.INVESTIGATING: [("Request verification", "request-verification", "v")],
        CaseStatus.PENDING_VERIFICATION: [
            ("Verify the match", "verify-note", "v")
            if case.verified_by_id is None
            else ("Generate the notice", "issue-notice", "v")
        ],
        CaseStatus.NOTICE_ISSUED: [("Record the delivery", "id_method", "v")],
        CaseStatus.CONTEST_WINDOW: _contest_actions(case, is_supervisor),
    }
    actions = [NextAction(*a) for a in steps.get(CaseStatus(case.status), [])]
    return [*actions, NextAction("Add a note", "note-body", "e")]


def _contest_actions(case: Case, is_supervisor: bool) -> list[tuple[str, str, str]]:
    if case.contest_received_at and not case.contest_decided_at:
        return [("Decide the contest", "id_outcome", "v")]
    if case.proposed_closure:
        return [("Sign off", "id_decision", "v")] if is_supervisor else []
    return [("Propose a disposition", "id_closure", "v")]
