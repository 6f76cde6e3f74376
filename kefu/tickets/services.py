"""Every write to a work order: one function per business action, one transaction each, with its
timeline entry (W10), audit record (X3) and outbox event (STYLE.md §4).

Guarantees kept by every action here:
- the row is locked and, when the caller passes ``version``, a stale version is refused (409);
- a status change goes through ``state.ALLOWED`` only;
- the SLA columns are recomputed in the same transaction (W6);
- the owner (first-contact agent) never changes (W4).
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, User
from kefu.accounts.permissions import ALL_TICKETS_ROLES, may_write
from kefu.audit.services import audit_record
from kefu.core import outbox
from kefu.core.errors import (
    NotFound,
    PermissionDenied,
    StaleVersion,
    TransitionNotAllowed,
    ValidationFailed,
)
from kefu.core.text import search_tokens
from kefu.customers.models import Customer, Service

from . import sla
from .models import (
    PRIORITY_ORDER,
    Attachment,
    Category,
    Channel,
    EventKind,
    LinkKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketType,
)
from .selectors import access_ticket
from .state import ALLOWED, MERGE_FROM

# --- helpers ---------------------------------------------------------------------------------


def _require_writer(actor: User) -> None:
    if not may_write(actor):
        raise PermissionDenied(_("Your role cannot change work orders."), code="role_read_only")


def _lock(*, actor: User, ticket_id: int | str, version: int | None) -> Ticket:
    _require_writer(actor)
    ticket = access_ticket(viewer=actor, ticket_id=ticket_id, for_update=True)
    if version is not None and ticket.version != version:
        raise StaleVersion(current_version=ticket.version)
    return ticket


def _status_label(value: str) -> str:
    return str(Status(value).label)


def _move(ticket: Ticket, to: str, *, at: datetime) -> str:
    """Change status through the one transition table; returns the old status."""
    old = ticket.status
    if to not in ALLOWED[old]:
        raise TransitionNotAllowed(
            _("A work order cannot go from “%(src)s” to “%(dst)s”.")
            % {"src": _status_label(old), "dst": _status_label(to)},
            src=old,
            dst=to,
        )
    ticket.status = to
    sla.on_status_change(ticket, old=old, at=at)
    return old


def _event(
    ticket: Ticket, kind: str, actor: User | None, *, at: datetime, body: str = "", public: bool = False, **data: Any
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor, created_at=at, body=body, public=public, data=data
    )


def _save(ticket: Ticket, *, at: datetime, fields: list[str]) -> None:
    ticket.version += 1
    ticket.updated_at = at
    sla.refresh(ticket)
    ticket.save(update_fields=sorted({*fields, "version", "updated_at", "sla_breach_at", "sla_watch_at"}))


def _star(ticket: Ticket) -> int:
    return ticket.customer.star_level if ticket.customer_id else 0


def _require_text(value: str, field: str, *, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={field: _("This field is required.")})
    if len(text) > max_length:
        raise ValidationFailed(
            fields={field: _("At most %(n)d characters.") % {"n": max_length}}
        )
    return text


def search_text_for(subject: str, description: str) -> str:
    tokens = search_tokens(f"{subject}\n{description}")
    return f" {' '.join(tokens)} " if tokens else ""


def _next_number(at: datetime) -> str:
    """GD + local date + a per-day sequence, taken with one atomic upsert (no race, no gap on retry)."""
    day = timezone.localdate(at)
    table = connection.ops.quote_name("tickets_ticketcounter")
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        seq = cur.fetchone()[0]
    return f"{settings.KEFU_TICKET_PREFIX}{day:%Y%m%d}{seq:06d}"


# --- create ----------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    actor: User,
    type: str,
    priority: str = Priority.NORMAL,
    customer_id: int,
    subject: str,
    description: str = "",
    channel: str = Channel.PHONE,
    service_id: int | None = None,
    category: str | int | None = None,
    contact_phone: str = "",
) -> Ticket:
    """Open a work order taken by ``actor``, who becomes its owner for good (W2, W4), with its time
    promises computed (W6). Records ``created`` on the timeline, an audit row and
    ``ticket.created`` in the outbox."""
    _require_writer(actor)
    errors: dict[str, Any] = {}
    if type not in TicketType.values:
        errors["type"] = _("Unknown work order type.")
    if priority not in Priority.values:
        errors["priority"] = _("Unknown priority.")
    if channel not in Channel.values:
        errors["channel"] = _("Unknown channel.")
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        errors["customer_id"] = _("No customer with this id.")
    service = None
    if service_id is not None:
        service = Service.objects.filter(pk=service_id).first()
        if service is None or (customer is not None and service.customer_id != customer.pk):
            errors["service_id"] = _("This service does not belong to the customer.")
    cat = None
    if category not in (None, ""):
        key = str(category)
        cat = Category.objects.filter(pk=int(key) if key.isdigit() else None).first() if key.isdigit() else (
            Category.objects.filter(code=key).first() or Category.objects.filter(name=key).first()
        )
        if cat is None or not cat.active:
            errors["category"] = _("Unknown category.")
    try:
        subject = _require_text(subject, "subject", max_length=200)
    except ValidationFailed as e:
        errors.update(e.fields)
    if len(description or "") > 20000:
        errors["description"] = _("At most %(n)d characters.") % {"n": 20000}
    if errors:
        raise ValidationFailed(fields=errors)
    assert customer is not None

    now = timezone.now()
    ticket = Ticket(
        number=_next_number(now),
        type=type,
        priority=priority,
        channel=channel,
        customer=customer,
        service=service,
        category=cat,
        subject=subject,
        description=(description or "").strip(),
        contact_phone=contact_phone,
        owner=actor,
        assignee=actor,
        team_id=actor.team_id,
        special_mark=customer.special_mark,
        status=Status.NEW,
        created_at=now,
        updated_at=now,
        sla_started_at=now,
        search_text=search_text_for(subject, description),
    )
    sla.apply_targets(ticket, star_level=customer.star_level)
    sla.refresh(ticket)
    ticket.save()
    _event(
        ticket, EventKind.CREATED, actor, at=now,
        type=type, priority=priority, channel=channel,
        first_response_due_at=ticket.first_response_due_at, resolution_due_at=ticket.resolution_due_at,
    )
    audit_record(actor=actor, action="ticket.create", obj=ticket, changes={"number": ticket.number, "type": type})
    outbox.put("ticket.created", ticket_id=ticket.pk, number=ticket.number)
    return ticket


# --- conversation ----------------------------------------------------------------------------


@transaction.atomic
def ticket_reply(*, actor: User, ticket_id: int | str, body: str, version: int | None = None) -> Ticket:
    """A public reply to the customer. The first one is the first response (W6); a new order
    moves to in progress."""
    body = _require_text(body, "body", max_length=10000)
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if ticket.status == Status.CLOSED:
        raise TransitionNotAllowed(_("A closed work order cannot be replied to; reopen it first."), code="ticket_closed")
    now = timezone.now()
    fields = ["first_responded_at", "first_response_breached", "feedback_due_at"]
    sla.on_first_response(ticket, at=now)
    if ticket.status == Status.NEW:
        old = _move(ticket, Status.IN_PROGRESS, at=now)
        _event(ticket, EventKind.STATUS, actor, at=now, **{"from": old, "to": ticket.status})
        fields += ["status", *sla.FIELDS]
    _save(ticket, at=now, fields=fields)
    _event(ticket, EventKind.REPLY, actor, at=now, body=body, public=True)
    audit_record(actor=actor, action="ticket.reply", obj=ticket, changes={"length": len(body)})
    outbox.put("ticket.replied", ticket_id=ticket.pk)
    return ticket


@transaction.atomic
def ticket_note(*, actor: User, ticket_id: int | str, body: str, version: int | None = None) -> Ticket:
    """An internal note, never shown to the customer; allowed in every status."""
    body = _require_text(body, "body", max_length=10000)
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    now = timezone.now()
    _save(ticket, at=now, fields=[])
    _event(ticket, EventKind.NOTE, actor, at=now, body=body)
    audit_record(actor=actor, action="ticket.note", obj=ticket, changes={"length": len(body)})
    return ticket


# --- hand-over -------------------------------------------------------------------------------


def _find_department(value: str | int) -> Department:
    key = str(value).strip()
    dept = (
        Department.objects.filter(pk=int(key)).first() if key.isdigit()
        else Department.objects.filter(code=key).first() or Department.objects.filter(name=key).first()
    )
    if dept is None or not dept.active:
        raise ValidationFailed(fields={"department": _("Unknown department: %(name)s.") % {"name": key}})
    return dept


def _find_agent(agent_id: str) -> User:
    user = User.objects.filter(agent_id=str(agent_id).strip(), is_active=True).first()
    if user is None:
        raise ValidationFailed(fields={"agent": _("No active agent with id %(id)s.") % {"id": agent_id}})
    return user


@transaction.atomic
def ticket_transfer(
    *,
    actor: User,
    ticket_id: int | str,
    reason: str,
    department: str | int | None = None,
    agent: str | None = None,
    version: int | None = None,
) -> Ticket:
    """Hand the work to a department queue or another agent (W5). The owner stays (W4); the order
    waits on the department until it hands the work back."""
    reason = _require_text(reason, "reason", max_length=1000)
    if (department in (None, "")) == (agent in (None, "")):
        raise ValidationFailed(
            _("Give either a department or an agent to transfer to."),
            fields={"department": _("Give a department or an agent, not both.")},
        )
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if not ticket.is_open:
        raise TransitionNotAllowed(
            _("Only an open work order can be transferred (it is “%(status)s”).") % {"status": _status_label(ticket.status)},
            code="ticket_not_open",
        )
    now = timezone.now()
    before = {
        "assignee": ticket.assignee.agent_id if ticket.assignee else None,
        "department": ticket.assignee_department.code if ticket.assignee_department else None,
    }
    fields = ["assignee", "assignee_department"]
    if department not in (None, ""):
        dept = _find_department(department)  # type: ignore[arg-type]
        ticket.assignee, ticket.assignee_department = None, dept
        target: dict[str, Any] = {"department": dept.code, "department_name": dept.name}
        wanted = Status.PENDING_DEPARTMENT
    else:
        user = _find_agent(str(agent))
        ticket.assignee, ticket.assignee_department = user, None
        target = {"agent": user.agent_id, "agent_name": user.label}
        wanted = Status.IN_PROGRESS if ticket.status in (Status.NEW, Status.PENDING_DEPARTMENT) else ticket.status
    if wanted != ticket.status:
        old = _move(ticket, wanted, at=now)
        fields += ["status", *sla.FIELDS]
        _event(ticket, EventKind.STATUS, actor, at=now, body=reason, **{"from": old, "to": ticket.status})
    _save(ticket, at=now, fields=fields)
    _event(ticket, EventKind.TRANSFER, actor, at=now, body=reason, before=before, **target)
    audit_record(actor=actor, action="ticket.transfer", obj=ticket, changes={"from": before, "to": target}, reason=reason)
    outbox.put("ticket.transferred", ticket_id=ticket.pk, **target)
    return ticket


@transaction.atomic
def ticket_queue(*, actor: User, ticket_id: int | str, team_id: int | None, reason: str) -> Ticket:
    """Put an open order in a team's queue 待认领 (``team_id`` None: the queue every supervisor sees):
    nobody holds it until an agent of that team claims it (``ticket_claim``). Used when the work
    arrives with nobody free to take it — the answering bot's hand-over (K4)."""
    from kefu.accounts.models import Team

    reason = _require_text(reason, "reason", max_length=1000)
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=None)
    if not ticket.is_open:
        raise TransitionNotAllowed(
            _("Only an open work order can be queued (it is “%(status)s”).") % {"status": _status_label(ticket.status)},
            code="ticket_not_open",
        )
    team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
    if team_id is not None and team is None:
        raise ValidationFailed(fields={"team": _("No team with this name or id.")})
    now = timezone.now()
    before = {"assignee": ticket.assignee.agent_id if ticket.assignee else None, "team": ticket.team_id}
    ticket.assignee, ticket.assignee_department, ticket.team = None, None, team
    _save(ticket, at=now, fields=["assignee", "assignee_department", "team"])
    target = {"queue": team.pk if team else None, "queue_name": team.name if team else ""}
    _event(ticket, EventKind.TRANSFER, actor, at=now, body=reason, before=before, **target)
    audit_record(actor=actor, action="ticket.queue", obj=ticket, changes={"from": before, "to": target}, reason=reason)
    outbox.put("ticket.queued", ticket_id=ticket.pk, number=ticket.number, team=target["queue"], team_name=target["queue_name"])
    return ticket


