"""Composing and sending messages, staff notices and webhooks (issue #4, W8, C6).

Writes (``*_create``, ``customer_notify``, ``webhook_fanout``) run inside the caller's transaction and
only add rows; sending happens afterwards in ``message_send`` / ``webhook_deliver``, which claim a
row with one conditional UPDATE (a lease), send outside any transaction and record the outcome. A
worker killed mid-send leaves the lease to expire and the row is tried again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import string
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kefu.core.errors import ValidationFailed

from .models import (
    PENDING,
    Message,
    MessageChannel,
    MessageTemplate,
    Notice,
    Purpose,
    SendStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from .sms import SendFailed, gateway
from .templates_default import DEFAULTS

log = logging.getLogger(__name__)

# While a worker sends, the row is leased for this long; a killed worker's row is retried after it.
LEASE = timedelta(minutes=5)
WEBHOOK_TOPICS = (
    "ticket.created", "ticket.status_changed", "ticket.queued", "sla.warning", "sla.breached",
    "return_visit.completed", "survey.completed",
)


class MissingVariable(Exception):
    pass


class _Strict(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> Any:
        raise MissingVariable(key)


def render(code: str, channel: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) from the admin's template or the built-in one; ``MissingVariable`` names a
    placeholder the context lacks, ``KeyError`` an unknown template."""
    row = MessageTemplate.objects.filter(code=code, channel=channel, active=True).first()
    subject, body = (row.subject, row.body) if row else DEFAULTS[(code, channel)]
    ctx = _Strict({"signature": settings.KEFU_SMS_SIGNATURE, **context})
    fmt = string.Formatter()
    try:
        return fmt.vformat(subject, (), ctx), fmt.vformat(body, (), ctx)
    except (IndexError, ValueError) as e:
        raise MissingVariable(f"bad placeholder: {e}") from None


def message_create(
    *, channel: str, recipient: str, template: str, context: dict[str, Any], purpose: str = Purpose.SERVICE,
    dedupe: str | None = None, ticket: Any = None, customer: Any = None,
) -> Message:
    """Queue one message. Already queued for ``dedupe``: the existing row, nothing new. Do-not-disturb
    (C6) blocks care and marketing; a template that cannot be composed is recorded as such."""
    if dedupe:
        existing = Message.objects.filter(dedupe_key=dedupe).first()
        if existing is not None:
            return existing
    clean = json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    msg = Message(
        channel=channel, recipient=recipient or "", template=template, context=clean, purpose=purpose,
        dedupe_key=dedupe, ticket=ticket, customer=customer, next_attempt_at=timezone.now(),
    )
    if purpose != Purpose.SERVICE and customer is not None and _dnd(customer):
        msg.status, msg.last_error, msg.next_attempt_at = SendStatus.BLOCKED, "do_not_disturb", None
    elif not msg.recipient:
        msg.status, msg.last_error, msg.next_attempt_at = SendStatus.INVALID, "no recipient", None
    else:
        try:
            msg.subject, msg.body = render(template, channel, clean)
        except MissingVariable as e:
            msg.status, msg.last_error, msg.next_attempt_at = SendStatus.INVALID, f"missing template variable: {e}", None
        except KeyError:
            msg.status, msg.last_error, msg.next_attempt_at = SendStatus.INVALID, f"unknown template: {template}", None
    msg.save()
    if msg.status == SendStatus.QUEUED:
        _after_commit_send("message", msg.pk)
    return msg


def _dnd(customer: Any) -> bool:
    """C6, read fresh: the flag may have been set a moment ago by another request."""
    from kefu.customers.models import Customer

    return Customer.objects.filter(pk=customer.pk, do_not_disturb=True).exists()


def _after_commit_send(kind: str, pk: int) -> None:
    def go() -> None:
        try:
            from . import tasks

            (tasks.message_send_task if kind == "message" else tasks.webhook_deliver_task).delay(pk)
        except Exception:  # broker down: the periodic dispatch picks the row up later
            log.warning("could not enqueue %s %s; the dispatch sweep will send it", kind, pk)

    transaction.on_commit(go)


