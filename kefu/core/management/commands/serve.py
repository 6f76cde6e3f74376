"""kefu serve: the production server configuration (gunicorn, N workers) on 127.0.0.1:$PORT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve kefu with gunicorn (the production configuration)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        url = f"http://{opts['host']}:{opts['port']}"
        creds = settings.VAR_DIR / "demo_credentials.txt"
        self.stdout.write(f"\nkefu is starting on {url}\n")
        self.stdout.write(f"  admin:    {url}/admin/\n  API:      {url}/api/v1/  (spec: {url}/api/v1/openapi.json)\n")
        self.stdout.write(f"  health:   {url}/healthz\n")
        if creds.exists():
            self.stdout.write("  log in with:\n" + "".join(f"    {line}" for line in creds.read_text().splitlines(True)))
        self.stdout.write("  API token: .venv/bin/kefu token create admin\n\n")
        self.stdout.flush()
        argv = [
            sys.executable, "-m", "gunicorn", "kefu.wsgi:application",
            "--bind", f"{opts['host']}:{opts['port']}", "--workers", str(opts["workers"]),
            "--access-logfile", "-", "--graceful-timeout", "10",
        ]
        if not settings.KEFU_EMBEDDED_JOBS:
            os.execv(sys.executable, argv)  # at scale, workers, beat and relay run on their own
        # Issue #4, embedded default: a Celery worker with the scheduler built in (-B) and the outbox
        # relay run next to the web server as child processes; the queue is a folder under var/.
        kefu = [sys.executable, "-m", "kefu.cli"]
        children = [
            subprocess.Popen([*kefu, "worker", "-B", "--pool", "threads", "--concurrency", "2", "-l", "warning"]),
            subprocess.Popen([*kefu, "relay"]),
        ]
        self.stdout.write("  jobs:     worker + scheduler + outbox relay (embedded, no broker server)\n\n")
        web = subprocess.Popen(argv)

        def stop(signum: int, _frame: object) -> None:
            for proc in [web, *children]:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        code = web.wait()
        stop(signal.SIGTERM, None)
        for proc in children:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(code)
