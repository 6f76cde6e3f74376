"""Admin of the reports (issue #7): report subscriptions (audited edits; created by whoever adds them),
their delivery log with the last error (read-only), improvement notes (read-only: they are written
through the report pages and API, audited by the service)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kefu.audit.mixins import AuditedAdmin

from .models import ImprovementNote, ReportDelivery, ReportSubscription


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(AuditedAdmin):
    list_display = ("id", "report", "user", "email", "send_at", "active", "created_by", "created_at")
    list_filter = ("report", "active")
    raw_id_fields = ("user",)
    fields = ("report", "user", "email", "send_at", "active")

    def save_model(self, request: HttpRequest, obj: ReportSubscription, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "subscription", "day", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status",)
    readonly_fields = ("subscription", "day", "status", "attempts", "claimed_at", "sent_at", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ImprovementNote)
class ImprovementNoteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "cause_label", "department", "status", "author", "period_start", "period_end", "created_at")
    list_filter = ("status", "dimension", "department")
    readonly_fields = [f.name for f in ImprovementNote._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
