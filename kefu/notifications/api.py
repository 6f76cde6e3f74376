"""API of webhooks (administrators) and staff notices under /api/v1/ (issue #4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja import Status as Reply

from kefu.accounts.models import Role
from kefu.core.errors import NotFound, PermissionDenied

from . import services
from .models import Notice, WebhookDelivery, WebhookSubscription

router = Router(tags=["notifications and webhooks"])


def _admin(request: HttpRequest) -> None:
    if not (request.user.role == Role.ADMIN or request.user.is_superuser):
        raise PermissionDenied(_("Only administrators manage webhooks."))


class WebhookIn(Schema):
    name: str
    url: str
    topics: list[str]
    secret: str


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    topics: list[str]
    active: bool


class DeliveryOut(Schema):
    id: int
    event_id: int
    topic: str
    status: str
    attempts: int
    response_status: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


class NoticeOut(Schema):
    id: int
    kind: str
    text: str
    ticket: str | None
    created_at: datetime


@router.get("/webhooks", response=list[WebhookOut])
def webhook_list(request: HttpRequest) -> Any:
    _admin(request)
    return list(WebhookSubscription.objects.order_by("id"))


@router.post("/webhooks", response={201: WebhookOut})
def webhook_create(request: HttpRequest, body: WebhookIn) -> Any:
    _admin(request)
    return Reply(201, services.webhook_subscribe(name=body.name, url=body.url, topics=body.topics, secret=body.secret))


@router.get("/webhooks/{webhook_id}/deliveries", response=list[DeliveryOut])
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> Any:
    """The delivery log, newest first."""
    _admin(request)
    if not WebhookSubscription.objects.filter(pk=webhook_id).exists():
        raise NotFound()
    return list(WebhookDelivery.objects.filter(subscription_id=webhook_id).order_by("-id")[:200])


@router.get("/notices", response=list[NoticeOut])
def notice_list(request: HttpRequest) -> Any:
    """The caller's SLA notices, newest first."""
    rows = Notice.objects.filter(user=request.user).select_related("ticket").order_by("-id")[:100]
    return [{"id": n.pk, "kind": n.kind, "text": n.text, "ticket": n.ticket.number if n.ticket_id else None,
             "created_at": n.created_at} for n in rows]