def customer_phone(ticket: Any) -> str:
    if ticket.contact_phone:
        return ticket.contact_phone
    phones = sorted(ticket.customer.phones.all(), key=lambda p: (not p.is_primary, p.kind != "mobile", p.pk))
    return phones[0].number if phones else ""


def ticket_context(ticket: Any) -> dict[str, Any]:
    due = ticket.resolution_due_at
    return {
        "number": ticket.number, "subject": ticket.subject, "name": ticket.customer.name,
        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M") if due else "",
    }


def customer_notify(
    *, ticket: Any, template: str, purpose: str = Purpose.SERVICE, dedupe: str | None = None, **extra: Any
) -> Message:
    """An SMS to the order's customer (W8) with the order's variables plus ``extra``."""
    return message_create(
        channel=MessageChannel.SMS, recipient=customer_phone(ticket), template=template,
        context={**ticket_context(ticket), **extra}, purpose=purpose, dedupe=dedupe,
        ticket=ticket, customer=ticket.customer,
    )


def notice_create(*, user: Any, ticket: Any, kind: str, text: str) -> Notice:
    """An in-app notice, and an email when the user has an address (sla.warning / sla.breached)."""
    notice = Notice.objects.create(user=user, ticket=ticket, kind=kind, text=text[:400])
    if user.email and (kind, "email") in DEFAULTS:
        message_create(
            channel=MessageChannel.EMAIL, recipient=user.email, template=kind, ticket=ticket,
            context={**ticket_context(ticket), "text": text}, dedupe=f"notice:{notice.pk}",
        )
    return notice


# --- sending -------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.KEFU_SEND_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def _claim(model: Any, pk: int, now: datetime) -> bool:
    """Take the row for one attempt, if it is due and nobody holds it (one UPDATE, any database)."""
    return bool(
        model.objects.filter(pk=pk, status__in=PENDING, next_attempt_at__lte=now)
        .update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )


def _fail(model: Any, pk: int, error: str, **extra: Any) -> None:
    row = model.objects.get(pk=pk)
    dead = row.attempts >= settings.KEFU_SEND_MAX_ATTEMPTS
    model.objects.filter(pk=pk).update(
        status=SendStatus.DEAD if dead else SendStatus.RETRYING,
        next_attempt_at=None if dead else timezone.now() + _backoff(row.attempts),
        last_error=error[:2000], **extra,
    )


def message_send(*, message_id: int) -> str:
    """One attempt at a queued message; returns its status afterwards. Never raises for a refusal:
    the failure is recorded and retried with backoff, up to KEFU_SEND_MAX_ATTEMPTS."""
    now = timezone.now()
    if not _claim(Message, message_id, now):
        return "skipped"
    msg = Message.objects.get(pk=message_id)
    try:
        if msg.channel == MessageChannel.EMAIL:
            if not settings.EMAIL_HOST:
                Message.objects.filter(pk=msg.pk).update(status=SendStatus.HELD, next_attempt_at=None)
                return SendStatus.HELD
            EmailMessage(msg.subject, msg.body, settings.DEFAULT_FROM_EMAIL, [msg.recipient]).send()
            ref = ""
        else:
            gw = gateway()
            if gw.holds:
                Message.objects.filter(pk=msg.pk).update(status=SendStatus.HELD, next_attempt_at=None)
                return SendStatus.HELD
            ref = gw.send(to=msg.recipient, text=msg.body, message_id=msg.pk)
    except (SendFailed, OSError, Exception) as e:  # SMTP refusals are OSError subclasses (smtplib)
        _fail(Message, msg.pk, f"{e.__class__.__name__}: {e}")
        return Message.objects.get(pk=msg.pk).status
    Message.objects.filter(pk=msg.pk).update(
        status=SendStatus.SENT, sent_at=timezone.now(), next_attempt_at=None, gateway_ref=ref, last_error=""
    )
    return SendStatus.SENT


