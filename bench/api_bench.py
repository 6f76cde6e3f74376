"""Work-order API benchmark (issue #2).

On PostgreSQL with N work orders (default 1,000,000) loaded, served by the production configuration
(gunicorn, 2 workers), it measures in one run:

- create throughput through ``POST /api/v1/tickets`` and, as the ceiling, through a bare Django view doing
  one INSERT under the same server and worker count, both at 8 concurrent clients;
- p50/p95/p99 of the first page of a filtered ticket list and of a ticket detail;
- p50/p95 of Chinese text search ``q`` over all orders;
- "what is breached now" over all open orders, in SQL and through the API.

Usage:  .venv/bin/python bench/api_bench.py [--orders 1000000] [--seconds 15] [--reuse]
It creates (or with --reuse keeps) the database ``kefu_bench`` on $BENCH_PG (default
postgres://postgres@127.0.0.1:5432). It prints a table and, last, one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "kefu_bench"
PORT = int(os.environ.get("BENCH_PORT", "8765"))
URL = f"{PG}/{DB}"
ENV = {**os.environ, "DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "bench.bench_settings", "PYTHONPATH": str(ROOT),
       "KEFU_VAR_DIR": str(ROOT / "var" / "bench")}
KEFU = str(ROOT / ".venv" / "bin" / "kefu")
PY = str(ROOT / ".venv" / "bin" / "python")


def log(msg: str) -> None:
    print(msg, flush=True)


def sh(*args: str) -> str:
    return subprocess.run(args, env=ENV, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def setup_django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.update({"DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "kefu.settings", "KEFU_VAR_DIR": ENV["KEFU_VAR_DIR"]})
    django.setup()


# --- data ------------------------------------------------------------------------------------------


def prepare(orders: int, reuse: bool) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone()
        if exists and reuse:
            sh(KEFU, "migrate", "-v", "0")
            with psycopg.connect(URL, autocommit=True) as d:
                d.execute("VACUUM ANALYZE")  # as autovacuum would after a migration's backfill
                n = d.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
            if n >= orders:
                log(f"reusing {DB} with {n:,} work orders")
                return
        c.execute(f"DROP DATABASE IF EXISTS {DB}")
        c.execute(f"CREATE DATABASE {DB}")
    log("migrating…")
    sh(KEFU, "migrate", "-v", "0")
    load(orders)


def load(orders: int) -> None:
    setup_django()
    from kefu.core.demo import SCENARIOS
    from kefu.tickets.services import search_text_for

    rng = random.Random(7)
    places = ["天河区", "南山区", "西湖区", "鼓楼区", "武侯区", "江汉区", "海淀区", "浦东新区"]
    extras = ["客户情绪激动", "已是第二次来电", "要求今天处理", "老人独居", "曾多次报修", "商铺影响营业", "", ""]
    texts = []
    for i in range(400):
        ttype, cat, prio, subject, desc = SCENARIOS[i % len(SCENARIOS)]
        description = f"{rng.choice(places)}{desc}{rng.choice(extras)}"
        texts.append((i, ttype, prio, subject, description, search_text_for(subject, description)))
    t0 = time.time()
    with psycopg.connect(URL, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial primary key, created_at timestamptz, body text)")
        c.execute("CREATE TEMP TABLE bench_text (i int, ttype text, prio text, subject text, description text, search_text text)")
        with c.cursor().copy("COPY bench_text FROM STDIN") as cp:
            for row in texts:
                cp.write_row(row)
        team = c.execute("INSERT INTO accounts_team (name) VALUES ('压测班') RETURNING id").fetchone()[0]
        c.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, role, agent_id, display_name, level, team_id) SELECT '!', false, 'bench' || g, '', '', '', false,"
            " true, now(), 'agent', (7000 + g)::text, '压测' || g, 'junior', %s FROM generate_series(1, 24) g",
            [team],
        )
        c.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
            " date_joined, role, agent_id, display_name, level) VALUES ('!', false, 'bench_sup', '', '', '', false, true,"
            " now(), 'supervisor', '7999', '压测主管', 'management')"
        )
        customers = max(orders // 10, 1000)
        c.execute(
            "INSERT INTO customers_customer (name, id_number, province, city, address, star_level, special_mark,"
            " special_note, do_not_disturb, created_at, updated_at) SELECT '客户' || g, '', '广东', '广州', '', g %% 8,"
            " false, '', false, now(), now() FROM generate_series(1, %s) g",
            [customers],
        )
        c.execute(
            "INSERT INTO customers_customerphone (customer_id, number, kind, is_primary)"
            " SELECT id, '138' || lpad(id::text, 8, '0'), 'mobile', true FROM customers_customer"
        )
        log(f"  users and {customers:,} customers in {time.time() - t0:.0f}s")
        c.execute("DROP INDEX IF EXISTS ticket_search_gin")
        # Statuses: 60 % closed, 10 % resolved, the rest open; ages spread over a year, open ones recent.
        c.execute(
            """
            INSERT INTO tickets_ticket (number, type, priority, channel, customer_id, subject, description, contact_phone,
                owner_id, assignee_id, team_id, status, version, special_mark, escalation_level, reopen_count, resolution,
                created_at, updated_at, first_responded_at, resolved_at, closed_at, sla_started_at,
                first_response_due_at, resolution_due_at, sla_breach_at, first_response_breached, resolution_breached,
                sla_pauses, search_text, sla_step)
            SELECT 'GD' || to_char(ts AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || lpad((g %% 1000000)::text, 6, '0'),
                t.ttype, t.prio, 'phone', cmin + (g %% ccount), t.subject, t.description, '',
                umin + (g %% 24), umin + (g %% 24), %(team)s, st, 1, false, 0, 0, '',
                ts, ts, CASE WHEN st = 'new' THEN NULL ELSE ts + interval '20 minutes' END,
                CASE WHEN st IN ('resolved', 'closed') THEN ts + interval '20 hours' END,
                CASE WHEN st = 'closed' THEN ts + interval '30 hours' END, ts,
                ts + interval '2 hours', ts + interval '48 hours',
                CASE WHEN st = 'new' THEN ts + interval '2 hours'
                     WHEN st IN ('in_progress', 'pending_department') THEN ts + interval '48 hours' END,
                false, false, '[]'::jsonb, t.search_text, 0
            FROM (
                SELECT g,
                    CASE WHEN g %% 10 < 6 THEN now() - ((%(n)s - g) * interval '30 seconds') - interval '3 days'
                         ELSE now() - ((%(n)s - g) %% 20000) * interval '12 seconds' END AS ts,
                    CASE WHEN g %% 10 < 6 THEN 'closed' WHEN g %% 10 = 6 THEN 'resolved' WHEN g %% 10 = 7 THEN 'in_progress'
                         WHEN g %% 10 = 8 THEN (ARRAY['new', 'pending_customer', 'pending_department'])[1 + g %% 3]
                         ELSE 'in_progress' END AS st
                FROM generate_series(1, %(n)s) g
            ) s
            JOIN bench_text t ON t.i = s.g %% 400
            CROSS JOIN (SELECT min(id) AS cmin, count(*) AS ccount FROM customers_customer) cc
            CROSS JOIN (SELECT min(id) AS umin FROM accounts_user WHERE username LIKE 'bench%%' AND role = 'agent') uu
            """,
            {"n": orders, "team": team},
        )
        log(f"  {orders:,} work orders in {time.time() - t0:.0f}s")
        c.execute(
            "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, created_at, public, body, data)"
            " SELECT id, 'created', owner_id, created_at, false, '', '{}'::jsonb FROM tickets_ticket"
        )
        c.execute("CREATE INDEX ticket_search_gin ON tickets_ticket USING gin (search_vector)")
        c.execute(
            "INSERT INTO tickets_ticketcounter (day, last) VALUES ((now() AT TIME ZONE 'Asia/Shanghai')::date, 900000)"
            " ON CONFLICT (day) DO UPDATE SET last = 900000"
        )
        c.execute("VACUUM ANALYZE")
        log(f"  events, search index, analyze: done in {time.time() - t0:.0f}s")


# --- server ----------------------------------------------------------------------------------------


def start_server(workers: int, threads: int) -> subprocess.Popen[bytes]:
    sh(KEFU, "collectstatic", "--noinput", "-v", "0")
    proc = subprocess.Popen(
        [PY, "-m", "gunicorn", "kefu.wsgi:application", "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "warning"],
        env=ENV, cwd=ROOT, start_new_session=True,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


# --- load ------------------------------------------------------------------------------------------


class Client:
    def __init__(self, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        t = time.perf_counter()
        self.conn.request(method, path, body=data, headers=self.headers)
        r = self.conn.getresponse()
        payload = r.read()
        return r.status, payload, (time.perf_counter() - t) * 1000


def throughput(path: str, body_fn: Any, token: str | None, seconds: float, clients: int = 8) -> dict[str, float]:
    stop = time.perf_counter() + seconds
    counts = [0] * clients
    errors = [0] * clients
    lat: list[float] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        c = Client(token)
        mine = []
        while time.perf_counter() < stop:
            status, _, ms = c.call("POST", path, body_fn())
            if status == 201:
                counts[i] += 1
                mine.append(ms)
            else:
                errors[i] += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"rps": sum(counts) / elapsed, "errors": sum(errors), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def latencies(client: Client, paths: list[str], n: int) -> list[float]:
    out = []
    for i in range(n):
        status, body, ms = client.call("GET", paths[i % len(paths)])
        if status != 200:
            raise SystemExit(f"GET {paths[i % len(paths)]} -> {status} {body[:200]!r}")
        out.append(ms)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "1")))
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--reuse", action="store_true", help="keep an already loaded kefu_bench database")
    args = ap.parse_args()

    prepare(args.orders, args.reuse)
    token = sh(KEFU, "token", "create", "bench1").strip()
    sup_token = sh(KEFU, "token", "create", "bench_sup").strip()
    with psycopg.connect(URL) as c:
        cmin, cmax = c.execute("SELECT min(id), max(id) FROM customers_customer").fetchone()
        tmax = c.execute("SELECT max(id) FROM tickets_ticket").fetchone()[0]
        total = c.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
        open_n = c.execute("SELECT count(*) FROM tickets_ticket WHERE status IN ('new','in_progress','pending_department')").fetchone()[0]
    proc = start_server(args.workers, args.threads)
    results: dict[str, Any] = {"orders": total, "open_clock_running": open_n, "workers": args.workers,
                               "threads": args.threads, "clients": 8}
    try:
        rng = random.Random(1)
        body = lambda: {  # noqa: E731
            "type": rng.choice(["fault", "complaint", "consultation"]), "priority": "normal",
            "customer_id": rng.randint(cmin, cmax), "subject": "宽带无法上网", "description": "光猫LOS灯红灯闪烁，重启无效",
            "channel": "phone",
        }
        # Warm up both paths, then measure them one after the other in the same run.
        throughput("/bench/bare-insert", lambda: {"x": 1}, None, 2)
        throughput("/api/v1/tickets", body, token, 2)
        bare = throughput("/bench/bare-insert", lambda: {"subject": "宽带无法上网"}, None, args.seconds)
        create = throughput("/api/v1/tickets", body, token, args.seconds)
        results["bare_insert_rps"] = round(bare["rps"], 1)
        results["create_rps"] = round(create["rps"], 1)
        results["create_ratio_to_bare"] = round(create["rps"] / bare["rps"], 3)
        results["create_p99_ms"] = round(create["p99_ms"], 1)
        results["create_errors"] = create["errors"] + bare["errors"]

        sup = Client(sup_token)
        lists = [
            "/api/v1/tickets?status=in_progress&type=fault",
            "/api/v1/tickets?status=new,in_progress&priority=normal",
            "/api/v1/tickets?type=complaint",
            "/api/v1/tickets?owner=7003&status=in_progress",
            f"/api/v1/tickets?customer={cmin + 17}",
            "/api/v1/tickets?status=pending_department",
        ]
        latencies(sup, lists, 30)
        lat = latencies(sup, lists, args.samples)
        results["list_p50_ms"], results["list_p95_ms"], results["list_p99_ms"] = (round(pct(lat, p), 1) for p in (50, 95, 99))
        ids = [rng.randint(1, tmax) for _ in range(args.samples)]
        lat = latencies(sup, [f"/api/v1/tickets/{i}" for i in ids], args.samples)
        results["detail_p50_ms"], results["detail_p95_ms"], results["detail_p99_ms"] = (round(pct(lat, p), 1) for p in (50, 95, 99))
        from urllib.parse import quote

        queries = ["宽带", "光猫", "断网", "话费", "投诉", "套餐变更", "宽带网速慢", "短信验证码", "国际漫游", "专线中断",
                   "营业厅", "彩铃", "退还", "信号差", "移机", "老年人", "客户情绪激动", "天河区 宽带", "装维人员", "IPTV"]
        qpaths = [f"/api/v1/tickets?q={quote(q)}" for q in queries]
        latencies(sup, qpaths, 20)
        lat = latencies(sup, qpaths, args.samples)
        results["search_p50_ms"], results["search_p95_ms"] = round(pct(lat, 50), 1), round(pct(lat, 95), 1)
        lat = latencies(sup, ["/api/v1/tickets/breached?limit=100"], 100)
        results["breached_api_p95_ms"] = round(pct(lat, 95), 1)
    finally:
        stop_server(proc)

    setup_django()
    from django.db import connection

    from kefu.tickets.selectors import breached_now

    timings = []
    for _ in range(20):
        t = time.perf_counter()
        n = breached_now().count()
        timings.append((time.perf_counter() - t) * 1000)
        connection.close()
    results["breached_now_count"] = n
    results["breached_now_sql_ms_median"] = round(statistics.median(timings), 1)
    results["breached_now_sql_ms_max"] = round(max(timings), 1)

    log("")
    log(f"work orders loaded: {results['orders']:,} (clock running on {open_n:,})  server: gunicorn, {args.workers} workers")
    log(f"create via API     : {results['create_rps']:8.1f} req/s   (8 clients, p99 {results['create_p99_ms']} ms)")
    log(f"bare INSERT view   : {results['bare_insert_rps']:8.1f} req/s   ratio API/bare = {results['create_ratio_to_bare']:.2f} (target ≥ 0.50)")
    log(f"filtered list      : p50 {results['list_p50_ms']} ms  p95 {results['list_p95_ms']} ms  p99 {results['list_p99_ms']} ms (target p99 < 50)")
    log(f"ticket detail      : p50 {results['detail_p50_ms']} ms  p95 {results['detail_p95_ms']} ms  p99 {results['detail_p99_ms']} ms (target p99 < 50)")
    log(f"Chinese search q   : p50 {results['search_p50_ms']} ms  p95 {results['search_p95_ms']} ms (target p95 < 200)")
    log(f"breached now (SQL) : {results['breached_now_count']:,} orders, median {results['breached_now_sql_ms_median']} ms, max {results['breached_now_sql_ms_max']} ms (target < 100)")
    log(f"breached now (API) : first 100, p95 {results['breached_api_p95_ms']} ms")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
