from typing import Any

from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[Any]):
    """Read-only: the trail is append-only."""

    list_display = [
        "id",
        "occurred_at",
        "action",
        "actor_username",
        "actor_agency",
        "outcome",
        "object_type",
        "object_id",
    ]
    list_filter = ["outcome"]
    show_full_result_count = False  # no count(*) over tens of millions of rows

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
