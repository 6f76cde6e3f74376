"""Dashboard pages under /a/ (A1, A3): they render the hand-checked figures, embed chart data with
json_script, link every number down to the orders (/w/ with the analytics filter) or contacts behind it,
keep to the data scopes, show a message for bad input, and issue a number of queries that does not grow
with the data."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kefu.analytics import rollup
from kefu.analytics.tests.test_indicators import orders  # noqa: F401 — the hand-checked fixture

pytestmark = pytest.mark.django_db
MARCH = "from=2025-03-01&to=2025-03-31"


def _client(user: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _chart(html: str, chart_id: str) -> dict[str, Any]:
    m = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S)
    assert m, f"no {chart_id} in the page"
    return json.loads(m.group(1))


def test_overview_shows_every_indicator_with_previous_and_target_A3(orders, centre) -> None:  # noqa: F811
    r = _client(centre["users"]["supervisor"]).get(f"/a/?{MARCH}")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count('class="card a-card') == 17
    assert "接通率" in html and "75%" in html and "≥ 95%" in html
    # The answer-rate figure links to the contacts behind it, FCR to the orders behind it.
    assert "/a/contacts/?ind=answer_rate&amp;from=2025-03-01&amp;to=2025-03-31" in html
    assert "/w/?tab=scope&amp;ind=fcr&amp;from=2025-03-01&amp;to=2025-03-31" in html


def test_drill_down_lists_exactly_the_orders_behind_the_figure_A1(orders, centre) -> None:  # noqa: F811
    sup = _client(centre["users"]["supervisor"])
    # FCR in March counts A and B (first resolved in March), not D (February).
    html = sup.get(f"/w/?tab=scope&ind=fcr&{MARCH}").content.decode()
    assert "GDA" in html and "GDB" in html and "GDD" not in html and "GDC" not in html
    assert 'id="analytics-filter"' in html and "一次解决率" in html
    # Escalation rate by type = consultation: only C.
    html = sup.get(f"/w/?tab=scope&ind=escalation_rate&type=consultation&{MARCH}").content.decode()
    assert "GDC" in html and "GDA" not in html
    # A bad figure filter lists nothing and says so.
    html = sup.get("/w/?tab=scope&ind=nope&from=2025-03-01&to=2025-03-31").content.decode()
    assert "GDA" not in html and 'id="analytics-filter"' in html
    # Agent 2001 following a link to 1001's figures sees none of them (their own scope).
    html = _client(centre["users"]["other"]).get(f"/w/?tab=scope&ind=fcr&agent=1001&{MARCH}").content.decode()
    assert "GDA" not in html and "GDB" not in html
    contacts = sup.get(f"/a/contacts/?ind=abandonment_rate&{MARCH}").content.decode()
    assert contacts.count("<tr>") == 1 + 4  # header + the four calls of March


def test_trend_and_breakdown_pages_embed_the_chart_data(orders, centre) -> None:  # noqa: F811
    sup = _client(centre["users"]["supervisor"])
    html = sup.get(f"/a/trend/?indicator=answer_rate&granularity=week&{MARCH}").content.decode()
    chart = _chart(html, "chart-trend")
    assert chart["target"] == 95.0 and chart["categories"][:2] == ["2025-02-24", "2025-03-03"]
    assert chart["series"][0]["data"][:2] == [100.0, 66.67]
    assert chart["series"][0]["urls"][0].startswith("/a/contacts/?ind=answer_rate&from=2025-03-01&to=2025-03-02")
    html = sup.get(f"/a/breakdown/?indicator=csat&dimension=agent&{MARCH}").content.decode()
    chart = _chart(html, "chart-breakdown")
    assert sorted(zip(chart["categories"], chart["series"][0]["data"])) == [("agent(1001)", 3.5), ("other(2001)", 4.0)]
    assert any("agent=1001" in u for u in chart["series"][0]["urls"])


def test_bad_input_shows_a_message_on_the_page_and_empty_charts_say_why(orders, centre) -> None:  # noqa: F811
    sup = _client(centre["users"]["supervisor"])
    r = sup.get("/a/trend/?indicator=answer_rate&from=2025-03-31&to=2025-03-01")
    assert r.status_code == 422 and "结束" in r.content.decode()
    assert _chart(r.content.decode(), "chart-trend")["series"] == []
    r = sup.get(f"/a/breakdown/?indicator=answer_rate&dimension=planet&{MARCH}")
    assert r.status_code == 422 and "未知维度" in r.content.decode()
    r = sup.get(f"/a/?from=yesterday&to=2025-03-01")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.content.decode()
    r = sup.get("/a/trend/?indicator=fcr&from=2024-06-01&to=2024-06-30")
    assert r.status_code == 200
    chart = _chart(r.content.decode(), "chart-trend")
    assert chart["empty"] == "此期间没有数据。" and all(v is None for v in chart["series"][0]["data"])


def test_scopes_on_the_pages(orders, centre) -> None:  # noqa: F811
    t1, t2 = centre["teams"]
    agent = _client(centre["users"]["agent"]).get(f"/a/breakdown/?indicator=answer_rate&dimension=agent&{MARCH}")
    assert _chart(agent.content.decode(), "chart-breakdown")["categories"] == ["agent(1001)"]
    lead = _client(centre["users"]["lead"]).get(f"/a/?{MARCH}&team={t2.pk}")
    assert lead.status_code == 422 and "本班组" in lead.content.decode()
    # The menu shows the dashboards to team leads and supervisors, not to agents.
    assert "/a/" in _client(centre["users"]["lead"]).get("/w/").content.decode()
    assert 'href="/a/"' not in _client(centre["users"]["agent"]).get("/w/").content.decode()


def test_live_board_refreshes_with_htmx(centre, customer) -> None:
    sup = _client(centre["users"]["supervisor"])
    html = sup.get("/a/live/").content.decode()
    assert 'hx-trigger="every 30s"' in html and 'id="tile-queue"' in html
    assert _chart(html, "chart-live")["empty"] == "今天还没有来电。"
    part = sup.get("/a/live/", HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<div id="live-panel"') and "<html" not in part


def _more_data(centre: dict[str, Any], customer: Any, n: int) -> None:
    from kefu.interactions.models import Interaction
    from kefu.tickets.models import Ticket

    agent = centre["users"]["agent"]
    base = timezone.now() - timedelta(days=3)
    for i in range(n):
        Ticket.objects.create(number=f"GDQ{n}-{i}", type="fault", customer=customer, subject="x", owner=agent, team=agent.team,
                              created_at=base, updated_at=base, resolved_at=base + timedelta(hours=i))
        Interaction.objects.create(channel="call", agent=agent, agent_code="1001", team=agent.team, started_at=base,
                                   talk_seconds=i, wait_seconds=i)
    rollup.rebuild()


@pytest.mark.parametrize("path", [
    "/a/", "/a/live/", "/a/trend/?indicator=fcr", "/a/breakdown/?indicator=answer_rate&dimension=agent",
    "/a/breakdown/?indicator=fcr&dimension=category", "/a/contacts/?ind=answer_rate",
])
def test_page_queries_do_not_grow_with_the_data(centre, customer, django_assert_max_num_queries, path) -> None:
    sup = _client(centre["users"]["supervisor"])
    _more_data(centre, customer, 2)
    sup.get(path)  # warm caches (session, SLA policies)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert sup.get(path).status_code == 200
    _more_data(centre, customer, 40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert sup.get(path).status_code == 200
