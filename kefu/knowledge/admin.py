from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kefu.audit.mixins import AuditedAdmin

from .models import Flow, FlowRun, HandoffRoute, ItemVersion, KnowledgeItem


class VersionInline(admin.TabularInline):
    model = ItemVersion
    extra = 0
    fields = ("number", "status", "question", "author", "reviewer", "reviewed_at")
    readonly_fields = fields
    can_delete = False


@admin.register(KnowledgeItem)
class KnowledgeItemAdmin(AuditedAdmin):
    list_display = ("id", "external_id", "kind", "category", "audience", "published", "archived")
    list_filter = ("kind", "audience", "archived")
    search_fields = ("external_id", "category", "versions__question")
    inlines = [VersionInline]


@admin.register(Flow)
class FlowAdmin(AuditedAdmin):
    list_display = ("code", "name", "active")


@admin.register(FlowRun)
class FlowRunAdmin(admin.ModelAdmin):
    list_display = ("id", "flow", "ticket", "actor", "outcome", "started_at", "finished_at")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(HandoffRoute)
class HandoffRouteAdmin(AuditedAdmin):
    list_display = ("match_label", "team", "ticket_type", "ticket_category", "priority", "active")
    list_display_links = ("match_label",)
    list_filter = ("active", "team")

    @admin.display(description=_("category match"), ordering="match")
    def match_label(self, obj: HandoffRoute) -> str:
        return obj.match or str(_("(everything else)"))
