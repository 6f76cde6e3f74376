"""The transactional-outbox relay (issue #4): publishes committed ``OutboxEvent`` rows to the broker.

Order of work for one batch: read unpublished rows (locked with SKIP LOCKED on PostgreSQL, so several
relays share the work), publish each as a ``handle_event_task`` message, then mark them published.
- Broker down: publishing fails, the rows stay unpublished (attempts counted) and the next poll tries
  again: an outage delays events, it loses none.
- Relay killed between publishing and marking: the rows are published again; the consumer's
  ``ConsumedEvent`` ledger makes the second copy a no-op (exactly once in effect).
- A message lost after publishing (broker lost its data, a consumer gave up): ``reconcile`` puts
  events published long ago but never consumed back into the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxEvent

log = logging.getLogger(__name__)

Publisher = Callable[[list[OutboxEvent]], None]


class BrokerUnavailable(Exception):
    pass


def celery_publisher(app: Any = None) -> Publisher:
    """Publish through Celery on one pooled producer, without kombu's own retry loop (the relay
    retries on its next poll, so one outage does not block the process). Events travel in chunks of
    KEFU_RELAY_CHUNK per message (consumed one by one, each in its own transaction), so the broker
    sees a few hundred messages a second instead of thousands."""
    from kefu.core.tasks import handle_events_task

    def publish(rows: list[OutboxEvent]) -> None:
        celery_app = app or handle_events_task.app
        size = max(1, settings.KEFU_RELAY_CHUNK)
        with celery_app.producer_or_acquire() as producer:
            for i in range(0, len(rows), size):
                chunk = rows[i:i + size]
                handle_events_task.apply_async(
                    args=([[r.pk, r.topic, r.payload] for r in chunk],), producer=producer, retry=False,
                )

    return publish


def relay_batch(*, publish: Publisher | None = None, limit: int | None = None) -> int:
    """Publish up to ``limit`` unpublished events; returns how many. Raises BrokerUnavailable (after
    counting the attempt on the rows) when the broker refuses them."""
    publish = publish or celery_publisher()
    limit = limit or settings.KEFU_RELAY_BATCH
    locking = connection.features.has_select_for_update_skip_locked
    error: Exception | None = None
    # SQLite has one writer: holding a transaction open while publishing would stall the web
    # server, so there the batch is read without a lock (the embedded default runs one relay).
    with transaction.atomic() if locking else _nullcontext():
        qs = OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")
        if locking:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:limit])
        if not rows:
            return 0
        ids = [r.pk for r in rows]
        try:
            publish(rows)
        except Exception as e:  # any broker/transport error: keep the rows for the next poll
            error = e
            OutboxEvent.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
        else:
            OutboxEvent.objects.filter(pk__in=ids).update(published_at=timezone.now(), attempts=F("attempts") + 1)
    if error is not None:
        raise BrokerUnavailable(str(error)) from error
    return len(rows)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def reconcile(*, older_than: timedelta = timedelta(minutes=10), window: int = 20000) -> int:
    """Put events published more than ``older_than`` ago but never consumed back for publishing.
    Looks at the last ``window`` events only (a primary-key range, cheap at any table size)."""
    from kefu.notifications.models import ConsumedEvent

    top = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first()
    if top is None:
        return 0
    cutoff = timezone.now() - older_than
    candidates = list(
        OutboxEvent.objects.filter(id__gt=top - window, published_at__lt=cutoff).values_list("id", flat=True)
    )
    if not candidates:
        return 0
    done = set(ConsumedEvent.objects.filter(event_id__in=candidates).values_list("event_id", flat=True))
    lost = [i for i in candidates if i not in done]
    if lost:
        log.warning("republishing %d events that were never consumed", len(lost))
        OutboxEvent.objects.filter(pk__in=lost).update(published_at=None)
    return len(lost)


def run_forever(*, poll: float | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """The relay loop (`kefu relay`): drain, sleep while idle, back off while the broker is down."""
    poll = poll if poll is not None else settings.KEFU_RELAY_POLL_SECONDS
    publish = celery_publisher()
    backoff = poll
    while not stop():
        try:
            n = relay_batch(publish=publish)
            backoff = poll
        except BrokerUnavailable as e:
            log.warning("broker unavailable, events wait in the outbox: %s", e)
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        except Exception:
            log.exception("relay batch failed")
            from django.db import close_old_connections

            close_old_connections()
            time.sleep(backoff)
            continue
        if n == 0:
            time.sleep(poll)