@transaction.atomic
def ticket_claim(*, actor: User, ticket_id: int | str, version: int | None = None) -> Ticket:
    """An agent takes an order waiting in a queue 认领: it becomes theirs and work starts. Only an
    order nobody holds can be claimed (the first of two agents clicking at once wins; the second
    is told who was faster); an order in a team's queue only by that team, or by a supervisor."""
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if not ticket.is_open:
        raise TransitionNotAllowed(
            _("Only an open work order can be claimed (it is “%(status)s”).") % {"status": _status_label(ticket.status)},
            code="ticket_not_open",
        )
    if ticket.assignee_id is not None or ticket.assignee_department_id is not None:
        holder = ticket.assignee.label if ticket.assignee else ticket.assignee_department.name  # type: ignore[union-attr]
        raise TransitionNotAllowed(
            _("This work order is already held by %(holder)s.") % {"holder": holder}, code="ticket_already_held"
        )
    if not actor.agent_id or actor.department_id:
        raise PermissionDenied(_("Only front-line agents with an agent id can claim work orders."), code="not_an_agent")
    sees_all = actor.role in ALL_TICKETS_ROLES or actor.is_superuser
    if ticket.team_id is not None and ticket.team_id != actor.team_id and not sees_all:
        raise PermissionDenied(_("This work order waits in another team's queue."), code="other_team_queue")
    return ticket_transfer(actor=actor, ticket_id=ticket.pk, agent=actor.agent_id, reason=str(_("Claimed from the queue")))


