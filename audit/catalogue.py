"""The versioned event catalogue: every audit action and why it is recorded (AU-2).

Each entry says why the event is recorded, and the catalogue version that introduced it. The
version in force is stored in every event (`catalogue_version`), so a reviewer reading an old
event knows which catalogue described it. Raise CATALOGUE_VERSION whenever an entry is added,
removed or changes meaning, and say what changed in CHANGES.
"""

from __future__ import annotations

CATALOGUE_VERSION = 3

CHANGES: dict[int, str] = {
    1: "Authentication, second factor, access denials and the directory.",
    2: "The audit trail's own events: browsing, review, export, verification, retention, checkpoints.",
    3: "Backups: audit.backup_taken.",
}

# action -> why it is recorded. A service may record only actions listed here.
CATALOGUE: dict[str, str] = {
    # Authentication (AC-7, IA-2)
    "auth.login": "A user signed in: who holds a session, from where.",
    "auth.login_failed": "A failed sign-in: guessing and credential stuffing show here.",
    "auth.lockout": "An account/IP pair was locked after repeated failures.",
    "auth.logout": "A user signed out.",
    "auth.session_expired": "A session ended by idle or absolute timeout.",
    "auth.password_reset_requested": "A password reset was asked for.",
    "auth.password_changed": "A password was changed.",
    "otp.enrolled": "A TOTP device was confirmed.",
    "otp.verified": "A second factor was verified.",
    "otp.failed": "A wrong second factor was entered.",
    "otp.recovery_codes_issued": "New recovery codes replaced the old ones.",
    "otp.recovery_code_used": "A recovery code was used instead of the authenticator.",
    # Access control
    "access.denied": "A request was refused by the access policy (AC-3).",
    # Administration of the directory
    "directory.user_created": "A user account was provisioned.",
    "directory.user_changed": "A user's roles, unit or status changed.",
    "directory.demo_loaded": "Demo data was loaded (development only).",
    # The audit trail itself (AU-6, AU-9): reading and reviewing the trail is audited too.
    "audit.browsed": "A page of the audit trail was read; it names the people its events concern.",
    "audit.event_viewed": "One audit event was opened in full.",
    "audit.timeline_viewed": "A user's activity timeline was read.",
    "audit.exported": "A range of the trail left the system as a file, with its chain proof.",
    "audit.reviewed": "A supervisor marked an audit event reviewed, with a note (AU-6).",
    "audit.review_assigned": "Sampled and flagged events were assigned to supervisors for review.",
    "audit.verified": "The hash chain was verified; a failure means the trail was tampered with (AU-9).",
    "audit.checkpoint_signed": "The chain head was signed and written outside the database (AU-10).",
    "audit.partitions_dropped": "A month of audit events passed retention and was dropped whole (AU-11).",
    "audit.backup_taken": "The database was dumped to a file, with its chain head signed (CP-9).",
}

# action -> the catalogue version that introduced it.
SINCE: dict[str, int] = {action: (2 if action.startswith("audit.") else 1) for action in CATALOGUE}
SINCE["audit.backup_taken"] = 3


def register(events: dict[str, str], *, since: int = 1) -> None:
    """Add an app's own events (called from its AppConfig.ready); a name may not be reused."""
    for action, why in events.items():
        if action in CATALOGUE and CATALOGUE[action] != why:
            raise ValueError(f"Audit action {action!r} is already catalogued with another meaning.")
        if not why.strip():
            raise ValueError(f"Audit action {action!r} needs a reason why it is recorded.")
        CATALOGUE[action] = why
        SINCE.setdefault(action, since)


def describe(action: str) -> str:
    """Why `action` is recorded (empty for an unknown action)."""
    return CATALOGUE.get(action, "")
