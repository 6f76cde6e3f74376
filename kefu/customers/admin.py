from django.contrib import admin

from kefu.audit.mixins import AuditedAdmin

from .models import Customer, Service, Tag

admin.site.register(Tag, AuditedAdmin)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    list_display = ("id", "name", "province", "city", "star_level", "special_mark", "do_not_disturb")
    list_filter = ("star_level", "special_mark", "do_not_disturb", "province")
    inlines = [ServiceInline]
