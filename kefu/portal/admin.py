from django.contrib import admin

from .models import SatisfactionRating, SmsOutbox


@admin.register(SmsOutbox)
class SmsOutboxAdmin(admin.ModelAdmin):
    """The embedded gateway's messages; read-only (they are what was sent)."""

    list_display = ("created_at", "to", "body", "status")
    list_filter = ("status",)
    search_fields = ("to",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(admin.ModelAdmin):
    list_display = ("ticket", "score", "created_at")
    list_filter = ("score",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
