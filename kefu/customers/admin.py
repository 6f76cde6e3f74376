from django.contrib import admin

from .models import Customer, Service, Tag

admin.site.register(Tag)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "province", "city", "star_level", "special_mark", "do_not_disturb")
    list_filter = ("star_level", "special_mark", "do_not_disturb", "province")
    inlines = [ServiceInline]