@transaction.atomic
def ticket_escalate(*, actor: User, ticket_id: int | str, reason: str, version: int | None = None) -> Ticket:
    """Escalate to management (W5): the level rises by one and the reason is on the timeline."""
    reason = _require_text(reason, "reason", max_length=1000)
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if not ticket.is_open:
        raise TransitionNotAllowed(_("Only an open work order can be escalated."), code="ticket_not_open")
    now = timezone.now()
    ticket.escalation_level += 1
    _save(ticket, at=now, fields=["escalation_level"])
    _event(ticket, EventKind.ESCALATE, actor, at=now, body=reason, level=ticket.escalation_level)
    audit_record(actor=actor, action="ticket.escalate", obj=ticket, changes={"level": ticket.escalation_level}, reason=reason)
    outbox.put("ticket.escalated", ticket_id=ticket.pk, level=ticket.escalation_level)
    return ticket


@transaction.atomic
def ticket_set_priority(
    *, actor: User, ticket_id: int | str, priority: str, reason: str, version: int | None = None
) -> Ticket:
    """Change the urgency (W7); the time promises are recomputed for the new priority (W6)."""
    reason = _require_text(reason, "reason", max_length=1000)
    if priority not in Priority.values:
        raise ValidationFailed(fields={"priority": _("Unknown priority.")})
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if not ticket.is_open:
        raise TransitionNotAllowed(_("Only an open work order can change priority."), code="ticket_not_open")
    if ticket.priority == priority:
        return ticket
    now = timezone.now()
    old = ticket.priority
    ticket.priority = priority
    sla.apply_targets(ticket, star_level=_star(ticket))
    _save(ticket, at=now, fields=["priority", *sla.FIELDS])
    _event(
        ticket, EventKind.PRIORITY, actor, at=now, body=reason, **{"from": old, "to": priority},
        first_response_due_at=ticket.first_response_due_at, resolution_due_at=ticket.resolution_due_at,
    )
    audit_record(actor=actor, action="ticket.priority", obj=ticket, changes={"from": old, "to": priority}, reason=reason)
    # Issue #7: the promises moved; the analytics roll-up recounts the order.
    outbox.put("ticket.priority_changed", ticket_id=ticket.pk, old=old, new=priority)
    return ticket


