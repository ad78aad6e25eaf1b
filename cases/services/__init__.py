"""Writes about cases (STYLE.md rule 2): one function per business action, atomic and audited.

The package is split by concern; import from here.
"""

from cases.services.dispositions import (
    case_disposition_propose,
    case_disposition_sign_off,
    gate_violations,
)
from cases.services.evidence import evidence_add, evidence_download_record
from cases.services.handoff import case_escalate, case_handoff
from cases.services.ingest import findings_ingest, findings_ingest_all
from cases.services.notify import notifications_mark_read, reminders_send
from cases.services.triage import (
    case_dismiss,
    case_evidence_acknowledge,
    case_merge,
    case_note_add,
    case_snooze,
    case_tag,
    case_task_add,
    case_task_complete,
    cases_bulk_apply,
    saved_view_delete,
    saved_view_save,
)
from cases.services.workflow import (
    case_assign,
    case_assign_round_robin,
    case_close,
    case_contest_decide,
    case_contest_receive,
    case_member_add,
    case_member_remove,
    case_notice_delivered,
    case_notice_issue,
    case_open_investigation,
    case_request_verification,
    case_verify_match,
)

__all__ = [
    "case_assign",
    "case_assign_round_robin",
    "case_close",
    "case_contest_decide",
    "case_contest_receive",
    "case_dismiss",
    "case_disposition_propose",
    "case_disposition_sign_off",
    "case_escalate",
    "case_evidence_acknowledge",
    "case_handoff",
    "case_member_add",
    "case_member_remove",
    "case_merge",
    "case_note_add",
    "case_notice_delivered",
    "case_notice_issue",
    "case_open_investigation",
    "case_request_verification",
    "case_snooze",
    "case_tag",
    "case_task_add",
    "case_task_complete",
    "case_verify_match",
    "cases_bulk_apply",
    "evidence_add",
    "evidence_download_record",
    "findings_ingest",
    "findings_ingest_all",
    "gate_violations",
    "notifications_mark_read",
    "reminders_send",
    "saved_view_delete",
    "saved_view_save",
]
