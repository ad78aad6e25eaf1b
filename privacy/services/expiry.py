"""Expiry warnings of role grants: the holder and their agency's admins hear 30, 7 and 1 days ahead."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import event_record
from privacy.models import GrantExpiryWarning, Role, RoleGrant, User
from privacy.models.mail import MailKind
from privacy.services.notifications import notify

EXPIRY_WARNING_DAYS = (30, 7, 1)


def warning_threshold(remaining: int, thresholds: tuple[int, ...] = EXPIRY_WARNING_DAYS) -> int:
    """The nearest threshold reached: a day the job missed is caught up with one warning, not two."""
    return min(t for t in thresholds if remaining <= t)


def _in_words(remaining: int) -> str:
    return f"in {remaining} day{'s' if remaining != 1 else ''}" if remaining else "today"


@transaction.atomic
def grant_expiry_warnings_send(*, on: date | None = None) -> int:
    """Warn of role grants ending within 30 days (each threshold once per end date); count them."""
    on = on or timezone.localdate()
    horizon = on + timedelta(days=max(EXPIRY_WARNING_DAYS))
    sent = 0
    grants = (
        RoleGrant.objects.valid(on)
        .filter(valid_until__isnull=False, valid_until__lte=horizon, user__is_active=True)
        .select_related("user", "agreement")
        .order_by("valid_until", "pk")
    )
    for grant in grants:
        assert grant.valid_until is not None  # filtered above; for the type checker
        remaining = (grant.valid_until - on).days
        days = warning_threshold(remaining)
        _, created = GrantExpiryWarning.objects.get_or_create(
            grant=grant, days_before=days, valid_until=grant.valid_until
        )
        if not created:
            continue
        where = f"under {grant.agreement.reference}" if grant.agreement else "at home"
        role = Role(grant.role).label.lower()
        ends = f"{grant.valid_until:%B %d, %Y}"
        notify(
            user=grant.user,
            title=f"Your {role} access {where} ends {_in_words(remaining)}",
            body=f"Your {role} grant {where} ends on {ends}. Ask an administrator to renew it "
            "if you still need it.",
            link="/privacy/me/",
            kind=MailKind.GRANT_EXPIRY,
        )
        admins = User.objects.filter(is_active=True, roles__contains=[Role.ADMIN]).filter(
            Q(agency_id=grant.user.agency_id)
        )
        for admin in admins.exclude(pk=grant.user_id):
            notify(
                user=admin,
                title=f"{grant.user.username}'s {role} access {where} ends {_in_words(remaining)}",
                body=f"The grant ends on {ends}. Renew it with a new grant, or let it end.",
                link=f"/privacy/users/{grant.user_id}/",
                kind=MailKind.GRANT_EXPIRY,
            )
        event_record(
            action="grant.expiry_warned",
            object_type="role_grant",
            object_id=grant.pk,
            agreement_id=grant.agreement_id,
            detail={"days_before": days, "remaining": remaining, "user": grant.user_id},
        )
        sent += 1
    return sent
