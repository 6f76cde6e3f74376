"""The e-mailed daily report (A2): subscriptions get yesterday's summary as an .xlsx attachment through a
real SMTP server on the loopback (aiosmtpd), once per (subscription, day) however often the job runs."""

from __future__ import annotations

import email
import io
from datetime import date, datetime, time, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from kefu.analytics import report_services as svc
from kefu.analytics.models import DeliveryStatus, ReportDelivery
from kefu.analytics.tests.test_reports import data  # noqa: F401 — the fixture
from kefu.notifications.tests.conftest import smtp  # noqa: F401 — the loopback SMTP server

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2030, 3, 3, 9, 0, tzinfo=SH)  # the report of 2 March is due at 08:00


def parsed(envelope: Any) -> Message:
    return email.message_from_bytes(envelope.content)


def attachment(msg: Message) -> tuple[str, list[tuple[Any, ...]]]:
    (part,) = [p for p in msg.walk() if p.get_filename()]
    wb = load_workbook(io.BytesIO(part.get_payload(decode=True)))
    return part.get_filename(), list(wb.active.iter_rows(values_only=True))


def test_daily_report_is_mailed_once_per_subscription_and_day_A2(data: Any, centre: Any, smtp: Any) -> None:  # noqa: F811
    sup, lead = centre["users"]["supervisor"], centre["users"]["lead"]
    lead.email = "lead@example.com"
    lead.save(update_fields=["email"])
    boss = svc.report_subscription_create(actor=sup, send_at="08:00", email="boss@example.com")
    team = svc.report_subscription_create(actor=sup, send_at=time(8, 30), user="lead")
    late = svc.report_subscription_create(actor=sup, send_at="12:00", email="noon@example.com")

    assert svc.report_subscriptions_due(now=MORNING.replace(hour=7)) == {"sent": 0, "skipped": 0, "failed": 0}
    assert svc.report_subscriptions_due(now=MORNING) == {"sent": 2, "skipped": 0, "failed": 0}
    assert len(smtp.messages) == 2
    by_to = {e.rcpt_tos[0]: parsed(e) for e in smtp.messages}
    assert set(by_to) == {"boss@example.com", "lead@example.com"}
    msg = by_to["boss@example.com"]
    assert str(email.header.make_header(email.header.decode_header(msg["Subject"]))) == "客服电话接听及问题解决汇总表 · 2030-03-02"
    name, rows = attachment(msg)
    assert name == "kefu-daily_summary-20300302-20300302.xlsx"
    # the supervisor's view (who subscribed the address): all three agents, total 6 calls (test_reports)
    assert [r[0] for r in rows[3:6]] == ["1001", "1002", "2001"] and [r for r in rows if r[0] == "合计"][0][3] == 6
    # the lead's own subscription is built in the lead's scope: their team only
    _name, lead_rows = attachment(by_to["lead@example.com"])
    assert [r[0] for r in lead_rows[3:5]] == ["1001", "1002"] and lead_rows[5][0] == "合计"

    # the job retried, or run by a second scheduler: nothing is sent twice
    assert svc.report_subscriptions_due(now=MORNING + timedelta(minutes=5)) == {"sent": 0, "skipped": 0, "failed": 0}
    assert svc.report_subscription_send(subscription_id=boss.pk, day=date(2030, 3, 2), now=MORNING) == "skipped"
    assert len(smtp.messages) == 2
    assert ReportDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 2
    assert late.deliveries.count() == 0 and team.deliveries.get().day == date(2030, 3, 2)
    # the next day brings the next report
    assert svc.report_subscriptions_due(now=MORNING + timedelta(days=1))["sent"] == 2


