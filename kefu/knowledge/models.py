"""Knowledge base (K1–K3): items with versions and review before publishing, guided troubleshooting
flows, and what the answering bot needs to learn from (sessions, feedback, unanswered questions)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import Priority, TicketType


class ItemKind(models.TextChoices):
    FAQ = "faq", _("FAQ")
    ARTICLE = "article", _("Article")
    SCRIPT = "script", _("Script")
    QUICK_REPLY = "quick_reply", _("Quick reply")


class Audience(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    PUBLIC = "public", _("Public")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class KnowledgeItem(models.Model):
    """A piece of knowledge; its content lives in versions, one of which may be published."""

    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices, default=ItemKind.FAQ)
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    products = models.JSONField(_("products"), default=list, blank=True)
    audience = models.CharField(_("audience"), max_length=8, choices=Audience.choices, default=Audience.PUBLIC)
    effective_from = models.DateTimeField(_("effective from"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    published = models.ForeignKey("ItemVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed: every process's search index reads max(updated_at) before a search to notice changes
    # (publish, archive, a vector stored) — see search.py.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("knowledge item")
        verbose_name_plural = _("knowledge items")

    def __str__(self) -> str:
        return self.external_id or f"KB{self.pk}"


class ItemVersion(models.Model):
    item = models.ForeignKey(KnowledgeItem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    question = models.CharField(_("standard question / title"), max_length=300)
    similar_questions = models.JSONField(_("similar questions"), default=list, blank=True)
    answer = models.TextField(_("answer / body"))
    status = models.CharField(_("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_note = models.CharField(_("review note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Dense vector of this version's questions, computed once in the background (never at request time).
    vector = models.BinaryField(null=True, blank=True)
    vector_model = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="kb_version_number_unique")]
        ordering = ["item_id", "number"]

    def __str__(self) -> str:
        return f"{self.item} v{self.number}"


class Flow(models.Model):
    """A guided troubleshooting flow (K3): a tree of steps with branches on the answers."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    start = models.CharField(_("first step"), max_length=64)
    # {"step-code": {"kind": "question"|"check"|"script"|"end", "text": "...", "options": [{"label", "next"}],
    #                "next": "...", "outcome": "resolved"|"create_order", "order": {"type", "category"}}}
    steps = models.JSONField(_("steps"), default=dict)
    active = models.BooleanField(_("active"), default=True)

    def __str__(self) -> str:
        return self.name


class FlowRun(models.Model):
    """An agent walking a flow inside a work order; the path taken is kept and put on the timeline."""

    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="runs")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="flow_runs")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    current = models.CharField(max_length=64)
    path = models.JSONField(default=list)
    outcome = models.CharField(max_length=16, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class BotSession(models.Model):
    """A conversation with the answering bot (K4); follow-up questions keep its context."""

    id = models.UUIDField(primary_key=True)
    channel = models.CharField(max_length=16, default="web")
    created_at = models.DateTimeField(auto_now_add=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


class BotTurn(models.Model):
    session = models.ForeignKey(BotSession, on_delete=models.CASCADE, related_name="turns")
    question = models.TextField()
    item = models.ForeignKey(KnowledgeItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=16)  # answer | suggest | handoff
    confidence = models.FloatField(default=0.0)
    suggestions = models.JSONField(default=list, blank=True)
    helpful = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mode", "created_at"], name="bot_turn_mode")]


class HandoffRoute(models.Model):
    """Where the bot hands a conversation over (K4): the category of its best guess picks the team
    whose agents take the chat and the type of the work order. ``match`` is a whole category path
    (宽带/故障), its first part (宽带) or any one part (故障); the most specific match wins and a
    blank ``match`` takes everything else."""

    match = models.CharField(_("category match"), max_length=100, blank=True, unique=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    # Blank: the type is read from the category (故障 → fault, 投诉 → complaint, …).
    ticket_type = models.CharField(_("type"), max_length=16, choices=TicketType.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    # The work order's category; blank: the category of its type whose name shares a word with the
    # guessed knowledge category (宽带/故障 → 宽带无法上网), else the type's own top category.
    ticket_category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("work-order category"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("hand-over route")
        verbose_name_plural = _("hand-over routes")
        ordering = ["match"]

    def __str__(self) -> str:
        return f"{self.match or '*'} → {self.team_id}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        cat = self.ticket_category if self.ticket_category_id else None
        if cat is not None and self.ticket_type and cat.ticket_type and cat.ticket_type != self.ticket_type:
            raise ValidationError({"ticket_category": _("This category belongs to another work order type.")})


class VocabularyKind(models.TextChoices):
    SYNONYM = "synonym", _("Synonym group")
    REWRITE = "rewrite", _("Correction")
    IGNORE = "ignore", _("Ignorable words")


class VocabularyEntry(models.Model):
    """A centre's own search vocabulary (K5), beside the shipped ``synonyms.txt``: a group of words
    that mean the same to its customers (天翼 电信 · 融合 套餐 宽带), or a correction of what
    customers write for what they mean (``words = [typo, right]``: 宽代 → 宽带), or words that say
    nothing about what is asked and are left out of the question (the operator's own name: 电信
    天翼 — “电信怎么查话费” is “怎么查话费” to a base that never names itself). Applied to the
    customers' and agents' questions (never to the items, so no re-indexing): every process picks a
    change up on its next search."""

    kind = models.CharField(_("kind"), max_length=8, choices=VocabularyKind.choices)
    words = models.JSONField(_("words"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("search vocabulary entry")
        verbose_name_plural = _("search vocabulary")
        ordering = ["kind", "pk"]

    def __str__(self) -> str:
        return (" → " if self.kind == VocabularyKind.REWRITE else " · ").join(self.words)
