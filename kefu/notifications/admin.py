"""Failures visible to the administrator: every message and webhook delivery with its status, attempts
and last error; failed ones can be sent again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Message, MessageTemplate, Notice, SendStatus, WebhookDelivery, WebhookSubscription


@admin.action(description=_("Send again"))
def send_again(modeladmin: Any, request: Any, queryset: Any) -> None:
    for pk in queryset.values_list("pk", flat=True):
        services.message_retry(message_id=pk)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "purpose", "template", "recipient", "status", "attempts", "last_error", "created_at", "sent_at")
    list_filter = ("status", "channel", "purpose", "template")
    search_fields = ("recipient", "body", "last_error")
    raw_id_fields = ("ticket", "customer")
    actions = [send_again]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "channel", "subject", "active")


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "text", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "ticket")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "topics", "active")


@admin.action(description=_("Deliver again"))
def deliver_again(modeladmin: Any, request: Any, queryset: Any) -> None:
    from django.utils import timezone

    queryset.exclude(status=SendStatus.SENT).update(status=SendStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "subscription", "topic", "event_id", "status", "attempts", "response_status", "last_error", "created_at")
    list_filter = ("status", "topic")
    actions = [deliver_again]