def message_retry(*, message_id: int) -> None:
    """An administrator sends a failed or held message again (admin action)."""
    Message.objects.filter(pk=message_id, status__in=[SendStatus.DEAD, SendStatus.HELD, SendStatus.RETRYING]).update(
        status=SendStatus.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )


# --- webhooks ----------------------------------------------------------------------------------


def webhook_subscribe(*, name: str, url: str, topics: list[str], secret: str) -> WebhookSubscription:
    errors: dict[str, str] = {}
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        errors["url"] = "URL must start with http:// or https://"
    unknown = sorted(set(topics) - set(WEBHOOK_TOPICS))
    if not topics or unknown:
        errors["topics"] = f"unknown events: {', '.join(unknown)}" if unknown else "choose at least one event"
    if len(secret) < 16:
        errors["secret"] = "at least 16 characters"
    if errors:
        raise ValidationFailed(fields=errors)
    return WebhookSubscription.objects.create(name=name[:64], url=url, topics=sorted(set(topics)), secret=secret)


def webhook_fanout(*, event_id: int, topic: str, payload: dict[str, Any]) -> list[int]:
    """One delivery row per active subscription to ``topic`` (at most one per event: unique)."""
    created: list[int] = []
    for sub in WebhookSubscription.objects.filter(active=True):
        if topic not in sub.topics:
            continue
        d, new = WebhookDelivery.objects.get_or_create(
            subscription=sub, event_id=event_id,
            defaults={"topic": topic, "payload": payload, "next_attempt_at": timezone.now()},
        )
        if new:
            created.append(d.pk)
            _after_commit_send("webhook", d.pk)
    return created


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Kefu-Signature``: HMAC-SHA256 over ``timestamp.body`` with the subscription's secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_deliver(*, delivery_id: int) -> str:
    """One POST attempt; 2xx is success, anything else (error, refusal, timeout) a recorded failure."""
    now = timezone.now()
    if not _claim(WebhookDelivery, delivery_id, now):
        return "skipped"
    d = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    body = json.dumps(
        {"id": d.event_id, "topic": d.topic, "data": d.payload}, ensure_ascii=False, cls=DjangoJSONEncoder
    ).encode()
    ts = str(int(time.time()))
    req = urllib.request.Request(d.subscription.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "kefu-webhooks/1",
        "X-Kefu-Event": d.topic,
        "X-Kefu-Delivery": str(d.event_id),  # receivers drop a repeated id: retries may repeat
        "X-Kefu-Timestamp": ts,
        "X-Kefu-Signature": sign(d.subscription.secret, ts, body),
    })
    try:
        with urllib.request.urlopen(req, timeout=settings.KEFU_WEBHOOK_TIMEOUT) as resp:  # noqa: S310
            code = resp.status
    except urllib.error.HTTPError as e:
        _fail(WebhookDelivery, d.pk, f"HTTP {e.code}", response_status=e.code)
        return WebhookDelivery.objects.get(pk=d.pk).status
    except (OSError, ValueError) as e:  # refused, unreachable, timed out, bad URL
        _fail(WebhookDelivery, d.pk, f"{e.__class__.__name__}: {e}")
        return WebhookDelivery.objects.get(pk=d.pk).status
    WebhookDelivery.objects.filter(pk=d.pk).update(
        status=SendStatus.SENT, response_status=code, delivered_at=timezone.now(), next_attempt_at=None, last_error=""
    )
    return SendStatus.SENT


def dispatch_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Everything due to be (re)tried: retries after backoff, expired leases, rows whose enqueue was
    lost while the broker was down. Sends inline, one row at a time."""
    now = now or timezone.now()
    due = Q(status__in=PENDING, next_attempt_at__lte=now)
    counts = {"messages": 0, "webhooks": 0}
    for pk in Message.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        message_send(message_id=pk)
        counts["messages"] += 1
    for pk in WebhookDelivery.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        webhook_deliver(delivery_id=pk)
        counts["webhooks"] += 1
    return counts
