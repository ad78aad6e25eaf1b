"""Writes about the directory: agencies, units and users (provisioning, changes, deactivation)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services import event_record
from core.errors import NotFound, ValidationFailed
from privacy import policy
from privacy.models import (
    EMPLOYER_ROLES,
    Agency,
    Department,
    Invitation,
    Role,
    Unit,
    User,
    UserSession,
)
from privacy.models.mail import MailKind
from privacy.services.notifications import notify


def _check_roles(roles: list[str], *, agency: Agency | None = None) -> None:
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown)}")
    # Agency staff hold agency roles; an employer's people hold employer roles and no agency.
    if agency is not None and set(roles) & EMPLOYER_ROLES:
        raise ValidationFailed(
            "Employer roles are not for agency staff.",
            field_errors={"roles": ["Employer roles are given in the employer portal."]},
        )
    if agency is None and not (roles and set(roles) <= EMPLOYER_ROLES):
        raise ValidationFailed(
            "A user outside every agency holds an employer role only.",
            field_errors={"roles": ["Choose an employer role."]},
        )


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    agency: Agency | None,
    unit: Unit | None,
    roles: list[str],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Provision a user in an agency and unit with home-agency roles (or, with neither, an
    employer's person holding employer roles only)."""
    _check_roles(roles, agency=agency)
    user = User(
        username=username,
        agency=agency,
        unit=unit,
        roles=list(roles),
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    event_record(
        action="directory.user_created",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        changes={
            "username": [None, username],
            "agency": [None, agency.code if agency else None],
            "unit": [None, unit.code if unit else None],
            "roles": [None, list(roles)],
        },
    )
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def user_invite(
    *,
    actor: User,
    username: str,
    email: str,
    unit: Unit | None,
    roles: list[str],
    first_name: str = "",
    last_name: str = "",
) -> tuple[User, str]:
    """Provision a user by invitation; returns the user and the one-time link token (e-mailed after commit).

    The account has no password until the invitee sets one; the first sign-in then asks for
    2FA enrolment (the 2FA middleware sends users without a device to enrolment). Without a
    unit, the invitee is an employer's person (employer roles only, no agency).
    """
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(
            "That username is taken.", field_errors={"username": ["That username is taken."]}
        )
    user = user_create(
        actor=actor,
        username=username,
        password=None,
        agency=unit.agency if unit else None,
        unit=unit,
        roles=roles,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        token_hash=_token_hash(token),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.PRIVACY_INVITATION_DAYS),
    )
    event_record(
        action="directory.user_invited",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        detail={"invitation": invitation.pk, "expires_at": invitation.expires_at.isoformat()},
    )
    link = f"{settings.PRIVACY_SITE_URL}/accounts/invitation/{token}/"

    def _send() -> None:
        send_mail(
            "Your Crosscheck account",
            f"An account was created for you. Set your password and enrol your authenticator: {link}\n"
            f"The link works once and expires in {settings.PRIVACY_INVITATION_DAYS} days.",
            None,
            [email],
        )

    transaction.on_commit(_send)
    return user, token


def invitation_for_token(*, token: str) -> Invitation:
    """The usable invitation behind a link token; NotFound otherwise (no detail either way)."""
    invitation = (
        Invitation.objects.select_related("user").filter(token_hash=_token_hash(token)).first()
    )
    if invitation is None or not invitation.is_usable or not invitation.user.is_active:
        raise NotFound("This invitation link is not valid.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    """Set the invitee's password and close the invitation; 2FA enrolment follows at sign-in."""

    invitation = invitation_for_token(token=token)
    user = invitation.user
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            "Choose a stronger password.", field_errors={"password": list(exc.messages)}
        ) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    event_record(
        action="directory.invitation_accepted", actor=user, object_type="user", object_id=user.pk
    )
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    unit: Unit | None = None,
    roles: list[str] | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> User:
    """Change a user's unit, home roles or name; audited with the before and after."""
    changes: dict[str, list[Any]] = {}
    if roles is not None:
        _check_roles(roles, agency=unit.agency if unit else user.agency)
        if sorted(roles) != sorted(user.roles or []):
            changes["roles"] = [list(user.roles or []), list(roles)]
            user.roles = list(roles)
    if unit is not None and unit.pk != user.unit_id:
        changes["unit"] = [user.unit.code if user.unit else None, unit.code]
        changes["agency"] = [user.agency.code if user.agency else None, unit.agency.code]
        user.unit = unit
        user.agency = unit.agency
    for name, value in (("first_name", first_name), ("last_name", last_name), ("email", email)):
        if value is not None and getattr(user, name) != value:
            changes[name] = [getattr(user, name), value]
            setattr(user, name, value)
    if changes:
        user.full_clean(exclude=["password"])
        user.save()
        policy.forget()
        event_record(
            action="directory.user_changed",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            changes=changes,
        )
    return user


def _session_store() -> type[SessionBase]:
    store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    return store


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """Deactivate a user and end every one of their sessions at once."""
    if user.pk == actor.pk:
        raise ValidationFailed("You cannot deactivate yourself.")
    if not reason.strip():
        raise ValidationFailed(
            "Say why.", field_errors={"reason": ["Say why the account is deactivated."]}
        )
    user.is_active = False
    user.save(update_fields=["is_active"])
    store = _session_store()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    policy.forget()
    event_record(
        action="directory.user_deactivated",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        changes={"is_active": [True, False]},
        detail={"sessions_ended": len(keys)},
        justification=reason,
    )
    return user


@transaction.atomic
def user_reactivate(*, actor: User, user: User) -> User:
    """Let a deactivated user sign in again (their grants are not restored by this)."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    event_record(
        action="directory.user_changed",
        actor=actor,
        object_type="user",
        object_id=user.pk,
        changes={"is_active": [False, True]},
    )
    return user


@transaction.atomic
def agency_save(
    *,
    actor: User,
    agency: Agency | None = None,
    department: Department,
    code: str,
    name: str,
    address: str,
    is_active: bool = True,
) -> Agency:
    """Create or change an agency."""
    created = agency is None
    agency = agency or Agency()
    before = {
        "code": agency.code,
        "name": agency.name,
        "department": agency.department_id,
        "is_active": agency.is_active,
    }
    agency.department, agency.code, agency.name, agency.address, agency.is_active = (
        department,
        code,
        name,
        address,
        is_active,
    )
    agency.full_clean()
    agency.save()
    after = {"code": code, "name": name, "department": department.pk, "is_active": is_active}
    event_record(
        action="directory.agency_saved",
        actor=actor,
        object_type="agency",
        object_id=agency.pk,
        changes={
            k: [None if created else before[k], v]
            for k, v in after.items()
            if created or before[k] != v
        },
    )
    return agency


@transaction.atomic
def unit_save(
    *, actor: User, unit: Unit | None = None, agency: Agency, code: str, name: str
) -> Unit:
    """Create or change a unit."""
    created = unit is None
    unit = unit or Unit()
    before = {"code": unit.code, "name": unit.name}
    unit.agency, unit.code, unit.name = agency, code, name
    unit.full_clean()
    unit.save()
    event_record(
        action="directory.unit_saved",
        actor=actor,
        object_type="unit",
        object_id=unit.pk,
        changes={
            k: [None if created else before[k], v] for k, v in {"code": code, "name": name}.items()
        },
    )
    return unit


def notify_admins(*, title: str, body: str, link: str = "", kind: str = MailKind.GENERAL) -> None:
    """An in-app and e-mail message to every active admin."""
    for admin in User.objects.filter(is_active=True, roles__contains=[Role.ADMIN]):
        notify(user=admin, title=title, body=body, link=link, kind=kind)
