"""Expiry warnings of employer API keys, 30, 7 and 1 days ahead, to whoever issued the key and to
the admins of the agency that owns employer data (a rotated key's successor is not warned of
twice: the old key, replaced, is left out)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from audit.services import event_record
from privacy.models import Role, User
from privacy.models.mail import MailKind
from privacy.policy import DataCategory, category_owner_code
from privacy.services.expiry import EXPIRY_WARNING_DAYS, warning_threshold
from privacy.services.notifications import notify
from verification.models import ApiKeyExpiryWarning, EmployerApiKey


def _recipients(key: EmployerApiKey) -> list[User]:
    admins = Q(roles__contains=[Role.ADMIN])
    owner = category_owner_code(DataCategory.EMPLOYER_DATA)
    if owner:
        admins &= Q(agency__code=owner)
    who = Q(pk=key.created_by_id) | admins if key.created_by_id else admins
    return list(User.objects.filter(who, is_active=True).order_by("pk"))


@transaction.atomic
def apikey_expiry_warnings_send(*, now: datetime | None = None) -> int:
    """Warn of usable keys expiring within 30 days (each threshold once per expiry); count them."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    keys = (
        EmployerApiKey.objects.filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=max(EXPIRY_WARNING_DAYS)),
            replaced_by__isnull=True,
        )
        .select_related("employer")
        .order_by("expires_at", "pk")
    )
    sent = 0
    for key in keys:
        remaining = (timezone.localdate(key.expires_at) - today).days
        days = warning_threshold(remaining)
        _, created = ApiKeyExpiryWarning.objects.get_or_create(
            key=key, days_before=days, expires_at=key.expires_at
        )
        if not created:
            continue
        when = f"in {remaining} day{'s' if remaining != 1 else ''}" if remaining else "today"
        link = reverse("verification:employer-detail", args=[key.employer_id])
        for user in _recipients(key):
            notify(
                user=user,
                title=f"API key {key.prefix}… of {key.employer.name} expires {when}",
                body=f"The key '{key.label}' stops working on "
                f"{timezone.localtime(key.expires_at):%B %d, %Y at %H:%M}. Rotate it from the "
                "employer's page and give the employer the new key before then.",
                link=link,
                kind=MailKind.API_KEY_EXPIRY,
            )
        event_record(
            action="apikey.expiry_warned",
            object_type="employer_api_key",
            object_id=key.pk,
            subjects=[f"employer:{key.employer_id}"],
            detail={"days_before": days, "remaining": remaining, "prefix": key.prefix},
        )
        sent += 1
    return sent
