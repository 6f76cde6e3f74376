"""Background jobs of return visits (issue #4)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kefu.followup.followup_cycle_task", ignore_result=True)
def followup_cycle_task() -> int:
    from .services import cyclical_visits_schedule

    return cyclical_visits_schedule()
