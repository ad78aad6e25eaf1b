"""Celery adapters for the privacy app's scheduled and long-running work (each calls a service)."""

from __future__ import annotations

from celery import shared_task

from privacy import services
from privacy.models import PurgeRun
from privacy.models.retention import PurgeStatus
from privacy.services.retention import PURGE_TASK


@shared_task(name="privacy.tasks.grants_tidy", acks_late=True, ignore_result=True)
def grants_tidy() -> dict[str, int]:
    """Nightly: mark expired agreements, drop guardian permissions no grant backs any more."""
    return services.grants_tidy()


@shared_task(name="privacy.tasks.agreement_expiry_warnings", acks_late=True, ignore_result=True)
def agreement_expiry_warnings() -> int:
    """Daily: warn admins 30, 7 and 1 days before an agreement ends."""
    return services.agreement_expiry_warnings_send()


@shared_task(name="privacy.tasks.recertification_deadlines", acks_late=True, ignore_result=True)
def recertification_deadlines() -> int:
    """Daily: grants unconfirmed at a campaign's deadline lapse."""
    return services.campaigns_close_due()


@shared_task(name=PURGE_TASK, acks_late=True, ignore_result=True)
def purge_run_execute(run_id: int) -> None:
    """Destroy what an approved purge run covers, in chunks (re-running resumes)."""
    run = PurgeRun.objects.filter(pk=run_id, status=PurgeStatus.APPROVED).first()
    if run is not None:
        services.purge_run_execute(run=run)


@shared_task(name="privacy.tasks.mail_digests", acks_late=True, ignore_result=True)
def mail_digests() -> dict[str, int]:
    """Daily (MAIL_DIGEST_HOUR): each user's queued messages as one e-mail."""
    return services.mail_digests_send()


@shared_task(name="privacy.tasks.grant_expiry_warnings", acks_late=True, ignore_result=True)
def grant_expiry_warnings() -> int:
    """Daily: warn holders and admins 30, 7 and 1 days before a role grant ends."""
    return services.grant_expiry_warnings_send()
