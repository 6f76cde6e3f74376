"""Reads behind the workspace pages, built on the tickets selectors (data scope included). Every
function here issues a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from kefu.accounts.models import Role, User
from kefu.accounts.permissions import ALL_TICKETS_ROLES
from kefu.tickets import selectors as tsel
from kefu.tickets.models import OPEN_STATUSES, Priority, Status, Ticket, TicketType

TABS = ("mine", "owned", "queue", "scope")
ANALYTICS_PARAMS = ("ind", "from", "to", "team", "agent", "category", "region", "channel")
SORTS = ("newest", "due")
AT_RISK = timedelta(hours=1)


@dataclass(frozen=True)
class ListQuery:
    tab: str = "mine"
    status: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    q: str = ""
    breached: bool = False
    sort: str = "newest"
    cursor: str = ""
    # Issue #7: dashboards link here with the figure's filter (ind, from, to, team, agent, category,
    # region, channel) and at_risk=1 (promise due within the hour).
    analytics: tuple[tuple[str, str], ...] = ()
    at_risk: bool = False

    @classmethod
    def parse(cls, params: Any) -> ListQuery:
        """From a query string; unknown values are dropped rather than refused (a page, not an API)."""
        def many(name: str, allowed: list[str]) -> tuple[str, ...]:
            return tuple(v for v in params.getlist(name) if v in allowed)

        tab = params.get("tab", "mine")
        sort = params.get("sort", "newest")
        return cls(
            tab=tab if tab in TABS else "mine",
            status=many("status", Status.values),
            type=many("type", TicketType.values),
            priority=many("priority", Priority.values),
            q=(params.get("q") or "").strip()[:100],
            breached=params.get("breached") == "1",
            sort=sort if sort in SORTS else "newest",
            cursor=(params.get("cursor") or "")[:64],
            analytics=tuple((k, (params.get(k) or "")[:32]) for k in ANALYTICS_PARAMS if params.get(k))
            if params.get("ind") else (),
            at_risk=params.get("at_risk") == "1",
        )

    def extra_q(self, viewer: User) -> tuple[Q | None, str]:
        """The analytics filter as a condition on orders, and its description for the page."""
        from kefu.analytics.selectors import drill_from_params

        q, text = drill_from_params(viewer=viewer, params=dict(self.analytics)) if self.analytics else (None, "")
        if self.at_risk:
            now = timezone.now()
            risk = Q(sla_breach_at__gt=now, sla_breach_at__lte=now + AT_RISK)
            q = risk if q is None else q & risk
        return q, text

    def filters(self, viewer: User | None = None) -> tsel.TicketFilters:
        extra = self.extra_q(viewer)[0] if viewer is not None else None
        return tsel.TicketFilters(
            extra=extra,
            status=list(self.status) or (list(OPEN_STATUSES) if self.tab == "queue" else None),
            type=list(self.type) or None, priority=list(self.priority) or None,
            assignee={"mine": "me", "queue": "none"}.get(self.tab), owner="me" if self.tab == "owned" else None,
            breached=True if self.breached else None, q=self.q or None,
        )


def workspace_rows(*, viewer: User, query: ListQuery, limit: int = 50) -> tuple[list[Ticket], str | None]:
    """A page of the agent's list. Newest first pages by cursor; "due soonest" lists the orders
    whose clock runs, earliest promise first (the indexed breach moment), first page only."""
    if query.sort == "newest":
        return tsel.ticket_list(viewer=viewer, filters=query.filters(viewer), cursor=query.cursor or None, limit=limit)
    qs = (
        tsel.ticket_qs_for(viewer).filter(sla_breach_at__isnull=False)
        .select_related(*tsel.LIST_RELATED).defer(*tsel.LIST_DEFERRED)
    )
    if query.status:
        qs = qs.filter(status__in=query.status)
    if query.type:
        qs = qs.filter(type__in=query.type)
    if query.priority:
        qs = qs.filter(priority__in=query.priority)
    if query.tab == "mine":
        qs = qs.filter(assignee=viewer)
    elif query.tab == "owned":
        qs = qs.filter(owner=viewer)
    elif query.tab == "queue":
        qs = qs.filter(assignee__isnull=True, assignee_department__isnull=True, status__in=OPEN_STATUSES)
    if query.breached:
        qs = qs.filter(sla_breach_at__lt=timezone.now())
    extra = query.extra_q(viewer)[0]
    if extra is not None:
        qs = qs.filter(extra)
    if query.q:
        cond, where, params = tsel.text_query_q(query.q)
        if cond is not None:
            qs = qs.filter(cond)
        if where:
            qs = qs.extra(where=where, params=params)
    return tsel.attach_refs(list(qs.order_by("sla_breach_at", "id")[:limit])), None


def sla_view(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """What the countdown shows: the deadline (None when the clock is stopped) and its colour."""
    due = ticket.sla_breach_at
    if due is None:
        return {"due": None, "state": "paused" if ticket.status == Status.PENDING_CUSTOMER else "none", "warn_at": None}
    start = ticket.sla_started_at or ticket.created_at
    warn_at = due - (due - start) * settings.KEFU_SLA_WARN_FRACTION
    state = "breached" if due <= now else ("warning" if warn_at <= now else "ok")
    return {"due": due, "state": state, "warn_at": warn_at}


def board_agents(viewer: User) -> list[User]:
    """The agents a lead looks after: their team; a supervisor: every agent of every team."""
    qs = User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.TEAM_LEAD]).exclude(agent_id=None)
    if viewer.role not in ALL_TICKETS_ROLES and not viewer.is_superuser:
        qs = qs.filter(team_id=viewer.team_id) if viewer.team_id else qs.filter(pk=viewer.pk)
    else:
        qs = qs.filter(team__isnull=False)
    return list(qs.select_related("team").order_by("team_id", "agent_id"))


def board_load(*, viewer: User, agents: list[User]) -> dict[int, dict[str, int]]:
    """Open orders per agent, and how many of them are at risk (promise within the hour) or breached:
    one grouped query."""
    now = timezone.now()
    rows = (
        Ticket.objects.filter(assignee__in=agents, status__in=OPEN_STATUSES)
        .values("assignee_id")
        .annotate(
            open=Count("id"),
            pending=Count("id", filter=Q(status__in=[Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT])),
            at_risk=Count("id", filter=Q(sla_breach_at__gte=now, sla_breach_at__lt=now + AT_RISK)),
            breached=Count("id", filter=Q(sla_breach_at__lt=now)),
        )
    )
    return {r["assignee_id"]: r for r in rows}


def board_tickets(*, viewer: User, kind: str, limit: int = 50) -> list[Ticket]:
    now = timezone.now()
    qs = tsel.ticket_qs_for(viewer).select_related(*tsel.LIST_RELATED).defer(*tsel.LIST_DEFERRED)
    if kind == "queued":  # waiting in a queue 待认领: nobody holds them yet, oldest first
        qs = qs.filter(assignee__isnull=True, assignee_department__isnull=True, status__in=OPEN_STATUSES)
        return tsel.attach_refs(list(qs.order_by("created_at", "id")[:limit]))
    if kind == "breached":
        qs = qs.filter(sla_breach_at__lt=now)
    else:
        qs = qs.filter(sla_breach_at__gte=now, sla_breach_at__lt=now + AT_RISK)
    return tsel.attach_refs(list(qs.order_by("sla_breach_at", "id")[:limit]))
