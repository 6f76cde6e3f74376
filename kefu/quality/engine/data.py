"""Access to the seed data in ``kefu/quality/data`` and ``$data`` reference resolution."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

DATA_PACKAGE = "kefu.quality"


@cache
def _load(name: str) -> Any:
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid data file name {name!r}")
    text = (files(DATA_PACKAGE) / "data" / name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def load_data(ref: str) -> Any:
    """Load ``file.json`` or ``file.json#dotted.path`` from the data folder (a deep copy)."""
    name, _, path = ref.partition("#")
    value = _load(name)
    for key in filter(None, path.split(".")):
        value = value[key]
    return json.loads(json.dumps(value))


def resolve(value: Any) -> Any:
    """Replace every ``{"$data": "file#path"}`` in ``value`` by the referenced data."""
    if isinstance(value, dict):
        if set(value) == {"$data"}:
            return resolve(load_data(str(value["$data"])))
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value
