"""Analytics benchmark (issue #7).

On PostgreSQL (database ``kefu_abench`` on $BENCH_PG, default postgres://postgres@127.0.0.1:5432) it
generates with INSERT … SELECT generate_series (server-side bulk inserts):

- 200 agents in 5 teams, 100,000 customers over 31 provinces (created 400 days ago);
- N work orders (default 1,000,000) over the last 365 days: six types, seven channels, the seeded
  categories, promises, first responses, resolutions, closures, escalations; their timeline (resolve,
  reopen, transfer events); return visits for about 15 % and survey answers for about 20 %;
- M contacts (default 5,000,000) over the same year, 80 % calls (about 7 % abandoned), with waiting, talk,
  hold and wrap-up times; a current inspection with a score for 10 % of them;

then rebuilds the roll-ups with ``kefu.analytics.rollup.rebuild`` (timed), and measures:

- p50/p95 of every dashboard query and API for one month — the 30 whole days before today, and the 30
  days up to today (the today correction reads raw data) — in-process through Django's test client
  (page and JSON API, full view + template) and through the selectors alone;
- roll-up throughput: fresh outbox events (new orders, status changes on existing orders, new contacts)
  applied the way a worker applies a relay message of 50 (``kefu.core.tasks.handle_events_task``: every
  consumer — customer messages, webhooks — then the roll-up for the chunk), the roll-up alone in chunks
  of 50 (``rollup.apply_events``), and the roll-up alone one event per transaction.

Usage:  .venv/bin/python bench/analytics_bench.py [--orders 1000000] [--contacts 5000000] [--reps 15]
        [--events 3000] [--reuse]
Prints a table and, last, one JSON line. Figures depend on the machine; on the shared 2-core development
machine other work runs at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "kefu_abench"
URL = f"{PG}/{DB}"


def log(msg: str) -> None:
    print(msg, flush=True)


def setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.update({"DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "kefu.settings",
                       "KEFU_VAR_DIR": str(ROOT / "var" / "bench"), "ALLOWED_HOSTS": "testserver,127.0.0.1"})
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    django.setup()


def prepare(orders: int, contacts: int, reuse: bool) -> bool:
    """True when data was (re)loaded."""
    from django.core.management import call_command

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone()
        if exists and reuse:
            call_command("migrate", verbosity=0)
            with psycopg.connect(URL, autocommit=True) as d:
                n = d.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
                m = d.execute("SELECT count(*) FROM interactions_interaction").fetchone()[0]
            if n >= orders and m >= contacts:
                log(f"reusing {DB}: {n:,} work orders, {m:,} contacts")
                return False
        from django.db import connections

        connections.close_all()
        c.execute(f"DROP DATABASE IF EXISTS {DB}")
        c.execute(f"CREATE DATABASE {DB}")
    log("migrating…")
    call_command("migrate", verbosity=0)
    load(orders, contacts)
    return True


class _Runner:
    """``execute`` with psycopg's rule that ``%%`` is an escape only when parameters are passed."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = None) -> Any:
        return self.conn.execute(sql if params is not None else sql.replace("%%", "%"), params)


