"""Writes about agreements and role grants: lifecycle, scope, renewal, expiry and tidy-up."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped,unused-ignore]
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from audit.services import event_record
from core.errors import IllegalTransition, ValidationFailed
from privacy import policy
from privacy.models import (
    Agreement,
    AgreementExpiryWarning,
    AgreementKind,
    AgreementStatus,
    Role,
    RoleGrant,
    User,
)
from privacy.models.agreements import MATCHING_RENEWAL_MAX_MONTHS
from privacy.models.mail import MailKind
from privacy.services.directory import notify_admins

EXPIRY_WARNING_DAYS = (30, 7, 1)

# status -> statuses it may move to
TRANSITIONS: dict[str, set[str]] = {
    AgreementStatus.DRAFT: {
        AgreementStatus.APPROVED,
        AgreementStatus.ACTIVE,
        AgreementStatus.TERMINATED,
    },
    AgreementStatus.APPROVED: {AgreementStatus.ACTIVE, AgreementStatus.TERMINATED},
    AgreementStatus.ACTIVE: {
        AgreementStatus.SUSPENDED,
        AgreementStatus.EXPIRED,
        AgreementStatus.TERMINATED,
    },
    AgreementStatus.SUSPENDED: {
        AgreementStatus.ACTIVE,
        AgreementStatus.EXPIRED,
        AgreementStatus.TERMINATED,
    },
    AgreementStatus.EXPIRED: set(),
    AgreementStatus.TERMINATED: set(),
}

EDITABLE_FIELDS = (
    "reference",
    "title",
    "kind",
    "source_agency",
    "recipient_agency",
    "purpose",
    "legal_authority",
    "routine_use",
    "disclosure_basis",
    "justification",
    "data_elements",
    "scope",
    "effective_on",
    "expires_on",
    "dib_reference",
)


def _validated(agreement: Agreement) -> None:
    try:
        agreement.full_clean(exclude=["signed_document"])
    except ValidationError as exc:
        raise ValidationFailed(
            "The agreement has invalid fields.", field_errors=exc.message_dict
        ) from exc


def _snapshot(agreement: Agreement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in EDITABLE_FIELDS:
        value = getattr(
            agreement, f"{name}_id" if name in ("source_agency", "recipient_agency") else name
        )
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


@transaction.atomic
def agreement_create(*, actor: User, **fields: Any) -> Agreement:
    """A draft agreement; it grants nothing until it is active."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not agreement fields: {sorted(unknown)}")
    agreement = Agreement(status=AgreementStatus.DRAFT, **fields)
    _validated(agreement)
    agreement.save()
    event_record(
        action="agreement.created",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={k: [None, v] for k, v in _snapshot(agreement).items()},
    )
    return agreement


