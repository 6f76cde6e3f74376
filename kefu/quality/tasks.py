"""Background inspection (Q1-Q4): load by id, call the idempotent service, own the retries."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="kefu.quality.inspect_interaction_task", ignore_result=True, acks_late=True,
    autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=10,
)
def inspect_interaction_task(interaction_id: int) -> int:
    """Inspect one contact with the active rule set; running it twice writes once."""
    from .services import inspect_interaction

    return inspect_interaction(interaction_id).pk
