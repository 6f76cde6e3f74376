"""SLA watch: warnings and the escalation ladder (W6, issue #4).

Each order stores how many ladder steps were taken for its current resolution promise
(``sla_step``) and when the next one falls due (``sla_watch_at``, partial index). ``watch_refresh``
keeps the latter in step on every save (called from ``sla.refresh``); the sweep reads one index
range, so it touches only the orders whose step changes, and locks and re-checks each one, so
running it twice (or in two workers at once) does nothing twice.

A ladder is a list of steps ``{"at": share, "actions": [...]}``; ``at`` is a share of the
resolution promise counted in the policy's business calendar (1.0 = the due time). Actions:

- ``warn_assignee`` — notice to the assignee (``sla.warning``);
- ``notify_team_lead`` / ``notify_supervisor`` — notice to the team's lead / every supervisor;
- ``breach`` — the promise is broken (``sla.breached``), the customer is told we are on it (W8);
- ``escalate`` — management escalation through ``ticket_escalate`` (level + 1);
- ``raise_priority`` — one priority up through ``ticket_set_priority``;
- ``reassign`` — hand the order to the team lead through ``ticket_transfer``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import override

from kefu.core import outbox
from kefu.core.errors import KefuError

from . import sla
from .models import PRIORITY_ORDER, EventKind, SlaPolicy, Ticket, TicketEvent

log = logging.getLogger(__name__)

ACTIONS = frozenset({
    "warn_assignee", "notify_team_lead", "notify_supervisor", "breach", "escalate", "raise_priority", "reassign",
})


def ladder_for(policy: SlaPolicy | None) -> list[dict[str, Any]]:
    raw = (policy.escalation_ladder if policy is not None else None) or settings.KEFU_SLA_LADDER
    return sorted(raw, key=lambda s: float(s["at"]))


def validate_ladder(ladder: Any) -> list[str]:
    """Problems with a ladder an administrator typed (empty list: fine)."""
    problems: list[str] = []
    if not isinstance(ladder, list):
        return ["the ladder must be a list of steps"]
    for i, step in enumerate(ladder):
        if not isinstance(step, dict) or "at" not in step:
            problems.append(f"step {i + 1}: needs 'at'")
            continue
        try:
            if float(step["at"]) <= 0:
                problems.append(f"step {i + 1}: 'at' must be above 0")
        except (TypeError, ValueError):
            problems.append(f"step {i + 1}: 'at' must be a number")
        unknown = set(step.get("actions", [])) - ACTIONS
        if unknown:
            problems.append(f"step {i + 1}: unknown actions {sorted(unknown)}")
    return problems


def step_moment(ticket: Ticket, share: float) -> datetime | None:
    """When ``share`` of the resolution promise has elapsed, in the policy's business time."""
    due, start, policy = ticket.resolution_due_at, ticket.sla_started_at, ticket.sla_policy
    if due is None or start is None:
        return None
    if share == 1.0 or policy is None:
        return due if share == 1.0 else start + (due - start) * share
    calc = sla.calc_for(policy.calendar)
    total = calc.minutes_between(start, due)
    return calc.add_minutes(start, total * share)


def watch_refresh(ticket: Ticket) -> None:
    """Set ``sla_watch_at``: the next ladder step's moment while the resolution clock runs."""
    if ticket.sla_breach_at is None or ticket.resolution_due_at is None:
        ticket.sla_watch_at = None
        return
    ladder = ladder_for(ticket.sla_policy if ticket.sla_policy_id else None)
    if ticket.sla_step >= len(ladder):
        ticket.sla_watch_at = None
        return
    ticket.sla_watch_at = step_moment(ticket, float(ladder[ticket.sla_step]["at"]))


@dataclass
class SweepResult:
    examined: int = 0
    advanced: int = 0
    steps: list[tuple[str, int]] = field(default_factory=list)


def sla_sweep(*, now: datetime | None = None, limit: int | None = None) -> SweepResult:
    """Take every ladder step that fell due by ``now``. Each order in its own transaction."""
    now = now or timezone.now()
    limit = limit or settings.KEFU_SLA_SWEEP_BATCH
    result = SweepResult()
    ids = list(
        Ticket.objects.filter(sla_watch_at__lte=now).order_by("sla_watch_at").values_list("id", flat=True)[:limit]
    )
    result.examined = len(ids)
    leads: dict[int, Any] = {}
    # Orders commit in groups (one commit per group, not per order). Warning-only steps — most of a
    # sweep — are written in bulk; steps that act through ticket services go one by one, each in its
    # own savepoint, so one that fails is rolled back alone and retried by the next sweep.
    for i in range(0, len(ids), SWEEP_GROUP):
        with transaction.atomic():
            rest = _bulk_warnings(ids[i:i + SWEEP_GROUP], now, leads, result)
            for ticket_id in rest:
                try:
                    step = _advance(ticket_id, now, leads)
                except Exception:  # one bad order must not stop the sweep
                    log.exception("SLA step failed for ticket %s", ticket_id)
                    continue
                if step is not None:
                    result.advanced += 1
                    result.steps.append(step)
    return result


