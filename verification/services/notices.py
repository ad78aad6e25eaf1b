"""Printing a worker's notice (FAN, RDC, closure): rendered in the worker's language, audited."""

from __future__ import annotations

from typing import Any

from audit.services import event_record
from verification.models import VerificationCase
from verification.notices import Notice, render_notice
from verification.services.case_common import _actor_user, _subjects


def case_notice_print(
    *, actor: Any, case: VerificationCase, kind: str, language: str = ""
) -> Notice:
    """Render notice `kind` of `case` in `language` (default the worker's) and audit the print.

    The audit event names the notice, its language and the SHA-256 of the PDF handed out. Every
    caller goes through here: the staff download, the employer API and portal. A staff reader's
    view of the case is accounted by the view (privacy.reads), as for the case page.
    """
    notice = render_notice(case, kind, language or None)
    event_record(
        action="vcase.notice_printed",
        actor=_actor_user(actor),
        object_type="verification_case",
        object_id=case.pk,
        subjects=_subjects(case),
        detail={"notice": kind, "language": notice.language, "sha256": notice.sha256},
    )
    return notice
