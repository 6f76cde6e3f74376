"""Admin for quality inspection. Rule sets are versioned: saving an edited config publishes
a new version through the service (never edits the row), so inspections keep their judge."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from kefu.audit.mixins import AuditedAdmin
from kefu.core.errors import KefuError

from .models import Appeal, Inspection, RuleSet
from .services import ruleset_publish


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("version", "name", "active", "note", "created_at", "created_by")
    readonly_fields = ("version", "name", "active", "created_at", "created_by")
    fields = ("config", "note", "version", "name", "active", "created_at", "created_by")

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        # Publish instead of saving: an edit becomes a new version (audited by the service).
        try:
            row = ruleset_publish(actor=request.user, config=obj.config, note=obj.note)  # type: ignore[arg-type]
        except KefuError as e:
            messages.error(request, "; ".join(str(v) for v in e.fields.values()) or str(e.message))
            return
        obj.pk = row.pk
        obj.version = row.version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Inspection)
class InspectionAdmin(AuditedAdmin):
    list_display = ("id", "interaction", "agent", "score", "veto", "distress", "ruleset_version", "current")
    list_filter = ("veto", "distress", "current")
    raw_id_fields = ("interaction", "agent", "team", "reviewed_by", "ruleset")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Appeal)
class AppealAdmin(AuditedAdmin):
    list_display = ("id", "inspection", "agent", "status", "created_at", "decided_by")
    list_filter = ("status",)
    raw_id_fields = ("inspection", "agent", "decided_by")
    filter_horizontal = ()
