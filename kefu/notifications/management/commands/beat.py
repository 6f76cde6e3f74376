"""kefu beat: the one Celery scheduler (periodic SLA sweep, dispatch, follow-up cycle)."""

from __future__ import annotations

from .worker import Command as WorkerCommand


class Command(WorkerCommand):
    help = "Run the Celery beat scheduler for kefu (run exactly one)."
    celery_command = "beat"
