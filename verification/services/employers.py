"""Writes on employers, hiring sites and employer API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import event_record
from core.errors import Conflict, ValidationFailed
from verification import validation
from verification.models import ApiScope, Employer, EmployerApiKey, EmployerStatus, HiringSite
from verification.validation import FieldInvalid

API_KEY_PREFIX = "ccv1_"


def hash_api_key(raw: str) -> str:
    """SHA-256 of the whole key: 256 random bits need no slow hash (issue 3)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _check(errors: dict[str, list[str]], field: str, fn: Any, value: Any) -> Any:
    try:
        return fn(value)
    except FieldInvalid as exc:
        errors.setdefault(field, []).append(str(exc))
        return None


@transaction.atomic
def employer_enrol(
    *,
    actor: Any,
    ein: str,
    name: str,
    naics: str,
    state: str,
    mou_signed_on: date,
    address: str = "",
    city: str = "",
    postal_code: str = "",
    is_federal_contractor: bool = False,
) -> Employer:
    """Enrol an employer that signed the E-Verify MOU."""
    errors: dict[str, list[str]] = {}
    clean_ein = _check(errors, "ein", validation.ein, ein)
    clean_naics = _check(errors, "naics", validation.naics, naics)
    clean_state = _check(errors, "state", validation.state, state)
    if not (name or "").strip():
        errors["name"] = ["The employer's name is required."]
    if mou_signed_on is None:
        errors["mou_signed_on"] = ["The MOU signature date is required."]
    elif mou_signed_on > timezone.localdate():
        errors["mou_signed_on"] = ["The MOU cannot be signed in the future."]
    if clean_ein and Employer.objects.filter(ein=clean_ein).exists():
        errors.setdefault("ein", []).append("An employer with this EIN is already enrolled.")
    if errors:
        raise ValidationFailed("The employer has invalid fields.", field_errors=errors)
    try:
        with transaction.atomic():
            employer = Employer.objects.create(
                ein=clean_ein,
                name=name.strip(),
                naics=clean_naics,
                state=clean_state,
                address=address,
                city=city,
                postal_code=postal_code,
                mou_signed_on=mou_signed_on,
                is_federal_contractor=is_federal_contractor,
                enrolled_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict(
            "An employer with this EIN is already enrolled.",
            field_errors={"ein": ["Already enrolled."]},
        ) from exc
    event_record(
        action="employer.enrolled",
        actor=actor,
        object_type="employer",
        object_id=employer.pk,
        subjects=[f"employer:{employer.pk}"],
        detail={"ein_last4": clean_ein[-4:], "mou_signed_on": mou_signed_on.isoformat()},
    )
    return employer


@transaction.atomic
def employer_status_set(*, actor: Any, employer: Employer, status: str) -> Employer:
    """Suspend, terminate or reactivate an employer's enrollment."""
    if status not in EmployerStatus.values:
        raise ValidationFailed("Unknown status.", field_errors={"status": ["Unknown status."]})
    before = employer.status
    employer.status = status
    employer.save(update_fields=["status", "updated_at"])
    event_record(
        action="employer.changed",
        actor=actor,
        object_type="employer",
        object_id=employer.pk,
        subjects=[f"employer:{employer.pk}"],
        changes={"status": [before, status]},
    )
    return employer


@transaction.atomic
def site_add(
    *,
    actor: Any,
    employer: Employer,
    name: str,
    state: str,
    address: str = "",
    city: str = "",
    postal_code: str = "",
) -> HiringSite:
    """Add a hiring site to an employer."""
    errors: dict[str, list[str]] = {}
    clean_state = _check(errors, "state", validation.state, state)
    if not (name or "").strip():
        errors["name"] = ["The site's name is required."]
    elif HiringSite.objects.filter(employer=employer, name=name.strip()).exists():
        errors["name"] = ["This employer already has a site with this name."]
    if errors:
        raise ValidationFailed("The site has invalid fields.", field_errors=errors)
    site = HiringSite.objects.create(
        employer=employer,
        name=name.strip(),
        state=clean_state,
        address=address,
        city=city,
        postal_code=postal_code,
    )
    event_record(
        action="employer.site_added",
        actor=actor,
        object_type="hiring_site",
        object_id=site.pk,
        subjects=[f"employer:{employer.pk}"],
    )
    return site


def _new_key(
    *,
    actor: Any,
    employer: Employer,
    label: str,
    expires_at: Any,
    replaces: EmployerApiKey | None = None,
    scopes: list[str] | None = None,
    rate_per_minute: int = 0,
) -> tuple[EmployerApiKey, str]:
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    key = EmployerApiKey.objects.create(
        employer=employer,
        label=label,
        prefix=raw[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(raw),
        expires_at=expires_at,
        created_by=actor,
        replaces=replaces,
        scopes=list(scopes or ApiScope.values),
        rate_per_minute=rate_per_minute,
    )
    return key, raw


@transaction.atomic
def apikey_issue(
    *,
    actor: Any,
    employer: Employer,
    label: str,
    valid_days: int | None = None,
    scopes: list[str] | None = None,
    rate_per_minute: int = 0,
) -> tuple[EmployerApiKey, str]:
    """Issue an API key to an employer; the clear key is returned once and never stored."""
    days = valid_days or settings.VERIFICATION_API_KEY_VALID_DAYS
    scopes = sorted(set(ApiScope.values if scopes is None else scopes))
    if not scopes or not set(scopes) <= set(ApiScope.values):
        raise ValidationFailed(
            "Choose the key's scopes.",
            field_errors={"scopes": [f"One or more of: {', '.join(ApiScope.values)}."]},
        )
    if not 0 <= rate_per_minute <= 100_000:
        raise ValidationFailed(
            "Invalid rate limit.",
            field_errors={"rate_per_minute": ["Between 1 and 100000, or 0 for the default."]},
        )
    if not (label or "").strip():
        raise ValidationFailed(
            "Name the key.",
            field_errors={"label": ["Give the key a label, e.g. the payroll system."]},
        )
    if not 1 <= days <= settings.VERIFICATION_API_KEY_MAX_DAYS:
        raise ValidationFailed(
            "Invalid validity.",
            field_errors={
                "valid_days": [f"Between 1 and {settings.VERIFICATION_API_KEY_MAX_DAYS} days."]
            },
        )
    if employer.status != EmployerStatus.ACTIVE:
        raise ValidationFailed("The employer's enrollment is not active.")
    key, raw = _new_key(
        actor=actor,
        employer=employer,
        label=label.strip(),
        expires_at=timezone.now() + timedelta(days=days),
        scopes=scopes,
        rate_per_minute=rate_per_minute,
    )
    event_record(
        action="apikey.issued",
        actor=actor,
        object_type="employer_api_key",
        object_id=key.pk,
        subjects=[f"employer:{employer.pk}"],
        detail={
            "prefix": key.prefix,
            "expires_at": key.expires_at.isoformat(),
            "scopes": scopes,
            "rate_per_minute": key.rate,
        },
    )
    return key, raw


@transaction.atomic
def apikey_rotate(*, actor: Any, key: EmployerApiKey) -> tuple[EmployerApiKey, str]:
    """Replace a key: the new one is returned once; the old one keeps working for a short grace period."""
    key = EmployerApiKey.objects.select_for_update().get(pk=key.pk)
    if not key.is_usable:
        raise Conflict("Only a usable key can be rotated; issue a new one instead.")
    if EmployerApiKey.objects.filter(replaces=key).exists():
        raise Conflict("This key was already rotated.")
    lifetime = key.expires_at - key.created_at
    new, raw = _new_key(
        actor=actor,
        employer=key.employer,
        label=key.label,
        expires_at=timezone.now() + lifetime,
        replaces=key,
        scopes=list(key.scopes),
        rate_per_minute=key.rate_per_minute,
    )
    grace = timezone.now() + timedelta(hours=settings.VERIFICATION_API_KEY_ROTATION_GRACE_HOURS)
    if key.expires_at > grace:
        key.expires_at = grace
        key.save(update_fields=["expires_at", "updated_at"])
    event_record(
        action="apikey.rotated",
        actor=actor,
        object_type="employer_api_key",
        object_id=new.pk,
        subjects=[f"employer:{key.employer_id}"],
        detail={"old": key.pk, "old_expires_at": key.expires_at.isoformat()},
    )
    return new, raw


@transaction.atomic
def apikey_revoke(*, actor: Any, key: EmployerApiKey) -> EmployerApiKey:
    """Revoke a key at once."""
    key = EmployerApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.revoked_by = actor
    key.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    event_record(
        action="apikey.revoked",
        actor=actor,
        object_type="employer_api_key",
        object_id=key.pk,
        subjects=[f"employer:{key.employer_id}"],
        detail={"prefix": key.prefix},
    )
    return key
