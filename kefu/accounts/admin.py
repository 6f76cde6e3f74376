from django.contrib import admin

from kefu.audit.mixins import AuditedAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Department, Team, User


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    list_display = ("username", "agent_id", "display_name", "role", "team", "department", "is_active")
    list_filter = ("role", "team", "department", "is_active")
    search_fields = ("username", "agent_id", "display_name")
    fieldsets = (*BaseUserAdmin.fieldsets, ("kefu", {"fields": ("role", "agent_id", "display_name", "level", "team", "department")}))


admin.site.register(Team, AuditedAdmin)
admin.site.register(Department, AuditedAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "user", "created_at", "last_used_at")
