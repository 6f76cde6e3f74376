"""The Celery application (issue #4).

Embedded default (``CELERY_BROKER_URL`` unset): a filesystem queue under ``var/``; ``kefu serve``
starts one worker with the scheduler built in next to the web server, so nothing else is installed.
At scale: ``CELERY_BROKER_URL=redis://…`` or ``amqp://…``, ``kefu worker`` on as many machines as
needed, exactly one ``kefu beat`` and one or more ``kefu relay``.

Every task is idempotent: acknowledged late (a killed worker's job is delivered again) and guarded
by database state (a job run twice does its work once).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

app = Celery("kefu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["kefu.tickets", "kefu.notifications", "kefu.followup", "kefu.core", "kefu.knowledge", "kefu.analytics"])
app.autodiscover_tasks(["kefu.analytics"], related_name="report_tasks")  # the e-mailed reports


def beat_schedule() -> dict[str, dict[str, object]]:
    from django.conf import settings

    return {
        "sla-sweep": {"task": "kefu.tickets.sla_sweep_task", "schedule": float(settings.KEFU_SLA_SWEEP_SECONDS)},
        "dispatch-due": {"task": "kefu.notifications.dispatch_due_task", "schedule": float(settings.KEFU_DISPATCH_SECONDS)},
        "followup-cycle": {"task": "kefu.followup.followup_cycle_task", "schedule": float(settings.KEFU_FOLLOWUP_SECONDS)},
        "report-subscriptions": {"task": "kefu.analytics.report_subscriptions_due_task",
                                 "schedule": float(settings.KEFU_REPORT_SWEEP_SECONDS)},
        # Issue #5: vectors of published knowledge (also sent on every kb.published event).
        "kb-vectors": {"task": "kefu.knowledge.compute_vectors_task",
                       "schedule": float(getattr(settings, "KEFU_KB_VECTORS_SECONDS", 300))},
    }


@app.on_after_configure.connect
def _schedule(sender: Celery, **_kw: object) -> None:
    sender.conf.beat_schedule = beat_schedule()
