"""Outbox relay benchmark (issue #4): events per second from PostgreSQL to Redis.

    .venv/bin/python bench/outbox_bench.py [--events 50000] [--redis redis://127.0.0.1:6379/5]

Uses its own database (kefu_bench_outbox) and Redis DB 5 (flushed before and after).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "kefu_bench_outbox"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    os.environ.update({"DATABASE_URL": f"{PG}/{DB}".replace("postgresql://", "postgres://"),
                       "DJANGO_SETTINGS_MODULE": "kefu.settings", "CELERY_BROKER_URL": a.redis,
                       "KEFU_VAR_DIR": str(ROOT / "var" / "bench")})
    sys.path.insert(0, str(ROOT))
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            c.execute(f"CREATE DATABASE {DB}")
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    r = redis.Redis.from_url(a.redis)
    r.flushdb()
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as c:
        c.execute("TRUNCATE core_outboxevent")
        c.execute("INSERT INTO core_outboxevent (topic, payload, created_at, attempts) SELECT 'ticket.created',"
                  " jsonb_build_object('ticket_id', g, 'number', 'GD' || g), now(), 0 FROM generate_series(1, %s) g",
                  [a.events])
        c.execute("VACUUM ANALYZE core_outboxevent")
    from kefu.core import relay

    publish = relay.celery_publisher()
    t = time.perf_counter()
    total = 0
    while n := relay.relay_batch(publish=publish, limit=a.batch):
        total += n
    dt = time.perf_counter() - t
    queued = r.llen("celery")
    print(f"relayed {total:,} events in {dt:.2f}s = {total / dt:,.0f} events/s (batch {a.batch}); "
          f"messages in Redis: {queued:,}")
    r.flushdb()


if __name__ == "__main__":
    main()
