"""Writes of the employer portal: who acts for an employer, and close-and-resubmit.

An admin invites an employer's first administrator; the employer's administrators then invite
their users, give an existing portal user (an agent acting for several employers) access to
their employer, and take it back. Every grant is audited in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import event_record
from core.errors import Forbidden, IllegalTransition, ValidationFailed
from privacy import policy
from privacy.models import EMPLOYER_ROLES, Role, User
from privacy.services.directory import user_invite, user_update
from verification import lifecycle
from verification.models import (
    CaseStatus,
    ClosureCode,
    DuplicateReason,
    Employer,
    EmployerAccess,
    EmployerRole,
    EmployerStatus,
    VerificationCase,
)
from verification.services.case_common import _lock
from verification.services.cases import case_close
from verification.services.submit import case_create

_ROLE_OF: dict[str, str] = {
    EmployerRole.ADMINISTRATOR: Role.EMPLOYER_ADMIN,
    EmployerRole.USER: Role.EMPLOYER_USER,
}


def is_employer_admin(user: Any, employer: Employer | int) -> bool:
    """True if `user` administers `employer` in the portal."""
    employer_id: Any = getattr(employer, "pk", employer)
    return (
        EmployerAccess.objects.of(user)
        .filter(employer_id=employer_id, role=EmployerRole.ADMINISTRATOR)
        .exists()
    )


def _sync_roles(*, actor: Any, user: User) -> None:
    """The user's privacy roles follow their active employer grants (admin if any grant is)."""
    held = set(EmployerAccess.objects.active().filter(user=user).values_list("role", flat=True))
    roles = sorted({_ROLE_OF[r] for r in held}) or [Role.EMPLOYER_USER]
    if sorted(user.roles or []) != roles:
        user_update(actor=actor, user=user, roles=roles)


def _grant(*, actor: Any, user: User, employer: Employer, role: str) -> EmployerAccess:
    if EmployerAccess.objects.active().filter(user=user, employer=employer).exists():
        raise ValidationFailed(
            "This person already acts for the employer.",
            field_errors={"username": ["Already has access to this employer."]},
        )
    access = EmployerAccess.objects.create(
        user=user, employer=employer, role=role, granted_by=actor
    )
    _sync_roles(actor=actor, user=user)
    policy.forget()
    event_record(
        action="employer.access_granted",
        actor=actor,
        object_type="employer_access",
        object_id=access.pk,
        subjects=[f"employer:{employer.pk}", f"user:{user.pk}"],
        changes={"role": [None, role]},
    )
    return access


def _invite(
    *, actor: Any, employer: Employer, role: str, username: str, email: str, first: str, last: str
) -> tuple[EmployerAccess, str]:
    if employer.status != EmployerStatus.ACTIVE:
        raise ValidationFailed("The employer's E-Verify enrollment is not active.")
    user, token = user_invite(
        actor=actor,
        username=username,
        email=email,
        unit=None,
        roles=[_ROLE_OF[role]],
        first_name=first,
        last_name=last,
    )
    return _grant(actor=actor, user=user, employer=employer, role=role), token


@transaction.atomic
def employer_admin_invite(
    *, actor: User, employer: Employer, username: str, email: str, first_name: str, last_name: str
) -> tuple[EmployerAccess, str]:
    """An admin invites an employer's administrator (the invitation link is e-mailed after commit)."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("Only an admin invites an employer's administrator.")
    return _invite(
        actor=actor,
        employer=employer,
        role=EmployerRole.ADMINISTRATOR,
        username=username,
        email=email,
        first=first_name,
        last=last_name,
    )


@transaction.atomic
def employer_user_invite(
    *,
    actor: User,
    employer: Employer,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    role: str = EmployerRole.USER,
) -> tuple[EmployerAccess, str]:
    """An employer's administrator invites a new person to act for the employer."""
    if not is_employer_admin(actor, employer):
        raise Forbidden("Only the employer's administrator gives access to it.")
    if role not in EmployerRole.values:
        raise ValidationFailed("Unknown role.", field_errors={"role": ["Administrator or user."]})
    return _invite(
        actor=actor,
        employer=employer,
        role=role,
        username=username,
        email=email,
        first=first_name,
        last=last_name,
    )


