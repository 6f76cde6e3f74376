"""Analytics API: trend, breakdown and live board (A1, A3) on the hand-checked data set, with every bad
input refused with a Chinese message naming the field (422), and the data scopes (403 outside them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.analytics.tests.test_indicators import orders  # noqa: F401 — the hand-checked fixture

pytestmark = pytest.mark.django_db
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


def test_trend_by_day_week_month_with_previous_and_target_A3(orders, api_for: Any) -> None:  # noqa: F811
    api = api_for("supervisor")
    r = api.get("/analytics/trend", indicator="answer_rate", granularity="day", **MARCH)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["target"], body["unit"], len(body["points"])) == (95.0, "percent", 31)
    by_day = {p["bucket"]: p for p in body["points"]}
    # 2 March: c1 answered; 4 March: c3 abandoned → 100 % and 0 %; 1 March: no call → no value.
    assert (by_day["2025-03-02"]["value"], by_day["2025-03-04"]["value"], by_day["2025-03-01"]["value"]) == (100.0, 0.0, None)
    # The previous period is the 31 days before; February's call on 27 Feb is its 31 − 4 + 27 … position:
    # 29 Jan + 29 = 27 Feb → point 29 (30 March) carries it.
    assert by_day["2025-03-30"]["previous_bucket"] == "2025-02-27" and by_day["2025-03-30"]["previous"] == 100.0
    assert body["total"]["value"] == 75.0 and body["previous_total"] == 100.0
    weeks = api.get("/analytics/trend", indicator="answer_rate", granularity="week", **MARCH).json()["points"]
    # Weeks start on Monday: 24 Feb (c1, c2 on 2–3 March are in the week of 3 March? 2 March 2025 is a Sunday).
    assert [w["bucket"] for w in weeks][:2] == ["2025-02-24", "2025-03-03"]
    assert (weeks[0]["numerator"], weeks[0]["denominator"]) == (1, 1)  # c1 on Sunday 2 March
    assert (weeks[1]["numerator"], weeks[1]["denominator"]) == (2, 3)  # c2, c3, c4
    month = api.get("/analytics/trend", indicator="csat", granularity="month", **MARCH).json()
    assert [(p["bucket"], p["value"]) for p in month["points"]] == [("2025-03", 3.67)]


def test_breakdown_by_each_dimension_A1(orders, api_for: Any, centre: dict[str, Any]) -> None:  # noqa: F811
    api = api_for("supervisor")
    by_agent = api.get("/analytics/breakdown", indicator="answer_rate", dimension="agent", **MARCH).json()
    rows = {r["label"]: r for r in by_agent["items"]}
    # 1001: c1, c2 answered, c3 abandoned; 2001: c4 answered.
    assert (rows["agent(1001)"]["value"], rows["other(2001)"]["value"]) == (66.67, 100.0)
    by_type = api.get("/analytics/breakdown", indicator="escalation_rate", dimension="type", **MARCH).json()
    types = {r["key"]: (r["numerator"], r["denominator"]) for r in by_type["items"]}
    # Opened in March: A fault, E fault, B complaint, C consultation (escalated).
    assert types == {"fault": (0, 2), "complaint": (0, 1), "consultation": (1, 1)}
    assert {r["label"] for r in by_type["items"]} == {"故障报修", "投诉", "咨询"}
    by_region = api.get("/analytics/breakdown", indicator="complaint_rate_per_10k", dimension="region", **MARCH).json()
    assert [(r["key"], r["value"]) for r in by_region["items"]] == [("广东", 10000.0)]
    by_team = api.get("/analytics/breakdown", indicator="csat", dimension="team", **MARCH).json()
    assert {r["label"]: r["value"] for r in by_team["items"]} == {"热线一班": 3.5, "热线二班": 4.0}
    by_channel = api.get("/analytics/breakdown", indicator="forbidden_per_1000", dimension="channel", **MARCH).json()
    # Calls c1..c4: 2 hits in 4 → 500; chat c5: 1 in 1 → 1,000.
    assert {r["key"]: r["value"] for r in by_channel["items"]} == {"phone": 500.0, "chat": 1000.0}
    assert api.get("/analytics/breakdown", indicator="fcr", dimension="category", **MARCH).json()["items"][0]["label"] == "（无）"


def test_bad_input_is_refused_with_a_chinese_message_naming_the_field(orders, api_for: Any) -> None:  # noqa: F811
    api = api_for("supervisor")
    cases = [
        ("/analytics/trend", {"indicator": "nope", **MARCH}, "indicator", "未知指标"),
        ("/analytics/trend", {"indicator": "fcr", "granularity": "hour", **MARCH}, "granularity", "必须是"),
        ("/analytics/trend", {"indicator": "fcr", "from": "2025-03-31", "to": "2025-03-01"}, "to", "结束"),
        ("/analytics/trend", {"indicator": "fcr", "from": "2024-01-01", "to": "2025-03-01"}, "to", "366"),
        ("/analytics/breakdown", {"indicator": "fcr", "dimension": "planet", **MARCH}, "dimension", "未知维度"),
        ("/analytics/breakdown", {"indicator": "answer_rate", "dimension": "category", **MARCH}, "dimension", "不能按"),
        ("/analytics/breakdown", {"indicator": "fcr", "dimension": "team", "agent": "7777", **MARCH}, "agent", "工号"),
        ("/analytics/breakdown", {"indicator": "fcr", "dimension": "team", "type": "x", **MARCH}, "type", "必须是"),
        ("/analytics/breakdown", {"indicator": "fcr", "dimension": "team", "team": 999999, **MARCH}, "team", "班组"),
    ]
    for path, params, field, words in cases:
        r = api.get(path, **params)
        assert r.status_code == 422, (path, params, r.content)
        err = r.json()["error"]
        assert field in err["fields"] and words in err["fields"][field], (params, err)
    assert api.get("/analytics/trend", **MARCH).status_code == 422  # indicator missing
    en = api_for("supervisor", lang="en").get("/analytics/trend", indicator="nope", **MARCH).json()
    assert en["error"]["fields"]["indicator"].startswith("Unknown indicator")


def test_empty_period_gives_an_empty_series_that_says_why(orders, api_for: Any) -> None:  # noqa: F811
    body = api_for("supervisor").get("/analytics/trend", indicator="fcr", **{"from": "2024-06-01", "to": "2024-06-30"}).json()
    assert all(p["value"] is None for p in body["points"]) and body["empty_reason"] == "此期间没有数据。"
    b = api_for("supervisor").get("/analytics/breakdown", indicator="fcr", dimension="agent",
                                  **{"from": "2024-06-01", "to": "2024-06-30"}).json()
    assert b["items"] == [] and b["empty_reason"] == "此期间没有数据。"


def test_scopes_agent_own_figures_team_lead_own_team(orders, api_for: Any, centre: dict[str, Any]) -> None:  # noqa: F811
    t1, t2 = centre["teams"]
    agent = api_for("agent").get("/analytics/breakdown", indicator="answer_rate", dimension="agent", **MARCH).json()
    assert [r["label"] for r in agent["items"]] == ["agent(1001)"]
    assert api_for("agent").get("/analytics/breakdown", indicator="answer_rate", dimension="agent",
                                agent="2001", **MARCH).status_code == 403
    lead = api_for("lead").get("/analytics/breakdown", indicator="csat", dimension="team", **MARCH).json()
    assert [r["label"] for r in lead["items"]] == ["热线一班"]
    refused = api_for("lead").get("/analytics/trend", indicator="csat", team=t2.pk, **MARCH)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "outside_scope"
    assert "本班组" in refused.json()["error"]["message"]
    assert api_for("lead").get("/analytics/live", team=t2.pk).status_code == 403


def test_live_board_counts_today_from_raw_data(centre: dict[str, Any], customer: Any, api_for: Any) -> None:
    from kefu.interactions.models import Interaction
    from kefu.tickets.models import Ticket

    agent, other = centre["users"]["agent"], centre["users"]["other"]
    now = timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)

    def order(n: int, who: Any, breach: datetime | None, status: str = "in_progress") -> None:
        Ticket.objects.create(number=f"GDL{n}", type="fault", customer=customer, subject="x", owner=who, team=who.team,
                              status=status, created_at=start, updated_at=start, sla_breach_at=breach)

    order(1, agent, now - timedelta(minutes=5))          # breached
    order(2, agent, now + timedelta(minutes=30))         # at risk within the hour
    order(3, agent, now + timedelta(hours=3), "new")     # in the queue, not at risk
    order(4, other, now - timedelta(hours=1), "new")     # team 2: breached, in the queue
    for n, (who, talk) in enumerate([(agent, 30.0), (agent, 0.0), (other, 12.0)]):
        Interaction.objects.create(channel="call", agent=who, agent_code=who.agent_id, team=who.team,
                                   started_at=start + timedelta(seconds=n), talk_seconds=talk)
    sup = api_for("supervisor").get("/analytics/live").json()
    assert (sup["queue"], sup["breached"], sup["at_risk"], sup["answered"], sup["abandoned"]) == (2, 2, 1, 2, 1)
    assert sup["answer_rate"] == 66.67
    mine = api_for("agent").get("/analytics/live").json()
    assert (mine["queue"], mine["breached"], mine["at_risk"], mine["answered"], mine["abandoned"]) == (1, 1, 1, 1, 1)
    lead = api_for("lead").get("/analytics/live").json()
    assert (lead["queue"], lead["breached"]) == (1, 1)
