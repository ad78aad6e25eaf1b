"""Django admin: read-mostly views for operators. Identifiers show as last four only; no token is shown.

Writes that carry business rules (enrolment, keys, the case lifecycle) go through the screens
and services; the admin is not a way around them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from verification.models import (
    Employer,
    EmployerApiKey,
    HiringSite,
    ReferenceLoad,
    VerificationCase,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete from the admin."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdmin):
    list_display = ["name", "ein", "naics", "state", "mou_signed_on", "status"]
    search_fields = ["name", "ein"]
    list_filter = ["status", "state"]


@admin.register(HiringSite)
class HiringSiteAdmin(ReadOnlyAdmin):
    list_display = ["name", "employer", "city", "state"]
    raw_id_fields = ["employer"]


@admin.register(EmployerApiKey)
class EmployerApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["label", "prefix", "employer", "expires_at", "revoked_at", "last_used_at"]
    exclude = ["key_hash"]
    raw_id_fields = ["employer", "replaces"]


@admin.register(ReferenceLoad)
class ReferenceLoadAdmin(ReadOnlyAdmin):
    list_display = [
        "source",
        "vintage",
        "file_name",
        "row_count",
        "rows_rejected",
        "status",
        "created_at",
        "loaded_by_name",
    ]
    list_filter = ["source", "status"]


@admin.register(VerificationCase)
class VerificationCaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "employer", "status", "result", "tnc_source", "ssn_last4", "created_at"]
    list_filter = ["status", "tnc_source"]
    raw_id_fields = [
        "employer",
        "worker",
        "hiring_site",
        "duplicate_of",
        "resubmission_of",
        "submitted_by_key",
        "resolved_by",
    ]
    exclude = [
        "ssn_enc",
        "ssn_bidx",
        "a_number_enc",
        "a_number_bidx",
        "i94_enc",
        "i94_bidx",
        "passport_enc",
        "passport_bidx",
        "document_number_enc",
        "document_number_bidx",
        "first_name",
        "last_name",
        "middle_initial",
        "other_last_names",
        "date_of_birth",
        "employee_email",
    ]
    show_full_result_count = False
