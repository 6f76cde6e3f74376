from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():  # type: ignore[no-untyped-def]
    cache.clear()  # rate limits live in the cache
    yield
    cache.clear()


@pytest.fixture
def make_ticket(centre, customer):  # type: ignore[no-untyped-def]
    from kefu.tickets.services import ticket_create

    def make(actor: str = "agent", **kw: Any):  # type: ignore[no-untyped-def]
        fields = {"type": "fault", "priority": "high", "customer_id": customer.pk, "subject": "宽带无法上网",
                  "description": "光猫LOS灯红灯闪烁", "contact_phone": "13800138000"}
        fields.update(kw)
        return ticket_create(actor=centre["users"][actor], **fields)

    return make


@pytest.fixture
def web_client(client, centre):  # type: ignore[no-untyped-def]
    def as_user(name: str):  # type: ignore[no-untyped-def]
        client.force_login(centre["users"][name])
        return client

    return as_user
