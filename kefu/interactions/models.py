"""Contacts on every channel 交互 and their transcripts (S4, Q1-Q3 input)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class InteractionChannel(models.TextChoices):
    CALL = "call", _("Call")
    CHAT = "chat", _("Chat")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Speaker(models.TextChoices):
    AGENT = "agent", _("Agent")
    CUSTOMER = "customer", _("Customer")
    BOT = "bot", _("Bot")


class Interaction(models.Model):
    """One conversation. ``external_id`` is the id in the sending system (CTI call id, chat
    session id); unique per ``source`` so a retried import is recognised as a duplicate."""

    channel = models.CharField(_("channel"), max_length=8, choices=InteractionChannel.choices)
    source = models.CharField(_("source"), max_length=32, default="api")
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    # 工号 as the sending system gave it: what the opening/closing rules compare against (Q1).
    agent_code = models.CharField(_("agent id"), max_length=32)
    # The agent's team when the contact arrived: team leads see their team's contacts.
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    started_at = models.DateTimeField(_("started at"), db_index=True)
    ring_seconds = models.FloatField(_("ring seconds"), null=True, blank=True)
    wait_seconds = models.FloatField(_("wait seconds"), null=True, blank=True)
    talk_seconds = models.FloatField(_("talk seconds"), null=True, blank=True)
    hold_seconds = models.FloatField(_("hold seconds"), null=True, blank=True)
    wrap_up_seconds = models.FloatField(_("wrap-up seconds"), null=True, blank=True)
    tickets = models.ManyToManyField("tickets.Ticket", blank=True, related_name="interactions")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="interaction_external_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "-started_at"], name="interaction_agent"),
            models.Index(fields=["team", "-started_at"], name="interaction_team"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk}"


class Utterance(models.Model):
    """One turn of a transcript; ``start_ms``/``end_ms`` are offsets from the contact start."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="utterances")
    index = models.PositiveIntegerField()
    speaker = models.CharField(_("speaker"), max_length=8, choices=Speaker.choices)
    text = models.TextField(_("text"))
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["interaction", "index"]
        constraints = [
            models.UniqueConstraint(fields=["interaction", "index"], name="utterance_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:40]}"
