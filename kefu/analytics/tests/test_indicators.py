"""Indicators on a hand-checked data set (A1, A3): every expected figure below is worked out in the
comments from the five orders, not taken from the code."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kefu.analytics.selectors import Period, ticket_indicators
from kefu.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2030, 4, 10, tzinfo=SH)
MARCH = Period.of_days(date(2030, 3, 1), date(2030, 3, 31))


def d(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2030, month, day, hour, tzinfo=SH)


@pytest.fixture
def orders(centre, customer):  # type: ignore[no-untyped-def]
    agent, other = centre["users"]["agent"], centre["users"]["other"]

    def mk(number, ttype, owner, created, fr_due, responded, res_due, resolved, **kw):  # type: ignore[no-untyped-def]
        return Ticket.objects.create(
            number=number, type=ttype, customer=customer, subject="x", owner=owner, assignee=owner, team=owner.team,
            created_at=created, updated_at=created, first_response_due_at=fr_due, first_responded_at=responded,
            resolution_due_at=res_due, resolved_at=resolved, **kw,
        )

    a = mk("GDA", "fault", agent, d(3, 2), d(3, 2, 12), d(3, 2, 11), d(3, 4), d(3, 3), status="closed")
    b = mk("GDB", "complaint", agent, d(3, 5), d(3, 7), d(3, 8), d(3, 12), d(3, 15), status="in_progress", reopen_count=1)
    c = mk("GDC", "consultation", other, d(3, 10), d(3, 10, 12), None, d(3, 11), None, status="new", escalation_level=1)
    dd = mk("GDD", "fault", agent, d(2, 20), d(2, 20, 12), d(2, 20, 11), d(3, 1, 5), d(2, 28), status="closed")
    e = mk("GDE", "fault", agent, d(3, 30), d(4, 15), None, d(4, 20), None, status="new")
    ev = TicketEvent.objects.create
    ev(ticket=a, kind="status", created_at=d(3, 3), data={"action": "resolve"})
    ev(ticket=b, kind="transfer", created_at=d(3, 6), data={"department": "network"})
    ev(ticket=b, kind="status", created_at=d(3, 15), data={"action": "resolve"})
    ev(ticket=b, kind="status", created_at=d(3, 20), data={"action": "reopen"})
    ev(ticket=dd, kind="status", created_at=d(2, 28), data={"action": "resolve"})
    return {"a": a, "b": b, "c": c, "d": dd, "e": e}


def test_work_order_indicators_on_a_hand_checked_set_A1(orders, centre):
    v = ticket_indicators(viewer=centre["users"]["supervisor"], period=MARCH, now=NOW)
    # First response due in March: A met, B late, C missed (due passed, never answered); E due in April.
    assert (v["first_response_sla"].numerator, v["first_response_sla"].denominator, v["first_response_sla"].value) == (1, 3, 33.33)
    # Resolution due in March: A met, B late, C missed, D met (resolved in February, due 1 March).
    assert (v["resolution_sla"].numerator, v["resolution_sla"].denominator, v["resolution_sla"].value) == (2, 4, 50.0)
    # Resolutions in March: A, B; reopenings: B → 1/2.
    assert v["rework_rate"].value == 50.0
    # Resolved in March: A (clean), B (transferred and reopened) → 1/2.
    assert v["fcr"].value == 50.0
    # One complaint (B) opened in March, one customer on record → 10,000 per 10,000.
    assert v["complaint_rate_per_10k"].value == 10000.0
    # Opened in March: A, B, C, E; escalated: C → 25 %.
    assert v["escalation_rate"].value == 25.0
    # Resolved in March: A after 24 h, B after 240 h → 132 h.
    assert v["avg_resolution_hours"].value == 132.0


def test_an_agent_sees_only_their_own_figures_A1(orders, centre):
    mine = ticket_indicators(viewer=centre["users"]["agent"], period=MARCH, now=NOW)
    # Agent 1001 owns A, B, D, E: first response due in March → A met, B late.
    assert (mine["first_response_sla"].numerator, mine["first_response_sla"].denominator) == (1, 2)
    theirs = ticket_indicators(viewer=centre["users"]["other"], period=MARCH, now=NOW)
    assert (theirs["first_response_sla"].numerator, theirs["first_response_sla"].denominator) == (0, 1)


def test_empty_period_says_why_instead_of_dividing_by_zero(centre):
    v = ticket_indicators(viewer=centre["users"]["supervisor"], period=MARCH, now=NOW)
    assert v["fcr"].value is None and v["fcr"].reason == "此期间没有数据。"


def test_api_compares_with_previous_period_and_refuses_bad_ranges_A3(orders, api_for):
    api = api_for("supervisor")
    r = api.get("/analytics/indicators", **{"from": "2030-03-01", "to": "2030-03-31"})
    assert r.status_code == 200, r.content
    rows = {i["code"]: i for i in r.json()["items"]}
    assert rows["escalation_rate"]["value"] == 25.0 and rows["escalation_rate"]["target"] is None
    assert rows["first_response_sla"]["target"] == 95.0 and rows["first_response_sla"]["formula"]
    assert rows["escalation_rate"]["previous"] == 0.0  # February: D opened, not escalated
    assert rows["escalation_rate"]["change"] == 25.0
    bad = api.get("/analytics/indicators", **{"from": "2030-03-31", "to": "2030-03-01"})
    assert bad.status_code == 422 and "to" in bad.json()["error"]["fields"]
    long = api.get("/analytics/indicators", **{"from": "2020-01-01", "to": "2030-03-01"})
    assert long.status_code == 422 and "366" in long.json()["error"]["fields"]["to"]
    assert api.get("/analytics/indicators", **{"from": "yesterday", "to": "2030-03-01"}).status_code == 422
    far = api.get("/analytics/indicators", **{"from": "0001-01-01", "to": "0001-01-02"})
    assert far.status_code == 422 and "from" in far.json()["error"]["fields"]
    assert len(api.get("/analytics/definitions").json()["items"]) == 7


def test_indicator_report_exports_open_in_a_spreadsheet_A2(orders, api_for):
    import io

    from openpyxl import load_workbook

    api = api_for("supervisor")
    r = api.get("/analytics/indicators/export", **{"from": "2030-03-01", "to": "2030-03-31", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("指标", "数值")
    assert ("升级率", 25, 0, 25, None) == tuple(x if x != "" else None for x in [r for r in rows if r[0] == "升级率"][0][:5])
    csv = api.get("/analytics/indicators/export", **{"from": "2030-03-01", "to": "2030-03-31", "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("指标,数值") and "升级率,25.0,0.0,25.0" in text
    assert api.get("/analytics/indicators/export", **{"from": "2030-03-01", "to": "2030-03-31", "format": "pdf"}).status_code == 422
