"""Background jobs of work orders (issue #4)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kefu.tickets.sla_sweep_task", ignore_result=True)
def sla_sweep_task() -> int:
    from .escalation import sla_sweep

    return sla_sweep().advanced
