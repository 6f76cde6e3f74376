from django.contrib import admin

from .models import ReturnVisit, SurveyInvitation, SurveyResponse


@admin.register(ReturnVisit)
class ReturnVisitAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "customer", "kind", "reason", "status", "assignee", "scheduled_at", "attempts", "outcome")
    list_filter = ("status", "kind", "reason", "outcome")
    raw_id_fields = ("ticket", "customer", "assignee", "completed_by")


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "agent", "score", "created_at")
    list_filter = ("score",)
    raw_id_fields = ("invitation", "ticket", "agent")


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "channel", "created_at", "expires_at", "answered_at")
    raw_id_fields = ("ticket", "visit")
