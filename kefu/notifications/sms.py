"""SMS gateways: pluggable adapters chosen by ``settings.KEFU_SMS_GATEWAY`` (a dotted class path).

The embedded default keeps every message in the outbox (status “kept in the outbox”); a real
deployment points ``HttpSmsGateway`` at its operator's SMS platform.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string


class SendFailed(Exception):
    """A refusal or an outage; the message is retried with backoff."""


class SmsGateway:
    #: True: the gateway sends nothing and the message stays in the outbox.
    holds = False

    def send(self, *, to: str, text: str, message_id: int) -> str:
        raise NotImplementedError


class OutboxOnlyGateway(SmsGateway):
    holds = True

    def send(self, *, to: str, text: str, message_id: int) -> str:
        return ""


class HttpSmsGateway(SmsGateway):
    """POST {"to", "text", "id"} as JSON with a bearer token; any 2xx is accepted, its JSON ``id``
    (if any) is kept as the gateway reference. ``id`` lets the platform drop a repeated request."""

    def send(self, *, to: str, text: str, message_id: int) -> str:
        url = settings.KEFU_SMS_GATEWAY_URL
        if not url:
            raise SendFailed("KEFU_SMS_GATEWAY_URL is not set")
        body = json.dumps({"to": to, "text": text, "id": str(message_id)}, ensure_ascii=False).encode()
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {settings.KEFU_SMS_GATEWAY_TOKEN}",
        })
        try:
            with urllib.request.urlopen(req, timeout=settings.KEFU_WEBHOOK_TIMEOUT) as resp:  # noqa: S310
                raw = resp.read(65536)
        except urllib.error.HTTPError as e:
            raise SendFailed(f"gateway answered HTTP {e.code}") from None
        except (OSError, ValueError) as e:
            raise SendFailed(f"gateway unreachable: {e}") from None
        try:
            return str(json.loads(raw or b"{}").get("id", ""))[:64]
        except (ValueError, AttributeError):
            return ""


def gateway() -> SmsGateway:
    return import_string(settings.KEFU_SMS_GATEWAY)()
