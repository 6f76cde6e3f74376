"""Messages, templates, DND, SMTP, SMS gateway and webhooks against real loopback servers."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from kefu.core import events
from kefu.core.models import OutboxEvent
from kefu.notifications import services as ns
from kefu.notifications.models import ConsumedEvent, Message, MessageTemplate, WebhookDelivery
from kefu.tickets import services as ts

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(centre, customer):  # type: ignore[no-untyped-def]
    return ts.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="宽带无法上网")


def consume_all() -> None:
    for e in OutboxEvent.objects.order_by("id"):
        events.consume(event_id=e.pk, topic=e.topic, payload=e.payload)


def test_intake_tells_the_customer_the_expected_resolution_time_W8(order):
    consume_all()
    msg = Message.objects.get(template="ticket_received")
    due = timezone.localtime(order.resolution_due_at).strftime("%Y-%m-%d %H:%M")
    assert msg.body == f"【客服中心】尊敬的张三丰，您的工单{order.number}（宽带无法上网）已受理，我们预计在{due}前处理完毕，处理进展将及时告知您。"
    assert (msg.channel, msg.recipient, msg.status) == ("sms", "13800138000", "queued")
    # Embedded default: no gateway, the message is kept in the outbox.
    assert ns.message_send(message_id=msg.pk) == "held"


def test_consuming_an_event_twice_does_it_once(order):
    e = OutboxEvent.objects.get(topic="ticket.created")
    assert events.consume(event_id=e.pk, topic=e.topic, payload=e.payload) is True
    assert events.consume(event_id=e.pk, topic=e.topic, payload=e.payload) is False
    assert Message.objects.filter(template="ticket_received").count() == 1
    assert ConsumedEvent.objects.filter(event_id=e.pk).count() == 1


def test_missing_template_variable_is_a_recorded_failure_not_a_crash(order):
    MessageTemplate.objects.create(code="ticket_received", channel="sms", body="工单{number}预计{no_such_var}完成")
    consume_all()
    msg = Message.objects.get(template="ticket_received")
    assert msg.status == "invalid" and msg.last_error == "missing template variable: no_such_var"
    bad = ns.message_create(channel="sms", recipient="13800138000", template="nope", context={})
    assert bad.status == "invalid" and "unknown template" in bad.last_error


def test_dnd_blocks_care_but_not_service_C6(order, customer):
    customer.do_not_disturb = True
    customer.save()
    care = ns.customer_notify(ticket=order, template="care_visit", purpose="care")
    service = ns.customer_notify(ticket=order, template="sla_delay", purpose="service")
    marketing = ns.customer_notify(ticket=order, template="care_visit", purpose="marketing")
    assert (care.status, service.status, marketing.status) == ("blocked", "queued", "blocked")


def test_email_through_a_real_smtp_server_and_refusal_retries(smtp, centre, order, settings):
    settings.KEFU_SEND_BACKOFF_SECONDS = 60
    lead = centre["users"]["lead"]
    lead.email = "lead@example.cn"
    lead.save()
    ns.notice_create(user=lead, ticket=order, kind="sla.warning", text="已过时限的80%")
    msg = Message.objects.get(channel="email")
    assert ns.message_send(message_id=msg.pk) == "sent"
    [env] = smtp.messages
    assert env.rcpt_tos == ["lead@example.cn"]
    msg.refresh_from_db()
    assert msg.subject == f"【时限预警】工单{order.number}" and msg.sent_at is not None

    smtp.refuse = True
    ns.notice_create(user=lead, ticket=order, kind="sla.breached", text="已超时")
    msg2 = Message.objects.get(channel="email", template="sla.breached")
    assert ns.message_send(message_id=msg2.pk) == "retrying"
    msg2.refresh_from_db()
    assert "550" in msg2.last_error and msg2.attempts == 1
    assert msg2.next_attempt_at > timezone.now()  # backoff
    assert ns.message_send(message_id=msg2.pk) == "skipped"  # not due yet
    settings.KEFU_SEND_MAX_ATTEMPTS = 2
    Message.objects.filter(pk=msg2.pk).update(next_attempt_at=timezone.now())
    assert ns.message_send(message_id=msg2.pk) == "dead"


def test_http_sms_gateway(receiver, order, settings):
    settings.KEFU_SMS_GATEWAY = "kefu.notifications.sms.HttpSmsGateway"
    settings.KEFU_SMS_GATEWAY_URL = receiver.url
    msg = ns.customer_notify(ticket=order, template="sla_delay")
    assert ns.message_send(message_id=msg.pk) == "sent"
    headers, body = receiver.requests[0]
    assert json.loads(body)["to"] == "13800138000" and Message.objects.get(pk=msg.pk).gateway_ref == "gw-1"
    receiver.status = 503
    msg = ns.customer_notify(ticket=order, template="ticket_resolved")
    assert ns.message_send(message_id=msg.pk) == "retrying"
    assert "503" in Message.objects.get(pk=msg.pk).last_error


def test_webhook_signed_delivered_once_with_log(receiver, order):
    sub = ns.webhook_subscribe(name="CRM", url=receiver.url, topics=["ticket.created"], secret="s" * 20)
    consume_all()
    consume_all()  # a redelivery changes nothing
    [d] = WebhookDelivery.objects.all()
    assert ns.webhook_deliver(delivery_id=d.pk) == "sent"
    headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(sub.secret.encode(), headers["X-Kefu-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Kefu-Signature"] == expected
    assert headers["X-Kefu-Event"] == "ticket.created"
    assert json.loads(body)["data"]["number"] == order.number
    d.refresh_from_db()
    assert (d.status, d.response_status, d.attempts) == ("sent", 200, 1)
    assert ns.webhook_deliver(delivery_id=d.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_webhook_failing_and_hanging_receivers_are_recorded(receiver, order, settings):
    settings.KEFU_WEBHOOK_TIMEOUT = 0.5
    ns.webhook_subscribe(name="CRM", url=receiver.url, topics=["ticket.created"], secret="s" * 20)
    ns.webhook_subscribe(name="dead", url="http://127.0.0.1:9/nothing", topics=["ticket.created"], secret="s" * 20)
    consume_all()
    receiver.status = 500
    results = {d.subscription.name: ns.webhook_deliver(delivery_id=d.pk) for d in WebhookDelivery.objects.all()}
    assert results == {"CRM": "retrying", "dead": "retrying"}
    d = WebhookDelivery.objects.get(subscription__name="CRM")
    assert d.response_status == 500 and d.last_error == "HTTP 500"
    assert "refused" in WebhookDelivery.objects.get(subscription__name="dead").last_error.lower()
    receiver.status, receiver.hang = 200, 2
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    assert ns.webhook_deliver(delivery_id=d.pk) == "retrying"
    assert "timed out" in WebhookDelivery.objects.get(pk=d.pk).last_error


def test_webhook_subscription_bad_input():
    from kefu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        ns.webhook_subscribe(name="x", url="ftp://x", topics=["nope"], secret="short")
    assert set(e.value.fields) == {"url", "topics", "secret"}


def test_dispatch_due_sends_what_is_due(receiver, order):
    ns.webhook_subscribe(name="CRM", url=receiver.url, topics=["ticket.created"], secret="s" * 20)
    consume_all()
    counts = ns.dispatch_due()
    assert counts["webhooks"] == 1 and counts["messages"] == 1
    assert WebhookDelivery.objects.get().status == "sent"
    assert ns.dispatch_due() == {"messages": 0, "webhooks": 0}


def test_webhook_api_admin_only(api_for, receiver):
    r = api_for("agent").post("/webhooks", {"name": "x", "url": receiver.url, "topics": ["sla.breached"], "secret": "s" * 20})
    assert r.status_code == 403
    admin = api_for("admin")
    r = admin.post("/webhooks", {"name": "x", "url": receiver.url, "topics": ["sla.breached"], "secret": "s" * 20})
    assert r.status_code == 201
    assert admin.get(f"/webhooks/{r.json()['id']}/deliveries").json() == []
    assert admin.post("/webhooks", {"name": "x", "url": "nope", "topics": [], "secret": ""}).status_code == 422


def test_an_order_waiting_in_a_queue_can_be_pushed_to_a_webhook_K4(receiver, order, centre):
    """Nobody was free to take it: an integration (the team's group chat, a wallboard) can be told."""
    ns.webhook_subscribe(name="班组群", url=receiver.url, topics=["ticket.queued"], secret="s" * 20)
    ts.ticket_queue(actor=centre["users"]["agent"], ticket_id=order.pk, team_id=centre["teams"][0].pk, reason="无人值守")
    consume_all()
    [d] = WebhookDelivery.objects.all()
    assert ns.webhook_deliver(delivery_id=d.pk) == "sent"
    data = json.loads(receiver.requests[0][1])["data"]
    assert (data["number"], data["team_name"]) == (order.number, "热线一班")
