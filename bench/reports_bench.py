"""Reports benchmark (issue #7): every report of ``kefu.analytics.reports`` for one month on PostgreSQL.

The data set is the one of ``bench/analytics_bench.py`` (its generator, not a copy): N work orders (default
1,000,000) and M contacts (default 5,000,000) over the last 365 days, with categories, regions, services,
timelines, return visits, survey answers and inspections. By default it lives in its own database
``kefu_rbench`` (``--db kefu_abench`` reuses the analytics benchmark's, read-only); ``--reuse`` keeps a loaded one.

For the 30 whole days before today it measures p50/p95 of each report built by the selector alone, through
the API as JSON and as .xlsx, and as the page, as a supervisor (everything), and the daily summary and the
scoring sheet as a team lead and as an agent.

Usage:  .venv/bin/python bench/reports_bench.py [--orders 1000000] [--contacts 5000000] [--reps 10] [--reuse]
        [--db kefu_rbench]
Prints a table and, last, one JSON line. Target (issue #7): p95 < 300 ms for a month.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import analytics_bench as ab  # noqa: E402 — the data generator and timing helpers of issue #7


def measure(reps: int) -> dict[str, dict[str, float]]:
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.accounts.services import token_create
    from kefu.analytics.reports import REPORTS, Period, report_build

    sup = User.objects.get(username="abench_sup")
    lead = User.objects.get(username="abench_lead")
    agent = User.objects.get(username="abench1")
    today = timezone.localdate()
    month = Period.of_days(today - timedelta(days=30), today - timedelta(days=1))
    day = Period.of_days(today - timedelta(days=1), today - timedelta(days=1))
    q = f"from={today - timedelta(days=30)}&to={today - timedelta(days=1)}"
    web = Client()
    web.force_login(sup)
    _t, token = token_create(user=sup)
    hdr = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(client: Any, path: str, **extra: Any) -> Any:
        def go() -> None:
            r = client.get(path, **extra)
            assert r.status_code == 200, (path, r.status_code, r.content[:300])
        return go

    cases: dict[str, Any] = {}
    for name in REPORTS:
        cases[f"selector {name}"] = lambda n=name: report_build(n, viewer=sup, period=month)
        cases[f"API {name} json"] = get(web, f"/api/v1/analytics/reports/{name}?{q}", **hdr)
        cases[f"API {name} xlsx"] = get(web, f"/api/v1/analytics/reports/{name}?{q}&format=xlsx", **hdr)
        cases[f"page /a/r/{name}/"] = get(web, f"/a/r/{name}/?{q}")
    cases["selector daily_summary, one day per agent"] = lambda: report_build("daily_summary", viewer=sup, period=day)
    cases["selector complaint_causes by region"] = lambda: report_build("complaint_causes", viewer=sup, period=month,
                                                                        dimension="region")
    cases["selector complaint_causes by product"] = lambda: report_build("complaint_causes", viewer=sup, period=month,
                                                                         dimension="product")
    for who, user in (("team lead", lead), ("agent", agent)):
        for name in ("daily_summary", "scoring_sheet", "feedback_register"):
            cases[f"selector {name} as {who}"] = lambda n=name, u=user: report_build(n, viewer=u, period=month)
    out = {}
    for label, fn in cases.items():
        out[label] = ab.timed(fn, reps)
        ab.log(f"  {label}: {out[label]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--contacts", type=int, default=5_000_000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--db", default="kefu_rbench")
    a = ap.parse_args()
    ab.DB, ab.URL = a.db, f"{ab.PG}/{a.db}"
    ab.setup_django()
    t0 = time.time()
    loaded = ab.prepare(a.orders, a.contacts, a.reuse)
    ab.log(f"data {'loaded' if loaded else 'reused'} in {time.time() - t0:.0f}s; measuring…")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM tickets_ticket), (SELECT count(*) FROM interactions_interaction)")
        n_orders, n_contacts = cur.fetchone()
    figures = measure(a.reps)
    worst = max(figures.items(), key=lambda kv: kv[1]["p95"])
    ab.log(f"\n{n_orders:,} work orders, {n_contacts:,} contacts; one month; {a.reps} runs each (ms)")
    ab.log(f"{'case':<58} {'p50':>8} {'p95':>8}")
    for label, f in figures.items():
        ab.log(f"{label:<58} {f['p50']:>8} {f['p95']:>8}")
    ab.log(f"slowest p95: {worst[0]} {worst[1]['p95']} ms (target < 300 ms)")
    print(json.dumps({"orders": n_orders, "contacts": n_contacts, "reps": a.reps, "figures": figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
