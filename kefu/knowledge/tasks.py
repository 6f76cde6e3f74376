"""Background work of the knowledge base (K4, K5): the dense vectors of published item versions are
computed here, once per version, never at request time."""

from __future__ import annotations

from celery import shared_task

#: versions per run: about 20-60 s of encoding on one core
BATCH = 200


@shared_task(
    name="kefu.knowledge.compute_vectors_task", ignore_result=True, acks_late=True,
    autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=10,
)
def compute_vectors_task(limit: int = BATCH) -> int:
    """Encode up to ``limit`` published versions that have no stored vector, then send itself again
    if more are left — each run stays well inside the broker's visibility timeout, so a big import
    is never encoded twice by a redelivered message. Idempotent: a second run (or a run on another
    worker) finds nothing left to do. Sent on every ``kb.published`` event and also on a schedule,
    which catches anything a lost message left behind."""
    from .search import compute_vectors

    done = compute_vectors(limit=limit)
    if done >= limit:
        compute_vectors_task.delay(limit)
    return done
