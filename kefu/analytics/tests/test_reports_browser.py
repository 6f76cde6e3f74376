"""The report pages in Debian's Chromium (A2, A4, F4, Q4): a supervisor opens the daily summary from the
top menu, picks the day, downloads the Excel file and reads it back; the other reports and the print
layout are shown. KEFU_SCREENSHOTS=1 refreshes docs/screenshots/report-*.png."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from kefu.analytics.tests.test_reports import data  # noqa: F401 — the hand-checked data set
from kefu.web.tests.test_browser import browser, log_in, page, shot  # noqa: F401 — Chromium fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_daily_summary_page_and_xlsx_download_A2(page: Any, live_server: Any, data: Any, tmp_path: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, "supervisor")
    page.get_by_role("link", name="报表", exact=True).click()
    expect(page.get_by_role("heading", name="报表")).to_be_visible()
    page.get_by_role("link", name="客服电话接听及问题解决汇总表").first.click()
    page.get_by_label("开始日期").fill("2030-03-02")
    page.get_by_label("结束日期").fill("2030-03-02")
    page.get_by_role("button", name="查看").click()
    table = page.locator("#table-summary table")
    expect(table).to_contain_text("agent(1001)")
    expect(table.locator("tfoot")).to_contain_text("合计")
    expect(page.locator(".period")).to_contain_text("统计期间：2030-03-02 至 2030-03-02")
    shot(page, "report-daily-summary", tmp_path)

    with page.expect_download() as info:
        page.locator("#download-xlsx").click()
    download = info.value
    assert download.suggested_filename == "kefu-daily_summary-20300302-20300302.xlsx"
    with open(download.path(), "rb") as f:
        ws = load_workbook(io.BytesIO(f.read())).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][:4] == ("工号", "客服", "班组", "来电总数") and rows[3][:5] == ("1001", "agent(1001)", "热线一班", 4, 2)

    page.emulate_media(media="print")
    shot(page, "report-print", tmp_path)
    expect(page.locator(".topbar")).to_be_hidden()
    page.emulate_media(media="screen")

    page.goto(f"{base}/a/r/scoring_sheet/?from=2030-03-01&to=2030-03-31")
    expect(page.locator("#table-sheet")).to_contain_text("60.29")
    shot(page, "report-scoring-sheet", tmp_path)
    page.goto(f"{base}/a/r/complaint_causes/?from=2030-03-01&to=2030-03-31")
    expect(page.locator("#table-pareto")).to_contain_text("资费争议")
    page.get_by_label("改进建议内容").fill("核对套餐扣费规则，扣费前短信提醒客户")
    page.get_by_label("提交部门").select_option("billing")
    page.get_by_role("button", name="发送给部门").click()
    expect(page.locator(".msg.success")).to_contain_text("改进建议已发送给部门。")
    expect(page.locator("#table-notes")).to_contain_text("计费部")
    shot(page, "report-complaint-causes", tmp_path)
    page.goto(f"{base}/a/r/feedback_register/?from=2030-03-01&to=2030-03-31")
    expect(page.locator("#table-register")).to_contain_text("张**")
    expect(page.locator("#table-register")).not_to_contain_text("张三丰")
    shot(page, "report-feedback-register", tmp_path)
    page.goto(f"{base}/a/r/marketing/?from=2030-02-01&to=2030-03-31")
    expect(page.locator("#table-trend")).to_contain_text("2030-03")
    shot(page, "report-marketing", tmp_path)

    # a reversed range: a message on the page, no table
    page.goto(f"{base}/a/r/daily_summary/?from=2030-03-31&to=2030-03-01")
    expect(page.locator("#page-error")).to_contain_text("结束时间必须晚于开始时间。")
    # English on request
    page.goto(f"{base}/a/r/daily_summary/?from=2030-03-02&to=2030-03-02")
    page.locator("#lang-select").select_option("en")
    expect(page.locator("#report-title")).to_have_text("Daily call and problem summary")