def test_a_refused_mail_is_retried_later_and_sent_once_A2(data: Any, centre: Any, smtp: Any) -> None:  # noqa: F811
    sub = svc.report_subscription_create(actor=centre["users"]["supervisor"], send_at="08:00", email="boss@example.com")
    smtp.refuse = True
    assert svc.report_subscriptions_due(now=MORNING) == {"sent": 0, "skipped": 0, "failed": 1}
    d = ReportDelivery.objects.get(subscription=sub)
    assert d.status == DeliveryStatus.FAILED and d.attempts == 1 and "550" in d.last_error
    smtp.refuse = False
    assert svc.report_subscriptions_due(now=MORNING + timedelta(minutes=5)) == {"sent": 1, "skipped": 0, "failed": 0}
    assert svc.report_subscriptions_due(now=MORNING + timedelta(minutes=10))["sent"] == 0
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_error, len(smtp.messages)) == (DeliveryStatus.SENT, 2, "", 1)


def test_a_claim_left_by_a_dead_worker_is_taken_over_only_when_stale_A2(data: Any, centre: Any, smtp: Any) -> None:  # noqa: F811
    sub = svc.report_subscription_create(actor=centre["users"]["supervisor"], send_at="08:00", email="boss@example.com")
    ReportDelivery.objects.create(subscription=sub, day=date(2030, 3, 2), status=DeliveryStatus.SENDING, attempts=1,
                                  claimed_at=MORNING - timedelta(minutes=5))
    # another worker is sending right now: leave it
    assert svc.report_subscription_send(subscription_id=sub.pk, day=date(2030, 3, 2), now=MORNING) == "skipped"
    assert smtp.messages == []
    # 15 minutes later the claim is stale (the worker died): taken over and sent
    assert svc.report_subscription_send(subscription_id=sub.pk, day=date(2030, 3, 2), now=MORNING + timedelta(minutes=15)) == "sent"
    assert len(smtp.messages) == 1


def test_the_beat_schedule_runs_the_task_and_a_cancelled_subscription_sends_nothing_A2(centre: Any, smtp: Any) -> None:  # noqa: F811
    from kefu.analytics.report_tasks import report_subscriptions_due_task
    from kefu.celery import beat_schedule

    assert beat_schedule()["report-subscriptions"]["task"] == "kefu.analytics.report_subscriptions_due_task"
    sup = centre["users"]["supervisor"]
    sub = svc.report_subscription_create(actor=sup, send_at="00:00", email="boss@example.com")
    gone = svc.report_subscription_create(actor=sup, send_at="00:00", email="gone@example.com")
    svc.report_subscription_cancel(actor=sup, subscription_id=gone.pk)
    # real time: yesterday's report — empty here, and the attachment says why
    assert report_subscriptions_due_task.run() == {"sent": 1, "skipped": 0, "failed": 0}
    (env,) = smtp.messages
    assert env.rcpt_tos == ["boss@example.com"]
    _name, rows = attachment(parsed(env))
    assert rows[3][0] == "这段时间没有来电、工单或回访记录。"
    assert report_subscriptions_due_task.run()["sent"] == 0 and sub.deliveries.count() == 1


def test_the_feedback_register_goes_once_a_month_with_last_month_A2(data: Any, centre: Any, smtp: Any) -> None:  # noqa: F811
    """seed 003 §一.6: every month's customer feedback register goes to the supervisor."""
    sup = centre["users"]["supervisor"]
    sub = svc.report_subscription_create(actor=sup, report="feedback_register", send_at="08:00", email="boss@example.com")
    assert svc.report_subscriptions_due(now=MORNING)["sent"] == 1  # 3 March: February's register (empty)
    april = datetime(2030, 4, 1, 9, 0, tzinfo=SH)
    assert svc.report_subscriptions_due(now=april)["sent"] == 1
    assert svc.report_subscriptions_due(now=april + timedelta(days=1))["sent"] == 0  # once a month
    msg = parsed(smtp.messages[-1])
    assert str(email.header.make_header(email.header.decode_header(msg["Subject"]))) == "客户反馈信息登记表 · 2030-03"
    name, rows = attachment(msg)
    assert name == "kefu-feedback_register-20300301-20300331.xlsx"
    assert [r[2] for r in rows[3:11]] == ["GDB", "GDD", "GDE", "GDF", "GDA", "GDG", "GDH", "GDK"]  # test_reports
    assert "张三丰" not in str(rows) and rows[3][4] == "张**"
    assert sorted(d.day for d in sub.deliveries.all()) == [date(2030, 2, 1), date(2030, 3, 1)]
