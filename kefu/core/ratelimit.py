"""Per-client request budgets for the pages and endpoints anyone can reach without logging in (the
answering bot's API and its portal page share them, so switching between the two buys no extra tries)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kefu.core.context import client_ip
from kefu.core.errors import KefuError


def throttle(request: HttpRequest, key: str, per_minute: int) -> None:
    """Count one request of ``key`` from this client; past ``per_minute`` in the minute, refuse with 429."""
    bucket = f"kefu:rl:{key}:{client_ip(request)}"
    n = cache.get_or_set(bucket, 0, 60)
    if n >= per_minute:
        raise KefuError(_("Too many requests. Please try again later."), code="rate_limited", status=429)
    try:
        cache.incr(bucket)
    except ValueError:
        cache.set(bucket, 1, 60)
