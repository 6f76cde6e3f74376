"""CRM core: customers, their phone numbers and the services they hold (C1–C3, C6, W7)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=32, unique=True)

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=64)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    province = models.CharField(_("province"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    # C2: value tier; China's operators grade customers one to seven stars.
    star_level = models.PositiveSmallIntegerField(_("star level"), default=0)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    # W7: 特殊标注 — e.g. elderly, repeat complainant, VIP, media — with a free note.
    special_mark = models.BooleanField(_("special mark"), default=False)
    special_note = models.CharField(_("special note"), max_length=200, blank=True)
    # C6: 免打扰 — blocks care and marketing contacts, never service messages.
    do_not_disturb = models.BooleanField(_("do not disturb"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(condition=models.Q(star_level__lte=7), name="customer_star_level_0_7"),
        ]

    def __str__(self) -> str:
        return self.name


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")
    SERVICE = "service", _("Service number")


class CustomerPhone(models.Model):
    """A contact number, stored normalised (``+86 138-0013-8000`` is ``13800138000``)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number"), max_length=20, db_index=True)
    kind = models.CharField(max_length=16, choices=PhoneKind.choices, default=PhoneKind.MOBILE)
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "number"], name="customer_phone_unique")]

    def __str__(self) -> str:
        return self.number


class ServiceKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile number")
    BROADBAND = "broadband", _("Broadband line")
    FIXED = "fixed", _("Fixed line")
    IPTV = "iptv", _("IPTV")
    ENTERPRISE = "enterprise_line", _("Enterprise line")


class ServiceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")


class Service(models.Model):
    """A service the customer holds: a mobile number, a broadband account, an IPTV box…"""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="services")
    kind = models.CharField(_("kind"), max_length=20, choices=ServiceKind.choices)
    # The number or account that identifies it; mobile and fixed lines are normalised phones.
    identifier = models.CharField(_("identifier"), max_length=40, db_index=True)
    plan = models.CharField(_("plan"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE)
    address = models.CharField(_("installation address"), max_length=200, blank=True)
    opened_at = models.DateField(_("opened on"), null=True, blank=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identifier}"
