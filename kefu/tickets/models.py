"""Work orders 工单: types, categories, state, first-contact ownership, time promises (W1–W10)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketType(models.TextChoices):
    """W1: the six kinds of work order named by the service norms."""

    CONSULTATION = "consultation", _("Consultation")
    FAULT = "fault", _("Fault report")
    COMPLAINT = "complaint", _("Complaint")
    BUSINESS = "business", _("Business handling")
    SUGGESTION = "suggestion", _("Suggestion")
    REFUND = "refund", _("Refund")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Online chat")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web form")
    API = "api", _("API")
    WALK_IN = "walk_in", _("Service hall")


class Status(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    PENDING_CUSTOMER = "pending_customer", _("Waiting for customer")
    PENDING_DEPARTMENT = "pending_department", _("Waiting for department")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT)
# The SLA clock runs in these; it pauses while waiting for the customer (W6).
CLOCK_RUNNING_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.PENDING_DEPARTMENT)


class Category(models.Model):
    """A node of the configurable category tree (e.g. 故障报修 › 宽带 › 无法上网)."""

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=64)
    ticket_type = models.CharField(_("type"), max_length=16, choices=TicketType.choices, blank=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        names = [self.name]
        node = self.parent
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " › ".join(reversed(names))


class CalendarKind(models.TextChoices):
    ALWAYS = "always", _("7×24")
    OFFICE = "office", _("Business hours")


class BusinessCalendar(models.Model):
    """Business hours an SLA counts in. Public holidays and 调休 make-up days are ``Holiday`` rows
    an administrator edits."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=CalendarKind.choices, default=CalendarKind.OFFICE)
    time_zone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    # {"0": [["09:00", "12:00"], ["13:30", "18:00"]], ...}; weekday 0 = Monday. Unused for 7×24.
    hours = models.JSONField(_("opening hours"), default=dict, blank=True)
    observe_holidays = models.BooleanField(_("observe public holidays"), default=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A public holiday (closed) or a make-up working day 调休上班 (open although a weekend)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=32)
    is_workday = models.BooleanField(_("make-up working day"), default=False)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Time promises for a type × priority (optionally from a star level up) (W6).

    The most specific active policy wins: a matching star level beats none.
    """

    name = models.CharField(_("name"), max_length=64)
    ticket_type = models.CharField(_("type"), max_length=16, choices=TicketType.choices)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    min_star_level = models.PositiveSmallIntegerField(_("from star level"), null=True, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))
    # 001 §1.2: a complaint gets a detailed feedback this long after its first response.
    feedback_minutes = models.PositiveIntegerField(_("detailed feedback within (minutes)"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Issue #4: the escalation ladder, [{"at": 0.5, "actions": ["notify_assignee"]}, ...] with "at" a
    # share of the resolution promise; empty means the default ladder (settings.KEFU_SLA_LADDER).
    escalation_ladder = models.JSONField(_("escalation ladder"), default=list, blank=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket_type", "priority", "min_star_level"],
                condition=models.Q(active=True),
                name="sla_policy_one_active",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=24, unique=True)
    type = models.CharField(_("type"), max_length=16, choices=TicketType.choices)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.PHONE)
    # Indexed by the composite indexes in Meta (customer, owner, assignee, department come first there).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    service = models.ForeignKey(
        "customers.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    # W4: the first-contact agent; never changes, whoever the work is handed to.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_tickets", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_tickets",
        db_index=False,
    )
    assignee_department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    # Rarely deleted rows: no index of their own (a delete scans once; every insert would pay for one).
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    version = models.PositiveIntegerField(_("version"), default=1)
    special_mark = models.BooleanField(_("special mark"), default=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    resolution = models.TextField(_("resolution"), blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    created_at = models.DateTimeField(_("created at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"))
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by customer at"), null=True, blank=True)

    # W6: due times and breach flags are columns, so "what is breached now" is one indexed query.
    # When the resolution clock started: creation, or the last reopen.
    sla_started_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    feedback_due_at = models.DateTimeField(null=True, blank=True)
    # The earliest unmet promise while the clock runs (None when paused or finished): "breached now"
    # is then one range over one partial index.
    sla_breach_at = models.DateTimeField(null=True, blank=True)
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    # Closed pause intervals [[start, end], ...] (ISO) and the start of the open one, if paused.
    sla_pauses = models.JSONField(default=list, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    # Issue #4 SLA watch: the next moment a step of the escalation ladder falls due (None while the
    # clock is paused or the ladder is done) and how many steps were taken for the current promise.
    # The sweep reads one range of a partial index and touches only orders whose step changes.
    sla_watch_at = models.DateTimeField(null=True, blank=True)
    sla_step = models.PositiveSmallIntegerField(default=0)
    # F2: the latest satisfaction score (1–5) the customer gave for this order.
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)

    # Segmented text (jieba) for Chinese full-text search; PostgreSQL indexes it with GIN.
    search_text = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            models.Index(fields=["status", "-id"], name="ticket_status_id"),
            models.Index(fields=["assignee", "status", "-id"], name="ticket_assignee"),
            models.Index(fields=["owner", "-id"], name="ticket_owner"),
            models.Index(fields=["assignee_department", "status", "-id"], name="ticket_department"),
            models.Index(fields=["customer", "-id"], name="ticket_customer"),
            models.Index(fields=["type", "-id"], name="ticket_type"),
            models.Index(fields=["owner", "status", "-id"], name="ticket_owner_status"),
            models.Index(
                fields=["sla_breach_at"], name="ticket_sla_breach_at", condition=models.Q(sla_breach_at__isnull=False)
            ),
            models.Index(
                fields=["sla_watch_at"], name="ticket_sla_watch_at", condition=models.Q(sla_watch_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketCounter(models.Model):
    """Per-day sequence behind the human-readable number GD20261122000123."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    REPLY = "reply", _("Reply to customer")
    NOTE = "note", _("Internal note")
    TRANSFER = "transfer", _("Transfer")
    ESCALATE = "escalate", _("Escalation")
    STATUS = "status", _("Status change")
    PRIORITY = "priority", _("Priority change")
    LINK = "link", _("Link")
    MERGE = "merge", _("Merge")
    ATTACHMENT = "attachment", _("Attachment")
    SLA = "sla", _("Time promise")


class TicketEvent(models.Model):
    """One line of the order's timeline: who, when, what and why (W10). Append-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()
    public = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_event_ticket")]
        ordering = ["id"]


class LinkKind(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate of")
    PARENT = "parent", _("Parent of")
    RELATED = "related", _("Related to")


class TicketLink(models.Model):
    """``source`` is <kind> ``target``: duplicate of, parent of, related to."""

    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=16, choices=LinkKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="ticket_link_unique"),
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="ticket_link_not_self"),
        ]


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.ticket.number}/{instance.sha256[:16]}-{filename}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
