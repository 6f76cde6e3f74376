"""Consuming outbox events (issue #4): each event's consumers run once, in one transaction with a
``ConsumedEvent`` row keyed by the event id. A redelivered event (the relay published it again, or a
worker died before acknowledging it) finds the row and does nothing twice.

Consumers: customer messages (W8), webhooks. Return visits are scheduled by ``ticket_resolve`` itself,
in the resolving transaction.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from django.db import IntegrityError, transaction

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "kefu-system"


def system_actor() -> Any:
    """The user that background jobs act as: every automatic change is attributed and audited (X3).
    It has no usable password and cannot log in."""
    from kefu.accounts.models import Role, User

    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user, _created = User.objects.get_or_create(
            username=SYSTEM_USERNAME,
            defaults={"role": Role.SUPERVISOR, "display_name": "系统", "is_active": True},
        )
        if _created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    return user


def _ticket(payload: dict[str, Any]) -> Any:
    from kefu.tickets.models import Ticket

    return Ticket.objects.select_related("customer").filter(pk=payload.get("ticket_id")).first()


def _on_ticket_created(event_id: int, payload: dict[str, Any]) -> None:
    from kefu.notifications.services import customer_notify

    t = _ticket(payload)
    if t is not None and t.resolution_due_at is not None:
        customer_notify(ticket=t, template="ticket_received", dedupe=f"received:{t.pk}")


def _on_ticket_transferred(event_id: int, payload: dict[str, Any]) -> None:
    from kefu.notifications.services import customer_notify

    t = _ticket(payload)
    if t is not None and payload.get("department_name"):
        customer_notify(ticket=t, template="ticket_transferred", dedupe=f"transferred:{event_id}",
                        department=payload["department_name"])


def _on_status_changed(event_id: int, payload: dict[str, Any]) -> None:
    from kefu.notifications.services import customer_notify

    if payload.get("new") != "resolved":
        return
    t = _ticket(payload)
    if t is not None:
        customer_notify(ticket=t, template="ticket_resolved", dedupe=f"resolved:{event_id}")


def _on_kb_published(event_id: int, payload: dict[str, Any]) -> None:
    """Issue #5: compute the new version's vector in the background, after this transaction (one run
    for many versions published together: ``request_vectors``)."""
    from kefu.knowledge.tasks import request_vectors

    transaction.on_commit(request_vectors)


HANDLERS: dict[str, list[Any]] = {
    "kb.published": [_on_kb_published],
    "ticket.created": [_on_ticket_created],
    "ticket.transferred": [_on_ticket_transferred],
    "ticket.status_changed": [_on_status_changed],
}


def consume(*, event_id: int, topic: str, payload: dict[str, Any]) -> bool:
    """Run the consumers of one event; False when it had already been consumed."""
    from kefu.notifications.models import ConsumedEvent
    from kefu.notifications.services import webhook_fanout

    with transaction.atomic():
        try:
            with transaction.atomic():
                ConsumedEvent.objects.create(event_id=event_id, topic=topic)
        except IntegrityError:
            return False
        for handler in HANDLERS.get(topic, []):
            handler(event_id, payload)
        webhook_fanout(event_id=event_id, topic=topic, payload=payload)
        # Fault injection for the kill-a-worker test: hold the transaction open (never set in production).
        delay = float(os.environ.get("KEFU_FAULT_CONSUME_DELAY", "0") or 0)
        if delay:
            marker = os.environ.get("KEFU_FAULT_MARKER")
            if marker:
                with open(marker, "a") as fh:
                    fh.write(f"{event_id}\n")
            time.sleep(delay)
    return True
