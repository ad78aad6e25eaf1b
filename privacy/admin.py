from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.admin import OTPAdminSite

from privacy.models import (
    Agency,
    Agreement,
    BreakGlassGrant,
    Department,
    Disclosure,
    LegalHold,
    PurgeRun,
    RecertificationCampaign,
    RetentionSchedule,
    RoleGrant,
    SubjectRequest,
    Tombstone,
    Unit,
    User,
)

# The Django admin asks for a verified second factor too.
admin.site.__class__ = OTPAdminSite


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Any]):
    list_display = ["code", "name"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin[Any]):
    list_display = ["code", "name", "department", "is_active"]
    list_select_related = ["department"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin[Any]):
    list_display = ["code", "name", "agency"]
    list_select_related = ["agency"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin[Any]):
    list_display = ["username", "first_name", "last_name", "agency", "unit", "roles", "is_active"]
    list_select_related = ["agency", "unit"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Crosscheck", {"fields": ("agency", "unit", "roles")}),
    )


# The privacy screens (/privacy/) are where agreements, grants and requests are managed through
# the services; the Django admin shows these tables read-only, for superusers' inspection.
class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Agreement)
class AgreementAdmin(_ReadOnly):
    list_display = [
        "reference",
        "kind",
        "source_agency",
        "recipient_agency",
        "status",
        "effective_on",
        "expires_on",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["source_agency", "recipient_agency"]


@admin.register(RoleGrant)
class RoleGrantAdmin(_ReadOnly):
    list_display = [
        "user",
        "role",
        "agreement",
        "valid_from",
        "valid_until",
        "revoked_at",
        "lapsed_at",
    ]
    list_select_related = ["user", "agreement"]


@admin.register(Disclosure)
class DisclosureAdmin(_ReadOnly):
    list_display = [
        "occurred_at",
        "record_type",
        "record_id",
        "recipient_agency_name",
        "basis",
        "accountable",
    ]
    list_filter = ["basis", "accountable"]


@admin.register(SubjectRequest)
class SubjectRequestAdmin(_ReadOnly):
    list_display = ["reference", "kind", "status", "received_on", "respond_due_on"]


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(_ReadOnly):
    list_display = ["user", "subject_ref", "started_at", "expires_at", "uses", "reviewed_at"]


@admin.register(LegalHold, PurgeRun, Tombstone, RetentionSchedule, RecertificationCampaign)
class RetentionAdmin(_ReadOnly):
    pass
