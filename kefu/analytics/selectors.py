"""Computing the indicators of ``indicators.py`` from the work orders, within the viewer's scope (A1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.core.errors import ValidationFailed
from kefu.customers.models import Customer
from kefu.tickets.models import EventKind, Ticket, TicketEvent
from kefu.tickets.selectors import ticket_scope_q

from .indicators import Value, ratio

MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """Whole local days ``first``..``last`` inclusive; a clear error when reversed or too long."""
        for name, day in (("from", first), ("to", last)):
            if not 2000 <= day.year <= 2100:
                raise ValidationFailed(fields={name: _("Choose a date between 2000 and 2100.")})
        if last < first:
            raise ValidationFailed(fields={"to": _("The end of the range must be after its start.")})
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationFailed(fields={"to": _("A period is at most %(n)d days.") % {"n": MAX_DAYS}})
        tz = timezone.get_current_timezone()
        return cls(datetime.combine(first, time.min, tz), datetime.combine(last + timedelta(days=1), time.min, tz))

    def previous(self) -> Period:
        """The period of the same length just before this one (A3 comparison)."""
        return Period(self.start - (self.end - self.start), self.start)


def _scoped(viewer: User, *, team_id: int | None = None, agent_id: str | None = None) -> QuerySet[Ticket]:
    """Orders the figures are about: the viewer's data scope (an agent sees their own figures), then
    the optional team or agent filter."""
    qs = Ticket.objects.all()
    if viewer.role == Role.AGENT and not viewer.is_superuser:
        qs = qs.filter(owner=viewer)
    else:
        scope = ticket_scope_q(viewer)
        if scope is not None:
            qs = qs.filter(scope)
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    if agent_id:
        qs = qs.filter(owner__agent_id=agent_id)
    return qs


def ticket_indicators(
    *, viewer: User, period: Period, team_id: int | None = None, agent_id: str | None = None, now: datetime | None = None
) -> dict[str, Value]:
    now = now or timezone.now()
    s, e = period.start, period.end
    orders = _scoped(viewer, team_id=team_id, agent_id=agent_id)

    fr = orders.filter(first_response_due_at__gte=s, first_response_due_at__lt=e).filter(
        Q(first_responded_at__isnull=False) | Q(first_response_due_at__lt=now)
    ).aggregate(
        due=Count("id"),
        met=Count("id", filter=Q(first_responded_at__isnull=False, first_responded_at__lte=F("first_response_due_at"))),
    )
    rs = orders.filter(resolution_due_at__gte=s, resolution_due_at__lt=e).filter(
        Q(resolved_at__isnull=False) | Q(resolution_due_at__lt=now)
    ).aggregate(
        due=Count("id"),
        met=Count("id", filter=Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))),
    )
    events = TicketEvent.objects.filter(ticket__in=orders.values("id"), created_at__gte=s, created_at__lt=e)
    status_events = events.filter(kind=EventKind.STATUS)
    resolved_ids = set(status_events.filter(data__action="resolve").values_list("ticket_id", flat=True))
    resolutions = status_events.filter(data__action="resolve").count()
    reopenings = status_events.filter(data__action="reopen").count()
    transferred = set(
        TicketEvent.objects.filter(ticket_id__in=resolved_ids, kind=EventKind.TRANSFER).values_list("ticket_id", flat=True)
    )
    reopened = set(
        TicketEvent.objects.filter(ticket_id__in=resolved_ids, kind=EventKind.STATUS, data__action="reopen")
        .values_list("ticket_id", flat=True)
    )
    first_time = len(resolved_ids - transferred - reopened)

    opened = orders.filter(created_at__gte=s, created_at__lt=e).aggregate(
        n=Count("id"),
        complaints=Count("id", filter=Q(type="complaint")),
        escalated=Count("id", filter=Q(escalation_level__gt=0)),
    )
    customers = Customer.objects.filter(created_at__lt=e).count()
    durations = [
        (resolved - created).total_seconds() / 3600
        for created, resolved in orders.filter(resolved_at__gte=s, resolved_at__lt=e).values_list("created_at", "resolved_at")
    ]
    avg = Value("avg_resolution_hours", round(sum(durations) / len(durations), 2), sum(durations), len(durations)) if durations \
        else ratio("avg_resolution_hours", 0, 0)
    return {
        "first_response_sla": ratio("first_response_sla", fr["met"], fr["due"]),
        "resolution_sla": ratio("resolution_sla", rs["met"], rs["due"]),
        "rework_rate": ratio("rework_rate", reopenings, resolutions),
        "fcr": ratio("fcr", first_time, len(resolved_ids)),
        "complaint_rate_per_10k": ratio("complaint_rate_per_10k", opened["complaints"], customers, scale=10000.0),
        "escalation_rate": ratio("escalation_rate", opened["escalated"], opened["n"]),
        "avg_resolution_hours": avg,
    }


def indicator_report(
    *, viewer: User, period: Period, team_id: int | None = None, agent_id: str | None = None
) -> dict[str, Any]:
    """This period's figures beside the previous period's and the targets (A3)."""
    now = timezone.now()
    current = ticket_indicators(viewer=viewer, period=period, team_id=team_id, agent_id=agent_id, now=now)
    before = ticket_indicators(viewer=viewer, period=period.previous(), team_id=team_id, agent_id=agent_id, now=now)
    items = []
    for code, value in current.items():
        row = value.as_dict()
        prev = before[code].value
        row["previous"] = prev
        row["change"] = None if prev is None or value.value is None else round(value.value - prev, 2)
        items.append(row)
    return {"from": period.start, "to": period.end, "items": items}
