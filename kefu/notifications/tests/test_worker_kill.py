"""A worker killed mid-job (SIGKILL, inside the consumer's transaction) has its job run again by
another worker, and the job's effects happen once (issue #4). Real processes: a private
redis-server, `kefu relay`, two `kefu worker`s, a SQLite file they share."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .brokers import RedisProcess

ROOT = Path(__file__).resolve().parents[3]
KEFU = [sys.executable, "-m", "kefu.cli"]


def wait_for(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_job_completes_once(tmp_path):  # type: ignore[no-untyped-def]
    broker = RedisProcess(6391)
    broker.start()
    db = tmp_path / "kefu.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE", "CELERY_"))},
        "KEFU_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{db}",
        "CELERY_BROKER_URL": broker.url, "CELERY_VISIBILITY_TIMEOUT": "2", "DJANGO_SETTINGS_MODULE": "kefu.settings",
    }
    workers: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([*KEFU, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        con = sqlite3.connect(db)
        con.execute(
            "INSERT INTO notifications_webhooksubscription (name, url, secret, topics, active, created_at)"
            " VALUES ('crm', 'http://127.0.0.1:9/', 'ssssssssssssssssssss', ?, 1, '2026-01-01 00:00:00')",
            [json.dumps(["ticket.created"])],
        )
        con.execute(
            "INSERT INTO core_outboxevent (topic, payload, created_at, attempts)"
            " VALUES ('ticket.created', ?, '2026-01-01 00:00:00', 0)", [json.dumps({"ticket_id": 999999})],
        )
        con.commit()
        subprocess.run([*KEFU, "relay", "--once"], env=env, cwd=ROOT, check=True, capture_output=True)

        marker = tmp_path / "started"
        worker_cmd = [*KEFU, "worker", "--pool", "solo", "-l", "warning"]
        slow = {**env, "KEFU_FAULT_CONSUME_DELAY": "60", "KEFU_FAULT_MARKER": str(marker)}
        first = subprocess.Popen(worker_cmd, env=slow, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers.append(first)
        wait_for(marker.exists, 60, "the first worker to start the job")
        first.send_signal(signal.SIGKILL)  # killed inside the consumer's open transaction
        first.wait()

        def count(table: str) -> int:
            c = sqlite3.connect(db, timeout=10)
            try:
                return c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            finally:
                c.close()

        assert count("notifications_consumedevent") == 0  # nothing half-done
        time.sleep(3)  # past the visibility timeout (2 s): the killed worker's message is handed out again

        second = subprocess.Popen(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers.append(second)
        wait_for(lambda: count("notifications_consumedevent") == 1, 90, "the job to run again on the second worker")
        time.sleep(1)
        assert count("notifications_consumedevent") == 1
        assert count("notifications_webhookdelivery") == 1  # the effect, once
        assert marker.read_text().split() == ["1"]  # the first worker really had started it
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(10)
                except subprocess.TimeoutExpired:
                    w.kill()
        broker.stop()