def _plan(t: Ticket, now: datetime) -> tuple[int, list[str], list[float]]:
    """(the step reached by ``now``, the actions of the steps passed, their shares) — no writes."""
    ladder = ladder_for(t.sla_policy if t.sla_policy_id else None)
    step, actions, shares = t.sla_step, [], []
    while step < len(ladder):
        moment = step_moment(t, float(ladder[step]["at"]))
        if moment is None or moment > now:
            break
        shares.append(float(ladder[step]["at"]))
        actions += [a for a in ladder[step].get("actions", []) if a not in actions]
        step += 1
    return step, actions, shares


WARNING_ONLY = frozenset({"warn_assignee", "notify_team_lead"})


def _bulk_warnings(ids: list[int], now: datetime, leads: dict[int, Any], result: SweepResult) -> list[int]:
    """Lock the group (id order: no deadlock between two sweeps), write warning-only steps in bulk;
    returns the ids that need the one-by-one path."""
    from kefu.accounts.models import User
    from kefu.core.models import OutboxEvent
    from kefu.notifications import services as notify
    from kefu.notifications.models import Notice

    tickets = list(Ticket.objects.select_for_update().filter(pk__in=ids, sla_watch_at__lte=now).order_by("pk"))
    rest: list[int] = []
    changed: list[Ticket] = []
    events: list[TicketEvent] = []
    outbox_rows: list[OutboxEvent] = []
    notices: list[tuple[int, Ticket, str]] = []
    with override(settings.LANGUAGE_CODE):
        for t in tickets:
            step, actions, shares = _plan(t, now)
            if step == t.sla_step or not set(actions) <= WARNING_ONLY:
                rest.append(t.pk)
                continue
            t.sla_step = step
            watch_refresh(t)
            changed.append(t)
            due = timezone.localtime(t.resolution_due_at).strftime("%Y-%m-%d %H:%M")
            body = gettext("%(share)d%% of the resolution time has elapsed (due %(due)s).") % {
                "share": round(shares[-1] * 100), "due": due}
            events.append(TicketEvent(ticket=t, kind=EventKind.SLA, actor=None, created_at=now, body=body,
                                      data={"step": step, "share": shares[-1], "actions": actions, "breached": False}))
            outbox_rows.append(OutboxEvent(topic="sla.warning", payload={
                "ticket_id": t.pk, "number": t.number, "step": step, "share": shares[-1],
                "due_at": t.resolution_due_at.isoformat(), "assignee_id": t.assignee_id}))
            who = [t.assignee_id] if "warn_assignee" in actions else []
            if "notify_team_lead" in actions:
                lead = _team_lead(t.team_id, leads)
                who.append(lead.pk if lead is not None else None)
            for uid in dict.fromkeys(u for u in who if u is not None):
                notices.append((uid, t, f"{t.number} {t.subject}: {body}"))
    if changed:
        Ticket.objects.bulk_update(changed, ["sla_step", "sla_watch_at"])
        TicketEvent.objects.bulk_create(events)
        OutboxEvent.objects.bulk_create(outbox_rows)
        users = User.objects.in_bulk({uid for uid, _t, _x in notices})
        plain = []
        for uid, t, text in notices:
            user = users.get(uid)
            if user is None:
                continue
            if user.email:
                notify.notice_create(user=user, ticket=t, kind="sla.warning", text=text)  # and an email
            else:
                plain.append(Notice(user=user, ticket=t, kind="sla.warning", text=text[:400]))
        Notice.objects.bulk_create(plain)
        result.advanced += len(changed)
        result.steps += [(t.number, t.sla_step) for t in changed]
    return rest


SWEEP_GROUP = 200


