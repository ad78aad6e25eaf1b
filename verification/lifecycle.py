"""The E-Verify case lifecycle as data (DOMAIN.md §1): which action each status allows.

Services consult `require` before every change; anything not listed is an illegal transition
(409). Tests walk this table against every status, both ways.
"""

from __future__ import annotations

from core.errors import IllegalTransition
from verification.models import CaseStatus, ClosureCode

S = CaseStatus

# action -> the statuses it may start from
ALLOWED: dict[str, frozenset[str]] = {
    "submit": frozenset({S.DRAFT}),
    "issue_fan": frozenset({S.TENTATIVE_NONCONFIRMATION}),
    "decide": frozenset({S.TENTATIVE_NONCONFIRMATION}),
    "refer": frozenset({S.TENTATIVE_NONCONFIRMATION}),
    "record_contact": frozenset({S.REFERRED}),
    "resolve": frozenset({S.NEEDS_MORE_TIME, S.REFERRED, S.CASE_IN_CONTINUANCE}),
    "no_show": frozenset({S.REFERRED}),
    "auto_close_draft": frozenset({S.DRAFT}),
    "auto_close_no_decision": frozenset({S.TENTATIVE_NONCONFIRMATION}),
    "escalate_continuance": frozenset({S.CASE_IN_CONTINUANCE}),
    "escalate_nmt": frozenset({S.NEEDS_MORE_TIME}),
    "close": frozenset(
        {
            S.DRAFT,
            S.EMPLOYMENT_AUTHORIZED,
            S.NEEDS_MORE_TIME,
            S.TENTATIVE_NONCONFIRMATION,
            S.REFERRED,
            S.CASE_IN_CONTINUANCE,
            S.CLOSE_AND_RESUBMIT,
            S.FINAL_NONCONFIRMATION,
            S.DHS_NO_SHOW,
        }
    ),
}

# How a status verifier resolves a case, and from where.
RESOLUTIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirmed": (
        frozenset({S.NEEDS_MORE_TIME, S.REFERRED, S.CASE_IN_CONTINUANCE}),
        S.EMPLOYMENT_AUTHORIZED,
    ),
    "corrected_record": (
        frozenset({S.NEEDS_MORE_TIME, S.REFERRED, S.CASE_IN_CONTINUANCE}),
        S.EMPLOYMENT_AUTHORIZED,
    ),
    "tentative_nonconfirmation": (frozenset({S.NEEDS_MORE_TIME}), S.TENTATIVE_NONCONFIRMATION),
    "continuance": (frozenset({S.REFERRED}), S.CASE_IN_CONTINUANCE),
    "close_and_resubmit": (frozenset({S.REFERRED, S.CASE_IN_CONTINUANCE}), S.CLOSE_AND_RESUBMIT),
    "final_nonconfirmation": (
        frozenset({S.REFERRED, S.CASE_IN_CONTINUANCE}),
        S.FINAL_NONCONFIRMATION,
    ),
}

C = ClosureCode
# Closure codes an employer may choose, and the statuses each applies to.
CLOSURE_FROM: dict[str, frozenset[str]] = {
    C.EMPLOYEE_CONTINUES_AFTER_EA: frozenset({S.EMPLOYMENT_AUTHORIZED}),
    C.TERMINATED_AFTER_FNC: frozenset({S.FINAL_NONCONFIRMATION, S.DHS_NO_SHOW}),
    C.CONTINUES_AFTER_FNC: frozenset({S.FINAL_NONCONFIRMATION, S.DHS_NO_SHOW}),
    C.INFO_NOT_CORRECT: frozenset({S.DRAFT, S.TENTATIVE_NONCONFIRMATION, S.CLOSE_AND_RESUBMIT}),
    C.DUPLICATE: frozenset(
        {S.DRAFT, S.EMPLOYMENT_AUTHORIZED, S.TENTATIVE_NONCONFIRMATION, S.NEEDS_MORE_TIME}
    ),
    C.VOLUNTARILY_QUIT: frozenset(
        {
            S.EMPLOYMENT_AUTHORIZED,
            S.NEEDS_MORE_TIME,
            S.TENTATIVE_NONCONFIRMATION,
            S.REFERRED,
            S.CASE_IN_CONTINUANCE,
            S.FINAL_NONCONFIRMATION,
            S.DHS_NO_SHOW,
        }
    ),
    C.NOT_HIRED: frozenset(
        {S.DRAFT, S.EMPLOYMENT_AUTHORIZED, S.TENTATIVE_NONCONFIRMATION, S.NEEDS_MORE_TIME}
    ),
    C.OTHER: frozenset(
        {
            S.DRAFT,
            S.EMPLOYMENT_AUTHORIZED,
            S.NEEDS_MORE_TIME,
            S.TENTATIVE_NONCONFIRMATION,
            S.CLOSE_AND_RESUBMIT,
            S.FINAL_NONCONFIRMATION,
            S.DHS_NO_SHOW,
        }
    ),
}
# Codes that need an explanation in free text (checked for PII).
CLOSURE_NEEDS_TEXT = frozenset({C.CONTINUES_AFTER_FNC, C.OTHER})
# Codes only the system sets.
SYSTEM_CLOSURE_CODES = frozenset({C.EA_AUTOMATIC, C.DRAFT_EXPIRED, C.NO_DECISION})

OPEN_STATUSES = frozenset(set(S.values) - {S.CLOSED})


def require(status: str, action: str) -> None:
    """Raise IllegalTransition unless `action` is allowed from `status`."""
    if status not in ALLOWED.get(action, frozenset()):
        label = str(S(status).label) if status in S.values else status
        raise IllegalTransition(
            f"A case in status {label!r} does not allow '{action.replace('_', ' ')}'."
        )