# --- status ----------------------------------------------------------------------------------


def _transition(
    *,
    actor: User,
    ticket_id: int | str,
    to: str,
    version: int | None,
    reason: str = "",
    action: str,
    body_public: bool = False,
    extra: Any = None,
    only_from: tuple[str, ...] | None = None,
) -> Ticket:
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    if only_from is not None and ticket.status not in only_from:
        raise TransitionNotAllowed(
            _("A work order cannot go from “%(src)s” to “%(dst)s”.")
            % {"src": _status_label(ticket.status), "dst": _status_label(to)},
            src=ticket.status,
            dst=to,
        )
    now = timezone.now()
    old = _move(ticket, to, at=now)
    fields = ["status", *sla.FIELDS]
    if extra is not None:
        fields += extra(ticket, now)
    _save(ticket, at=now, fields=fields)
    _event(ticket, EventKind.STATUS, actor, at=now, body=reason, public=body_public, action=action, **{"from": old, "to": to})
    audit_record(actor=actor, action=f"ticket.{action}", obj=ticket, changes={"status": [old, to]}, reason=reason)
    outbox.put("ticket.status_changed", ticket_id=ticket.pk, old=old, new=to, action=action)
    return ticket


@transaction.atomic
def ticket_pend(*, actor: User, ticket_id: int | str, reason: str, version: int | None = None) -> Ticket:
    """Wait for the customer: the SLA clock pauses (W6)."""
    reason = _require_text(reason, "reason", max_length=1000)
    return _transition(actor=actor, ticket_id=ticket_id, to=Status.PENDING_CUSTOMER, version=version, reason=reason, action="pend")


