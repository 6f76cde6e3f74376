"""SLA watch and escalation ladder (W6, issue #4): warnings at shares of the promise, the ladder on
breach, every step on the timeline, idempotent sweeps that touch only orders whose step changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kefu.core.models import OutboxEvent
from kefu.notifications.models import Message, Notice
from kefu.tickets import escalation, services as ts, sla
from kefu.tickets.models import BusinessCalendar, EventKind, SlaPolicy, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(db):  # type: ignore[no-untyped-def]
    cal = BusinessCalendar.objects.get(kind="always")
    p = SlaPolicy.objects.get(ticket_type="fault", priority="normal", min_star_level=None, active=True)
    p.calendar, p.first_response_minutes, p.resolution_minutes = cal, 60, 100
    p.save()
    sla.clear_cache()
    return p


@pytest.fixture
def order(centre, customer, policy):  # type: ignore[no-untyped-def]
    lead = centre["users"]["lead"]
    team = centre["teams"][0]
    team.lead = lead
    team.save()
    return ts.ticket_create(actor=centre["users"]["agent"], type="fault", customer_id=customer.pk, subject="宽带无法上网")


def at(t: Ticket, share: float):  # type: ignore[no-untyped-def]
    return t.created_at + timedelta(minutes=100 * share)


def sla_events(t: Ticket) -> list[dict]:
    return [e.data for e in t.events.filter(kind=EventKind.SLA).order_by("id")]


def test_watch_is_set_at_the_first_share_on_create(order):
    assert order.sla_step == 0
    assert order.sla_watch_at == at(order, 0.5)


def test_ladder_warns_then_escalates_each_step_once(order, centre):
    agent, lead = centre["users"]["agent"], centre["users"]["lead"]
    assert escalation.sla_sweep(now=at(order, 0.4)).examined == 0

    r = escalation.sla_sweep(now=at(order, 0.55))
    assert (r.examined, r.advanced) == (1, 1)
    t = Ticket.objects.get(pk=order.pk)
    assert t.sla_step == 1 and t.sla_watch_at == at(order, 0.8)
    assert sla_events(t) == [{"step": 1, "share": 0.5, "actions": ["warn_assignee"], "breached": False}]
    assert list(Notice.objects.values_list("user__username", "kind")) == [("agent", "sla.warning")]
    assert OutboxEvent.objects.filter(topic="sla.warning").count() == 1
    # Idempotent: the same sweep again examines and changes nothing.
    r = escalation.sla_sweep(now=at(order, 0.55))
    assert (r.examined, r.advanced) == (0, 0)
    assert Notice.objects.count() == 1

    escalation.sla_sweep(now=at(order, 0.85))
    assert sorted(Notice.objects.filter(kind="sla.warning").values_list("user__username", flat=True)) == ["agent", "agent", "lead"]

    escalation.sla_sweep(now=at(order, 1.01))
    t = Ticket.objects.get(pk=order.pk)
    assert t.sla_step == 3 and t.escalation_level == 1
    assert t.events.filter(kind=EventKind.ESCALATE).count() == 1
    assert OutboxEvent.objects.filter(topic="sla.breached").count() == 1
    # W8: the customer hears that it takes longer; a service message.
    sms = Message.objects.get(template="sla_delay")
    assert sms.recipient == "13800138000" and "GD" in sms.body and sms.purpose == "service"

    escalation.sla_sweep(now=at(order, 1.6))
    t = Ticket.objects.get(pk=order.pk)
    assert t.sla_step == 4 and t.sla_watch_at is None
    assert t.priority == "high"  # raised one step
    assert t.assignee_id == lead.pk  # reassigned to the team lead
    assert t.owner_id == agent.pk  # W4: the owner stays
    assert Notice.objects.filter(user__username="supervisor", kind="sla.warning").count() == 1
    # Nothing more to do, however often the sweep runs.
    assert escalation.sla_sweep(now=at(order, 5)).examined == 0
    assert t.events.filter(kind=EventKind.SLA).count() == 4


def test_a_late_first_sweep_jumps_to_the_breach_without_stale_warnings(order):
    escalation.sla_sweep(now=at(order, 1.2))
    t = Ticket.objects.get(pk=order.pk)
    assert t.sla_step == 3
    [data] = sla_events(t)
    assert data["breached"] and "warn_assignee" not in data["actions"]


def test_pause_stops_the_watch_and_resume_shifts_it(order, centre):
    agent = centre["users"]["agent"]
    ts.ticket_pend(actor=agent, ticket_id=order.pk, reason="等客户提供光猫照片")
    assert Ticket.objects.get(pk=order.pk).sla_watch_at is None
    assert escalation.sla_sweep(now=at(order, 3)).examined == 0
    t = ts.ticket_resume(actor=agent, ticket_id=order.pk)
    assert t.sla_watch_at is not None and t.sla_watch_at > order.sla_watch_at


def test_resolved_orders_leave_the_watch_and_a_reopen_starts_a_fresh_ladder(order, centre):
    agent = centre["users"]["agent"]
    escalation.sla_sweep(now=at(order, 1.01))
    t = ts.ticket_resolve(actor=agent, ticket_id=order.pk, resolution="已更换光猫")
    assert t.sla_watch_at is None
    t = ts.ticket_reopen(actor=agent, ticket_id=order.pk, reason="客户反映仍然断网")
    t.refresh_from_db()
    assert t.sla_step == 0 and t.sla_watch_at is not None and t.sla_watch_at > order.sla_watch_at


def test_policy_ladder_replaces_the_default(order, policy):
    policy.escalation_ladder = [{"at": 0.9, "actions": ["notify_supervisor"]}]
    policy.save()
    sla.clear_cache()
    t = ts.ticket_set_priority(actor=order.owner, ticket_id=order.pk, priority="normal", reason="x")
    t = Ticket.objects.get(pk=order.pk)
    # A fresh save recomputes with the policy's ladder.
    ts.ticket_note(actor=order.owner, ticket_id=order.pk, body="查看")
    t = Ticket.objects.get(pk=order.pk)
    assert t.sla_watch_at == at(order, 0.9)
    escalation.sla_sweep(now=at(order, 0.95))
    assert list(Notice.objects.values_list("user__username", flat=True)) == ["supervisor"]


def test_validate_ladder_names_the_problems():
    assert escalation.validate_ladder([{"at": 0.5, "actions": ["warn_assignee"]}]) == []
    assert escalation.validate_ladder("x") == ["the ladder must be a list of steps"]
    problems = escalation.validate_ladder([{"actions": []}, {"at": "a"}, {"at": 1, "actions": ["explode"]}])
    assert len(problems) == 3


def test_sweep_touches_only_changing_orders(centre, customer, policy):
    agent = centre["users"]["agent"]
    orders = [ts.ticket_create(actor=agent, type="fault", customer_id=customer.pk, subject=f"故障{i}") for i in range(5)]
    versions = {t.pk: t.version for t in orders}
    ts.ticket_pend(actor=agent, ticket_id=orders[0].pk, reason="等待")  # paused: not watched
    r = escalation.sla_sweep(now=at(orders[-1], 0.6))
    assert (r.examined, r.advanced) == (4, 4)
    # A warning changes no version (no stale-version conflicts for the agent at work).
    assert all(Ticket.objects.get(pk=t.pk).version == versions[t.pk] for t in orders[1:])
