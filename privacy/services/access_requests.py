"""Staff ask for access (after a first single sign-on, or any time); an admin decides.

Approval sets the roles through the directory's own service (`user_update`), so the change is
audited like any other; nothing here reads the identity provider's claims.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import event_record
from core.errors import Conflict, ValidationFailed
from privacy.models import Role, Unit, User
from privacy.models.mail import MailKind
from privacy.models.sso import AccessRequest, AccessRequestStatus
from privacy.services.directory import user_update
from privacy.services.notifications import notify


def _check_roles(roles: list[str]) -> None:
    if not roles:
        raise ValidationFailed(
            "Pick at least one role.", field_errors={"roles": ["Pick at least one role."]}
        )
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValidationFailed(
            "Unknown role.", field_errors={"roles": [f"Unknown role: {', '.join(unknown)}."]}
        )


@transaction.atomic
def access_request_submit(
    *, actor: User, roles: list[str], justification: str, unit: Unit | None = None
) -> AccessRequest:
    """Ask for roles (and a unit of one's own agency); the agency's admins are told."""
    _check_roles(roles)
    errors: dict[str, list[str]] = {}
    if len((justification or "").strip()) < 10:
        errors["justification"] = ["Say in a sentence why you need this access."]
    if unit is not None and unit.agency_id != actor.agency_id:
        errors["unit"] = ["Pick a unit of your own agency."]
    if errors:
        raise ValidationFailed("The request is not complete.", field_errors=errors)
    if (
        AccessRequest.objects.select_for_update()
        .filter(user=actor, status=AccessRequestStatus.PENDING)
        .exists()
    ):
        raise Conflict("You already have a request waiting for an administrator.")
    request = AccessRequest.objects.create(
        user=actor, roles=sorted(set(roles)), unit=unit, justification=justification.strip()
    )
    event_record(
        action="access_request.submitted",
        actor=actor,
        object_type="access_request",
        object_id=request.pk,
        detail={"roles": request.roles, "unit": unit.code if unit else None},
        justification=request.justification[:500],
    )
    admins = User.objects.filter(is_active=True, roles__contains=[Role.ADMIN])
    local = admins.filter(agency=actor.agency)
    for admin in local if local.exists() else admins:
        notify(
            user=admin,
            title=f"{actor.username} asks for access: {', '.join(request.roles)}",
            body=request.justification[:500],
            link=reverse("privacy:access-request-list"),
            kind=MailKind.ACCESS_REVIEW,
        )
    return request


@transaction.atomic
def access_request_decide(
    *,
    actor: User,
    request: AccessRequest,
    approve: bool,
    roles: list[str] | None = None,
    unit: Unit | None = None,
    note: str = "",
) -> AccessRequest:
    """Approve (giving the roles, maybe fewer than asked, and the unit) or decline a request."""
    request = AccessRequest.objects.select_for_update().select_related("user").get(pk=request.pk)
    if request.status != AccessRequestStatus.PENDING:
        raise Conflict("This request was already decided.")
    if request.user_id == actor.pk:
        raise ValidationFailed("You cannot decide your own request.")
    if not approve and not note.strip():
        raise ValidationFailed(
            "Say why.", field_errors={"note": ["Say why the request is declined."]}
        )
    given: list[str] = []
    if approve:
        given = sorted(set(roles if roles is not None else request.roles))
        _check_roles(given)
        unit = unit or request.unit or request.user.unit
        if unit is not None and unit.agency_id != request.user.agency_id:
            raise ValidationFailed(
                "Pick a unit of the user's agency.",
                field_errors={"unit": ["Another agency's unit."]},
            )
        user_update(
            actor=actor,
            user=request.user,
            roles=sorted(set(request.user.roles or []) | set(given)),
            unit=unit,
        )
    request.status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.DECLINED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:500]
    request.save()
    event_record(
        action="access_request.decided",
        actor=actor,
        object_type="access_request",
        object_id=request.pk,
        changes={"status": [AccessRequestStatus.PENDING, request.status]},
        detail={"user": request.user_id, "roles_given": given},
        justification=request.decision_note,
    )
    notify(
        user=request.user,
        title="Your access request was approved" if approve else "Your access request was declined",
        body=(f"Roles: {', '.join(given)}. " if approve else "") + request.decision_note,
        link=reverse("privacy:my-access"),
    )
    return request
