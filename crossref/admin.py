"""Admin: scheduled runs are configured here (through the service); runs and findings are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from crossref import services
from crossref.models import Finding, Run, ScheduledRun


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin[Any]):
    list_display = [
        "name",
        "owner",
        "agreement_id",
        "minute",
        "hour",
        "day_of_week",
        "enabled",
        "last_started_at",
        "last_outcome",
    ]
    readonly_fields = ["last_started_at", "last_outcome"]

    def save_model(self, request: Any, obj: ScheduledRun, form: Any, change: bool) -> None:
        """Saved by `schedule_save`, which checks the admin role and writes the audit event."""
        services.schedule_save(
            actor=request.user,
            name=obj.name,
            owner=obj.owner,
            agreement_id=obj.agreement_id,
            scope=obj.scope,
            minute=obj.minute,
            hour=obj.hour,
            day_of_week=obj.day_of_week,
            enabled=obj.enabled,
            schedule=obj if change else None,
        )


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "mode",
        "status",
        "owner",
        "agreement_id",
        "started_at",
        "finished_at",
        "partitions_total",
    ]
    list_filter = ["status", "mode"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "rule_code",
        "rule_version",
        "severity",
        "subject_key",
        "score",
        "run",
        "disposition",
    ]
    list_filter = ["rule_code", "severity", "disposition"]
