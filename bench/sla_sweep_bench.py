"""SLA sweep benchmark (issue #4): PostgreSQL, 1,000,000 open work orders, one sweep.

Loads the orders with generate_series: most have their next ladder step in the future, CHANGING of
them crossed the 50 % warning and BREACHED crossed their due time. Prints how long one sweep takes,
how many orders it examined and changed, and shows a second sweep examines nothing.

    .venv/bin/python bench/sla_sweep_bench.py [--orders 1000000] [--changing 1000] [--breached 100] [--reuse]
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
DB = "kefu_bench_sla"
URL = f"{PG}/{DB}".replace("postgresql://", "postgres://")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--changing", type=int, default=1000)
    ap.add_argument("--breached", type=int, default=100)
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    os.environ.update({"DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "kefu.settings",
                       "KEFU_VAR_DIR": str(ROOT / "var" / "bench")})
    sys.path.insert(0, str(ROOT))
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        if not a.reuse:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            c.execute(f"CREATE DATABASE {DB}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    pg = f"{PG}/{DB}"
    t0 = time.time()
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("TRUNCATE tickets_ticket, tickets_ticketevent, core_outboxevent, notifications_notice,"
                  " notifications_message, audit_auditrecord CASCADE")
        if not c.execute("SELECT 1 FROM accounts_team WHERE name = '压测班'").fetchone():
            team = c.execute("INSERT INTO accounts_team (name) VALUES ('压测班') RETURNING id").fetchone()[0]
            c.execute(
                "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
                " is_active, date_joined, role, agent_id, display_name, level, team_id) SELECT '!', false, 'sla' || g,"
                " '', '', '', false, true, now(), 'agent', (6000 + g)::text, '压测' || g, 'junior', %s"
                " FROM generate_series(1, 24) g", [team])
            c.execute("INSERT INTO customers_customer (name, id_number, province, city, address, star_level,"
                      " special_mark, special_note, do_not_disturb, created_at, updated_at)"
                      " SELECT '客户' || g, '', '广东', '广州', '', 0, false, '', false, now(), now()"
                      " FROM generate_series(1, 10000) g")
            c.execute("INSERT INTO customers_customerphone (customer_id, number, kind, is_primary)"
                      " SELECT id, '139' || lpad(id::text, 8, '0'), 'mobile', true FROM customers_customer")
        team = c.execute("SELECT id FROM accounts_team WHERE name = '压测班'").fetchone()[0]
        # Created-at: the first CHANGING orders 25 h ago (past 50 % of 48 h), the first BREACHED 49 h ago,
        # the rest within the last 23 h (next step still ahead).
        c.execute(
            """
            INSERT INTO tickets_ticket (number, type, priority, channel, customer_id, subject, description,
                contact_phone, owner_id, assignee_id, team_id, status, version, special_mark, escalation_level,
                reopen_count, resolution, created_at, updated_at, first_responded_at, sla_started_at,
                first_response_due_at, resolution_due_at, sla_breach_at, first_response_breached,
                resolution_breached, sla_pauses, search_text, sla_step, sla_watch_at)
            SELECT 'SB' || lpad(g::text, 10, '0'), 'fault', 'normal', 'phone', cmin + (g %% 10000), '宽带故障', '', '',
                umin + (g %% 24), umin + (g %% 24), %(team)s, 'in_progress', 1, false, 0, 0, '',
                ts, ts, ts + interval '10 minutes', ts, ts + interval '2 hours', ts + interval '48 hours',
                ts + interval '48 hours', false, false, '[]'::jsonb, '', 0, ts + interval '24 hours'
            FROM (
                SELECT g, CASE WHEN g <= %(breached)s THEN now() - interval '49 hours'
                               WHEN g <= %(changing)s THEN now() - interval '25 hours'
                               ELSE now() - (g %% 82800) * interval '1 second' END AS ts
                FROM generate_series(1, %(n)s) g
            ) s
            CROSS JOIN (SELECT min(id) AS cmin FROM customers_customer) cc
            CROSS JOIN (SELECT min(id) AS umin FROM accounts_user WHERE username LIKE 'sla%%') uu
            """,
            {"n": a.orders, "team": team, "changing": a.changing, "breached": a.breached},
        )
        c.execute("VACUUM ANALYZE tickets_ticket")
        open_n = c.execute("SELECT count(*) FROM tickets_ticket WHERE status = 'in_progress'").fetchone()[0]
    print(f"loaded {open_n:,} open work orders in {time.time() - t0:.1f}s")

    from django.db import connection

    from kefu.core.events import system_actor
    from kefu.tickets.escalation import sla_sweep
    from kefu.tickets.models import Ticket

    system_actor()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN SELECT id FROM tickets_ticket WHERE sla_watch_at <= now() ORDER BY sla_watch_at LIMIT 5000")
        plan = " / ".join(r[0].strip() for r in cur.fetchall()[:3])
    before = dict(Ticket.objects.filter(sla_step__gt=0).values_list("id", "sla_step"))
    t = time.perf_counter()
    r = sla_sweep()
    first = time.perf_counter() - t
    t = time.perf_counter()
    r2 = sla_sweep()
    second = time.perf_counter() - t
    changed = Ticket.objects.filter(sla_step__gt=0).count() - len(before)
    print(f"plan: {plan}")
    print(f"sweep 1: {first:.2f}s, examined {r.examined:,}, advanced {r.advanced:,} "
          f"(orders with a new ladder step: {changed:,} of {open_n:,})")
    print(f"sweep 2: {second * 1000:.1f}ms, examined {r2.examined}, advanced {r2.advanced}")
    escalated = Ticket.objects.filter(escalation_level__gt=0).count()
    print(f"escalated (breached) orders: {escalated:,}")


if __name__ == "__main__":
    main()
