"""The transactional outbox relay against a real Redis broker (issue #4): events are published
after commit, an outage delays but loses nothing, a republished event is consumed once in effect."""

from __future__ import annotations

import pytest
from celery import Celery

from kefu.core import events, relay
from kefu.core.models import OutboxEvent
from kefu.notifications.models import ConsumedEvent, Message
from kefu.tickets import services as ts

from .brokers import MAIN_REDIS, RedisProcess, drain, need, port_open

pytestmark = pytest.mark.django_db


def app_for(url: str) -> Celery:
    return Celery("kefu-test", broker=url, broker_connection_timeout=1, broker_connection_retry=False,
                  broker_transport_options={"max_retries": 0})


def consume(messages: list) -> int:  # type: ignore[type-arg]
    done = 0
    for name, args in messages:
        assert name == "kefu.core.handle_events_task"
        for event_id, topic, payload in args[0]:
            done += events.consume(event_id=event_id, topic=topic, payload=payload)
    return done


def test_relay_publishes_each_event_once_to_redis(centre, customer):
    need(port_open(6379), "Redis is not reachable on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(MAIN_REDIS).flushdb()
    for i in range(3):
        ts.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject=f"故障{i}")
    publish = relay.celery_publisher(app_for(MAIN_REDIS))
    n = OutboxEvent.objects.count()
    assert relay.relay_batch(publish=publish) == n
    assert relay.relay_batch(publish=publish) == 0
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    msgs = drain(MAIN_REDIS)
    assert [e[0] for _name, a in msgs for e in a[0]] == list(OutboxEvent.objects.order_by("id").values_list("id", flat=True))
    assert consume(msgs) == n
    assert Message.objects.filter(template="ticket_received").count() == 3


def test_broker_outage_delays_but_loses_nothing_and_duplicates_do_nothing_twice(centre, customer):
    broker = RedisProcess(6390)
    broker.start()
    try:
        publish = relay.celery_publisher(app_for(broker.url))
        agent = centre["users"]["agent"]
        OutboxEvent.objects.all().delete()  # the fixture's customer.created: not part of this story
        ts.ticket_create(actor=agent, type="fault", customer_id=customer.pk, subject="停机前")
        assert relay.relay_batch(publish=publish) == 1

        broker.stop()  # the broker goes away while orders keep coming
        for i in range(5):
            ts.ticket_create(actor=agent, type="fault", customer_id=customer.pk, subject=f"停机中{i}")
        with pytest.raises(relay.BrokerUnavailable):
            relay.relay_batch(publish=publish)
        waiting = OutboxEvent.objects.filter(published_at__isnull=True)
        assert waiting.count() == 5 and all(e.attempts == 1 for e in waiting)

        broker.start()  # back (empty: a restarted Redis without persistence lost the first message)
        assert relay.relay_batch(publish=publish) == 5
        msgs = drain(broker.url)
        assert sum(len(a[0]) for _n, a in msgs) == 5
        # The first event was lost with the broker's memory: reconcile puts it back, it goes again.
        from datetime import timedelta

        consume(msgs)
        assert relay.reconcile(older_than=timedelta(0)) == 1
        assert relay.relay_batch(publish=publish) == 1
        consume(drain(broker.url))

        # A relay that crashed after publishing republishes everything: consumed once in effect.
        OutboxEvent.objects.update(published_at=None)
        assert relay.relay_batch(publish=publish) == 6
        again = drain(broker.url)
        assert sum(len(a[0]) for _n, a in again) == 6 and consume(again) == 0
        assert ConsumedEvent.objects.count() == 6
        assert Message.objects.filter(template="ticket_received").count() == 6
        assert sorted(Message.objects.values_list("ticket__subject", flat=True)) == sorted(
            ["停机前", *[f"停机中{i}" for i in range(5)]])
    finally:
        broker.stop()