@transaction.atomic
def employer_access_grant(
    *, actor: User, employer: Employer, username: str, role: str = EmployerRole.USER
) -> EmployerAccess:
    """An employer's administrator lets an existing portal user (an agent) act for the employer too."""
    if not is_employer_admin(actor, employer):
        raise Forbidden("Only the employer's administrator gives access to it.")
    if role not in EmployerRole.values:
        raise ValidationFailed("Unknown role.", field_errors={"role": ["Administrator or user."]})
    user = User.objects.filter(username=username, is_active=True).first()
    # Agency staff never become an employer's people; the answer does not say who exists.
    if user is None or not (set(user.roles or []) & EMPLOYER_ROLES):
        raise ValidationFailed(
            "No portal user has this username.",
            field_errors={"username": ["No portal user has this username; invite them instead."]},
        )
    return _grant(actor=actor, user=user, employer=employer, role=role)


@transaction.atomic
def employer_access_revoke(*, actor: User, access: EmployerAccess) -> EmployerAccess:
    """Take back a person's access to an employer, at once (an administrator cannot remove the last administrator)."""
    access = EmployerAccess.objects.select_for_update().get(pk=access.pk)
    if not (actor.has_role(Role.ADMIN) or is_employer_admin(actor, access.employer_id)):
        raise Forbidden("Only the employer's administrator takes access away.")
    if access.revoked_at is not None:
        return access
    if (
        access.role == EmployerRole.ADMINISTRATOR
        and not EmployerAccess.objects.active()
        .filter(employer_id=access.employer_id, role=EmployerRole.ADMINISTRATOR)
        .exclude(pk=access.pk)
        .exists()
        and not actor.has_role(Role.ADMIN)
    ):
        raise ValidationFailed(
            "The employer keeps at least one administrator.",
            field_errors={"access": ["Invite another administrator first."]},
        )
    access.revoked_at = timezone.now()
    access.revoked_by = actor
    access.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    if EmployerAccess.objects.active().filter(user_id=access.user_id).exists():
        _sync_roles(actor=actor, user=access.user)
    policy.forget()
    event_record(
        action="employer.access_revoked",
        actor=actor,
        object_type="employer_access",
        object_id=access.pk,
        subjects=[f"employer:{access.employer_id}", f"user:{access.user_id}"],
        changes={"role": [access.role, None]},
    )
    return access


@transaction.atomic
def case_resubmit(
    *,
    actor: Any,
    case: VerificationCase,
    data: dict[str, Any],
    idempotency_key: str = "",
    request_hash: str = "",
) -> VerificationCase:
    """Close a case whose information was not correct and submit the corrected one, linked to it.

    The old case is closed as 'information not correct' (if it is not already) and the new case
    names it in `resubmission_of`, in one transaction: if the new data is refused, the old case
    stays as it was. Resubmitting the same SSN is not a duplicate needing a reason: the reason
    is the resubmission.
    """
    old = _lock(case)
    if old.status == CaseStatus.CLOSED:
        if old.closure_code != ClosureCode.INFO_NOT_CORRECT:
            raise IllegalTransition(
                "Only a case closed as 'information not correct' can be resubmitted."
            )
    elif old.status in lifecycle.CLOSURE_FROM[ClosureCode.INFO_NOT_CORRECT]:
        old = case_close(actor=actor, case=old, code=ClosureCode.INFO_NOT_CORRECT)
    else:
        raise IllegalTransition(
            f"A case in status {CaseStatus(old.status).label!r} cannot be closed and resubmitted."
        )
    data = dict(data)
    if not data.get("duplicate_reason"):
        data["duplicate_reason"] = (
            DuplicateReason.RESUBMIT
            if old.result == CaseStatus.CLOSE_AND_RESUBMIT
            else DuplicateReason.INCORRECT_DATA
        )
    return case_create(
        actor=actor,
        employer=old.employer,
        data=data,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        resubmission_of_id=old.pk,
    )