@transaction.atomic
def ticket_resume(*, actor: User, ticket_id: int | str, reason: str = "", version: int | None = None) -> Ticket:
    """Back to work after waiting on the customer or a department; the clock runs again."""
    return _transition(
        actor=actor, ticket_id=ticket_id, to=Status.IN_PROGRESS, version=version, reason=reason, action="resume",
        only_from=(Status.PENDING_CUSTOMER, Status.PENDING_DEPARTMENT),
    )


@transaction.atomic
def ticket_resolve(*, actor: User, ticket_id: int | str, resolution: str, version: int | None = None) -> Ticket:
    """Record the solution; the order waits for the customer's confirmation (W3)."""
    resolution = _require_text(resolution, "resolution", max_length=10000)

    def extra(ticket: Ticket, now: datetime) -> list[str]:
        ticket.resolution = resolution
        ticket.resolved_at = now
        sla.on_resolve(ticket, at=now)
        return ["resolution", "resolved_at", "first_responded_at"]

    ticket = _transition(
        actor=actor, ticket_id=ticket_id, to=Status.RESOLVED, version=version, reason=resolution,
        action="resolve", body_public=True, extra=extra,
    )
    from kefu.followup.services import return_visit_schedule  # F1: in the same transaction

    return_visit_schedule(ticket=ticket)
    return ticket


@transaction.atomic
def ticket_confirm(*, actor: User, ticket_id: int | str, version: int | None = None, note: str = "") -> Ticket:
    """The customer confirms the solution: the order is closed and archived (W3)."""

    def extra(ticket: Ticket, now: datetime) -> list[str]:
        ticket.confirmed_at = ticket.closed_at = now
        return ["confirmed_at", "closed_at"]

    return _transition(actor=actor, ticket_id=ticket_id, to=Status.CLOSED, version=version, reason=note, action="confirm", extra=extra)


