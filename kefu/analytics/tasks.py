"""Background jobs of analytics (issue #7)."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(
    name="kefu.analytics.rollup_apply_task", ignore_result=True,
    autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=20,
)
def rollup_apply_task(events_: list[list[Any]]) -> int:
    """Apply a chunk of outbox events to the daily roll-up (idempotent: applied events are skipped)."""
    from .rollup import apply_events

    return apply_events([(e[0], e[1], e[2]) for e in events_])
