"""Real Redis servers for the fault tests: the machine's Redis (DB 5, flushed by us only) and
private ``redis-server`` processes we may stop and start without touching anything else."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
from typing import Any

import pytest

MAIN_REDIS = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def need(condition: bool, reason: str) -> None:
    """Skip outside CI when a real service is missing; in CI (CI=true) that is a failure."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class RedisProcess:
    def __init__(self, port: int) -> None:
        need(shutil.which("redis-server") is not None, "redis-server is not installed")
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if port_open(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        for _ in range(100):
            if not port_open(self.port):
                return
            time.sleep(0.05)


def drain(url: str, queue: str = "celery") -> list[tuple[str, list[Any]]]:
    """Take every task message off a Redis queue: (task name, args), in publish order."""
    import redis

    r = redis.Redis.from_url(url)
    out = []
    while (raw := r.rpop(queue)) is not None:
        env = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(env["body"]))
        out.append((env["headers"]["task"], args))
    return out
