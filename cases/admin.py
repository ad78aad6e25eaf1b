"""Admin screens: routing rules are edited here; cases are read-only (writes go through services)."""

from django.contrib import admin

from cases.models import Case, RoutingRule, SavedView, Suppression


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["rule_family", "state", "unit", "is_active"]
    list_filter = ["is_active", "rule_family"]
    list_select_related = ["unit__agency"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: a case changes only through the services, which audit and re-check access."""

    list_display = [
        "number",
        "status",
        "priority",
        "severity",
        "score",
        "subject_name",
        "employer_name",
        "state",
        "routed_unit",
        "assignee",
        "due_date",
        "created_at",
    ]
    list_filter = ["status", "severity", "kind", "routed_unit"]
    search_fields = ["number"]
    list_select_related = ["routed_unit__agency", "assignee"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return Case.objects.visible_to(request.user, "view")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["subject_key", "rule_code", "until", "created_by", "created_at"]
    readonly_fields = ["subject_key", "rule_code", "until", "reason", "created_by"]

    def has_add_permission(self, request):
        return False


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "unit", "is_unit_default"]
