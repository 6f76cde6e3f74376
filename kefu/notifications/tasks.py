"""Celery tasks of notifications: load by id, call a service (STYLE.md §2). Idempotent: a send
claims its row first, so a task delivered twice sends once."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="kefu.notifications.message_send_task", ignore_result=True)
def message_send_task(message_id: int) -> str:
    return services.message_send(message_id=message_id)


@shared_task(name="kefu.notifications.webhook_deliver_task", ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> str:
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="kefu.notifications.dispatch_due_task", ignore_result=True)
def dispatch_due_task() -> dict[str, int]:
    from kefu.core.relay import reconcile

    counts = services.dispatch_due()
    counts["republished"] = reconcile()
    return counts
