"""Quality inspection 质检 records (Q1-Q5): versioned rule sets, one automatic inspection per
contact and rule-set version, its hits, the manual review queue and agent appeals 申诉."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleSet(models.Model):
    """A rule-set config (shape of ``data/default_ruleset.json``, references inlined) and its
    engine version hash. Editing never changes a row: it publishes a new version, so every
    inspection can say exactly which rules judged it."""

    name = models.CharField(_("name"), max_length=64)
    version = models.CharField(_("version"), max_length=96, unique=True)
    config = models.JSONField(_("config"))
    active = models.BooleanField(_("active"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="ruleset_one_active"),
        ]

    def __str__(self) -> str:
        return self.version


class Inspection(models.Model):
    """The judgement of one contact by one rule-set version. ``current`` marks the one that
    counts (the latest); agent, team, channel and start are copied from the contact so that
    scorecards aggregate one table."""

    interaction = models.ForeignKey("interactions.Interaction", on_delete=models.CASCADE, related_name="inspections")
    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="inspections", db_index=False)
    ruleset_version = models.CharField(_("rule set version"), max_length=96)
    current = models.BooleanField(default=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8)
    started_at = models.DateTimeField(_("started at"))
    auto_score = models.FloatField(_("automatic score"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    score_override = models.FloatField(null=True, blank=True)
    veto = models.BooleanField(_("veto"), default=False)
    distress = models.BooleanField(_("customer distress"), default=False)
    forbidden_count = models.PositiveIntegerField(default=0)
    sheet = models.JSONField(default=list, blank=True)
    pending_items = models.JSONField(default=list, blank=True)
    manual_points = models.JSONField(default=dict, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            # Idempotence: one inspection per contact and rule-set version.
            models.UniqueConstraint(fields=["interaction", "ruleset"], name="inspection_once_per_version"),
            models.UniqueConstraint(fields=["interaction"], condition=Q(current=True), name="inspection_one_current"),
        ]
        indexes = [
            models.Index(fields=["agent", "started_at"], name="inspection_agent"),
            models.Index(fields=["team", "started_at"], name="inspection_team"),
            models.Index(fields=["reviewed_by", "started_at"], name="inspection_reviewer"),
        ]

    def __str__(self) -> str:
        return f"inspection #{self.pk} of {self.interaction_id}"


class Hit(models.Model):
    """One finding; ``start``/``end`` are character offsets in the original utterance text."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="hits")
    rule = models.CharField(_("rule"), max_length=64)
    severity = models.CharField(_("severity"), max_length=8)
    utterance_index = models.PositiveIntegerField(null=True, blank=True)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(_("message"), max_length=500)
    evidence = models.CharField(_("evidence"), max_length=500, blank=True)
    # An upheld appeal waives the hits it contested: they no longer count in the score.
    waived = models.BooleanField(default=False)

    class Meta:
        ordering = ["inspection", "id"]

    def __str__(self) -> str:
        return self.rule


class ReviewTask(models.Model):
    """Q4: a contact picked for manual review — by random sample or because it was vetoed or the
    customer was distressed (``reasons``)."""

    inspection = models.OneToOneField(Inspection, on_delete=models.CASCADE, related_name="review")
    reasons = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        indexes = [models.Index(fields=["done_at", "id"], name="review_open")]


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")


class Appeal(models.Model):
    """申诉: an agent contests an inspection (optionally naming hits); an inspector or the agent's
    team lead decides. Upheld: the named hits are waived and/or a corrected score is set."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="appeals")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    hits = models.ManyToManyField(Hit, blank=True, related_name="appeals")
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    score_before = models.FloatField(null=True, blank=True)
    score_after = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["inspection"], condition=Q(status="pending"), name="appeal_one_pending"
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="appeal_status")]
