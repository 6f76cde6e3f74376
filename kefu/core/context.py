"""Where a request came from, for audit records written deep inside services (X3)."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestMeta:
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    via: str = "system"  # "web", "api", "cli", "system"


_current: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar("kefu_request_meta", default=RequestMeta())


def current() -> RequestMeta:
    return _current.get()


def set_meta(meta: RequestMeta) -> contextvars.Token[RequestMeta]:
    return _current.set(meta)


def reset_meta(token: contextvars.Token[RequestMeta]) -> None:
    _current.reset(token)


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = RequestMeta(
            ip=client_ip(request),
            user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:300],
            request_id=request.META.get("HTTP_X_REQUEST_ID", "") or uuid.uuid4().hex,
            via="api" if request.path.startswith("/api/") else "web",
        )
        token = set_meta(meta)
        try:
            return self.get_response(request)
        finally:
            reset_meta(token)
