"""Background job of the e-mailed reports (issue #7): load, call a service (STYLE.md §2). Idempotent —
each (subscription, day) is claimed once before it is sent, so a retried or doubled run sends nothing
twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kefu.analytics.report_subscriptions_due_task", ignore_result=True)
def report_subscriptions_due_task() -> dict[str, int]:
    from .report_services import report_subscriptions_due

    return report_subscriptions_due()
