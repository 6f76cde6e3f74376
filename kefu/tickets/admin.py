from django.contrib import admin

from kefu.audit.mixins import AuditedAdmin

from .models import BusinessCalendar, Category, Holiday, SlaPolicy, Ticket


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ("code", "name", "parent", "ticket_type", "active", "position")
    list_filter = ("ticket_type", "active")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdmin):
    list_display = ("name", "ticket_type", "priority", "min_star_level", "calendar", "first_response_minutes", "resolution_minutes", "feedback_minutes", "active")
    list_filter = ("ticket_type", "priority", "active")


admin.site.register(BusinessCalendar, AuditedAdmin)


@admin.register(Holiday)
class HolidayAdmin(AuditedAdmin):
    list_display = ("date", "name", "is_workday")
    list_filter = ("is_workday",)


@admin.register(Ticket)
class TicketAdmin(AuditedAdmin):
    """Read-only: orders change only through services (state machine, audit, outbox)."""

    list_display = ("number", "type", "priority", "status", "owner", "assignee", "created_at")
    list_filter = ("status", "type", "priority")
    search_fields = ("number",)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
