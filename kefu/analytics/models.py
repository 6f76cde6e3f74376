"""Daily roll-ups of the indicators (A1, issue #7).

``DailyRollup`` holds counts and sums — never ratios — per local day × team × agent × work-order type ×
category × region × channel, so any indicator of ``indicators.py`` can be computed for any range and any
breakdown by summing rows. Dimensions are plain integers / strings with ``0`` / ``""`` for "none" (a
unique key over nullable columns would not be unique in SQL), and carry no foreign keys: a roll-up row
outlives a deleted team.

Incremental maintenance (``rollup.py``) keeps, per source record ("entity": a work order with its
timeline, surveys and return visits; a contact with its current inspection; a ticket-less return visit;
a customer), the contribution it last made in ``RollupContribution``; an event about the entity computes
its contribution again and adds the difference. ``RollupAppliedEvent`` is the ledger that makes a
replayed event a no-op; the rebuild command recomputes both tables from raw data.

Durations are whole milliseconds and scores hundredths of a point (integers), so that sums are exact and
the incremental and the rebuilt tables are identical, not merely close.
"""

from __future__ import annotations

from django.db import models

DIMENSIONS = ("team_id", "agent_id", "type", "category_id", "region", "channel")

MEASURES = (
    # Work orders (by the day named in each comment).
    "opened",                # created on the day
    "opened_escalated",      # created on the day and escalated (escalation level > 0)
    "fr_due",                # first-response promise falls due on the day
    "fr_met",                # … and the order was answered by it
    "res_due",               # resolution promise falls due on the day
    "res_met",               # … and the order was resolved by it
    "resolutions",           # resolve actions on the day (a re-resolved order counts again)
    "reopenings",            # reopen actions on the day (rework 返工)
    "first_resolved",        # orders first resolved on the day
    "first_resolved_clean",  # … never transferred and never reopened (FCR)
    "resolved",              # orders whose (latest) resolution time falls on the day
    "resolved_ms",           # Σ (resolved − created) of those, milliseconds
    "closed",                # orders closed on the day
    # Satisfaction surveys (by answer day; agent = the agent assessed).
    "csat_n", "csat_sum", "csat_top2",
    # Return visits (by due day; agent = the visiting agent).
    "rv_due", "rv_done",
    # Contacts (by start day; channel call → phone).
    "contacts",              # every contact on every channel
    "calls_offered",         # calls
    "calls_answered",        # calls with talk time > 0
    "calls_answered_sl",     # … answered within KEFU_SERVICE_LEVEL_SECONDS of waiting
    "calls_abandoned",       # calls without talk time (the caller hung up waiting)
    "answered_wait_ms",      # Σ wait of answered calls (ASA)
    "handled",               # answered calls (AHT denominator)
    "talk_ms", "hold_ms", "wrap_ms",  # of handled calls (AHT numerator)
    "inspected",             # contacts whose current inspection has a score
    "inspection_score_c",    # Σ scores, hundredths of a point
    "inspection_vetoes",     # current inspections with a veto
    "forbidden_hits",        # forbidden-phrase hits not waived (Q2)
    # Customers (by creation day; region of the customer).
    "customers_new",
    # Added later — new measures go last: contributions store measures by position.
    "complaints_opened",     # complaint orders created on the day (0003)
)


class RollupMeasures(models.Model):
    """The measures every roll-up grain holds (counts and sums)."""

    opened = models.BigIntegerField(default=0)
    opened_escalated = models.BigIntegerField(default=0)
    complaints_opened = models.BigIntegerField(default=0)
    fr_due = models.BigIntegerField(default=0)
    fr_met = models.BigIntegerField(default=0)
    res_due = models.BigIntegerField(default=0)
    res_met = models.BigIntegerField(default=0)
    resolutions = models.BigIntegerField(default=0)
    reopenings = models.BigIntegerField(default=0)
    first_resolved = models.BigIntegerField(default=0)
    first_resolved_clean = models.BigIntegerField(default=0)
    resolved = models.BigIntegerField(default=0)
    resolved_ms = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    csat_n = models.BigIntegerField(default=0)
    csat_sum = models.BigIntegerField(default=0)
    csat_top2 = models.BigIntegerField(default=0)
    rv_due = models.BigIntegerField(default=0)
    rv_done = models.BigIntegerField(default=0)
    contacts = models.BigIntegerField(default=0)
    calls_offered = models.BigIntegerField(default=0)
    calls_answered = models.BigIntegerField(default=0)
    calls_answered_sl = models.BigIntegerField(default=0)
    calls_abandoned = models.BigIntegerField(default=0)
    answered_wait_ms = models.BigIntegerField(default=0)
    handled = models.BigIntegerField(default=0)
    talk_ms = models.BigIntegerField(default=0)
    hold_ms = models.BigIntegerField(default=0)
    wrap_ms = models.BigIntegerField(default=0)
    inspected = models.BigIntegerField(default=0)
    inspection_score_c = models.BigIntegerField(default=0)
    inspection_vetoes = models.BigIntegerField(default=0)
    forbidden_hits = models.BigIntegerField(default=0)
    customers_new = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyRollup(RollupMeasures):
    """The full grain: day × team × agent × type × category × region × channel."""

    day = models.DateField()
    team_id = models.IntegerField(default=0)
    agent_id = models.IntegerField(default=0)
    type = models.CharField(max_length=16, default="", blank=True)
    category_id = models.IntegerField(default=0)
    region = models.CharField(max_length=16, default="", blank=True)
    channel = models.CharField(max_length=16, default="", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", *DIMENSIONS], name="analytics_rollup_key"),
        ]
        indexes = [
            models.Index(fields=["team_id", "day"], name="analytics_rollup_team"),
            models.Index(fields=["agent_id", "day"], name="analytics_rollup_agent"),
        ]


