from django.contrib import admin

from kefu.audit.mixins import AuditedAdmin

from .models import Interaction, Utterance


class UtteranceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Utterance
    extra = 0
    fields = ("index", "speaker", "text", "start_ms", "end_ms")
    readonly_fields = fields


@admin.register(Interaction)
class InteractionAdmin(AuditedAdmin):
    list_display = ("id", "channel", "source", "external_id", "agent_code", "started_at")
    list_filter = ("channel", "source")
    search_fields = ("external_id", "agent_code")
    raw_id_fields = ("customer", "agent", "team", "tickets")
    inlines = [UtteranceInline]
