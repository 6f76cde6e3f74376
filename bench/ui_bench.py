"""Agent workspace page benchmark (issue #3): server-side render time of the work-order list and the
order detail page, p50/p95, on the ``kefu_bench`` PostgreSQL database that ``bench/api_bench.py
--orders N`` loads (1,000,000 orders by default).

Pages are rendered in-process through Django's test client (URL routing, middleware, session,
selectors, templates — everything but the socket), as an agent and as a supervisor (who sees every
order). Query counts are asserted by the tests (kefu/web/tests), not here.

Usage:  .venv/bin/python bench/ui_bench.py [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.update({"DATABASE_URL": f"{PG}/kefu_bench", "DJANGO_SETTINGS_MODULE": "kefu.settings",
                       "KEFU_VAR_DIR": str(ROOT / "var" / "bench"), "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from kefu.accounts.models import Role, User
    from kefu.tickets.models import Ticket
    from kefu.tickets.selectors import ticket_qs_for

    call_command("migrate", "web", verbosity=0)
    call_command("migrate", "portal", verbosity=0)
    total = Ticket.objects.count()
    rng = random.Random(7)
    results = []
    for role in (Role.AGENT, Role.SUPERVISOR):
        user = User.objects.filter(role=role, is_active=True).exclude(agent_id=None).order_by("id").first()
        client = Client()
        client.force_login(user)
        ids = list(ticket_qs_for(user).order_by("-id").values_list("id", flat=True)[:5000])
        pages = {
            "list (newest, 50 rows)": lambda: "/w/?tab=scope",
            "list (open, due soonest)": lambda: "/w/?tab=scope&sort=due&status=in_progress",
            "detail": lambda: f"/w/t/{rng.choice(ids)}/",
        }
        for name, url in pages.items():
            for _ in range(5):  # warm-up
                client.get(url())
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                r = client.get(url())
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
            results.append((role, name, statistics.median(times), pct(times, 95), pct(times, 99)))
    print(f"orders in database: {total:,}; {args.requests} requests per page")
    print(f"{'viewer':<11}{'page':<28}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for role, name, p50, p95, p99 in results:
        print(f"{role:<11}{name:<28}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}")


if __name__ == "__main__":
    main()
