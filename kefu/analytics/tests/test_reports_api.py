"""Reports through the API and the pages (A2, A4, F4, Q4, S2): exports read back, bad input, scopes,
improvement notes, subscriptions. Uses the hand-checked data set of ``test_reports``."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from kefu.analytics.models import ImprovementNote, ReportSubscription
from kefu.analytics.tests.test_reports import data  # noqa: F401 — the fixture
from kefu.audit.models import AuditRecord

pytestmark = pytest.mark.django_db
DAY = {"from": "2030-03-02", "to": "2030-03-02"}
MARCH = {"from": "2030-03-01", "to": "2030-03-31"}


def test_api_daily_summary_json_csv_and_xlsx_read_back_A2(data: Any, api_for: Any) -> None:  # noqa: F811
    api = api_for("supervisor")
    r = api.get("/analytics/reports/daily_summary", **DAY)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["title"] == "客服电话接听及问题解决汇总表" and body["from"] == "2030-03-02" and body["masked"] is True
    table = body["tables"][0]
    assert [row["agent_id"] for row in table["rows"]] == ["1001", "1002", "2001"]
    assert table["total"]["calls_offered"] == 6 and table["total"]["answer_rate"] == 66.67

    x = api.get("/analytics/reports/daily_summary", format="xlsx", **DAY)
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    assert x["Content-Disposition"] == 'attachment; filename="kefu-daily_summary-20300302-20300302.xlsx"'
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "客服电话接听及问题解决汇总表"
    assert rows[1][0].startswith("统计期间：2030-03-02 至 2030-03-02")
    assert rows[2][:5] == ("工号", "客服", "班组", "来电总数", "接听数")
    assert rows[3][:5] == ("1001", "agent(1001)", "热线一班", 4, 2)
    total = [row for row in rows if row[0] == "合计"][0]
    assert total[3:7] == (6, 4, 2, 66.67)
    assert ws.freeze_panes == "A4" and ws.page_setup.orientation == "landscape"

    c = api.get("/analytics/reports/daily_summary", format="csv", **DAY)
    assert c.content.startswith("\ufeff".encode()) and c["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert lines[0] == ["客服电话接听及问题解决汇总表"]
    header = lines.index(["工号", "客服", "班组", *lines[4][3:]])
    assert lines[header + 1][:5] == ["1001", "agent(1001)", "热线一班", "4", "2"]
    assert ["合计", "", ""] == [lines[header + 4][0], lines[header + 4][1], lines[header + 4][2]]


def test_api_every_report_exports_to_xlsx_A2_A4_F4_Q4(data: Any, api_for: Any) -> None:  # noqa: F811
    api = api_for("supervisor")
    names = [i["name"] for i in api.get("/analytics/reports").json()["items"]]
    assert names == ["daily_summary", "scoring_sheet", "feedback_register", "complaint_causes", "marketing",
                     "bot_operations"]
    sheets = {}
    for name in names:
        r = api.get(f"/analytics/reports/{name}", format="xlsx", **MARCH)
        assert r.status_code == 200, (name, r.content[:300])
        sheets[name] = load_workbook(io.BytesIO(r.content))
    register = list(sheets["feedback_register"].active.iter_rows(values_only=True))
    assert register[2][:5] == ("序号", "日期", "工单号", "类型", "客户")
    assert register[3][:5] == (1, "2030-03-02", "GDB", "投诉", "张**")  # masked in the file too
    assert "13800138000" not in str(register) and "张三丰" not in str(register)
    assert sheets["scoring_sheet"].sheetnames == ["员工评分表", "评分项目"]
    pareto = list(sheets["complaint_causes"].worksheets[0].iter_rows(values_only=True))
    assert pareto[3][2:6] == (3, 50, 50, "A")


def test_api_bad_input_is_a_clear_chinese_error_A2(data: Any, api_for: Any) -> None:  # noqa: F811
    api = api_for("supervisor")
    r = api.get("/analytics/reports/nonsense", **DAY)
    assert r.status_code == 404 and r.json()["error"]["code"] == "report_not_found"
    assert "没有名为“nonsense”的报表" in r.json()["error"]["message"]
    r = api.get("/analytics/reports/daily_summary", format="pdf", **DAY)
    assert r.status_code == 422 and "format" in r.json()["error"]["fields"]
    r = api.get("/analytics/reports/daily_summary", **{"from": "2030-03-31", "to": "2030-03-01"})
    assert r.status_code == 422 and r.json()["error"]["fields"]["to"] == "结束时间必须晚于开始时间。"
    r = api.get("/analytics/reports/daily_summary", **{"from": "2028-01-01", "to": "2030-03-01"})
    assert r.status_code == 422 and "366" in r.json()["error"]["fields"]["to"]
    r = api.get("/analytics/reports/daily_summary", to="2030-03-01")
    assert r.status_code == 422 and r.json()["error"]["fields"]["from"] == "请填写开始日期。"
    assert api.get("/analytics/reports/daily_summary", **{"from": "yesterday", "to": "2030-03-01"}).status_code == 422
    r = api.get("/analytics/reports/scoring_sheet", month="2030-13")
    assert r.status_code == 422 and "month" in r.json()["error"]["fields"]
    assert api.get("/analytics/reports/scoring_sheet", month="2030-03").json()["to"] == "2030-03-31"
    r = api.get("/analytics/reports/complaint_causes", dimension="colour", **MARCH)
    assert r.status_code == 422 and r.json()["error"]["fields"]["dimension"] == "请选择按分类、地区或产品分析。"
    r = api.get("/analytics/reports/daily_summary", group="week", **DAY)
    assert r.status_code == 422 and "group" in r.json()["error"]["fields"]
    # outside the scope: as if the agent did not exist
    r = api_for("lead").get("/analytics/reports/daily_summary", agent="2001", **DAY)
    assert r.status_code == 404 and r.json()["error"]["code"] == "agent_not_found"
    # English on request
    en = api_for("supervisor", lang="en").get("/analytics/reports/daily_summary", **{"from": "2030-03-31", "to": "2030-03-01"})
    assert en.json()["error"]["fields"]["to"] == "The end of the range must be after its start."


def test_api_scope_agent_sees_only_own_rows_S2(data: Any, api_for: Any) -> None:  # noqa: F811
    body = api_for("agent").get("/analytics/reports/scoring_sheet", **MARCH).json()
    assert [r["agent_id"] for r in body["tables"][0]["rows"]] == ["1001"]
    body = api_for("agent").get("/analytics/reports/daily_summary", agent="1002", **DAY)
    assert body.status_code == 404


def test_api_improvement_notes_F4(data: Any, api_for: Any, centre: Any) -> None:  # noqa: F811
    sup = api_for("supervisor")
    rows = sup.get("/analytics/reports/complaint_causes", **MARCH).json()["tables"][0]["rows"]
    payload = {"dimension": "category", "cause": rows[0]["key"], "cause_label": rows[0]["cause"],
               "department": "billing", "suggestion": "资费说明与扣费提醒短信同步更新", **MARCH}
    assert api_for("agent").post("/analytics/improvement-notes", payload).status_code == 403
    bad = sup.post("/analytics/improvement-notes", {**payload, "department": "", "suggestion": ""})
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"department", "suggestion"}
    assert sup.post("/analytics/improvement-notes", {**payload, "colour": "red"}).status_code == 422
    assert ImprovementNote.objects.count() == 0
    r = sup.post("/analytics/improvement-notes", payload)
    assert r.status_code == 201, r.content
    note = r.json()
    assert (note["department"], note["status"], note["period_from"], note["period_to"]) == ("billing", "open", "2030-03-01", "2030-03-31")
    # the billing department answers (a billing user), a network user may not
    from kefu.accounts.models import Role, User

    billing = User.objects.create_user(username="bill", password="x-Strong-pass-2026", role=Role.AGENT, agent_id="5101",
                                       department=centre["departments"]["billing"])
    from kefu.accounts.services import token_create

    _t, token = token_create(user=billing)
    from conftest import Api

    answer = Api(token).post(f"/analytics/improvement-notes/{note['id']}", {"status": "in_progress", "response": "已排查"})
    assert answer.status_code == 200 and answer.json()["status"] == "in_progress"
    assert api_for("network").post(f"/analytics/improvement-notes/{note['id']}", {"status": "done"}).status_code == 403
    assert sup.post(f"/analytics/improvement-notes/{note['id']}", {"status": "finished"}).status_code == 422
    assert sup.post("/analytics/improvement-notes/99999", {"status": "done"}).status_code == 404
    assert AuditRecord.objects.filter(action__startswith="analytics.note").count() == 2
    listed = sup.get("/analytics/improvement-notes", department="billing").json()["items"]
    assert [n["response"] for n in listed] == ["已排查"]


def test_api_report_subscriptions_A2(data: Any, api_for: Any, centre: Any) -> None:  # noqa: F811
    sup = api_for("supervisor")
    assert api_for("agent").post("/analytics/report-subscriptions", {"send_at": "08:00", "email": "a@example.com"}).status_code == 403
    assert api_for("lead").get("/analytics/report-subscriptions").status_code == 403
    bad = sup.post("/analytics/report-subscriptions", {"send_at": "25:00", "email": "not-an-address", "report": "x"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"send_at", "email", "report"}
    assert sup.post("/analytics/report-subscriptions", {"send_at": "08:00"}).json()["error"]["fields"]["email"] == "请填写用户或电子邮件地址。"
    nomail = sup.post("/analytics/report-subscriptions", {"send_at": "08:00", "user": "agent"})
    assert nomail.status_code == 422 and "user" in nomail.json()["error"]["fields"]
    assert ReportSubscription.objects.count() == 0
    r = sup.post("/analytics/report-subscriptions", {"send_at": "08:30", "email": "boss@example.com"})
    assert r.status_code == 201 and r.json()["send_at"] == "08:30:00" and r.json()["last_sent_day"] is None
    assert r.json()["cadence"] == "daily"
    monthly = sup.post("/analytics/report-subscriptions", {"send_at": "08:00", "email": "qa@example.com",
                                                           "report": "scoring_sheet"})
    assert monthly.status_code == 201 and monthly.json()["cadence"] == "monthly"
    assert len(sup.get("/analytics/report-subscriptions").json()["items"]) == 2
    gone = sup.client.delete(f"/api/v1/analytics/report-subscriptions/{r.json()['id']}", **sup.headers)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert AuditRecord.objects.filter(action__startswith="analytics.subscription").count() == 3


# -- pages -------------------------------------------------------------------------------------------


def test_pages_show_the_table_switch_language_and_refuse_bad_ranges_A2(data: Any, client: Any, centre: Any) -> None:  # noqa: F811
    client.force_login(centre["users"]["lead"])
    home = client.get("/w/")
    assert 'href="/a/r/"' in home.content.decode()
    page = client.get("/a/r/daily_summary/", DAY)
    html = page.content.decode()
    assert page.status_code == 200 and "客服电话接听及问题解决汇总表" in html
    assert "agent(1001)" in html and "agent2(1002)" in html and "other(2001)" not in html  # the lead's team only
    assert 'id="download-xlsx"' in html and "window.print()" in html
    x = client.get("/a/r/daily_summary/export.xlsx", DAY)
    assert x.status_code == 200 and load_workbook(io.BytesIO(x.content)).active["A4"].value == "1001"
    bad = client.get("/a/r/daily_summary/", {"from": "2030-03-31", "to": "2030-03-01"})
    assert bad.status_code == 422 and "结束时间必须晚于开始时间。" in bad.content.decode()
    assert client.get("/a/r/daily_summary/", {"from": "2030-02-30", "to": "2030-03-01"}).status_code == 422
    assert client.get("/a/r/nonsense/").status_code == 404
    assert client.get("/a/r/daily_summary/export.pdf", DAY).status_code == 302  # back to the page with the message
    empty = client.get("/a/r/feedback_register/", {"from": "2031-01-01", "to": "2031-01-31"}).content.decode()
    assert "这段时间没有投诉、建议或满意度评价意见。" in empty
    en = client.get("/a/r/daily_summary/", DAY, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Daily call and problem summary" in en and "Calls received" in en
    assert client.get("/a/r/").status_code == 200


def test_menu_link_follows_the_role_and_agents_see_their_own_S2(data: Any, client: Any, centre: Any) -> None:  # noqa: F811
    client.force_login(centre["users"]["agent"])
    assert 'href="/a/r/"' not in client.get("/w/").content.decode()
    html = client.get("/a/r/scoring_sheet/", MARCH).content.decode()
    assert "agent(1001)" in html and "agent2(1002)" not in html
    assert 'name="agent"' not in html  # no agent filter for an agent


def test_page_improvement_note_form_F4(data: Any, client: Any, centre: Any) -> None:  # noqa: F811
    client.force_login(centre["users"]["supervisor"])
    html = client.get("/a/r/complaint_causes/", MARCH).content.decode()
    assert "帕累托分类" in html and 'name="suggestion"' in html
    key = ImprovementNote  # noqa: F841
    from kefu.tickets.models import Category

    cause = f"category:{Category.objects.get(name='资费争议').code}"
    r = client.post("/a/r/notes/", {"from": "2030-03-01", "to": "2030-03-31", "dimension": "category", "cause": cause,
                                    f"label:{cause}": "投诉 › 资费争议", "department": "billing", "suggestion": "核对计费规则"})
    assert r.status_code == 302
    note = ImprovementNote.objects.get()
    assert (note.cause_label, note.department.code, note.author.username) == ("投诉 › 资费争议", "billing", "supervisor")
    html = client.get(r["Location"]).content.decode()
    assert "核对计费规则" in html and "改进建议已发送给部门。" in html
    r = client.post("/a/r/notes/", {"from": "2030-03-01", "to": "2030-03-31", "dimension": "category", "cause": cause,
                                    "department": "billing", "suggestion": ""})
    assert "此字段为必填项。" in client.get(r["Location"]).content.decode() and ImprovementNote.objects.count() == 1


def test_admin_lists_subscriptions_and_audits_their_edits_A2(centre: Any, client: Any) -> None:
    client.force_login(centre["users"]["admin"])
    r = client.post("/admin/analytics/reportsubscription/add/",
                    {"report": "daily_summary", "email": "boss@example.com", "send_at": "08:00", "active": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    sub = ReportSubscription.objects.get()
    assert sub.created_by == centre["users"]["admin"]
    assert AuditRecord.objects.filter(action="admin.add", object_id=str(sub.pk)).count() == 1
    for url in ("/admin/analytics/reportsubscription/", "/admin/analytics/reportdelivery/", "/admin/analytics/improvementnote/"):
        assert client.get(url).status_code == 200


def test_a_long_table_is_cut_on_the_page_but_whole_in_the_file_A2(data: Any, client: Any, centre: Any,  # noqa: F811
                                                                  monkeypatch: Any) -> None:
    from kefu.analytics import report_views

    monkeypatch.setattr(report_views, "PAGE_ROWS", 3)
    client.force_login(centre["users"]["supervisor"])
    html = client.get("/a/r/feedback_register/", MARCH).content.decode()
    assert "页面只显示前 3 行（共 8 行）" in html and "GDE" in html and "GDF" not in html
    ws = load_workbook(io.BytesIO(client.get("/a/r/feedback_register/export.xlsx", MARCH).content)).active
    assert ws.max_row >= 3 + 8 and ws["C11"].value == "GDK"


def test_a_nul_character_is_a_field_error_not_a_crash(data: Any, api_for: Any) -> None:  # noqa: F811
    """PostgreSQL cannot hold NUL: every text input refuses it with a 422 naming the field."""
    sup = api_for("supervisor")
    r = sup.post("/analytics/report-subscriptions", {"send_at": "08:00", "user": "a\u0000b"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"user": "包含不允许的字符。"}
    r = sup.post("/analytics/improvement-notes", {"dimension": "category", "cause": "category:x", "department": "bil\u0000",
                                                  "suggestion": "x", "month": "2030-03"})
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"department"}
    r = sup.get("/analytics/reports/daily_summary", agent="10\u00001", **DAY)
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"agent"}
    # a superscript digit is not a department id
    r = sup.post("/analytics/improvement-notes", {"dimension": "category", "cause": "category:x", "department": "²",
                                                  "suggestion": "x", "month": "2030-03"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"department": "没有这个部门。"}
    assert ReportSubscription.objects.count() == 0 and ImprovementNote.objects.count() == 0


def test_page_the_department_answers_its_note_F4(data: Any, client: Any, centre: Any) -> None:  # noqa: F811
    from kefu.accounts.models import Role, User
    from kefu.analytics import report_services as svc
    from kefu.analytics.reports import Period

    note = svc.improvement_note_create(actor=centre["users"]["supervisor"], dimension="category", cause_key="category:x",
                                       cause_label="投诉 › 资费争议", department="billing", suggestion="核对计费规则",
                                       period=Period.of_days(date(2030, 3, 1), date(2030, 3, 31)))
    billing = User.objects.create_user(username="bill", password="x-Strong-pass-2026", role=Role.AGENT, agent_id="5101",
                                       department=centre["departments"]["billing"])
    client.force_login(centre["users"]["network"])
    assert 'id="note-answer"' not in client.get("/a/r/complaint_causes/", MARCH).content.decode()
    r = client.post("/a/r/notes/answer/", {"note": note.pk, "status": "done", **MARCH})
    assert "只有被提交的部门或主管可以答复这条建议。" in client.get(r["Location"]).content.decode()
    client.force_login(billing)
    assert 'id="note-answer"' in client.get("/a/r/complaint_causes/", MARCH).content.decode()
    r = client.post("/a/r/notes/answer/", {"note": note.pk, "status": "done", "response": "已修正计费规则", **MARCH,
                                           "dimension": "category"})
    html = client.get(r["Location"]).content.decode()
    assert "答复已保存。" in html and "已修正计费规则" in html
    note.refresh_from_db()
    assert (note.status, note.response) == ("done", "已修正计费规则")
    r = client.post("/a/r/notes/answer/", {"note": "x", "status": "done"})
    assert "未找到改进建议 0。" in client.get(r["Location"]).content.decode()


def test_bot_operations_report_per_day_with_masked_wordings_K4_X1(centre: Any, customer: Any, api_for: Any) -> None:
    """智能客服运营: conversations, hand-overs, self-service rate, how questions were met and rated,
    per local day and in total; the unanswered wordings with customers' numbers masked; read back
    from the Excel file; not for agents."""
    import uuid
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from kefu.knowledge.models import BotSession, BotTurn
    from kefu.tickets.models import Ticket

    tz = ZoneInfo("Asia/Shanghai")
    made = api_for("agent").post("/tickets", {"type": "consultation", "customer_id": customer.pk, "subject": "转人工"})
    ticket = Ticket.objects.get(pk=made.json()["id"])

    def session(day: int, hour: int, turns: list[tuple[str, str, bool | None]], handed: bool = False) -> None:
        at = datetime.combine(date(2030, 5, day), time(hour), tz)
        s = BotSession.objects.create(id=uuid.uuid4(), ticket=ticket if handed else None)
        BotSession.objects.filter(pk=s.pk).update(created_at=at)
        for question, mode, helpful in turns:
            t = BotTurn.objects.create(session=s, question=question, mode=mode, helpful=helpful)
            BotTurn.objects.filter(pk=t.pk).update(created_at=at)

    session(1, 9, [("怎么查话费", "answer", True), ("那流量呢", "answer", None)])
    session(1, 23, [("宽带坏了", "suggest", None), ("我的号码13812345678停机了", "handoff", None)], handed=True)
    session(2, 0, [("我的号码13899995678停机了", "handoff", None)])  # 00:00 local = still 1 May in UTC
    session(2, 10, [("国际漫游", "answer", False)])
    session(9, 10, [("不在期间", "answer", None)])  # outside the period

    api = api_for("lead")
    r = api.get("/analytics/reports/bot_operations", **{"from": "2030-05-01", "to": "2030-05-07"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["title"] == "智能客服运营"
    daily, missed = body["tables"]
    days = {row["day"]: row for row in daily["rows"]}
    assert sorted(days) == ["2030-05-01", "2030-05-02"]
    d1, d2, total = days["2030-05-01"], days["2030-05-02"], daily["total"]
    assert (d1["sessions"], d1["handed"], d1["self_service"], d1["handoff_rate"]) == (2, 1, 50.0, 50.0)
    assert (d1["questions"], d1["answered"], d1["suggested"], d1["unanswered"], d1["answer_rate"]) == (4, 2, 1, 1, 50.0)
    assert (d1["rated"], d1["helpful"], d1["helpful_rate"]) == (1, 1, 100.0)
    assert (d2["sessions"], d2["handed"], d2["self_service"], d2["helpful_rate"]) == (2, 0, 100.0, 0.0)
    assert (total["sessions"], total["handed"], total["questions"], total["self_service"]) == (4, 1, 6, 75.0)
    assert missed["rows"] == [{"question": "我的号码138****5678停机了", "count": 2},
                              {"question": "国际漫游", "count": 1}]
    assert "13812345678" not in r.content.decode()

    x = api.get("/analytics/reports/bot_operations", format="xlsx", **{"from": "2030-05-01", "to": "2030-05-07"})
    assert x.status_code == 200
    rows = list(load_workbook(io.BytesIO(x.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0].startswith("智能客服运营") and "会话数" in rows[2] and "直接回答率（%）" in rows[2]
    assert "会话数" in rows[2] and "机器人独立接待率（%）" in rows[2]
    assert [row for row in rows if row[0] == "合计"][0][1:5] == (4, 1, 75.0, 25.0)

    empty = api.get("/analytics/reports/bot_operations", **{"from": "2030-06-01", "to": "2030-06-02"}).json()
    assert empty["tables"][0]["rows"] == [] and empty["tables"][0]["total"] is None
    assert "没有" in empty["tables"][0]["empty"]
    denied = api_for("agent").get("/analytics/reports/bot_operations", **{"from": "2030-05-01", "to": "2030-05-07"})
    assert denied.status_code == 403 and "智能客服" in denied.json()["error"]["message"]
