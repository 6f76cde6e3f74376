"""kefu worker / kefu beat: the Celery worker and scheduler with kefu's app (issue #4)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a Celery worker for kefu (extra arguments go to celery worker)."
    celery_command = "worker"

    def run_from_argv(self, argv: list[str]) -> None:
        extra = argv[2:]
        os.execv(sys.executable, [sys.executable, "-m", "celery", "-A", "kefu.celery", self.celery_command, *extra])

    def handle(self, *args: Any, **opts: Any) -> None:  # pragma: no cover — run_from_argv execs
        raise SystemExit(0)
