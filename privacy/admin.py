from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.admin import OTPAdminSite

from privacy.models import Agency, Department, Unit, User

# The Django admin asks for a verified second factor too.
admin.site.__class__ = OTPAdminSite


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "is_active"]
    list_select_related = ["department"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "agency"]
    list_select_related = ["agency"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "agency", "unit", "roles", "is_active"]
    list_select_related = ["agency", "unit"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Crosscheck", {"fields": ("agency", "unit", "roles")}))
