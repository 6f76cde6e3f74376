"""Write a domain event into the outbox, inside the caller's transaction (STYLE.md §4)."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
import json

from .models import OutboxEvent


def put(topic: str, **payload: Any) -> OutboxEvent:
    clean = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return OutboxEvent.objects.create(topic=topic, payload=clean)
