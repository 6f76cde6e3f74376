"""Outgoing messages (email, SMS), staff notices, webhooks and the consumed-event ledger (issue #4).

Every message and delivery is a row first and a send second: the row is written in the transaction
that decided to send it, and a worker sends it afterwards, retrying with backoff. Failures stay
visible in the admin with their last error.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Purpose(models.TextChoices):
    """C6: do-not-disturb blocks care and marketing, never the service messages a customer waits for."""

    SERVICE = "service", _("Service")
    CARE = "care", _("Care")
    MARKETING = "marketing", _("Marketing")


class SendStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Failed, will retry")
    DEAD = "dead", _("Failed, gave up")
    HELD = "held", _("Kept in the outbox")
    BLOCKED = "blocked", _("Blocked by do-not-disturb")
    INVALID = "invalid", _("Could not be composed")


PENDING = (SendStatus.QUEUED, SendStatus.RETRYING)


class MessageTemplate(models.Model):
    """A message text with ``{variable}`` placeholders; a missing variable is a recorded failure."""

    code = models.SlugField(_("code"), max_length=48)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [models.UniqueConstraint(fields=["code", "channel"], name="message_template_unique")]

    def __str__(self) -> str:
        return f"{self.code} ({self.channel})"


class Message(models.Model):
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.SERVICE)
    recipient = models.CharField(_("recipient"), max_length=254)
    template = models.CharField(_("template"), max_length=48)
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    gateway_ref = models.CharField(max_length=64, blank=True)
    # One message per business reason: a consumer run twice finds it and sends nothing new.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="message_due",
                         condition=models.Q(status__in=["queued", "retrying"])),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.template}#{self.pk}"


class Notice(models.Model):
    """An in-app notice to a member of staff (SLA warnings and escalations)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=32)
    text = models.CharField(_("text"), max_length=400)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["user", "-id"], name="notice_user")]


class WebhookSubscription(models.Model):
    name = models.CharField(_("name"), max_length=64)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=128)
    topics = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """The delivery log: one row per subscription and event, retried until it succeeds or gives up."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField()
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=models.Q(status__in=["queued", "retrying"])),
        ]


class ConsumedEvent(models.Model):
    """Outbox events whose consumers ran, written in the consumers' transaction: a redelivered event
    (relay retry, worker killed mid-job) finds its row and does nothing twice."""

    event_id = models.BigIntegerField(primary_key=True)
    topic = models.CharField(max_length=64)
    consumed_at = models.DateTimeField(auto_now_add=True)