@transaction.atomic
def agreement_update(*, actor: User, agreement: Agreement, **fields: Any) -> Agreement:
    """Change a draft (or approved) agreement; an active one is changed by a new agreement."""
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status not in (AgreementStatus.DRAFT, AgreementStatus.APPROVED):
        raise IllegalTransition(
            "Only draft or approved agreements can be edited; active terms are fixed."
        )
    before = _snapshot(agreement)
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"Not an agreement field: {name}")
        setattr(agreement, name, value)
    if agreement.status == AgreementStatus.APPROVED and agreement.needs_dib_approval:
        # Changed terms need the Data Integrity Board again.
        agreement.status = AgreementStatus.DRAFT
        agreement.dib_approved_on = None
    _validated(agreement)
    agreement.save()
    after = _snapshot(agreement)
    event_record(
        action="agreement.changed",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    return agreement


def _transition(agreement: Agreement, target: str) -> Agreement:
    locked = (
        Agreement.objects.select_for_update()
        .select_related("source_agency", "recipient_agency")
        .get(pk=agreement.pk)
    )
    if target not in TRANSITIONS[locked.status]:
        raise IllegalTransition(
            f"An agreement cannot go from {locked.get_status_display().lower()} to {target}."
        )
    return locked


@transaction.atomic
def agreement_approve(
    *, actor: User, agreement: Agreement, dib_reference: str, approved_on: date | None = None
) -> Agreement:
    """Record the Data Integrity Board's approval of a matching agreement."""
    agreement = _transition(agreement, AgreementStatus.APPROVED)
    if not agreement.needs_dib_approval:
        raise IllegalTransition("Only computer matching agreements go to the Data Integrity Board.")
    if not dib_reference.strip():
        raise ValidationFailed(
            "Cite the Board's decision.", field_errors={"dib_reference": ["Required."]}
        )
    before = agreement.status
    agreement.status = AgreementStatus.APPROVED
    agreement.dib_reference = dib_reference.strip()
    agreement.dib_approved_on = approved_on or timezone.localdate()
    agreement.save()
    event_record(
        action="agreement.approved",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={
            "status": [before, agreement.status],
            "dib_reference": [None, agreement.dib_reference],
        },
    )
    return agreement


@transaction.atomic
def agreement_activate(*, actor: User, agreement: Agreement) -> Agreement:
    """Put an agreement in force (a matching agreement needs the Board's approval and a signed copy)."""
    agreement = _transition(agreement, AgreementStatus.ACTIVE)
    if agreement.needs_dib_approval and agreement.dib_approved_on is None:
        raise IllegalTransition(
            "A computer matching agreement needs the Data Integrity Board's approval first."
        )
    if agreement.needs_dib_approval and not agreement.signed_document:
        raise IllegalTransition("Upload the signed agreement before activating it.")
    if not agreement.scope:
        raise ValidationFailed(
            "An agreement with an empty scope grants nothing.",
            field_errors={"scope": ["Name at least one category."]},
        )
    if agreement.expires_on < timezone.localdate():
        raise IllegalTransition("This agreement's end date has passed.")
    before = agreement.status
    agreement.status = AgreementStatus.ACTIVE
    agreement.status_reason = ""
    agreement.save()
    policy.forget()
    event_record(
        action="agreement.activated",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={"status": [before, agreement.status]},
    )
    return agreement


def _end(
    actor: User | None, agreement: Agreement, target: str, reason: str, action: str
) -> Agreement:
    agreement = _transition(agreement, target)
    if actor is not None and not reason.strip():
        raise ValidationFailed("Say why.", field_errors={"reason": ["Required."]})
    before = agreement.status
    agreement.status = target
    agreement.status_reason = reason.strip()
    agreement.save()
    policy.forget()
    event_record(
        action=action,
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={"status": [before, target]},
        justification=reason,
    )
    return agreement


@transaction.atomic
def agreement_suspend(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """Suspend an active agreement: every grant under it stops working at the next request."""
    return _end(actor, agreement, AgreementStatus.SUSPENDED, reason, "agreement.suspended")


@transaction.atomic
def agreement_resume(*, actor: User, agreement: Agreement) -> Agreement:
    """Lift a suspension (within the agreement's dates)."""
    agreement = _transition(agreement, AgreementStatus.ACTIVE)
    if agreement.status != AgreementStatus.SUSPENDED:
        raise IllegalTransition("Only a suspended agreement can be resumed.")
    if agreement.expires_on < timezone.localdate():
        raise IllegalTransition("This agreement's end date has passed.")
    agreement.status = AgreementStatus.ACTIVE
    agreement.status_reason = ""
    agreement.save()
    event_record(
        action="agreement.resumed",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={"status": [AgreementStatus.SUSPENDED, AgreementStatus.ACTIVE]},
    )
    return agreement


@transaction.atomic
def agreement_terminate(*, actor: User, agreement: Agreement, reason: str) -> Agreement:
    """End an agreement for good."""
    return _end(actor, agreement, AgreementStatus.TERMINATED, reason, "agreement.terminated")


@transaction.atomic
def agreement_renew(*, actor: User, agreement: Agreement, expires_on: date) -> Agreement:
    """Extend an agreement; a matching agreement once, by at most 12 months (CMPPA (o)(2)(D))."""
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status not in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
        raise IllegalTransition("Only an agreement in force (or suspended) can be renewed.")
    if expires_on <= agreement.expires_on:
        raise ValidationFailed(
            "A renewal extends the end date.", field_errors={"expires_on": ["Pick a later date."]}
        )
    if agreement.kind == AgreementKind.MATCHING:
        if agreement.renewed_on is not None:
            raise IllegalTransition("A computer matching agreement can be renewed only once.")
        if expires_on > agreement.expires_on + relativedelta(months=MATCHING_RENEWAL_MAX_MONTHS):
            raise ValidationFailed(
                "A renewal lasts at most 12 months.",
                field_errors={"expires_on": ["At most 12 months after the current end."]},
            )
    before = agreement.expires_on
    agreement.original_expires_on = agreement.original_expires_on or agreement.expires_on
    agreement.expires_on = expires_on
    agreement.renewed_on = timezone.localdate()
    _validated(agreement)
    agreement.save()
    event_record(
        action="agreement.renewed",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        changes={"expires_on": [before.isoformat(), expires_on.isoformat()]},
    )
    return agreement


@transaction.atomic
def agreement_document_upload(
    *, actor: User, agreement: Agreement, document: File[Any]
) -> Agreement:
    """Attach the signed agreement (PDF)."""
    name = (document.name or "").lower()
    if not name.endswith(".pdf") or (document.size or 0) > 20 * 1024 * 1024:
        raise ValidationFailed(
            "Upload the signed agreement as a PDF of at most 20 MB.",
            field_errors={"document": ["PDF, 20 MB at most."]},
        )
    head = document.read(5)
    document.seek(0)
    if head != b"%PDF-":
        raise ValidationFailed("That file is not a PDF.", field_errors={"document": ["Not a PDF."]})
    agreement.signed_document.save(f"{agreement.reference}.pdf", document, save=False)
    agreement.save(update_fields=["signed_document", "updated_at"])
    event_record(
        action="agreement.document_uploaded",
        actor=actor,
        object_type="agreement",
        object_id=agreement.pk,
        agreement_id=agreement.pk,
        detail={"size": document.size},
    )
    return agreement


@transaction.atomic
def agreements_expire_due(*, on: date | None = None) -> list[int]:
    """Mark agreements past their end date expired (access already stopped at the date itself)."""
    on = on or timezone.localdate()
    ids = []
    for agreement in Agreement.objects.select_for_update().filter(
        status__in=[AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED], expires_on__lt=on
    ):
        before = agreement.status
        agreement.status = AgreementStatus.EXPIRED
        agreement.save(update_fields=["status", "updated_at"])
        event_record(
            action="agreement.expired",
            object_type="agreement",
            object_id=agreement.pk,
            agreement_id=agreement.pk,
            changes={"status": [before, AgreementStatus.EXPIRED]},
        )
        ids.append(agreement.pk)
    return ids


@transaction.atomic
def agreement_expiry_warnings_send(*, on: date | None = None) -> int:
    """Warn admins 30, 7 and 1 days before an agreement expires (each warning once).

    A day the job missed is caught up: an agreement gets the warning of the nearest threshold it
    has reached, and never two warnings on one day.
    """
    on = on or timezone.localdate()
    sent = 0
    horizon = on + timedelta(days=max(EXPIRY_WARNING_DAYS))
    for agreement in Agreement.objects.filter(
        status=AgreementStatus.ACTIVE, expires_on__gte=on, expires_on__lte=horizon
    ):
        remaining = (agreement.expires_on - on).days
        days = min(t for t in EXPIRY_WARNING_DAYS if remaining <= t)
        _, created = AgreementExpiryWarning.objects.get_or_create(
            agreement=agreement, days_before=days, expires_on=agreement.expires_on
        )
        if not created:
            continue
        left = f"{remaining} day{'s' if remaining != 1 else ''}" if remaining else "today"
        notify_admins(
            title=f"Agreement {agreement.reference} expires in {left}"
            if remaining
            else f"Agreement {agreement.reference} expires today",
            body=f"{agreement.title} ends on {agreement.expires_on:%B %d, %Y}. Access under it stops after that day "
            "unless it is renewed.",
            link=f"/privacy/agreements/{agreement.pk}/",
            kind=MailKind.AGREEMENT_EXPIRY,
        )
        event_record(
            action="agreement.expiry_warned",
            object_type="agreement",
            object_id=agreement.pk,
            agreement_id=agreement.pk,
            detail={"days_before": days, "remaining": remaining},
        )
        sent += 1
    return sent


# --- Role grants -------------------------------------------------------------------------------


@transaction.atomic
def grant_create(
    *,
    actor: User,
    user: User,
    role: str,
    agreement: Agreement | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str = "",
) -> RoleGrant:
    """Give a user a role, over home data (no agreement) or under an agreement of their agency."""
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", field_errors={"role": ["Unknown role."]})
    valid_from = valid_from or timezone.localdate()
    if valid_until is not None and valid_until < valid_from:
        raise ValidationFailed(
            "A grant cannot end before it starts.",
            field_errors={"valid_until": ["Before the start."]},
        )
    if agreement is not None:
        if agreement.recipient_agency_id != user.agency_id:
            raise ValidationFailed(
                "The agreement does not name this user's agency as recipient.",
                field_errors={"agreement": ["Not an agreement of the user's agency."]},
            )
        if agreement.status in (AgreementStatus.EXPIRED, AgreementStatus.TERMINATED):
            raise ValidationFailed(
                "That agreement has ended.", field_errors={"agreement": ["Ended."]}
            )
        if agreement.expires_on < valid_from:
            # Its last day has passed, though the nightly job may not have marked it expired yet:
            # a grant would end before it starts (and the database refuses such a row).
            raise ValidationFailed(
                "That agreement has ended.", field_errors={"agreement": ["Ended."]}
            )
        if valid_until is None or valid_until > agreement.expires_on:
            valid_until = agreement.expires_on  # a grant never outlives its agreement
    grant = RoleGrant.objects.create(
        user=user,
        role=role,
        agreement=agreement,
        valid_from=valid_from,
        valid_until=valid_until,
        granted_by=actor,
        note=note,
        last_certified_at=timezone.now(),
    )
    policy.forget()
    event_record(
        action="grant.created",
        actor=actor,
        object_type="role_grant",
        object_id=grant.pk,
        agreement_id=agreement.pk if agreement else None,
        changes={
            "user": [None, user.username],
            "role": [None, role],
            "agreement": [None, agreement.reference if agreement else None],
            "valid_from": [None, valid_from.isoformat()],
            "valid_until": [None, valid_until.isoformat() if valid_until else None],
        },
    )
    return grant


@transaction.atomic
def grant_revoke(*, actor: User | None, grant: RoleGrant, reason: str) -> RoleGrant:
    """End a grant now; the user loses it at the next request."""
    grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at or grant.lapsed_at:
        return grant
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    policy.forget()
    event_record(
        action="grant.revoked",
        actor=actor,
        object_type="role_grant",
        object_id=grant.pk,
        agreement_id=grant.agreement_id,
        changes={"revoked_at": [None, grant.revoked_at.isoformat()]},
        justification=reason,
    )
    return grant


def _object_permission_models() -> list[Any]:
    return [m for m in apps.get_models() if issubclass(m, UserObjectPermissionBase)]


@transaction.atomic
def object_permissions_tidy(*, on: date | None = None) -> int:
    """Remove guardian object permissions that the policy no longer backs (any app, any model).

    A user keeps a per-object permission only while active and while `decide` still lets them
    view the category of the object's model (`privacy_category` on the model; investigations by
    default), so a lapsed grant or ended agreement takes need-to-know with it.
    """
    removed = 0
    at = timezone.make_aware(datetime.combine(on, time(12))) if on else None
    for model in _object_permission_models():
        rows = model.objects.select_related("user", "permission__content_type")
        by_user: dict[int, list[Any]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        for rows_of_user in by_user.values():
            user = rows_of_user[0].user
            doomed = []
            for row in rows_of_user:
                target = row.permission.content_type.model_class()
                category = getattr(target, "privacy_category", policy.DataCategory.INVESTIGATIONS)
                owner = _owner_of(row, target)
                allowed = (
                    user.is_active
                    and policy.decide(
                        user,
                        action=policy.Action.VIEW,
                        category=category,
                        owner_agency=owner,
                        at=at,
                    ).allowed
                )
                if not allowed:
                    doomed.append(row.pk)
            if doomed:
                model.objects.filter(pk__in=doomed).delete()
                removed += len(doomed)
                event_record(
                    action="grant.object_permissions_removed",
                    object_type="user",
                    object_id=user.pk,
                    detail={"model": model._meta.label, "count": len(doomed)},
                )
    return removed


def _owner_of(row: Any, target: Any) -> Any:
    """The owning agency of the object a permission row points at, if the model says."""
    field = getattr(target, "privacy_owner_field", None)
    if not field:
        return None
    obj = getattr(row, "content_object", None)
    if obj is None or not hasattr(obj, field):
        return None
    return getattr(obj, f"{field}_id", None)


@transaction.atomic
def grants_tidy(*, on: date | None = None) -> dict[str, int]:
    """Nightly: expire agreements past their date, then drop object permissions nothing backs."""
    expired = agreements_expire_due(on=on)
    removed = object_permissions_tidy(on=on)
    return {"agreements_expired": len(expired), "object_permissions_removed": removed}