def _advance(ticket_id: int, now: datetime, leads: dict[int, Any]) -> tuple[str, int] | None:
    from kefu.core.events import system_actor
    from kefu.notifications import services as notify

    from . import services as ts

    with transaction.atomic():
        # No joins: PostgreSQL plans a multi-table lock query slower than it runs it; the few
        # related rows a step needs are read on demand.
        t = Ticket.objects.select_for_update().filter(pk=ticket_id).order_by().first()
        if t is None or t.sla_watch_at is None or t.sla_watch_at > now:
            return None  # another sweep got there first, or the promise moved
        ladder = ladder_for(t.sla_policy)
        first = t.sla_step
        actions: list[str] = []
        shares: list[float] = []
        while t.sla_step < len(ladder):
            moment = step_moment(t, float(ladder[t.sla_step]["at"]))
            if moment is None or moment > now:
                break
            shares.append(float(ladder[t.sla_step]["at"]))
            actions += [a for a in ladder[t.sla_step].get("actions", []) if a not in actions]
            t.sla_step += 1
        if t.sla_step == first:
            watch_refresh(t)
            t.save(update_fields=["sla_watch_at"])
            return None
        breach = "breach" in actions
        if breach and "warn_assignee" in actions:
            actions.remove("warn_assignee")  # a late first look says "broken", not "about to break"
        watch_refresh(t)
        t.save(update_fields=["sla_step", "sla_watch_at"])

        share = shares[-1]
        with override(settings.LANGUAGE_CODE):
            if breach:
                body = gettext("The resolution promise was broken (due %(due)s).") % {
                    "due": timezone.localtime(t.resolution_due_at).strftime("%Y-%m-%d %H:%M")}
            else:
                body = gettext("%(share)d%% of the resolution time has elapsed (due %(due)s).") % {
                    "share": round(share * 100), "due": timezone.localtime(t.resolution_due_at).strftime("%Y-%m-%d %H:%M")}
        TicketEvent.objects.create(
            ticket=t, kind=EventKind.SLA, actor=None, created_at=now, body=body,
            data={"step": t.sla_step, "share": share, "actions": actions, "breached": breach},
        )
        topic = "sla.breached" if breach else "sla.warning"
        outbox.put(topic, ticket_id=t.pk, number=t.number, step=t.sla_step, share=share,
                   due_at=t.resolution_due_at, assignee_id=t.assignee_id)

        recipients = []
        if "warn_assignee" in actions or breach:
            recipients.append(t.assignee)
        lead = _team_lead(t.team_id, leads)
        if "notify_team_lead" in actions:
            recipients.append(lead)
        if "notify_supervisor" in actions:
            from kefu.accounts.models import Role, User

            recipients += list(User.objects.filter(role=Role.SUPERVISOR, is_active=True).exclude(username="kefu-system"))
        seen: set[int] = set()
        for user in recipients:
            if user is None or user.pk in seen:
                continue
            seen.add(user.pk)
            notify.notice_create(user=user, ticket=t, kind=topic, text=f"{t.number} {t.subject}: {body}")
        if breach:
            notify.customer_notify(ticket=t, template="sla_delay", purpose="service",
                                   dedupe=f"sla_delay:{t.pk}:{t.sla_started_at.isoformat() if t.sla_started_at else ''}")

        actor = system_actor() if {"escalate", "raise_priority", "reassign"} & set(actions) else None
        reason = body
        if "escalate" in actions:
            _try(ts.ticket_escalate, actor=actor, ticket_id=t.pk, reason=reason)
        if "raise_priority" in actions:
            idx = PRIORITY_ORDER.index(t.priority) if t.priority in PRIORITY_ORDER else 1
            if idx + 1 < len(PRIORITY_ORDER):
                _try(ts.ticket_set_priority, actor=actor, ticket_id=t.pk, priority=PRIORITY_ORDER[idx + 1], reason=reason)
        if "reassign" in actions and lead is not None and lead.agent_id and lead.pk != t.assignee_id:
            _try(ts.ticket_transfer, actor=actor, ticket_id=t.pk, agent=lead.agent_id, reason=reason)
        return (t.number, t.sla_step)


def _team_lead(team_id: int | None, leads: dict[int, Any]) -> Any:
    """The team's lead; ``leads`` remembers them for one sweep (it asks for the same teams often)."""
    if team_id is None:
        return None
    if team_id not in leads:
        from kefu.accounts.models import Team

        team = Team.objects.select_related("lead").filter(pk=team_id).first()
        leads[team_id] = team.lead if team is not None else None
    return leads[team_id]


def _try(fn: Any, **kw: Any) -> None:
    """A ladder action a business rule refuses (e.g. the lead left) is logged, not fatal."""
    try:
        fn(**kw)
    except KefuError as e:
        log.warning("SLA ladder action %s refused for ticket %s: %s", fn.__name__, kw.get("ticket_id"), e.message)
