"""The daily roll-up (issue #7, A1): maintained incrementally from the outbox events of real service
calls, it equals the table rebuilt from raw data; a replayed event changes nothing; the consumer of
kefu.core.events applies it in its own transaction; the rebuild command works with and without a range."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from kefu.analytics import rollup
from kefu.analytics.models import DailyByAgent, DailyRollup, RollupAppliedEvent, RollupContribution
from kefu.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _events(after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
    return [(e.pk, e.topic, e.payload) for e in OutboxEvent.objects.filter(pk__gt=after).order_by("pk")]


def _activity(centre: dict[str, Any], customer: Any) -> None:
    """A day's work through the services: orders opened, answered, transferred, resolved, reopened,
    re-prioritised, surveyed and visited; calls imported and inspected, one scored by hand; a customer
    moved to another province."""
    from kefu.customers.services import customer_create, customer_update
    from kefu.followup import services as fs
    from kefu.followup.models import ReturnVisit
    from kefu.interactions.services import interaction_import
    from kefu.interactions.tests.test_api import call
    from kefu.quality.models import Inspection
    from kefu.quality.services import inspection_score
    from kefu.tickets import services as ts

    u = centre["users"]
    agent, other, sup = u["agent"], u["other"], u["supervisor"]
    second = customer_create(actor=sup, name="李四", phones=["13900139000"], province="湖南", city="长沙")
    a = ts.ticket_create(actor=agent, type="fault", customer_id=customer.pk, subject="宽带断网", channel="phone")
    b = ts.ticket_create(actor=agent, type="complaint", priority="high", customer_id=customer.pk, subject="乱收费",
                         channel="web")
    c = ts.ticket_create(actor=other, type="consultation", customer_id=second.pk, subject="套餐咨询", channel="chat")
    ts.ticket_reply(actor=agent, ticket_id=a.pk, body="您好，正在为您处理。")
    ts.ticket_transfer(actor=agent, ticket_id=b.pk, department="network", reason="需要核查")
    ts.ticket_set_priority(actor=other, ticket_id=c.pk, priority="urgent", reason="客户着急")
    ts.ticket_escalate(actor=other, ticket_id=c.pk, reason="升级处理")
    ts.ticket_resolve(actor=agent, ticket_id=a.pk, resolution="已修复")
    ts.ticket_resolve(actor=agent, ticket_id=b.pk, resolution="已退费")
    ts.ticket_reopen(actor=agent, ticket_id=b.pk, reason="客户不认可")
    visit = ReturnVisit.objects.filter(ticket=a).first()
    assert visit is not None
    fs.return_visit_complete(actor=agent, visit_id=visit.pk, outcome="satisfied")
    inv, token = fs.survey_invite(ticket=b)
    fs.survey_answer(token=token, score=2, reason="不满意")
    results = interaction_import(actor=sup, items=[
        call(external_id="R-1", customer_id=customer.pk, wait_seconds=8, talk_seconds=120, hold_seconds=5,
             wrap_up_seconds=30, started_at=timezone.localtime().replace(hour=9, minute=0).isoformat()),
        call(external_id="R-2", customer_id=second.pk, wait_seconds=40, talk_seconds=0,
             started_at=timezone.localtime().replace(hour=9, minute=5).isoformat()),
        call(agent_id="2001", external_id="R-3", customer_id=second.pk, wait_seconds=3, talk_seconds=60,
             started_at=(timezone.localtime() - timedelta(days=1)).isoformat()),
    ])
    assert [r.status for r in results] == ["created"] * 3, [r.as_dict() for r in results]
    insp = Inspection.objects.get(interaction_id=results[0].id, current=True)
    inspection_score(actor=u["inspector"], inspection_id=insp.pk, points={"teamwork": 3})
    customer_update(actor=sup, customer_id=second.pk, changes={"province": "湖北"})
    fs.cyclical_visits_schedule()


def test_incremental_equals_rebuilt_and_replay_changes_nothing_A1(centre, customer):  # type: ignore[no-untyped-def]
    start = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rollup.rebuild()  # the customer of the fixture
    _activity(centre, customer)
    events = _events(start)
    assert {"ticket.created", "ticket.transferred", "ticket.status_changed", "ticket.priority_changed",
            "survey.completed", "return_visit.completed", "interaction.created", "quality.scored",
            "customer.updated"} <= {t for _i, t, _p in events}
    for e in events:  # one by one, as the relay delivers them
        rollup.apply_events([e])
    incremental = rollup.table_snapshot()
    grains = rollup.grains_snapshot()
    contributions = sorted(RollupContribution.objects.values_list("entity", "rows"))
    cols = rollup.snapshot_columns()
    total = {m: sum(r[cols.index(m)] for r in incremental) for m in ("opened", "contacts", "calls_abandoned",
                                                                      "csat_n", "rv_due", "customers_new", "reopenings")}
    # Orders a, b, c; calls R-1..R-3, R-2 abandoned; B's survey; B reopened once; two customers. Return
    # visits: A's (done) and whatever B's resolution scheduled — at least one.
    assert total == {"opened": 3, "contacts": 3, "calls_abandoned": 1, "csat_n": 1, "rv_due": total["rv_due"],
                     "customers_new": 2, "reopenings": 1}
    assert total["rv_due"] >= 1
    # The coarser grains hold the same sums (by agent; by type/category/region/channel without the agent).
    for snap, dims in zip(grains[1:], (2, 5)):
        assert [sum(r[1 + dims + i] for r in snap) for i in range(len(cols) - 7)] == [
            sum(r[7 + i] for r in incremental) for i in range(len(cols) - 7)]
    # Replaying every event (the relay published them twice) changes nothing.
    assert rollup.apply_events(events) == 0
    assert rollup.grains_snapshot() == grains
    # Without the ledger, recounting the same records still changes nothing (contributions are exact).
    RollupAppliedEvent.objects.all().delete()
    assert rollup.apply_events(events) == len(events)
    assert rollup.grains_snapshot() == grains
    rollup.rebuild()
    assert rollup.grains_snapshot() == grains
    assert sorted(RollupContribution.objects.values_list("entity", "rows")) == contributions


def test_relay_chunk_consumer_applies_the_roll_up_once(centre, customer):  # type: ignore[no-untyped-def]
    """The relay's chunk task (kefu.core.tasks.handle_events_task) applies the roll-up for the whole
    chunk in one transaction with its ledger; a redelivered chunk changes nothing; a failing roll-up
    is retried on its own (rollup_apply_task) without holding back the other consumers."""
    from unittest import mock

    from kefu.core.tasks import handle_events_task
    from kefu.notifications.models import ConsumedEvent
    from kefu.tickets import services as ts

    start = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ts.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="断网")
    ts.ticket_create(actor=centre["users"]["agent"], type="complaint", customer_id=customer.pk, subject="乱收费")
    chunk = [list(e) for e in _events(start)]
    assert handle_events_task(chunk) == len(chunk)
    snap = rollup.table_snapshot()
    assert sum(r[7] for r in snap) == 2  # opened (column 7)
    assert RollupAppliedEvent.objects.filter(topic="ticket.created").count() == 2
    assert handle_events_task(chunk) == 0  # redelivered: every consumer skips it
    assert rollup.table_snapshot() == snap

    ts.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="又断网")
    later = [list(e) for e in _events(chunk[-1][0])]
    with mock.patch("kefu.analytics.rollup.apply_events", side_effect=RuntimeError("db hiccup")), \
            mock.patch("kefu.analytics.tasks.rollup_apply_task.apply_async") as retry:
        assert handle_events_task(later) == len(later)  # the messages went on
    assert ConsumedEvent.objects.filter(event_id__in=[e[0] for e in later]).count() == len(later)
    retry.assert_called_once()
    from kefu.analytics.tasks import rollup_apply_task

    assert rollup_apply_task(*retry.call_args.kwargs["args"]) == len(later)  # the retry applies it
    assert sum(r[7] for r in rollup.table_snapshot()) == 3


def test_rebuild_command_with_and_without_a_range(centre, customer):  # type: ignore[no-untyped-def]
    _activity(centre, customer)
    out = StringIO()
    call_command("analytics", "rebuild", stdout=out)
    full = rollup.grains_snapshot()
    assert full and "t=" in out.getvalue()
    # A range recounts the records of those days by difference: the table stays the same.
    today = timezone.localdate().isoformat()
    call_command("analytics", "rebuild", "--from", today, "--to", today, stdout=StringIO())
    assert rollup.grains_snapshot() == full
    # A row damaged by hand is repaired by the full rebuild.
    DailyRollup.objects.filter(opened__gt=0).update(opened=99)
    DailyByAgent.objects.filter(opened__gt=0).update(opened=98)
    call_command("analytics", "rebuild", stdout=StringIO())
    assert rollup.grains_snapshot() == full


def test_rebuild_command_refuses_bad_ranges(db):  # type: ignore[no-untyped-def]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--to"):
        call_command("analytics", "rebuild", "--from", "2026-03-02", "--to", "2026-03-01", stdout=StringIO())
    with pytest.raises(CommandError, match="--from"):
        call_command("analytics", "rebuild", "--from", "yesterday", stdout=StringIO())
