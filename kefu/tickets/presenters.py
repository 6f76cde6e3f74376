"""How a work order looks to a viewer — shared by the API and the pages; personal data masked (X1)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from kefu.accounts.models import User
from kefu.accounts.permissions import sees_plain_pii
from kefu.core.masking import mask_name, mask_phone

from .models import CLOCK_RUNNING_STATUSES, Attachment, Ticket, TicketEvent, TicketLink


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "agent_id": user.agent_id, "name": user.display_name or user.username}


def attachment_present(att: Attachment) -> dict[str, Any]:
    return {
        "id": att.pk, "name": att.name, "content_type": att.content_type, "size": att.size,
        "sha256": att.sha256, "created_at": att.created_at,
        "url": f"/api/v1/tickets/{att.ticket_id}/attachments/{att.pk}",
    }


def event_present(ev: TicketEvent) -> dict[str, Any]:
    return {
        "id": ev.pk, "kind": ev.kind, "at": ev.created_at, "actor": user_ref(ev.actor),
        "public": ev.public, "body": ev.body, "data": ev.data,
    }


def ticket_present(ticket: Ticket, viewer: User, *, detail: bool = False) -> dict[str, Any]:
    plain = sees_plain_pii(viewer)
    now = timezone.now()
    running = ticket.status in CLOCK_RUNNING_STATUSES
    first_late = bool(
        running and ticket.first_responded_at is None and ticket.first_response_due_at and ticket.first_response_due_at < now
    )
    res_late = bool(running and ticket.resolution_due_at and ticket.resolution_due_at < now)
    dept = ticket.assignee_department
    data: dict[str, Any] = {
        "id": ticket.pk,
        "number": ticket.number,
        "type": ticket.type,
        "priority": ticket.priority,
        "status": ticket.status,
        "channel": ticket.channel,
        "subject": ticket.subject,
        "category": (
            {"id": ticket.category.pk, "code": ticket.category.code, "name": ticket.category.name}
            if ticket.category_id else None
        ),
        "customer": {
            "id": ticket.customer_id,
            "name": ticket.customer.name if plain else mask_name(ticket.customer.name),
        },
        "service_id": ticket.service_id,
        "contact_phone": (ticket.contact_phone if plain else mask_phone(ticket.contact_phone)) or None,
        "owner": user_ref(ticket.owner),
        "assignee": (
            {"kind": "department", "id": dept.pk, "code": dept.code, "name": dept.name}
            if dept is not None
            else ({"kind": "agent", **(user_ref(ticket.assignee) or {})} if ticket.assignee_id else None)
        ),
        "special_mark": ticket.special_mark,
        "escalation_level": ticket.escalation_level,
        "reopen_count": ticket.reopen_count,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "first_responded_at": ticket.first_responded_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "first_response_due_at": ticket.first_response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "feedback_due_at": ticket.feedback_due_at,
        "sla_paused": ticket.sla_paused_at is not None,
        "breached": {
            "first_response": ticket.first_response_breached or first_late,
            "resolution": ticket.resolution_breached or res_late,
            "now": first_late or res_late,
        },
        "merged_into": ticket.merged_into.number if ticket.merged_into_id else None,
        "version": ticket.version,
    }
    if detail:
        data["description"] = ticket.description
        data["resolution"] = ticket.resolution
        data["customer"]["star_level"] = ticket.customer.star_level
        data["customer"]["special_mark"] = ticket.customer.special_mark
        data["customer"]["do_not_disturb"] = ticket.customer.do_not_disturb
        data["sla_policy"] = ticket.sla_policy.name if ticket.sla_policy_id else None
        data["timeline"] = [
            event_present(e) for e in TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
        ]
        data["links"] = [
            {"kind": link.kind, "direction": "out", "number": link.target.number}
            for link in TicketLink.objects.filter(source=ticket).select_related("target")
        ] + [
            {"kind": link.kind, "direction": "in", "number": link.source.number}
            for link in TicketLink.objects.filter(target=ticket).select_related("source")
        ]
        data["attachments"] = [attachment_present(a) for a in ticket.attachments.order_by("id")]
    return data