@transaction.atomic
def ticket_close(*, actor: User, ticket_id: int | str, reason: str, version: int | None = None) -> Ticket:
    """Close a resolved order without the customer's confirmation (e.g. no answer), with the reason."""
    reason = _require_text(reason, "reason", max_length=1000)

    def extra(ticket: Ticket, now: datetime) -> list[str]:
        ticket.closed_at = now
        return ["closed_at"]

    return _transition(actor=actor, ticket_id=ticket_id, to=Status.CLOSED, version=version, reason=reason, action="close", extra=extra)


@transaction.atomic
def ticket_reopen(*, actor: User, ticket_id: int | str, reason: str, version: int | None = None) -> Ticket:
    """Reopen a resolved or closed order: it counts as rework 返工 (W3, F3) and gets a fresh
    resolution promise; the work goes back to the owner if nobody holds it."""
    reason = _require_text(reason, "reason", max_length=1000)

    def extra(ticket: Ticket, now: datetime) -> list[str]:
        if ticket.merged_into_id is not None:
            raise TransitionNotAllowed(_("A merged work order cannot be reopened; reopen the order it was merged into."), code="ticket_merged")
        ticket.reopen_count += 1
        ticket.sla_step = 0  # issue #4: the fresh promise gets its own warnings and ladder
        ticket.resolved_at = ticket.closed_at = ticket.confirmed_at = None
        if ticket.assignee_id is None and ticket.assignee_department_id is None:
            ticket.assignee = ticket.owner
        sla.on_reopen(ticket, at=now, star_level=_star(ticket))
        return ["reopen_count", "resolved_at", "closed_at", "confirmed_at", "assignee", "sla_step"]

    return _transition(
        actor=actor, ticket_id=ticket_id, to=Status.IN_PROGRESS, version=version, reason=reason, action="reopen",
        extra=extra, only_from=(Status.RESOLVED, Status.CLOSED),
    )


# --- links and merge ---------------------------------------------------------------------------


@transaction.atomic
def ticket_link(
    *, actor: User, ticket_id: int | str, to: int | str, kind: str, version: int | None = None
) -> TicketLink:
    if kind not in LinkKind.values:
        raise ValidationFailed(fields={"kind": _("Unknown link kind.")})
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    try:
        other = access_ticket(viewer=actor, ticket_id=to)
    except NotFound:
        raise ValidationFailed(fields={"to": _("Work order %(id)s was not found.") % {"id": to}}) from None
    if other.pk == ticket.pk:
        raise ValidationFailed(fields={"to": _("A work order cannot be linked to itself.")})
    link, created = TicketLink.objects.get_or_create(source=ticket, target=other, kind=kind, defaults={"created_by": actor})
    if created:
        now = timezone.now()
        _save(ticket, at=now, fields=[])
        _event(ticket, EventKind.LINK, actor, at=now, link_kind=kind, target=other.number)
        _event(other, EventKind.LINK, actor, at=now, link_kind=kind, source=ticket.number, incoming=True)
        audit_record(actor=actor, action="ticket.link", obj=ticket, changes={"kind": kind, "target": other.number})
    return link


