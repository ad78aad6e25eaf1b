"""Writes of the privacy app, one module per concern; every service is importable from here."""

from privacy.services.access import (
    ReverifyRequired,
    break_glass_open,
    break_glass_review,
    break_glass_use,
    identifier_reveal,
    otp_verified_recently,
    sensitive_rate_check,
)
from privacy.services.agreements import (
    agreement_activate,
    agreement_approve,
    agreement_create,
    agreement_document_upload,
    agreement_expiry_warnings_send,
    agreement_renew,
    agreement_resume,
    agreement_suspend,
    agreement_terminate,
    agreement_update,
    agreements_expire_due,
    grant_create,
    grant_revoke,
    grants_tidy,
    object_permissions_tidy,
)
from privacy.services.auth import (
    login_failure_record,
    recovery_codes_issue,
    second_factor_verify,
    session_login,
    totp_device_confirm,
    totp_device_start,
)
from privacy.services.directory import (
    agency_save,
    invitation_accept,
    invitation_for_token,
    unit_save,
    user_create,
    user_deactivate,
    user_invite,
    user_reactivate,
    user_update,
)
from privacy.services.disclosures import disclosure_record, disclosure_report, disclosures_record
from privacy.services.notifications import notification_mark_read, notify
from privacy.services.recertification import (
    campaign_open,
    campaigns_close_due,
    recertification_decide,
)
from privacy.services.retention import (
    legal_hold_place,
    legal_hold_release,
    purge_approve,
    purge_preview,
    purge_run_execute,
    retention_schedule_save,
)
from privacy.services.subject_requests import (
    amendment_decide,
    disagreement_file,
    subject_request_acknowledge,
    subject_request_close,
    subject_request_create,
    subject_request_match,
    subject_request_pause,
    subject_request_respond,
    subject_request_resume,
    subject_request_verify_identity,
)

__all__ = [
    "ReverifyRequired", "agency_save", "agreement_activate", "agreement_approve", "agreement_create",
    "agreement_document_upload", "agreement_expiry_warnings_send", "agreement_renew", "agreement_resume",
    "agreement_suspend", "agreement_terminate", "agreement_update", "agreements_expire_due", "amendment_decide",
    "break_glass_open", "break_glass_review", "break_glass_use", "campaign_open", "campaigns_close_due",
    "disagreement_file", "disclosure_record", "disclosure_report", "disclosures_record", "grant_create",
    "grant_revoke", "grants_tidy", "identifier_reveal", "invitation_accept", "invitation_for_token",
    "legal_hold_place", "legal_hold_release", "login_failure_record", "notification_mark_read", "notify",
    "object_permissions_tidy", "otp_verified_recently", "purge_approve", "purge_preview", "purge_run_execute",
    "recertification_decide", "recovery_codes_issue", "retention_schedule_save", "second_factor_verify",
    "sensitive_rate_check", "session_login", "subject_request_acknowledge", "subject_request_close",
    "subject_request_create", "subject_request_match", "subject_request_pause", "subject_request_respond",
    "subject_request_resume", "subject_request_verify_identity", "totp_device_confirm", "totp_device_start",
    "unit_save", "user_create", "user_deactivate", "user_invite", "user_reactivate", "user_update",
]
