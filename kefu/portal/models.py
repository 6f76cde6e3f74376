"""The customer portal's own records: the embedded SMS gateway's outbox, one-time codes and
satisfaction ratings (F2)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SmsOutbox(models.Model):
    """The embedded SMS gateway: messages are written here (an administrator reads them in /admin/);
    a real gateway adapter would send the queued rows."""

    to = models.CharField(_("to"), max_length=20)
    body = models.CharField(_("text"), max_length=500)
    status = models.CharField(_("status"), max_length=8, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.body[:30]}"


class OneTimeCode(models.Model):
    """A code sent to the phone on a work order. Only a keyed hash is stored; it expires and allows a
    few tries."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "-id"], name="portal_code_ticket")]


class SatisfactionRating(models.Model):
    """The customer's 1–5 rating of a resolved order (F2): one per order."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="portal_rating")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="satisfaction_score_1_5")
        ]