def load(orders: int, contacts: int) -> None:
    t0 = time.time()
    provinces = ["广东", "江苏", "浙江", "山东", "河南", "四川", "湖北", "湖南", "河北", "福建", "安徽", "上海", "北京",
                 "陕西", "江西", "重庆", "辽宁", "云南", "广西", "山西", "天津", "贵州", "黑龙江", "吉林", "内蒙古",
                 "新疆", "甘肃", "海南", "宁夏", "青海", "西藏"]
    with psycopg.connect(URL, autocommit=True) as conn:
        c = _Runner(conn)
        c.execute("INSERT INTO accounts_team (name) SELECT '压测' || g || '班' FROM generate_series(1, 5) g")
        c.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, role, agent_id, display_name, level, team_id) SELECT '!', false, 'abench' || g, '', '', '',"
            " false, true, now(), 'agent', (7000 + g)::text, '压测' || g, 'junior',"
            " (SELECT min(id) FROM accounts_team) + (g %% 5) FROM generate_series(1, 200) g"
        )
        c.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, role, agent_id, display_name, level, team_id) VALUES"
            " ('!', false, 'abench_sup', '', '', '', false, true, now(), 'supervisor', '7999', '压测主管', 'management', NULL),"
            " ('!', false, 'abench_lead', '', '', '', false, true, now(), 'team_lead', '7998', '压测班长', 'senior',"
            "  (SELECT min(id) FROM accounts_team))"
        )
        c.execute(
            "INSERT INTO customers_customer (name, id_number, province, city, address, star_level, special_mark,"
            " special_note, do_not_disturb, created_at, updated_at) SELECT '客户' || g, '', (%s::text[])[1 + g %% 31], '',"
            " '', g %% 8, false, '', false, now() - interval '400 days', now() FROM generate_series(1, 100000) g",
            [provinces],
        )
        log(f"  users, teams, 100,000 customers: {time.time() - t0:.0f}s")
        c.execute("CREATE TEMP TABLE cats AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM tickets_category")
        ncat = c.execute("SELECT count(*) FROM cats").fetchone()[0] or 1
        c.execute("DROP INDEX IF EXISTS ticket_search_gin")
        c.execute(
            """
            INSERT INTO tickets_ticket (number, type, category_id, priority, channel, customer_id, subject, description,
                contact_phone, owner_id, assignee_id, team_id, status, version, special_mark, escalation_level,
                reopen_count, resolution, created_at, updated_at, first_responded_at, resolved_at, closed_at,
                sla_started_at, first_response_due_at, resolution_due_at, sla_breach_at, first_response_breached,
                resolution_breached, sla_pauses, search_text, sla_step)
            SELECT 'AB' || lpad(g::text, 10, '0'), (ARRAY['consultation','fault','complaint','business','suggestion','refund'])[1 + g %% 6],
                (SELECT id FROM cats WHERE cats.i = g %% %(ncat)s), 'normal',
                (ARRAY['phone','phone','phone','chat','web','sms','email','api','walk_in'])[1 + g %% 9],
                cmin + (g %% 100000), '压测工单', '', '', a.id, a.id, a.team_id, st, 1, false,
                CASE WHEN g %% 23 = 0 THEN 1 ELSE 0 END, CASE WHEN g %% 31 = 0 THEN 1 ELSE 0 END, '',
                ts, ts, CASE WHEN st = 'new' THEN NULL ELSE ts + (g %% 7) * interval '25 minutes' END,
                CASE WHEN st IN ('resolved', 'closed') THEN ts + (g %% 11) * interval '6 hours' END,
                CASE WHEN st = 'closed' THEN ts + (g %% 11) * interval '6 hours' + interval '1 day' END, ts,
                ts + interval '2 hours', ts + interval '48 hours',
                CASE WHEN st IN ('new', 'in_progress') THEN ts + interval '48 hours' END, false, false, '[]'::jsonb, '', 0
            FROM (
                SELECT g, now() - (%(n)s - g) * (interval '365 days' / %(n)s) AS ts,
                    CASE WHEN g > %(n)s * 0.97 THEN (ARRAY['new','in_progress','pending_customer'])[1 + g %% 3]
                         WHEN g %% 10 < 7 THEN 'closed' ELSE 'resolved' END AS st
                FROM generate_series(1, %(n)s) g
            ) s
            CROSS JOIN (SELECT min(id) AS cmin FROM customers_customer) cc
            JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, team_id FROM accounts_user
                  WHERE username LIKE 'abench%%' AND role = 'agent') a ON a.i = s.g %% 200
            """,
            {"n": orders, "ncat": ncat},
        )
        log(f"  {orders:,} work orders: {time.time() - t0:.0f}s")
        c.execute(
            "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, created_at, public, body, data)"
            " SELECT id, 'status', owner_id, resolved_at, false, '', '{\"action\": \"resolve\"}'::jsonb"
            " FROM tickets_ticket WHERE resolved_at IS NOT NULL"
        )
        c.execute(
            "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, created_at, public, body, data)"
            " SELECT id, 'transfer', owner_id, created_at + interval '1 hour', false, '', '{\"department\": \"network\"}'::jsonb"
            " FROM tickets_ticket WHERE id %% 5 = 0"
        )
        c.execute(
            "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, created_at, public, body, data)"
            " SELECT id, 'status', owner_id, resolved_at + interval '2 hours', false, '', '{\"action\": \"reopen\"}'::jsonb"
            " FROM tickets_ticket WHERE reopen_count > 0 AND resolved_at IS NOT NULL"
        )
        log(f"  timeline events: {time.time() - t0:.0f}s")
        c.execute(
            "INSERT INTO followup_returnvisit (ticket_id, customer_id, kind, reason, status, assignee_id, scheduled_at,"
            " due_at, attempts, outcome, note, created_at, completed_at)"
            " SELECT id, customer_id, 'call', 'resolution', CASE WHEN id %% 9 = 0 THEN 'scheduled' ELSE 'done' END, owner_id,"
            " resolved_at + interval '24 hours', resolved_at + interval '72 hours', 1,"
            " CASE WHEN id %% 9 = 0 THEN '' WHEN id %% 13 = 0 THEN 'unreachable' WHEN id %% 7 = 0 THEN 'unsatisfied'"
            " ELSE 'satisfied' END, '', resolved_at, CASE WHEN id %% 9 = 0 THEN NULL ELSE resolved_at + interval '30 hours' END"
            " FROM tickets_ticket WHERE resolved_at IS NOT NULL AND type IN ('complaint', 'fault') AND id %% 2 = 0"
        )
        c.execute(
            "INSERT INTO followup_surveyinvitation (ticket_id, channel, nonce, created_at, expires_at, answered_at)"
            " SELECT id, 'sms', 'ab' || id, resolved_at, resolved_at + interval '7 days', resolved_at + interval '5 hours'"
            " FROM tickets_ticket WHERE resolved_at IS NOT NULL AND id %% 4 = 1"
        )
        c.execute(
            "INSERT INTO followup_surveyresponse (invitation_id, ticket_id, agent_id, score, reason, created_at)"
            " SELECT i.id, t.id, t.owner_id, 1 + (t.id * 7 %% 5), '', i.answered_at"
            " FROM followup_surveyinvitation i JOIN tickets_ticket t ON t.id = i.ticket_id"
        )
        log(f"  return visits and surveys: {time.time() - t0:.0f}s")
        c.execute(
            """
            INSERT INTO interactions_interaction (channel, source, external_id, customer_id, agent_id, agent_code, team_id,
                started_at, ring_seconds, wait_seconds, talk_seconds, hold_seconds, wrap_up_seconds, metadata, created_at)
            SELECT CASE WHEN g %% 10 < 8 THEN 'call' WHEN g %% 10 = 8 THEN 'chat' ELSE 'email' END, 'bench', '',
                cmin + (g * 7 %% 100000), a.id, a.agent_id, a.team_id,
                now() - (%(m)s - g) * (interval '365 days' / %(m)s), 3, (g * 13 %% 60)::float,
                CASE WHEN g %% 14 = 0 THEN 0 ELSE 60 + (g %% 400) END, (g %% 5) * 6, 20 + (g %% 40), '{}'::jsonb, now()
            FROM generate_series(1, %(m)s) g
            CROSS JOIN (SELECT min(id) AS cmin FROM customers_customer) cc
            JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, agent_id, team_id FROM accounts_user
                  WHERE username LIKE 'abench%%' AND role = 'agent') a ON a.i = g %% 200
            """,
            {"m": contacts},
        )
        log(f"  {contacts:,} contacts: {time.time() - t0:.0f}s")
        c.execute("INSERT INTO quality_ruleset (name, version, config, active, note, created_at)"
                  " VALUES ('bench', 'bench-1', '{}'::jsonb, false, '', now())")
        c.execute(
            "INSERT INTO quality_inspection (interaction_id, ruleset_id, ruleset_version, current, agent_id, team_id, channel,"
            " started_at, auto_score, score, veto, distress, forbidden_count, sheet, pending_items, manual_points,"
            " review_comment, created_at)"
            " SELECT i.id, r.id, r.version, true, i.agent_id, i.team_id, i.channel, i.started_at, 60 + i.id %% 40,"
            " 60 + i.id %% 40, i.id %% 97 = 0, false, CASE WHEN i.id %% 31 = 0 THEN 1 ELSE 0 END, '[]', '[]', '{}', '',"
            " now() FROM interactions_interaction i CROSS JOIN (SELECT id, version FROM quality_ruleset WHERE version = 'bench-1') r"
            " WHERE i.id %% 10 = 0"
        )
        log(f"  inspections: {time.time() - t0:.0f}s")
        c.execute("VACUUM ANALYZE")
        log(f"  vacuum analyze: {time.time() - t0:.0f}s")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed(fn: Any, reps: int) -> dict[str, float]:
    fn()  # warm: plans, caches
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return {"p50": round(statistics.median(ts), 1), "p95": round(pct(ts, 95), 1), "max": round(max(ts), 1)}


