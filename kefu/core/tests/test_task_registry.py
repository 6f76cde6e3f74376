"""A freshly started worker knows every task kefu sends (X3: no job rejected as unregistered and lost)."""

from __future__ import annotations

import re
from pathlib import Path


def test_every_task_named_in_the_code_is_registered_by_autodiscovery():
    from kefu.celery import app

    app.loader.import_default_modules()  # what a worker does at start, before any message arrives
    root = Path(__file__).resolve().parents[2]
    named = set()
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        named |= set(re.findall(r'name="(kefu\.[a-z_]+\.[a-z_]+_task)"', path.read_text(encoding="utf-8")))
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert len(named) >= 10
    assert (named | schedule) - set(app.tasks) == set()