@transaction.atomic
def ticket_merge(
    *, actor: User, ticket_id: int | str, into: int | str, reason: str, version: int | None = None
) -> Ticket:
    """Merge a duplicate into another open order: the duplicate is closed with a pointer to the
    survivor, both timelines say so, and a duplicate link is kept."""
    reason = _require_text(reason, "reason", max_length=1000)
    source = access_ticket(viewer=actor, ticket_id=ticket_id)
    try:
        target = access_ticket(viewer=actor, ticket_id=into)
    except NotFound:
        raise ValidationFailed(fields={"into": _("Work order %(id)s was not found.") % {"id": into}}) from None
    if target.pk == source.pk:
        raise ValidationFailed(fields={"into": _("A work order cannot be merged into itself.")})
    # Lock both in id order so two opposite merges cannot deadlock.
    first, second = sorted([source.pk, target.pk])
    locked = {t.pk: t for t in [
        _lock(actor=actor, ticket_id=first, version=version if first == source.pk else None),
        _lock(actor=actor, ticket_id=second, version=version if second == source.pk else None),
    ]}
    source, target = locked[source.pk], locked[target.pk]
    if source.status not in MERGE_FROM:
        raise TransitionNotAllowed(_("Only an open work order can be merged."), code="ticket_not_open")
    if not target.is_open:
        raise ValidationFailed(fields={"into": _("The work order to merge into must be open.")})
    now = timezone.now()
    old = source.status
    source.status = Status.CLOSED
    sla.on_status_change(source, old=old, at=now)
    source.merged_into = target
    source.closed_at = now
    _save(source, at=now, fields=["status", "merged_into", "closed_at", *sla.FIELDS])
    TicketLink.objects.get_or_create(source=source, target=target, kind=LinkKind.DUPLICATE, defaults={"created_by": actor})
    _event(source, EventKind.MERGE, actor, at=now, body=reason, into=target.number, **{"from": old, "to": Status.CLOSED})
    _event(target, EventKind.MERGE, actor, at=now, body=reason, merged=source.number)
    _save(target, at=now, fields=[])
    audit_record(actor=actor, action="ticket.merge", obj=source, changes={"into": target.number}, reason=reason)
    outbox.put("ticket.status_changed", ticket_id=source.pk, old=old, new=Status.CLOSED, action="merge")
    return source


# --- attachments -------------------------------------------------------------------------------


def _allowed_type(name: str, declared: str) -> str | None:
    guessed = mimetypes.guess_type(name)[0] or ""
    allowed = set(settings.KEFU_ATTACHMENT_TYPES)
    # The declared type must be allowed and agree with the file name's extension.
    if declared in allowed and guessed == declared:
        return declared
    if declared in ("", "application/octet-stream") and guessed in allowed:
        return guessed
    return None


def attachment_validate(*, name: str, size: int, content_type: str) -> tuple[str, str]:
    """The clean file name and accepted type, or a field error naming what is wrong."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise ValidationFailed(fields={"file": _("The file has no name.")})
    if size <= 0:
        raise ValidationFailed(fields={"file": _("The file is empty.")})
    limit = settings.KEFU_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise ValidationFailed(
            fields={"file": _("The file is larger than %(mb).1f MB.") % {"mb": limit / 1024 / 1024}}, code="file_too_large"
        )
    kind = _allowed_type(name, (content_type or "").split(";")[0].strip().lower())
    if kind is None:
        raise ValidationFailed(
            fields={"file": _("This file type is not accepted: %(name)s.") % {"name": name}}, code="file_type_not_allowed"
        )
    return name, kind


@transaction.atomic
def ticket_attach(
    *, actor: User, ticket_id: int | str, name: str, content: bytes, content_type: str = "", version: int | None = None
) -> Attachment:
    """Attach a file within the size and type limits; the timeline records it."""
    name, kind = attachment_validate(name=name, size=len(content), content_type=content_type)
    ticket = _lock(actor=actor, ticket_id=ticket_id, version=version)
    now = timezone.now()
    digest = hashlib.sha256(content).hexdigest()
    att = Attachment(ticket=ticket, name=name, content_type=kind, size=len(content), sha256=digest, uploaded_by=actor)
    att.file.save(name, ContentFile(content), save=False)
    try:
        att.save()
        _save(ticket, at=now, fields=[])
        _event(ticket, EventKind.ATTACHMENT, actor, at=now, attachment_id=att.pk, name=name, size=len(content), content_type=kind)
        audit_record(actor=actor, action="ticket.attach", obj=ticket, changes={"name": name, "size": len(content), "sha256": digest})
    except BaseException:
        att.file.delete(save=False)  # nothing half-written: no orphan file when the rows fail
        raise
    return att
