"""The consumer end of the outbox relay (issue #4)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import events


@shared_task(
    name="kefu.core.handle_event_task", ignore_result=True,
    autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=20,
)
def handle_event_task(event_id: int, topic: str, payload: dict[str, Any]) -> bool:
    return events.consume(event_id=event_id, topic=topic, payload=payload)


@shared_task(name="kefu.core.handle_events_task", ignore_result=True)
def handle_events_task(events_: list[list[Any]]) -> int:
    """A chunk from the relay: each event consumed on its own; one that fails goes on as its own
    retried ``handle_event_task``, the others are not held back by it."""
    done = 0
    for event_id, topic, payload in events_:
        try:
            done += events.consume(event_id=event_id, topic=topic, payload=payload)
        except Exception:
            handle_event_task.apply_async(args=(event_id, topic, payload), countdown=5)
    _rollup(events_)
    return done


def _rollup(events_: list[list[Any]]) -> None:
    """Issue #7: the analytics roll-up applies the whole chunk in one transaction with its own ledger
    by event id (a redelivered chunk changes nothing); if that fails, the chunk is retried on its own
    and the messages above are not held back."""
    from kefu.analytics.rollup import apply_events
    from kefu.analytics.tasks import rollup_apply_task

    try:
        apply_events([(e[0], e[1], e[2]) for e in events_])
    except Exception:
        rollup_apply_task.apply_async(args=(events_,), countdown=5)