def measure(reps: int) -> dict[str, dict[str, float]]:
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.accounts.services import token_create
    from kefu.analytics import selectors as sel

    sup = User.objects.get(username="abench_sup")
    lead = User.objects.get(username="abench_lead")
    agent = User.objects.get(username="abench1")
    today = timezone.localdate()
    past = sel.Period.of_days(today - timedelta(days=30), today - timedelta(days=1))
    to_today = sel.Period.of_days(today - timedelta(days=29), today)
    web = Client()
    web.force_login(sup)
    _tok, token = token_create(user=sup)
    hdr = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    out: dict[str, dict[str, float]] = {}

    def page(path: str) -> Any:
        def go() -> None:
            r = web.get(path)
            assert r.status_code == 200, (path, r.status_code)
        return go

    def api(path: str) -> Any:
        def go() -> None:
            r = web.get(path, **hdr)
            assert r.status_code == 200, (path, r.status_code, r.content[:300])
        return go

    for label, period in (("month", past), ("month to today", to_today)):
        q = f"from={period.first_day}&to={period.last_day}"
        cases: dict[str, Any] = {
            "selector: indicator report (17 + previous)": lambda p=period: sel.indicator_report(viewer=sup, period=p),
            "selector: trend by day": lambda p=period: sel.trend(viewer=sup, indicator="answer_rate", period=p),
            "API /analytics/indicators": api(f"/api/v1/analytics/indicators?{q}"),
            "API /analytics/trend (day)": api(f"/api/v1/analytics/trend?indicator=fcr&{q}"),
            "API /analytics/trend (week)": api(f"/api/v1/analytics/trend?indicator=answer_rate&granularity=week&{q}"),
            "page /a/ (overview)": page(f"/a/?{q}"),
            "page /a/trend/": page(f"/a/trend/?indicator=csat&{q}"),
            "page /a/ as team lead": None,
            "page /a/ as agent": None,
        }
        for dim in ("team", "agent", "type", "category", "region", "channel"):
            ind = "answer_rate" if dim in ("team", "agent", "region", "channel") else "resolution_sla"
            cases[f"API /analytics/breakdown by {dim}"] = api(f"/api/v1/analytics/breakdown?indicator={ind}&dimension={dim}&{q}")
        cases["page /a/breakdown/ by agent"] = page(f"/a/breakdown/?indicator=aht&dimension=agent&{q}")
        lead_c, agent_c = Client(), Client()
        lead_c.force_login(lead)
        agent_c.force_login(agent)
        cases["page /a/ as team lead"] = lambda q=q: lead_c.get(f"/a/?{q}")
        cases["page /a/ as agent"] = lambda q=q: agent_c.get(f"/a/?{q}")
        for name, fn in cases.items():
            out[f"{name} [{label}]"] = timed(fn, reps)
            log(f"  {name} [{label}]: {out[f'{name} [{label}]']}")
    out["API /analytics/live"] = timed(api("/api/v1/analytics/live"), reps)
    out["page /a/live/"] = timed(page("/a/live/"), reps)
    return out


