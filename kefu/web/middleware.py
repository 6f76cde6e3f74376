"""Idle timeout for pages: a signed-in session unused for KEFU_SESSION_IDLE_MINUTES is ended. The
last-seen time is written at most once a minute, so a busy page costs no session write per request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

KEY = "kefu_seen"


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") or not hasattr(request, "session"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(KEY)
            if seen is not None and now - int(seen) > settings.KEFU_SESSION_IDLE_MINUTES * 60:
                logout(request)
                request.session["kefu_timed_out"] = True
            elif seen is None or now - int(seen) >= 60:
                request.session[KEY] = now
        return self.get_response(request)
