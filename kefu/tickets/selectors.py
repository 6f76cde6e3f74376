"""Reads of work orders shared by the API and the pages: data scope built in (STYLE.md §3)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Role, User
from kefu.accounts.permissions import ALL_TICKETS_ROLES
from kefu.core.errors import KefuError, NotFound
from kefu.core.text import search_tokens

from . import sla
from .models import Ticket, TicketEvent

LIST_RELATED = ("customer",)
# Large columns a list never shows.
LIST_DEFERRED = ("description", "resolution", "search_text", "sla_pauses")


def attach_refs(tickets: list[Ticket]) -> list[Ticket]:
    """Fill owner, assignee, department, category and merged-into of many orders with one query per
    table instead of a six-way join: PostgreSQL spends longer planning such a join than running it."""
    from kefu.accounts.models import Department

    from .models import Category

    def load(qs: Any, ids: set[int | None]) -> dict[int, Any]:
        wanted = {i for i in ids if i is not None}
        return qs.in_bulk(wanted) if wanted else {}

    users = load(User.objects.all(), {t.owner_id for t in tickets} | {t.assignee_id for t in tickets})
    depts = load(Department.objects.all(), {t.assignee_department_id for t in tickets})
    cats = load(Category.objects.all(), {t.category_id for t in tickets})
    merged = load(Ticket.objects.only("id", "number"), {t.merged_into_id for t in tickets})
    for t in tickets:
        t.owner = users[t.owner_id]
        t.assignee = users.get(t.assignee_id) if t.assignee_id else None
        t.assignee_department = depts.get(t.assignee_department_id) if t.assignee_department_id else None
        t.category = cats.get(t.category_id) if t.category_id else None
        t.merged_into = merged.get(t.merged_into_id) if t.merged_into_id else None
    return tickets


def ticket_scope_q(user: User) -> Q | None:
    """The orders ``user`` may see; None means all of them.

    - supervisors, administrators, inspectors and auditors: every order;
    - a team lead: the team's orders and their own;
    - a back-office (department) user: the department's queue and their own;
    - an agent: orders they own or hold, and their team's orders.
    """
    if user.role in ALL_TICKETS_ROLES or user.is_superuser:
        return None
    mine = Q(owner=user) | Q(assignee=user)
    if user.department_id and user.role == Role.AGENT:
        return mine | Q(assignee_department_id=user.department_id)
    if user.team_id:
        return mine | Q(team_id=user.team_id)
    return mine


def ticket_qs_for(user: User) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    scope = ticket_scope_q(user)
    return qs if scope is None else qs.filter(scope)


def access_ticket(*, viewer: User, ticket_id: int | str, for_update: bool = False) -> Ticket:
    """The order if ``viewer`` may see it, else NotFound — never confirm that it exists (X1).

    ``ticket_id`` may be the numeric id or the order number (GD…).
    """
    qs = ticket_qs_for(viewer).select_related("customer")
    if for_update:
        qs = qs.select_for_update(of=("self",)) if connection.features.has_select_for_update_of else qs.select_for_update()
    key = str(ticket_id)
    lookup = {"pk": int(key)} if key.isdigit() else {"number": key.upper()}
    try:
        ticket = qs.get(**lookup)
    except (Ticket.DoesNotExist, ValueError, OverflowError):
        raise NotFound(_("Work order %(id)s was not found.") % {"id": key}, code="ticket_not_found") from None
    return attach_refs([ticket])[0]


@dataclass(frozen=True)
class TicketFilters:
    status: list[str] | None = None
    type: list[str] | None = None
    priority: list[str] | None = None
    assignee: str | None = None  # agent id 工号, "me", or "none" (nobody holds it: a queue)
    department: str | None = None  # department code or id
    owner: str | None = None  # agent id 工号, or "me"
    customer: int | None = None
    breached: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    # Issue #7: the orders behind an analytics figure (kefu.analytics.selectors.drill_from_params).
    extra: Q | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "id" or not value.isdigit():
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise KefuError(_("The cursor is not valid."), code="invalid_cursor", fields={"cursor": _("Not valid.")}) from None


def _user_by_agent_id(viewer: User, agent_id: str) -> User | int:
    if agent_id == "me":
        return viewer
    user = User.objects.filter(agent_id=agent_id).only("id").first()
    return user if user is not None else -1  # an unknown agent id matches nothing


# Above this many matches a word is "common": walking the newest orders finds a page of them at once;
# below it the few matching ids are taken from the full-text index.
RARE_MATCHES = 5000


def query_tokens(q: str) -> list[str]:
    """Words of a search: single characters are dropped when longer words exist, because jieba cuts
    "宽带网速慢" into 宽带/网速/慢 while an order may say 很慢 — the long words carry the meaning."""
    tokens = search_tokens(q, for_query=True)
    long = [t for t in tokens if len(t) > 1]
    return long or tokens


def text_query_q(q: str) -> tuple[Q | None, list[str], list[Any]]:
    """Chinese full-text condition: every word of ``q`` must be a token of the order's text.

    On PostgreSQL it is a tsquery over the GIN-indexed segmented text; on SQLite a LIKE per word.
    An order number in ``q`` matches that order directly.
    """
    raw = q.strip()
    if raw.upper().startswith("GD") and raw[2:].isdigit():
        return Q(number=raw.upper()), [], []
    tokens = query_tokens(raw)
    if not tokens:
        return Q(pk__in=[]), [], []
    if connection.vendor == "postgresql":
        query = " & ".join("'" + t.replace("'", "''").replace("\\", "") + "'" for t in tokens)
        with connection.cursor() as cur:
            # Bitmap scan of the GIN index, capped: tells rare from common words cheaply.
            cur.execute(
                "SELECT id FROM tickets_ticket WHERE search_vector @@ to_tsquery('simple', %s) LIMIT %s",
                [query, RARE_MATCHES + 1],
            )
            ids = [row[0] for row in cur.fetchall()]
        if len(ids) <= RARE_MATCHES:
            return Q(pk__in=ids), [], []
        # Common words: written so the planner cannot pick the GIN index and walks the newest orders.
        where = "(tickets_ticket.search_vector @@ to_tsquery('simple', %s)) IS TRUE"
        return None, [where], [query]
    cond = Q()
    for token in tokens:
        cond &= Q(search_text__contains=f" {token} ")
    return cond, [], []


def ticket_list(*, viewer: User, filters: TicketFilters, cursor: str | None = None, limit: int = 50) -> tuple[list[Ticket], str | None]:
    """A page of orders newest first, within the viewer's scope, and the cursor of the next page."""
    qs = ticket_qs_for(viewer).select_related(*LIST_RELATED).defer(*LIST_DEFERRED)
    f = filters
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.type:
        qs = qs.filter(type__in=f.type)
    if f.priority:
        qs = qs.filter(priority__in=f.priority)
    if f.assignee == "none":  # waiting in a queue: nobody holds it (``ticket_queue``)
        qs = qs.filter(assignee__isnull=True, assignee_department__isnull=True)
    elif f.assignee:
        qs = qs.filter(assignee=_user_by_agent_id(viewer, f.assignee))
    if f.department:
        qs = qs.filter(
            Q(assignee_department__code=f.department)
            | (Q(assignee_department_id=int(f.department)) if f.department.isdigit() else Q(pk__in=[]))
        )
    if f.owner:
        qs = qs.filter(owner=_user_by_agent_id(viewer, f.owner))
    if f.customer is not None:
        qs = qs.filter(customer_id=f.customer)
    if f.breached is True:
        qs = qs.filter(sla.breached_now_q(timezone.now()))
    elif f.breached is False:
        qs = qs.exclude(sla.breached_now_q(timezone.now()))
    if f.created_from:
        qs = qs.filter(created_at__gte=f.created_from)
    if f.created_to:
        qs = qs.filter(created_at__lt=f.created_to)
    if f.extra is not None:
        qs = qs.filter(f.extra)
    if f.q:
        cond, where, params = text_query_q(f.q)
        if cond is not None:
            qs = qs.filter(cond)
        if where:
            qs = qs.extra(where=where, params=params)
    if cursor:
        qs = qs.filter(pk__lt=decode_cursor(cursor))
    rows = list(qs.order_by("-pk")[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].pk) if len(rows) > limit else None
    return attach_refs(rows[:limit]), next_cursor


def ticket_timeline(ticket: Ticket) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id"))


def breached_now(*, viewer: User | None = None, limit: int | None = None) -> QuerySet[Ticket]:
    qs = Ticket.objects.all() if viewer is None else ticket_qs_for(viewer)
    qs = qs.filter(sla.breached_now_q(timezone.now())).order_by("sla_breach_at")
    return qs[:limit] if limit else qs
