"""Writes of the verification app (STYLE.md rule 2): one function per business action."""

from verification.services.cases import (
    case_auto_close_draft,
    case_auto_close_no_decision,
    case_close,
    case_contact_record,
    case_decide,
    case_escalate_continuance,
    case_escalate_nmt,
    case_fan_issue,
    case_identifier_reveal,
    case_no_show,
    case_refer,
    case_resolve,
)
from verification.services.employers import (
    apikey_issue,
    apikey_revoke,
    apikey_rotate,
    employer_enrol,
    employer_status_set,
    hash_api_key,
    site_add,
)
from verification.services.notices import case_notice_print
from verification.services.submit import case_create, case_submit

__all__ = [
    "apikey_issue",
    "apikey_revoke",
    "apikey_rotate",
    "case_auto_close_draft",
    "case_auto_close_no_decision",
    "case_close",
    "case_contact_record",
    "case_create",
    "case_decide",
    "case_escalate_continuance",
    "case_escalate_nmt",
    "case_fan_issue",
    "case_identifier_reveal",
    "case_no_show",
    "case_notice_print",
    "case_refer",
    "case_resolve",
    "case_submit",
    "employer_enrol",
    "employer_status_set",
    "hash_api_key",
    "site_add",
]
