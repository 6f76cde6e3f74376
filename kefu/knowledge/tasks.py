"""Background work of the knowledge base (K4, K5): the dense vectors of published item versions are
computed here, once per version, never at request time."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

#: versions per run: about 20-60 s of encoding on one core
BATCH = 200
#: a run is queued or running (set by ``request_vectors``, cleared at the end of the run)
QUEUED_KEY = "kefu:kb:vectors:queued"
#: a version was published since the running run read its work list
DIRTY_KEY = "kefu:kb:vectors:dirty"
#: how long the marks hold if a run is lost; the schedule (``KEFU_KB_VECTORS_SECONDS``) runs the job
#: anyway
MARK_SECONDS = 900


def request_vectors(limit: int = BATCH) -> bool:
    """Ask for a vector run, unless one is already queued or running (then that one, or the one
    it sends at its end, encodes the new version). An import of 50,000 items publishes 50,000
    versions: one chain of runs, not 50,000 runs — each of which reads the whole table to find
    nothing left, two of them at a time encoding the same versions. Returns whether a run was sent."""
    cache.set(DIRTY_KEY, 1, MARK_SECONDS)
    if not cache.add(QUEUED_KEY, 1, MARK_SECONDS):
        return False
    compute_vectors_task.delay(limit)
    return True


@shared_task(
    name="kefu.knowledge.compute_vectors_task", ignore_result=True, acks_late=True,
    autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=10,
)
def compute_vectors_task(limit: int = BATCH) -> int:
    """Encode up to ``limit`` published versions that have no stored vector, then send itself again
    if more are left or a version was published meanwhile — each run stays well inside the broker's
    visibility timeout, so a big import is never encoded twice by a redelivered message. Idempotent:
    a second run (or a run on another worker) finds nothing left to do. Asked for on ``kb.published``
    events (``request_vectors``) and also sent on a schedule, which catches anything a lost message
    left behind."""
    from .search import compute_vectors

    cache.delete(DIRTY_KEY)
    try:
        done = compute_vectors(limit=limit)
    finally:
        cache.delete(QUEUED_KEY)
    if done >= limit or cache.get(DIRTY_KEY):
        request_vectors(limit)
    return done