def throughput(n: int) -> dict[str, float]:
    """Fresh events, applied as the consumer applies them."""
    from kefu.analytics import rollup
    from kefu.core.tasks import handle_events_task

    with psycopg.connect(URL, autocommit=True) as c:
        top_t = c.execute("SELECT max(id) FROM tickets_ticket").fetchone()[0]
        agent = c.execute("SELECT id, team_id, agent_id FROM accounts_user WHERE username = 'abench1'").fetchone()
        cmin = c.execute("SELECT min(id) FROM customers_customer").fetchone()[0]

        def fresh(count: int, tag: str) -> list[tuple[int, str, dict[str, Any]]]:
            """A third new orders, a third status changes of existing orders, a third new contacts."""
            k = count // 3
            c.execute(
                "INSERT INTO tickets_ticket (number, type, priority, channel, customer_id, subject, description, contact_phone,"
                " owner_id, assignee_id, team_id, status, version, special_mark, escalation_level, reopen_count, resolution,"
                " created_at, updated_at, sla_started_at, first_response_due_at, resolution_due_at, first_response_breached,"
                " resolution_breached, sla_pauses, search_text, sla_step)"
                " SELECT 'EV' || %s || g, 'fault', 'normal', 'phone', %s + g, '新', '', '', %s, %s, %s, 'new', 1, false, 0, 0, '',"
                " now(), now(), now(), now() + interval '2 hours', now() + interval '48 hours', false, false, '[]', '', 0"
                " FROM generate_series(1, %s) g RETURNING id",
                [tag, cmin, agent[0], agent[0], agent[1], k],
            )
            new_t = [r[0] for r in c.execute("SELECT id FROM tickets_ticket WHERE number LIKE %s", [f"EV{tag}%"]).fetchall()]
            c.execute(
                "INSERT INTO interactions_interaction (channel, source, external_id, customer_id, agent_id, agent_code, team_id,"
                " started_at, wait_seconds, talk_seconds, hold_seconds, wrap_up_seconds, metadata, created_at)"
                " SELECT 'call', 'ev', %s || g, %s + g, %s, %s, %s, now(), 12, 100, 0, 20, '{}', now()"
                " FROM generate_series(1, %s) g",
                [tag, cmin, agent[0], agent[2], agent[1], k],
            )
            new_i = [r[0] for r in c.execute("SELECT id FROM interactions_interaction WHERE source = 'ev' AND external_id LIKE %s",
                                              [f"{tag}%"]).fetchall()]
            existing = [top_t - 1000 - 17 * j for j in range(k)]
            events: list[tuple[str, dict[str, Any]]] = (
                [("ticket.created", {"ticket_id": t}) for t in new_t]
                + [("ticket.status_changed", {"ticket_id": t, "old": "in_progress", "new": "resolved", "action": "resolve"})
                   for t in existing]
                + [("interaction.created", {"interaction_id": i}) for i in new_i]
            )
            rows = c.execute(
                "INSERT INTO core_outboxevent (topic, payload, created_at, published_at, attempts)"
                " SELECT x.topic, x.payload::jsonb, now(), now(), 1 FROM unnest(%s::text[], %s::text[]) AS x(topic, payload)"
                " RETURNING id, topic, payload",
                [[e[0] for e in events], [json.dumps(e[1]) for e in events]],
            ).fetchall()
            return [(r[0], r[1], r[2]) for r in rows]

        run = str(int(time.time()))  # tags unique to this run: --reuse keeps the data of earlier ones
        one = fresh(n, run + "a")
        t = time.perf_counter()
        for i in range(0, len(one), 50):  # what a worker does with one relay message
            handle_events_task([list(e) for e in one[i:i + 50]])
        per_event = len(one) / (time.perf_counter() - t)
        alone = fresh(n, run + "c")
        t = time.perf_counter()
        for e in alone:
            rollup.apply_events([e])
        per_event_rollup = len(alone) / (time.perf_counter() - t)
        chunked = fresh(n, run + "b")
        t = time.perf_counter()
        for i in range(0, len(chunked), 50):
            rollup.apply_events(chunked[i:i + 50])
        per_chunk = len(chunked) / (time.perf_counter() - t)
    return {"relay chunks of 50, every consumer (handle_events_task) (events/s)": round(per_event),
            "roll-up alone, one by one (events/s)": round(per_event_rollup),
            "apply_events, chunks of 50 (events/s)": round(per_chunk),
            "events": len(one)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--contacts", type=int, default=5_000_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--skip-rebuild", action="store_true", help="with --reuse: keep the roll-ups already built")
    a = ap.parse_args()
    setup_django()
    t0 = time.time()
    loaded = prepare(a.orders, a.contacts, a.reuse)
    load_s = time.time() - t0
    from django.db import connection

    from kefu.analytics import rollup
    from kefu.analytics.models import DailyRollup, RollupContribution

    rebuild_s = None
    if loaded or not a.skip_rebuild:
        log("rebuilding roll-ups…")
        t = time.time()
        last = [0.0]

        def progress(kind: str, n: int) -> None:
            if time.time() - last[0] > 30:
                last[0] = time.time()
                log(f"  {kind}: {n:,} ({time.time() - t:.0f}s)")

        counts = rollup.rebuild(progress=progress)
        rebuild_s = round(time.time() - t)
        log(f"  rebuilt {counts} in {rebuild_s}s")
    with connection.cursor() as cur:  # as autovacuum would after the bulk writes
        cur.execute("VACUUM ANALYZE analytics_dailyrollup, analytics_dailybyagent, analytics_dailybydimension,"
                    " analytics_dailybreakdown")
    rows = DailyRollup.objects.count()
    contribs = RollupContribution.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('analytics_dailyrollup')),"
                    " pg_size_pretty(pg_total_relation_size('analytics_rollupcontribution')),"
                    " (SELECT count(*) FROM analytics_dailybyagent), (SELECT count(*) FROM analytics_dailybydimension),"
                    " (SELECT count(*) FROM analytics_dailybreakdown)")
        sizes = cur.fetchone()
    log(f"roll-up rows: full grain {rows:,} ({sizes[0]}), by agent {sizes[2]:,}, by dimensions {sizes[3]:,},"
        f" by one dimension {sizes[4]:,}; contributions: {contribs:,} ({sizes[1]})")
    log("measuring queries…")
    q = measure(a.reps)
    log("measuring roll-up throughput…")
    tp = throughput(a.events)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tickets_ticket")
        n_orders = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM interactions_interaction")
        n_contacts = cur.fetchone()[0]
    print()
    print(f"{'measure':<62} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, v in q.items():
        print(f"{name:<62} {v['p50']:>8} {v['p95']:>8} {v['max']:>8}")
    print()
    for k, v in tp.items():
        print(f"{k:<62} {v:>8}")
    worst = max(v["p95"] for v in q.values())
    print(f"\nworst p95 {worst} ms (target < 300); roll-up in relay chunks "
          f"{tp['apply_events, chunks of 50 (events/s)']} events/s alone, "
          f"{tp['relay chunks of 50, every consumer (handle_events_task) (events/s)']} with every consumer; "
          f"one event per transaction {tp['roll-up alone, one by one (events/s)']} (target 1,000/s)")
    print(json.dumps({
        "bench": "analytics", "orders": n_orders, "contacts": n_contacts, "load_s": round(load_s) if loaded else None,
        "rebuild_s": rebuild_s, "rollup_rows": rows, "contributions": contribs, "worst_p95_ms": worst,
        "queries": q, "throughput": tp,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
