"""Time promises on the database side (W6): policy choice, seeded defaults, holidays and 调休 rows,
pauses, reopen, and the "breached now" query."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q

from kefu.tickets import sla
from kefu.tickets.models import BusinessCalendar, Holiday, SlaPolicy, Ticket, TicketType

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_seeded_policies_cover_every_type_and_priority_W6():
    for ttype in TicketType.values:
        for prio in ("urgent", "high", "normal", "low"):
            assert sla.policy_for(ticket_type=ttype, priority=prio) is not None, (ttype, prio)
    complaint = sla.policy_for(ticket_type="complaint", priority="normal")
    assert complaint.first_response_minutes == 48 * 60 and complaint.feedback_minutes == 24 * 60
    refund = sla.policy_for(ticket_type="refund", priority="normal")
    assert refund.resolution_minutes == 14 * 24 * 60  # 003 §5.1: refunds within two weeks


def test_seeded_holidays_include_spring_festival_and_makeup_days():
    assert Holiday.objects.filter(name__contains="春节", is_workday=False).count() >= 7
    assert Holiday.objects.filter(is_workday=True).exists()


def test_star_level_policy_wins_over_the_general_one():
    cal = BusinessCalendar.objects.get(kind="always")
    SlaPolicy.objects.create(name="VIP 故障", ticket_type="fault", priority="normal", min_star_level=5, calendar=cal,
                             first_response_minutes=15, resolution_minutes=8 * 60)
    assert sla.policy_for(ticket_type="fault", priority="normal", star_level=6).first_response_minutes == 15
    assert sla.policy_for(ticket_type="fault", priority="normal", star_level=3).first_response_minutes == 120


def test_office_calendar_skips_holidays_and_counts_makeup_days():
    """A suggestion (office calendar) opened on the eve of a holiday is due after it."""
    office = BusinessCalendar.objects.get(kind="office")
    Holiday.objects.all().delete()
    # Monday 2030-01-07 is a (made-up) holiday, Saturday 2030-01-12 a make-up working day.
    Holiday.objects.create(date=datetime(2030, 1, 7).date(), name="测试假日")
    Holiday.objects.create(date=datetime(2030, 1, 12).date(), name="调休上班", is_workday=True)
    calc = sla.calc_for(office)
    friday_5pm = datetime(2030, 1, 4, 17, 0, tzinfo=SH)
    # One business hour left on Friday, Monday closed → Tuesday 09:00 + 1 h.
    assert calc.add_minutes(friday_5pm, 120) == datetime(2030, 1, 8, 10, 0, tzinfo=SH)
    assert calc.is_open(datetime(2030, 1, 12, 10, 0, tzinfo=SH))
    assert not calc.is_open(datetime(2030, 1, 7, 10, 0, tzinfo=SH))
    # Lunch break 12:00–13:30 does not count.
    assert calc.add_minutes(datetime(2030, 1, 8, 11, 30, tzinfo=SH), 60) == datetime(2030, 1, 8, 14, 0, tzinfo=SH)


def _ticket(**kw):  # type: ignore[no-untyped-def]
    created = kw.pop("created_at", datetime(2030, 1, 4, 10, 0, tzinfo=SH))
    return Ticket(type=kw.pop("type", "fault"), priority=kw.pop("priority", "normal"), created_at=created,
                  updated_at=created, sla_started_at=created, **kw)


def test_pause_adds_back_the_waiting_time():
    t = _ticket()
    sla.apply_targets(t)
    due = t.resolution_due_at
    t.status = "pending_customer"
    sla.on_status_change(t, old="in_progress", at=t.created_at + timedelta(hours=1))
    t.status = "in_progress"
    sla.on_status_change(t, old="pending_customer", at=t.created_at + timedelta(hours=6))
    assert t.resolution_due_at == due + timedelta(hours=5)
    assert t.sla_paused_at is None and len(t.sla_pauses) == 1
    # Recomputing from scratch (e.g. on a priority change) keeps the pause.
    sla.apply_targets(t)
    assert t.resolution_due_at == due + timedelta(hours=5)


def test_late_resolution_sets_the_stored_breach_flag():
    t = _ticket()
    sla.apply_targets(t)
    sla.on_resolve(t, at=t.resolution_due_at + timedelta(minutes=1))
    assert t.resolution_breached is True and t.first_responded_at is not None


def test_reopen_gives_a_fresh_resolution_promise_F3():
    t = _ticket()
    sla.apply_targets(t)
    later = t.created_at + timedelta(days=5)
    sla.on_reopen(t, at=later)
    assert t.resolution_due_at == later + timedelta(hours=48)


def test_breach_moment_is_the_earliest_unmet_promise_while_the_clock_runs():
    t = _ticket(status="in_progress")
    sla.apply_targets(t)
    assert sla.breach_at(t) == t.first_response_due_at  # 2 h before the 48 h resolution
    t.first_responded_at = t.created_at + timedelta(minutes=10)
    assert sla.breach_at(t) == t.resolution_due_at
    for paused_or_done in ("pending_customer", "resolved", "closed"):
        t.status = paused_or_done
        assert sla.breach_at(t) is None
    assert isinstance(sla.breached_now_q(datetime(2030, 1, 10, tzinfo=SH)), Q)
