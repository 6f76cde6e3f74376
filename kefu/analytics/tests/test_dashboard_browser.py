"""The dashboards in Debian's Chromium (A1, A3): a supervisor opens them from the top menu, the charts
are drawn by ECharts (a canvas, no console error), a bar of the breakdown and a number of the overview
lead to the work orders behind them, the live board shows today's tiles. KEFU_SCREENSHOTS=1 refreshes
docs/screenshots/analytics-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.analytics.tests.test_indicators import orders  # noqa: F401 — the hand-checked data set
from kefu.web.tests.test_browser import browser, log_in, page, shot  # noqa: F401 — Chromium fixtures

pytestmark = pytest.mark.django_db(transaction=True)
MARCH = "from=2025-03-01&to=2025-03-31"


def _canvas_drawn(page: Any, selector: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(f"{selector} canvas").first).to_be_visible()
    assert page.evaluate(f"document.querySelector('{selector}').kefuChart !== undefined")


def test_dashboards_draw_charts_and_click_through_to_the_orders_A1_A3(page: Any, live_server: Any, orders: Any,  # noqa: F811
                                                                      tmp_path: Any) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    # Script errors only: the browser also logs the intended 422 of the bad-range page and the missing
    # favicon as "Failed to load resource".
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = live_server.url
    log_in(page, base, "supervisor")
    page.get_by_role("link", name="统计看板", exact=True).click()
    expect(page.locator(".a-tabs")).to_be_visible()
    page.goto(f"{base}/a/?{MARCH}")
    card = page.locator('.a-card[data-code="answer_rate"]')
    expect(card).to_contain_text("接通率")
    expect(card.locator(".a-value")).to_contain_text("75%")
    shot(page, "analytics-overview", tmp_path)

    page.goto(f"{base}/a/trend/?indicator=answer_rate&granularity=day&{MARCH}")
    _canvas_drawn(page, '[data-chart="chart-trend"]')
    expect(page.locator("#trend-total")).to_contain_text("75%")
    shot(page, "analytics-trend", tmp_path)

    page.goto(f"{base}/a/breakdown/?indicator=fcr&dimension=agent&{MARCH}")
    sel = '[data-chart="chart-breakdown"]'
    _canvas_drawn(page, sel)
    expect(page.locator("#breakdown-table")).to_contain_text("agent(1001)")
    shot(page, "analytics-breakdown", tmp_path)
    # Click the middle of agent 1001's bar (FCR 50 %: orders A and B were first resolved in March).
    x, y = page.evaluate(f"""(() => {{
        const el = document.querySelector('{sel}');
        const c = el.kefuChart;
        const bar = c.getModel().getSeriesByIndex(0).getData().getItemLayout(0);
        const r = el.getBoundingClientRect();
        return [r.left + bar.x + bar.width / 2, r.top + bar.y + bar.height / 2];
    }})()""")
    page.mouse.click(x, y)
    page.wait_for_url("**/w/?**")
    expect(page.locator("#analytics-filter")).to_contain_text("一次解决率")
    rows = page.locator("#rows")
    expect(rows).to_contain_text("GDA")
    expect(rows).to_contain_text("GDB")
    expect(rows).not_to_contain_text("GDD")
    shot(page, "analytics-drill-orders", tmp_path)

    # A number of the overview: the escalation rate's orders (opened in March).
    page.goto(f"{base}/a/?{MARCH}")
    page.locator('.a-card[data-code="escalation_rate"] .a-value a').click()
    expect(page.locator("#rows")).to_contain_text("GDC")
    expect(page.locator("#rows")).to_contain_text("GDE")

    # An empty period: the chart says why it is empty.
    page.goto(f"{base}/a/trend/?indicator=fcr&from=2024-06-01&to=2024-06-30")
    expect(page.locator('[data-chart="chart-trend"] .a-empty-msg')).to_have_text("此期间没有数据。")
    # A reversed range: a message on the page.
    page.goto(f"{base}/a/breakdown/?indicator=fcr&dimension=agent&from=2025-03-31&to=2025-03-01")
    expect(page.locator("#page-error")).to_contain_text("结束")

    page.goto(f"{base}/a/live/")
    expect(page.locator("#tile-queue")).to_be_visible()
    expect(page.locator('[data-chart="chart-live"] .a-empty-msg, [data-chart="chart-live"] canvas').first).to_be_visible()
    shot(page, "analytics-live", tmp_path)
    assert errors == []
