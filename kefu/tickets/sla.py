"""Time promises on a work order (W6). All business-time arithmetic goes through
``kefu.core.calendar``; this module only decides which promise applies and when the clock runs.

Rules kept here:
- the most specific active policy for type × priority (× star level) gives the targets;
- the clock pauses while the order waits for the customer and the pause is added back;
- a priority change recomputes the targets from the clock start; a reopen restarts resolution;
- a complaint's detailed feedback is due a fixed time after its first response (001 §1.2).
"""

from __future__ import annotations

import time as _time
from datetime import date, datetime, time
from typing import Any

from django.db.models import Q

from kefu.core.calendar import BusinessCalendar as Calc

from .models import CLOCK_RUNNING_STATUSES, BusinessCalendar, CalendarKind, Holiday, SlaPolicy, Ticket

FIELDS = [
    "sla_breach_at", "sla_policy", "sla_started_at", "first_response_due_at", "resolution_due_at", "feedback_due_at",
    "first_response_breached", "resolution_breached", "sla_pauses", "sla_paused_at",
]


# Policies and holidays change rarely and are read on every order created: each process keeps them
# for POLICY_TTL seconds, so an administrator's edit applies everywhere within that time.
POLICY_TTL = 30.0
_cache: dict[str, tuple[float, Any]] = {}


def _cached(key: str, load: Any) -> Any:
    now = _time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < POLICY_TTL:
        return hit[1]
    value = load()
    _cache[key] = (now, value)
    return value


def clear_cache() -> None:
    _cache.clear()


def _active_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.select_related("calendar").filter(active=True))


def policy_for(*, ticket_type: str, priority: str, star_level: int = 0) -> SlaPolicy | None:
    candidates = [
        p for p in _cached("policies", _active_policies)
        if p.ticket_type == ticket_type and p.priority == priority
        and (p.min_star_level is None or p.min_star_level <= star_level)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: -1 if p.min_star_level is None else p.min_star_level)


def _parse_hours(raw: dict[str, Any]) -> dict[int, tuple[tuple[time, time], ...]]:
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, spans in raw.items():
        hours[int(day)] = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans)
    return hours


def calc_for(calendar: BusinessCalendar) -> Calc:
    """The calendar's arithmetic, kept per process (with its day cache) for POLICY_TTL seconds."""
    return _cached(f"calc:{calendar.pk}:{calendar.kind}", lambda: _build_calc(calendar))


def _build_calc(calendar: BusinessCalendar) -> Calc:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(calendar.time_zone)
    if calendar.kind == CalendarKind.ALWAYS:
        return Calc.always_open(tz=tz)
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    if calendar.observe_holidays:
        rows = _cached("holidays", lambda: list(Holiday.objects.values_list("date", "is_workday")))
        holidays = frozenset(d for d, w in rows if not w)
        workdays = frozenset(d for d, w in rows if w)
    return Calc(tz=tz, hours=_parse_hours(calendar.hours), holidays=holidays, makeup_workdays=workdays)


def _paused_minutes(calc: Calc, pauses: list[list[str]]) -> float:
    return sum(
        calc.minutes_between(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in pauses
    )


def apply_targets(ticket: Ticket, *, star_level: int = 0) -> None:
    """(Re)compute due times from the policy for the order's current type and priority."""
    policy = policy_for(ticket_type=ticket.type, priority=ticket.priority, star_level=star_level)
    ticket.sla_policy = policy
    if ticket.sla_started_at is None:
        ticket.sla_started_at = ticket.created_at
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = ticket.feedback_due_at = None
        return
    calc = calc_for(policy.calendar)
    paused = _paused_minutes(calc, ticket.sla_pauses)
    if ticket.first_responded_at is None:
        ticket.first_response_due_at = calc.add_minutes(ticket.created_at, policy.first_response_minutes + paused)
    ticket.resolution_due_at = calc.add_minutes(ticket.sla_started_at, policy.resolution_minutes + paused)
    if ticket.first_responded_at is not None and policy.feedback_minutes:
        ticket.feedback_due_at = calc.add_minutes(ticket.first_responded_at, policy.feedback_minutes)


def on_status_change(ticket: Ticket, *, old: str, at: datetime) -> None:
    """Pause the clock on entering pending_customer, resume it (shifting due times) on leaving."""
    was_running = old in CLOCK_RUNNING_STATUSES
    runs = ticket.status in CLOCK_RUNNING_STATUSES
    if was_running and not runs and ticket.status == "pending_customer":
        ticket.sla_paused_at = at
    elif not was_running and runs and ticket.sla_paused_at is not None:
        ticket.sla_pauses = [*ticket.sla_pauses, [ticket.sla_paused_at.isoformat(), at.isoformat()]]
        ticket.sla_paused_at = None
        if ticket.sla_policy_id is not None:
            _shift_for_last_pause(ticket)
    elif ticket.status in ("resolved", "closed") and ticket.sla_paused_at is not None:
        ticket.sla_pauses = [*ticket.sla_pauses, [ticket.sla_paused_at.isoformat(), at.isoformat()]]
        ticket.sla_paused_at = None


def _shift_for_last_pause(ticket: Ticket) -> None:
    policy = ticket.sla_policy
    assert policy is not None
    calc = calc_for(policy.calendar)
    start, end = (datetime.fromisoformat(x) for x in ticket.sla_pauses[-1])
    for field in ("first_response_due_at", "resolution_due_at"):
        due = getattr(ticket, field)
        if due is None or due <= start:
            continue  # already broken before the pause: the breach stands
        if field == "first_response_due_at" and ticket.first_responded_at is not None:
            continue
        remaining = calc.minutes_between(start, due)
        setattr(ticket, field, calc.add_minutes(end, remaining))


def on_first_response(ticket: Ticket, *, at: datetime) -> None:
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = at
    if ticket.first_response_due_at is not None and at > ticket.first_response_due_at:
        ticket.first_response_breached = True
    policy = ticket.sla_policy
    if policy is not None and policy.feedback_minutes:
        ticket.feedback_due_at = calc_for(policy.calendar).add_minutes(at, policy.feedback_minutes)


def on_resolve(ticket: Ticket, *, at: datetime) -> None:
    if ticket.resolution_due_at is not None and at > ticket.resolution_due_at:
        ticket.resolution_breached = True
    if ticket.first_responded_at is None:
        on_first_response(ticket, at=at)


def on_reopen(ticket: Ticket, *, at: datetime, star_level: int = 0) -> None:
    """F3/W3: a reopened order gets a fresh resolution promise from now; breach history stays."""
    ticket.sla_started_at = at
    ticket.sla_pauses = []
    ticket.sla_paused_at = None
    apply_targets(ticket, star_level=star_level)


def breach_at(ticket: Ticket) -> datetime | None:
    """When the order's clock will break a promise (or broke one): the earliest unmet due time while
    the clock runs; None while it is paused or the order is finished."""
    if ticket.status not in CLOCK_RUNNING_STATUSES:
        return None
    dues = [ticket.resolution_due_at]
    if ticket.first_responded_at is None:
        dues.append(ticket.first_response_due_at)
    present = [d for d in dues if d is not None]
    return min(present) if present else None


def refresh(ticket: Ticket) -> None:
    """Keep the stored breach moment in step; called on every save of an order."""
    ticket.sla_breach_at = breach_at(ticket)
    from .escalation import watch_refresh  # issue #4: the ladder's next step follows the promise

    watch_refresh(ticket)


def breached_now_q(now: datetime) -> Q:
    """Orders whose clock runs and whose promise is already broken — one partial index range."""
    return Q(sla_breach_at__lt=now)
