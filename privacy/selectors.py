"""Reads about users, agreements, grants, disclosures and break-glass access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import NotFound
from privacy.models import (
    Agreement,
    BreakGlassGrant,
    DisagreementStatement,
    RecertificationItem,
    Role,
    RoleGrant,
    SubjectRequest,
    User,
)
from privacy.models.agreements import ItemDecision


def user_has_confirmed_device(*, user: User) -> bool:
    """True if the user has a confirmed TOTP authenticator."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def break_glass_active(*, user: Any, subject_ref: str) -> bool:
    """True while `user` holds an open break-glass grant on `subject_ref` (no side effect)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        BreakGlassGrant.objects.active().filter(user_id=user.pk, subject_ref=subject_ref).exists()
    )


def break_glass_refs(*, user: Any) -> set[str]:
    """Every subject `user` holds open break-glass access to."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    # Fixed SQL for `BreakGlassGrant.objects.active().filter(user_id=...)`: read on every queue page.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT subject_ref FROM privacy_breakglassgrant WHERE user_id = %s AND expires_at > %s AND started_at <= %s",
            [user.pk, now, now],
        )
        return {ref for (ref,) in cursor.fetchall()}


def disagreement_for(*, record_type: str, record_id: Any) -> DisagreementStatement | None:
    """The latest statement of disagreement on a record, which must travel with it when shown."""
    return (
        DisagreementStatement.objects.filter(source=record_type, record_id=str(record_id))
        .order_by("-filed_on")
        .first()
    )


def get_agreement_for_user(*, user: Any, pk: int, action: str = "view") -> Agreement:
    """An agreement the user may see; NotFound for missing and forbidden alike."""
    agreement = (
        Agreement.objects.visible_to(user, action)
        .select_related("source_agency", "recipient_agency")
        .filter(pk=pk)
        .first()
    )
    if agreement is None:
        raise NotFound("No such agreement.")
    return agreement


def get_subject_request_for_user(*, user: Any, pk: int, action: str = "view") -> SubjectRequest:
    """A subject request the user may see; NotFound for missing and forbidden alike."""
    request = SubjectRequest.objects.visible_to(user, action).filter(pk=pk).first()
    if request is None:
        raise NotFound("No such request.")
    return request


def grants_of(*, user: User) -> QuerySet[RoleGrant]:
    """All grants of a user, newest first, with their agreements."""
    return (
        RoleGrant.objects.filter(user=user)
        .select_related("agreement", "granted_by")
        .order_by("-valid_from", "-id")
    )


def grants_in_force(*, user: User) -> QuerySet[RoleGrant]:
    """The user's grants under agreements in force today (what another agency lets them see)."""
    return (
        RoleGrant.objects.valid()
        .filter(user=user, agreement__in=Agreement.objects.in_force())
        .select_related("agreement", "granted_by")
        .order_by("-valid_from", "-id")
    )


def recertification_items_for(
    *, supervisor: User, campaign_id: int
) -> QuerySet[RecertificationItem]:
    """The items of a campaign that this supervisor decides (their unit, not their own grants)."""
    if not supervisor.has_role(Role.SUPERVISOR) or not supervisor.unit_id:
        return RecertificationItem.objects.none()
    return (
        RecertificationItem.objects.filter(campaign_id=campaign_id, unit_id=supervisor.unit_id)
        .exclude(grant__user=supervisor)
        .select_related("grant__user", "grant__agreement")
    )


def pending_recertifications(*, supervisor: User) -> int:
    """How many grants wait for this supervisor's decision."""
    if not supervisor.has_role(Role.SUPERVISOR) or not supervisor.unit_id:
        return 0
    return (
        RecertificationItem.objects.filter(
            unit_id=supervisor.unit_id, decision=ItemDecision.PENDING, campaign__status="open"
        )
        .exclude(grant__user=supervisor)
        .count()
    )


def break_glass_for(*, user: Any, unreviewed: bool = False) -> QuerySet[BreakGlassGrant]:
    """Break-glass grants the user may see, unreviewed first; optionally the unreviewed only."""
    grants = BreakGlassGrant.objects.visible_to(user)
    if unreviewed:
        grants = grants.filter(reviewed_at__isnull=True)
    return grants.order_by("reviewed_at", "-started_at")


def agreements_for(
    *, user: Any, status: str = "", expiring_within: int | None = None
) -> QuerySet[Agreement]:
    """Agreements the user may see, by status, or those in force that end within N days."""
    agreements = Agreement.objects.visible_to(user)
    if status:
        agreements = agreements.filter(status=status)
    if expiring_within is not None:
        agreements = agreements.filter(
            pk__in=agreements_expiring(within_days=expiring_within).values("pk")
        )
    return agreements


def users_with_lapsing_grants(*, within_days: int) -> QuerySet[User]:
    """Active users holding a live grant whose validity ends within the next N days."""
    today = timezone.localdate()
    return User.objects.filter(
        is_active=True,
        grants__revoked_at__isnull=True,
        grants__lapsed_at__isnull=True,
        grants__valid_until__gte=today,
        grants__valid_until__lte=today + timedelta(days=within_days),
    ).distinct()


def agreements_expiring(*, within_days: int = 30) -> QuerySet[Agreement]:
    """Active agreements that end within the next `within_days` days."""
    today = timezone.localdate()
    return Agreement.objects.in_force(today).filter(
        expires_on__lte=today + timedelta(days=within_days)
    )
