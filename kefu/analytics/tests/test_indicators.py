"""Indicators on a hand-checked data set (A1, A3, F2, Q4): every expected figure below is worked out in
the comments from the records of the fixture, not taken from the code. Each figure is checked twice:
computed from the roll-up (after ``rebuild``) and straight from the records (``source="raw"``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.analytics import rollup
from kefu.analytics.selectors import Filters, Period, indicators_for, ticket_indicators
from kefu.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 4, 10, tzinfo=SH)
MARCH = Period.of_days(date(2025, 3, 1), date(2025, 3, 31))


def d(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=SH)


@pytest.fixture
def orders(centre, customer):  # type: ignore[no-untyped-def]
    from kefu.customers.models import Customer
    from kefu.followup.models import ReturnVisit, SurveyInvitation, SurveyResponse
    from kefu.interactions.models import Interaction
    from kefu.quality.models import Inspection, RuleSet

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

    # Contacts: four calls and a chat in March, a call in February.
    def contact(channel, who, at, wait, talk, hold=0.0, wrap=0.0):  # type: ignore[no-untyped-def]
        return Interaction.objects.create(
            channel=channel, agent=who, agent_code=who.agent_id, team=who.team, customer=customer, started_at=at,
            wait_seconds=wait, talk_seconds=talk, hold_seconds=hold, wrap_up_seconds=wrap,
        )

    c1 = contact("call", agent, d(3, 2), 10, 100, 20, 30)
    c2 = contact("call", agent, d(3, 3), 30, 200, 0, 40)
    contact("call", agent, d(3, 4), 15, 0)  # abandoned: no talk time
    c4 = contact("call", other, d(3, 5), 5, 60, 10, 20)
    c5 = contact("chat", agent, d(3, 6), None, 300)
    contact("call", agent, d(2, 27), 2, 50)
    rs_old = RuleSet.objects.create(name="old", version="v-old", config={})
    rs = RuleSet.objects.create(name="cur", version="v-cur", config={})

    def inspect(i, score, forbidden, ruleset=rs, current=True):  # type: ignore[no-untyped-def]
        Inspection.objects.create(interaction=i, ruleset=ruleset, ruleset_version=ruleset.version, current=current,
                                  agent=i.agent, team=i.team, channel=i.channel, started_at=i.started_at,
                                  score=score, forbidden_count=forbidden)

    inspect(c1, 10.0, 9, ruleset=rs_old, current=False)  # superseded: never counted
    inspect(c1, 90.0, 0)
    inspect(c2, 70.0, 2)
    inspect(c5, 85.5, 1)
    inspect(c4, None, 0)  # waiting for a manual score: no score yet, no hits

    # Surveys: A 5 and B 2 assessed agent 1001, C 4 assessed 2001 (March); D 3 in February.
    for t, who, score, at in ((a, agent, 5, d(3, 4)), (b, agent, 2, d(3, 16)), (c, other, 4, d(3, 12)),
                              (dd, agent, 3, d(2, 28))):
        inv = SurveyInvitation.objects.create(ticket=t, nonce=t.number, expires_at=at + timedelta(days=7))
        SurveyResponse.objects.create(invitation=inv, ticket=t, agent=who, score=score, created_at=at)

    # Return visits due in March: A done satisfied, B done unreachable, C still scheduled, a cyclical one
    # (no order) done unsatisfied; D's was cancelled.
    def visit(t, who, due, status, outcome="", reason="resolution"):  # type: ignore[no-untyped-def]
        return ReturnVisit.objects.create(ticket=t, customer=customer, kind="call", reason=reason, status=status,
                                          assignee=who, scheduled_at=due - timedelta(days=1), due_at=due, outcome=outcome)

    visit(a, agent, d(3, 6), "done", "satisfied")
    visit(b, agent, d(3, 18), "done", "unreachable")
    visit(c, other, d(3, 20), "scheduled")
    visit(None, agent, d(3, 25), "done", "unsatisfied", reason="cyclical")
    visit(dd, agent, d(3, 3), "cancelled")
    Customer.objects.filter(pk=customer.pk).update(created_at=d(1, 5))
    rollup.rebuild()
    return {"a": a, "b": b, "c": c, "d": dd, "e": e}


@pytest.mark.parametrize("source", ["rollup", "raw"])
def test_every_indicator_on_a_hand_checked_set_A1(orders, centre, source):  # type: ignore[no-untyped-def]
    v = indicators_for(viewer=centre["users"]["supervisor"], period=MARCH, now=NOW, source=source)

    def nd(code):  # type: ignore[no-untyped-def]
        return (v[code].numerator, v[code].denominator, v[code].value)

    # Calls in March: c1 (wait 10, talk 100, hold 20, wrap 30), c2 (30, 200, 0, 40), c3 (15, no talk),
    # c4 (5, 60, 10, 20); the chat c5 and February's call are not calls of March.
    assert nd("answer_rate") == (3, 4, 75.0)  # answered c1, c2, c4 of 4 offered
    assert nd("service_level") == (2, 4, 50.0)  # within 20 s: c1 (10 s), c4 (5 s)
    assert nd("asa") == (45_000, 3, 15.0)  # (10 + 30 + 5) s ÷ 3
    assert nd("abandonment_rate") == (1, 4, 25.0)  # c3
    assert nd("aht") == (480_000, 3, 160.0)  # (150 + 240 + 90) s ÷ 3
    # Current inspections with a score: c1 90, c2 70, c5 85.5 (c4 unscored, c1's old 10 superseded).
    assert nd("inspection_score") == (24_550, 3, 81.83)  # 245.5 ÷ 3 = 81.833…
    # Forbidden hits 0 + 2 + 1 = 3 in 5 contacts (c1..c5) → 3 ÷ 5 × 1,000.
    assert nd("forbidden_per_1000") == (3, 5, 600.0)
    # First response due in March: A met, B late, C missed (due passed, never answered); E due in April.
    assert nd("first_response_sla") == (1, 3, 33.33)
    # Resolution due in March: A met, B late, C missed, D met (resolved in February, due 1 March).
    assert nd("resolution_sla") == (2, 4, 50.0)
    # Resolutions in March: A, B; reopenings: B → 1/2.
    assert nd("rework_rate") == (1, 2, 50.0)
    # First resolved in March: A (clean), B (transferred and reopened) → 1/2.
    assert nd("fcr") == (1, 2, 50.0)
    # One complaint (B) opened in March, one customer on record → 10,000 per 10,000.
    assert nd("complaint_rate_per_10k") == (1, 1, 10000.0)
    # Opened in March: A, B, C, E; escalated: C → 25 %.
    assert nd("escalation_rate") == (1, 4, 25.0)
    # Resolved in March: A after 24 h, B after 240 h → 132 h.
    assert nd("avg_resolution_hours") == (264 * 3_600_000, 2, 132.0)
    # Surveys answered in March: 5, 2, 4 → mean 11 ÷ 3 = 3.67; satisfied (4–5): 2 of 3.
    assert nd("csat") == (11, 3, 3.67)
    assert nd("csat_satisfied") == (2, 3, 66.67)
    # Return visits due in March, cancelled excepted: A, B, C, cyclical; reached: A, cyclical → 2/4.
    assert nd("return_visit_completion") == (2, 4, 50.0)


def test_an_agent_sees_only_their_own_figures_A1(orders, centre):  # type: ignore[no-untyped-def]
    mine = ticket_indicators(viewer=centre["users"]["agent"], period=MARCH, now=NOW)
    # Agent 1001 owns A, B, D, E: first response due in March → A met, B late.
    assert (mine["first_response_sla"].numerator, mine["first_response_sla"].denominator) == (1, 2)
    # Their calls: c1, c2 answered, c3 abandoned → 2/3.
    assert mine["answer_rate"].value == 66.67
    # Surveys assessing them: 5 and 2 → 3.5; their visits: A, B, cyclical; reached A, cyclical → 2/3.
    assert mine["csat"].value == 3.5 and mine["return_visit_completion"].value == 66.67
    theirs = ticket_indicators(viewer=centre["users"]["other"], period=MARCH, now=NOW)
    assert (theirs["first_response_sla"].numerator, theirs["first_response_sla"].denominator) == (0, 1)
    # 2001's only call c4 was answered in 5 s; their survey scored 4.
    assert (theirs["answer_rate"].value, theirs["service_level"].value, theirs["csat"].value) == (100.0, 100.0, 4.0)


def test_team_lead_sees_the_team_and_is_refused_another_team_A1(orders, centre):  # type: ignore[no-untyped-def]
    from kefu.core.errors import PermissionDenied

    lead = centre["users"]["lead"]
    t1, t2 = centre["teams"]
    v = indicators_for(viewer=lead, period=MARCH, now=NOW)
    # Team 1 is agents 1001/1002/lead: orders A, B, E opened in March (C is team 2's) → none escalated.
    assert (v["escalation_rate"].numerator, v["escalation_rate"].denominator) == (0, 3)
    with pytest.raises(PermissionDenied):
        indicators_for(viewer=lead, period=MARCH, filters=Filters(team=t2.pk), now=NOW)
    with pytest.raises(PermissionDenied):
        indicators_for(viewer=lead, period=MARCH, filters=Filters(agent=centre["users"]["other"].pk), now=NOW)
    with pytest.raises(PermissionDenied):
        indicators_for(viewer=centre["users"]["agent"], period=MARCH, filters=Filters(agent=lead.pk), now=NOW)


def test_today_counts_only_promises_already_due(centre, customer):  # type: ignore[no-untyped-def]
    """Today from the roll-up, corrected from raw data: a promise falling due later today and not met
    is not counted yet (it is neither met nor missed)."""
    agent = centre["users"]["agent"]
    now = datetime(2025, 5, 6, 15, tzinfo=SH)
    for n, (due, responded) in enumerate([(d(5, 6, 9), d(5, 6, 8)), (d(5, 6, 10), None), (d(5, 6, 18), None),
                                          (d(5, 6, 20), d(5, 6, 14))]):
        Ticket.objects.create(number=f"GDT{n}", type="fault", customer=customer, subject="x", owner=agent, team=agent.team,
                              created_at=d(5, 6, 7), updated_at=d(5, 6, 7), first_response_due_at=due,
                              first_responded_at=responded)
    from kefu.followup.models import ReturnVisit

    for n, (due, status, outcome) in enumerate([(d(5, 6, 9), "done", "satisfied"), (d(5, 6, 11), "scheduled", ""),
                                                (d(5, 6, 19), "scheduled", ""), (d(5, 6, 20), "done", "satisfied")]):
        ReturnVisit.objects.create(ticket=Ticket.objects.get(number=f"GDT{n}"), customer=customer, kind="call",
                                   reason="resolution", status=status, outcome=outcome, assignee=agent,
                                   scheduled_at=due, due_at=due)
    rollup.rebuild()
    today = Period.of_days(date(2025, 5, 6), date(2025, 5, 6))
    sup = centre["users"]["supervisor"]
    for source in ("rollup", "raw"):
        v = indicators_for(viewer=sup, period=today, now=now, source=source)
        fr, rv = v["first_response_sla"], v["return_visit_completion"]
        # Due by 15:00: #0 met, #1 missed; #3 due at 20:00 but already answered → met; #2 not yet due.
        assert (fr.numerator, fr.denominator) == (2, 3), source
        # Visits: 09:00 done, 11:00 overdue, 19:00 not yet due (not counted), 20:00 already done → 2 of 3.
        assert (rv.numerator, rv.denominator) == (2, 3), source
    from kefu.analytics.selectors import period_sums

    for group in ("agent", "team", "type", "channel", "region", "category"):
        got = period_sums(period=today, filters=Filters(), group=group, now=now)
        want = period_sums(period=today, filters=Filters(), group=group, now=now, source="raw")
        assert {k: (s["fr_due"], s["rv_due"]) for k, s in got.items()} == {
            k: (s["fr_due"], s["rv_due"]) for k, s in want.items()}, group
    got = period_sums(period=today, filters=Filters(agent=agent.pk, channel="phone"), group="time", now=now)
    assert got["2025-05-06"]["fr_due"] == 3 and got["2025-05-06"]["rv_due"] == 3


def test_empty_period_says_why_instead_of_dividing_by_zero(centre):  # type: ignore[no-untyped-def]
    v = ticket_indicators(viewer=centre["users"]["supervisor"], period=MARCH, now=NOW)
    assert v["fcr"].value is None and v["fcr"].reason == "此期间没有数据。"
    assert all(x.value is None for x in v.values())


def test_api_compares_with_previous_period_and_refuses_bad_ranges_A3(orders, api_for):  # type: ignore[no-untyped-def]
    api = api_for("supervisor")
    r = api.get("/analytics/indicators", **{"from": "2025-03-01", "to": "2025-03-31"})
    assert r.status_code == 200, r.content
    rows = {i["code"]: i for i in r.json()["items"]}
    assert rows["escalation_rate"]["value"] == 25.0 and rows["escalation_rate"]["target"] is None
    assert rows["first_response_sla"]["target"] == 95.0 and rows["first_response_sla"]["formula"]
    assert rows["escalation_rate"]["previous"] == 0.0  # February: D opened, not escalated
    assert rows["escalation_rate"]["change"] == 25.0
    # February: one call (answered in 2 s) → 100 %; March 75 % → −25 points, below the 95 % target.
    assert (rows["answer_rate"]["previous"], rows["answer_rate"]["change"], rows["answer_rate"]["meets_target"]) == (
        100.0, -25.0, False)
    bad = api.get("/analytics/indicators", **{"from": "2025-03-31", "to": "2025-03-01"})
    assert bad.status_code == 422 and "to" in bad.json()["error"]["fields"]
    long = api.get("/analytics/indicators", **{"from": "2020-01-01", "to": "2025-03-01"})
    assert long.status_code == 422 and "366" in long.json()["error"]["fields"]["to"]
    assert api.get("/analytics/indicators", **{"from": "yesterday", "to": "2025-03-01"}).status_code == 422
    far = api.get("/analytics/indicators", **{"from": "0001-01-01", "to": "0001-01-02"})
    assert far.status_code == 422 and "from" in far.json()["error"]["fields"]
    defs = api.get("/analytics/definitions").json()["items"]
    assert len(defs) == 17 and {x["code"] for x in defs} >= {"answer_rate", "service_level", "csat", "aht"}


def test_indicator_report_exports_open_in_a_spreadsheet_A2(orders, api_for):  # type: ignore[no-untyped-def]
    import io

    from openpyxl import load_workbook

    api = api_for("supervisor")
    r = api.get("/analytics/indicators/export", **{"from": "2025-03-01", "to": "2025-03-31", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Disposition"].endswith('.xlsx"')
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("指标", "数值")
    assert ("升级率", 25, 0, 25, None) == tuple(x if x != "" else None for x in [r for r in rows if r[0] == "升级率"][0][:5])
    csv = api.get("/analytics/indicators/export", **{"from": "2025-03-01", "to": "2025-03-31", "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("指标,数值") and "升级率,25.0,0.0,25.0" in text
    assert api.get("/analytics/indicators/export", **{"from": "2025-03-01", "to": "2025-03-31", "format": "pdf"}).status_code == 422


def test_merged_duplicates_are_not_broken_promises(orders, centre, customer):  # type: ignore[no-untyped-def]
    """An order merged into another (a duplicate) counts as opened, never in SLA compliance."""
    agent = centre["users"]["agent"]
    Ticket.objects.create(number="GDM", type="fault", customer=customer, subject="x", owner=agent, team=agent.team,
                          status="closed", created_at=d(3, 9), updated_at=d(3, 9), closed_at=d(3, 9, 11),
                          first_response_due_at=d(3, 9, 12), resolution_due_at=d(3, 11), merged_into=orders["a"])
    rollup.rebuild()
    for source in ("rollup", "raw"):
        v = indicators_for(viewer=centre["users"]["supervisor"], period=MARCH, now=NOW, source=source)
        # As in the hand-checked set: 1 of 3 first responses, 2 of 4 resolutions; opened now 5 (A B C E M).
        assert (v["first_response_sla"].numerator, v["first_response_sla"].denominator) == (1, 3)
        assert (v["resolution_sla"].numerator, v["resolution_sla"].denominator) == (2, 4)
        assert v["escalation_rate"].denominator == 5


@pytest.mark.parametrize("filters,group", [
    ({}, None), ({}, "time"), ({}, "team"), ({}, "agent"), ({}, "type"), ({}, "category"), ({}, "region"),
    ({}, "channel"), ({"team": "t1"}, "region"), ({"type": "fault"}, "time"), ({"type": "fault"}, "region"),
    ({"region": "广东"}, "channel"), ({"agent": "agent"}, "type"), ({"agent": "agent", "channel": "phone"}, "time"),
    ({"category": 0}, "team"), ({"team": "t1", "type": "complaint"}, "agent"),
])
def test_every_roll_up_grain_gives_the_raw_sums(orders, centre, filters, group):  # type: ignore[no-untyped-def]
    """Whichever grain a query reads (by agent, by one dimension, by all but the agent, the full one),
    its sums equal those computed straight from the records."""
    from kefu.analytics.selectors import period_sums

    f = {k: (centre["teams"][0].pk if v == "t1" else centre["users"]["agent"].pk if v == "agent" else v)
         for k, v in filters.items()}
    args = {"period": MARCH, "filters": Filters(**f), "group": group, "now": NOW}
    got, want = period_sums(**args), period_sums(source="raw", **args)

    def clean(sums):  # type: ignore[no-untyped-def]
        return {k: {m: n for m, n in v.items() if n} for k, v in sums.items() if any(v.values())}

    assert clean(got) == clean(want) and clean(want)
