"""Access recertification: supervisors confirm or revoke every grant in their unit by a deadline."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from audit.services import event_record
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from privacy import policy
from privacy.models import RecertificationCampaign, RecertificationItem, Role, RoleGrant, User
from privacy.models.agreements import CampaignStatus, ItemDecision
from privacy.models.mail import MailKind
from privacy.services.agreements import grant_revoke
from privacy.services.notifications import notify


@transaction.atomic
def campaign_open(*, actor: User, name: str, deadline: date) -> RecertificationCampaign:
    """Open a campaign over every grant in force today and ask each unit's supervisors to review."""
    if deadline <= timezone.localdate():
        raise ValidationFailed(
            "The deadline must be in the future.", field_errors={"deadline": ["In the future."]}
        )
    campaign = RecertificationCampaign.objects.create(name=name, deadline=deadline, opened_by=actor)
    grants = RoleGrant.objects.valid().select_related("user")
    items = [
        RecertificationItem(campaign=campaign, grant=g, unit_id=g.user.unit_id) for g in grants
    ]
    RecertificationItem.objects.bulk_create(items)
    units = {i.unit_id for i in items if i.unit_id}
    for supervisor in User.objects.filter(
        is_active=True, roles__contains=[Role.SUPERVISOR], unit_id__in=units
    ):
        count = sum(1 for i in items if i.unit_id == supervisor.unit_id)
        notify(
            user=supervisor,
            title=f"Recertify {count} access grant{'s' if count != 1 else ''} by {deadline:%B %d}",
            body=f"Campaign '{name}': confirm or revoke each grant in your unit. Unconfirmed grants lapse at the deadline.",
            link=f"/privacy/recertification/{campaign.pk}/",
            kind=MailKind.ACCESS_REVIEW,
        )
    event_record(
        action="recertification.opened",
        actor=actor,
        object_type="recertification_campaign",
        object_id=campaign.pk,
        detail={"items": len(items), "deadline": deadline.isoformat()},
    )
    return campaign


@transaction.atomic
def recertification_decide(
    *, actor: User, item: RecertificationItem, confirm: bool, reason: str = ""
) -> RecertificationItem:
    """A supervisor confirms or revokes one grant of their unit."""
    item = (
        RecertificationItem.objects.select_for_update()
        .select_related("campaign", "grant__user")
        .get(pk=item.pk)
    )
    if not actor.has_role(Role.SUPERVISOR) or actor.unit_id != item.unit_id:
        raise Forbidden("Only a supervisor of the grant holder's unit decides this.")
    if item.grant.user_id == actor.pk:
        raise Forbidden("Nobody recertifies their own access.")
    if item.campaign.status != CampaignStatus.OPEN or item.decision != ItemDecision.PENDING:
        raise IllegalTransition("This grant has already been decided in this campaign.")
    if not confirm and not reason.strip():
        raise ValidationFailed(
            "Say why the grant is revoked.", field_errors={"reason": ["Required."]}
        )
    item.decision = ItemDecision.CONFIRMED if confirm else ItemDecision.REVOKED
    item.decided_by = actor
    item.decided_at = timezone.now()
    item.save(update_fields=["decision", "decided_by", "decided_at", "updated_at"])
    if confirm:
        RoleGrant.objects.filter(pk=item.grant_id).update(last_certified_at=item.decided_at)
    else:
        grant_revoke(actor=actor, grant=item.grant, reason=f"Recertification: {reason}")
    event_record(
        action="recertification.decided",
        actor=actor,
        object_type="role_grant",
        object_id=item.grant_id,
        detail={"campaign": item.campaign_id, "decision": item.decision},
        justification=reason,
    )
    return item


@transaction.atomic
def campaigns_close_due(*, on: date | None = None) -> int:
    """After the deadline, unconfirmed grants lapse and the campaign closes."""
    on = on or timezone.localdate()
    lapsed = 0
    for campaign in RecertificationCampaign.objects.select_for_update().filter(
        status=CampaignStatus.OPEN, deadline__lt=on
    ):
        now = timezone.now()
        pending = list(campaign.items.filter(decision=ItemDecision.PENDING).select_related("grant"))
        for item in pending:
            grant = item.grant
            if grant.revoked_at is None and grant.lapsed_at is None:
                grant.lapsed_at = now
                grant.save(update_fields=["lapsed_at", "updated_at"])
                event_record(
                    action="grant.lapsed",
                    object_type="role_grant",
                    object_id=grant.pk,
                    agreement_id=grant.agreement_id,
                    detail={"campaign": campaign.pk},
                )
                lapsed += 1
            item.decision = ItemDecision.LAPSED
            item.save(update_fields=["decision", "updated_at"])
        campaign.status = CampaignStatus.CLOSED
        campaign.closed_at = now
        campaign.save(update_fields=["status", "closed_at", "updated_at"])
        event_record(
            action="recertification.closed",
            object_type="recertification_campaign",
            object_id=campaign.pk,
            detail={"lapsed": len(pending)},
        )
    policy.forget()
    return lapsed