class DailyByAgent(RollupMeasures):
    """A coarser grain of the same sums, day × team × agent: what the overview, trends and the team and
    agent breakdowns read (a month is a few thousand rows, not millions). Kept with DailyRollup, in the
    same transaction, from the same differences."""

    day = models.DateField()
    team_id = models.IntegerField(default=0)
    agent_id = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "team_id", "agent_id"], name="analytics_by_agent_key")]
        indexes = [models.Index(fields=["agent_id", "day"], name="analytics_by_agent_agent"),
                   models.Index(fields=["team_id", "day"], name="analytics_by_agent_team")]


class DailyByDimension(RollupMeasures):
    """A coarser grain without the agent, day × team × type × category × region × channel: what the
    type, category, region and channel breakdowns read."""

    day = models.DateField()
    team_id = models.IntegerField(default=0)
    type = models.CharField(max_length=16, default="", blank=True)
    category_id = models.IntegerField(default=0)
    region = models.CharField(max_length=16, default="", blank=True)
    channel = models.CharField(max_length=16, default="", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "team_id", "type", "category_id", "region", "channel"],
                                               name="analytics_by_dimension_key")]
        indexes = [models.Index(fields=["team_id", "day"], name="analytics_by_dimension_team")]


class DailyBreakdown(RollupMeasures):
    """One dimension at a time, day × team × (dimension, value): ``dimension`` is type, category_id,
    region or channel and ``value`` its value as text. A breakdown by one of them (or a trend filtered
    on one) reads a few hundred rows a day here, whatever the combinations of the others."""

    day = models.DateField()
    team_id = models.IntegerField(default=0)
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "day", "team_id", "value"],
                                               name="analytics_breakdown_key")]


BREAKDOWN_DIMENSIONS = ("type", "category_id", "region", "channel")

# Each grain: its model and the dimensions it keeps (a subset of DIMENSIONS, in that order).
GRAINS = (
    (DailyRollup, DIMENSIONS),
    (DailyByAgent, ("team_id", "agent_id")),
    (DailyByDimension, ("team_id", "type", "category_id", "region", "channel")),
)


class RollupContribution(models.Model):
    """What one source record last added to ``DailyRollup``: ``rows`` is a list of
    ``[day ISO, team_id, agent_id, type, category_id, region, channel, {measure: n}]``.
    ``entity`` is ``t:<ticket id>``, ``i:<interaction id>``, ``v:<return visit id>`` or ``c:<customer id>``."""

    entity = models.CharField(max_length=24, primary_key=True)
    rows = models.JSONField(default=list)


class RollupAppliedEvent(models.Model):
    """Outbox events the roll-up has applied, written in the applying transaction (idempotence)."""

    event_id = models.BigIntegerField(primary_key=True)
    topic = models.CharField(max_length=64)
    applied_at = models.DateTimeField(auto_now_add=True)


# -- reports (issue #7, F4 and the e-mailed daily report) ------------------------------------------

from django.conf import settings as _settings  # noqa: E402
from django.db.models import Q as _Q  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402


class NoteStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("Being worked on")
    DONE = "done", _("Done")


class ImprovementNote(models.Model):
    """F4: an improvement suggestion for one complaint cause of the cause analysis (a category, a
    region or a product of a period), addressed to the department that can fix it; the department
    answers and closes it. Written and changed only through ``report_services`` (audited)."""

    dimension = models.CharField(_("dimension"), max_length=16)
    cause_key = models.CharField(_("cause"), max_length=120)
    cause_label = models.CharField(_("cause"), max_length=200)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("department"))
    suggestion = models.TextField(_("improvement suggestion"))
    status = models.CharField(_("status"), max_length=12, choices=NoteStatus.choices, default=NoteStatus.OPEN)
    response = models.TextField(_("department's answer"), blank=True)
    author = models.ForeignKey(_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("written by"))
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("improvement note")
        verbose_name_plural = _("improvement notes")
        indexes = [models.Index(fields=["dimension", "period_start"], name="analytics_note_period")]

    def __str__(self) -> str:
        return f"{self.cause_label} → {self.department_id}"


class ReportSubscription(models.Model):
    """Who gets a report by e-mail every day, and at what local time: a user (their own data scope
    and address) or a bare address (the scope of whoever subscribed it)."""

    report = models.CharField(_("report"), max_length=32, default="daily_summary")
    user = models.ForeignKey(_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="report_subscriptions", verbose_name=_("user"))
    email = models.EmailField(_("e-mail address"), blank=True)
    send_at = models.TimeField(_("send at (local time)"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("subscribed by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [
            models.CheckConstraint(condition=_Q(user__isnull=False) | ~_Q(email=""), name="report_sub_has_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.report} → {self.email or self.user_id}"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Failed, gave up")


class ReportDelivery(models.Model):
    """One e-mail of one subscription for one report day. The unique (subscription, day) row is
    claimed before sending, so a retried or duplicated task never sends the same day twice."""

    subscription = models.ForeignKey(ReportSubscription, on_delete=models.CASCADE, related_name="deliveries")
    day = models.DateField(_("report day"))
    status = models.CharField(_("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        constraints = [models.UniqueConstraint(fields=["subscription", "day"], name="report_delivery_once")]
