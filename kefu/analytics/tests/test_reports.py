"""The reports of issue #7 on a hand-checked data set (A2, A4, F4, Q4, S2): every expected figure is
worked out in the comments from the rows the fixture creates, not taken from the code.

The centre: agents 1001 and 1002 in 热线一班 (team lead 8001), agent 2001 in 热线二班; one customer
张三丰 in 广东 广州 (contact phone 13800138000)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kefu.analytics.reports import Period, pareto, report_build
from kefu.interactions.models import Interaction
from kefu.quality.models import Inspection, RuleSet
from kefu.tickets.models import Category, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DAY = date(2030, 3, 2)
MARCH = Period.of_days(date(2030, 3, 1), date(2030, 3, 31))


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2030, month, day, hour, minute, tzinfo=SH)


def sheet(**points: float | None) -> list[dict[str, Any]]:
    """An inspection's stored sheet: the default items with the given points (None = pending)."""
    maxima = {"opening_closing": 15, "attitude": 25, "severe_attitude": 10, "skills_efficiency": 20,
              "information_entry": 10, "report_submission": 5, "manager_review": 5, "teamwork": 5, "business_growth": 5}
    return [{"code": c, "name": c, "max_points": m, "points": points.get(c), "hits": 0, "vetoed": False}
            for c, m in maxima.items()]


@pytest.fixture
def data(centre: Any, customer: Any) -> dict[str, Any]:
    u = centre["users"]
    t1, t2 = centre["teams"]
    cat = {c.name: c for c in Category.objects.all()}
    mobile = customer.services.get(kind="mobile")

    def order(number: str, ttype: str, owner: Any, created: datetime, resolved: datetime | None = None,
              category: str | None = None, **kw: Any) -> Ticket:
        return Ticket.objects.create(
            number=number, type=ttype, customer=customer, subject=f"{number} 问题", owner=owner, assignee=owner,
            team=owner.team, created_at=created, updated_at=created, resolved_at=resolved,
            status="resolved" if resolved else "in_progress", category=cat.get(category) if category else None,
            contact_phone="13800138000", **kw)

    def call(agent: Any, started: datetime, ring: float | None, talk: float | None, channel: str = "call",
             **kw: Any) -> Interaction:
        return Interaction.objects.create(channel=channel, agent=agent, agent_code=agent.agent_id, team=agent.team,
                                          started_at=started, ring_seconds=ring, talk_seconds=talk, **kw)

    a, a2, o = u["agent"], u["agent2"], u["other"]
    calls = [
        call(a, at(3, 2, 9), 5, 120, wait_seconds=10), call(a, at(3, 2, 10), 20, 60), call(a, at(3, 2, 11), 8, 0),
        call(a2, at(3, 2, 9), 10, 300, wait_seconds=30), call(o, at(3, 2, 14), 3, 30),
        call(a, at(3, 2, 15), None, None, channel="chat"),  # not a call: not in the phone figures
        call(a, at(3, 3, 9), 4, 100),
        call(a, at(3, 2, 16), 2, None),  # the caller hung up while it rang: no talk time
    ]
    t = {
        "A": order("GDA", "fault", a, at(3, 2, 9), at(3, 2, 15), "宽带无法上网"),
        "B": order("GDB", "complaint", a, at(3, 2, 10), at(3, 4, 10), "资费争议", service=mobile,
                   resolution="已退还多扣话费58元", satisfaction=2),
        "C": order("GDC", "consultation", a, at(3, 2, 11), None, "套餐资费"),
        "D": order("GDD", "suggestion", a2, at(3, 2, 12), at(3, 3, 8), "产品建议"),
        "E": order("GDE", "complaint", o, at(3, 2, 13), None, "网络质量"),
        "F": order("GDF", "complaint", a, at(3, 3, 9), None, "资费争议"),
        "G": order("GDG", "complaint", o, at(3, 10), None, "服务态度"),
        "H": order("GDH", "complaint", a2, at(3, 11), None, "资费争议"),
        "K": order("GDK", "complaint", a2, at(3, 12), None, "装维服务"),
        "I": order("GDI", "consultation", a, at(2, 15), None, "套餐资费"),
        "J": order("GDJ", "consultation", a, at(2, 20), None, "流量"),
    }
    TicketEvent.objects.create(ticket=t["B"], kind="transfer", created_at=at(3, 2, 11),
                               data={"department": "network", "department_name": "网络维护部"})
    from kefu.followup.models import ReturnVisit, SurveyInvitation, SurveyResponse

    for ticket, outcome in ((t["A"], "satisfied"), (t["B"], "unsatisfied")):
        ReturnVisit.objects.create(ticket=ticket, customer=customer, kind="call", reason="resolution", status="done",
                                   assignee=a, scheduled_at=at(3, 2, 9), due_at=at(3, 5), outcome=outcome,
                                   completed_at=at(3, 2, 17), completed_by=a)

    def survey(ticket: Ticket, agent: Any, score: int, when: datetime, reason: str = "") -> None:
        inv = SurveyInvitation.objects.create(ticket=ticket, nonce=f"n{ticket.pk}{score}{when.day}",
                                              expires_at=when + timedelta(days=7), answered_at=when)
        SurveyResponse.objects.create(invitation=inv, ticket=ticket, agent=agent, score=score, reason=reason,
                                      created_at=when)

    survey(t["A"], a, 5, at(3, 3))
    survey(t["C"], a, 4, at(3, 4))
    survey(t["A"], a, 2, at(3, 5), reason="处理太慢")
    rs = RuleSet.objects.get(active=True)

    def inspect(x: Interaction, auto: float, score: float, items: dict[str, float | None], **kw: Any) -> Inspection:
        return Inspection.objects.create(interaction=x, ruleset=rs, ruleset_version=rs.version, agent=x.agent,
                                         team=x.team, channel=x.channel, started_at=x.started_at, auto_score=auto,
                                         score=score, sheet=sheet(**items), **kw)

    inspect(calls[0], 92.86, 92.86, {"opening_closing": 15, "attitude": 20, "severe_attitude": 10, "skills_efficiency": 20})
    inspect(calls[1], 85.71, 88.0, {"opening_closing": 10, "attitude": 25, "severe_attitude": 10, "skills_efficiency": 15,
                                    "information_entry": 8}, reviewed_at=at(3, 4), reviewed_by=u["inspector"])
    inspect(calls[2], 0.0, 0.0, {"opening_closing": 15, "attitude": 15, "severe_attitude": 0, "skills_efficiency": 20},
            veto=True, forbidden_count=1)
    inspect(calls[3], 100.0, 100.0, {"opening_closing": 15, "attitude": 25, "severe_attitude": 10, "skills_efficiency": 20})
    return {"tickets": t, "calls": calls}


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


# -- daily summary (A2) ----------------------------------------------------------------------------


def test_daily_summary_per_agent_for_one_day_is_hand_checked_A2(data: Any, centre: Any) -> None:
    r = report_build("daily_summary", viewer=centre["users"]["supervisor"], period=Period.of_days(DAY, DAY))
    (table,) = r.tables
    rows = by(table.rows, "agent_id")
    assert list(rows) == ["1001", "1002", "2001"]
    one = rows["1001"]
    # 1001's calls on 2 March: rings 5/20/8/2 s with talk 120/60/0/none → 4 offered,
    # 2 answered (a call is answered when it has talk time), 2 not answered; 2/4 = 50 %; within three rings
    # (≤ 15 s): only the 5 s one; average ring (5+20)/2 = 12.5 s, talk (120+60)/2 = 90 s. The chat is no call.
    assert (one["calls_offered"], one["calls_answered"], one["calls_missed"], one["answer_rate"]) == (4, 2, 2, 50.0)
    assert (one["within_three_rings"], one["avg_ring_seconds"], one["avg_talk_seconds"]) == (1, 12.5, 90.0)
    assert one["avg_wait_seconds"] == 10.0  # only the first answered call came with its queue wait
    # Orders taken by 1001 on 2 March: A fault (solved after 6 h), B complaint (transferred, solved 4 March), C
    # consultation (open) → 3; solved ≤ 24 h: A; transferred: B; open at the end of 2 March: B and C → 2;
    # solve rate (3 − 2)/3 = 33.33 %. Return visits done by 1001 that day: A satisfied, B not → 2, 1.
    assert (one["orders"], one["fault"], one["complaint"], one["consultation"], one["suggestion"]) == (3, 1, 1, 1, 0)
    assert (one["solved_24h"], one["transferred"], one["still_open"], one["solve_rate"]) == (1, 1, 2, 33.33)
    assert (one["visits"], one["visits_satisfied"], one["team"]) == (2, 1, "热线一班")
    # 1002: one call (ring 10, talk 300); D suggestion resolved 3 March 08:00 (20 h: within 24 h, but after the
    # end of the day) → still open at period end, solve rate 0 %.
    two = rows["1002"]
    assert (two["calls_offered"], two["answer_rate"], two["avg_talk_seconds"]) == (1, 100.0, 300.0)
    assert (two["orders"], two["solved_24h"], two["still_open"], two["solve_rate"]) == (1, 1, 1, 0.0)
    # Total: 6 offered, 4 answered (80+... → 4/6 = 66.67 %), within three rings 5 s, 10 s, 3 s → 3; average ring
    # (5+20+10+3)/4 = 9.5 s; talk (120+60+300+30)/4 = 127.5 s; orders A–E = 5; still open B, C, D, E = 4 →
    # (5 − 4)/5 = 20 %.
    tot = table.total
    assert tot is not None and tot["agent_id"] == "合计"
    assert (tot["calls_offered"], tot["calls_answered"], tot["answer_rate"], tot["within_three_rings"]) == (6, 4, 66.67, 3)
    assert (tot["avg_ring_seconds"], tot["avg_talk_seconds"], tot["avg_wait_seconds"]) == (9.5, 127.5, 20.0)  # (10+30)/2
    assert (tot["orders"], tot["complaint"], tot["still_open"], tot["solve_rate"], tot["visits"]) == (5, 2, 4, 20.0, 2)
    assert [c.label for c in table.columns][:6] == ["工号", "客服", "班组", "来电总数", "接听数", "未接通数"]


def test_daily_summary_per_day_for_a_range_A2(data: Any, centre: Any) -> None:
    r = report_build("daily_summary", viewer=centre["users"]["supervisor"],
                     period=Period.of_days(DAY, DAY + timedelta(days=1)))
    rows = by(r.tables[0].rows, "day")
    assert list(rows) == ["2030-03-02", "2030-03-03"]
    # Now the period ends 4 March 00:00: D (resolved 3 March) no longer counts as open → open B, C, E = 3;
    # (5 − 3)/5 = 40 %.
    assert (rows["2030-03-02"]["orders"], rows["2030-03-02"]["still_open"], rows["2030-03-02"]["solve_rate"]) == (5, 3, 40.0)
    # 3 March: 1001's call (ring 4, talk 100) and F complaint (open).
    d3 = rows["2030-03-03"]
    assert (d3["calls_offered"], d3["avg_ring_seconds"], d3["orders"], d3["complaint"], d3["still_open"]) == (1, 4.0, 1, 1, 1)
    assert r.tables[0].total["calls_offered"] == 7 and r.params["group"] == "day"


def test_three_rings_is_unknown_not_zero_without_ring_times_A2(centre: Any) -> None:
    a = centre["users"]["agent"]
    Interaction.objects.create(channel="call", agent=a, agent_code="1001", team=a.team, started_at=at(3, 2, 9),
                               talk_seconds=100, wait_seconds=12)
    row = report_build("daily_summary", viewer=a, period=Period.of_days(DAY, DAY)).tables[0].rows[0]
    assert (row["calls_answered"], row["within_three_rings"], row["avg_ring_seconds"], row["avg_wait_seconds"]) == (
        1, None, None, 12.0)


def test_daily_summary_scope_agent_own_lead_team_S2(data: Any, centre: Any) -> None:
    period = Period.of_days(DAY, DAY)
    mine = report_build("daily_summary", viewer=centre["users"]["agent"], period=period)
    assert [r["agent_id"] for r in mine.tables[0].rows] == ["1001"]
    assert mine.tables[0].total["calls_offered"] == 4
    team = report_build("daily_summary", viewer=centre["users"]["lead"], period=period)
    assert [r["agent_id"] for r in team.tables[0].rows] == ["1001", "1002"]
    # an auditor sees everyone; the agent filter narrows
    one = report_build("daily_summary", viewer=centre["users"]["auditor"], period=period, agent="1002")
    assert [r["agent_id"] for r in one.tables[0].rows] == ["1002"]
    from kefu.core.errors import NotFound

    with pytest.raises(NotFound):  # 2001 is not in the lead's team: as if there were no such agent
        report_build("daily_summary", viewer=centre["users"]["lead"], period=period, agent="2001")


def test_empty_period_says_why_and_never_divides_by_zero_A2(centre: Any) -> None:
    r = report_build("daily_summary", viewer=centre["users"]["supervisor"], period=Period.of_days(DAY, DAY))
    t = r.tables[0].as_dict()
    assert t["rows"] == [] and t["total"] is None and t["empty"] == "这段时间没有来电、工单或回访记录。"
    for name in ("scoring_sheet", "feedback_register", "complaint_causes", "marketing"):
        rep = report_build(name, viewer=centre["users"]["supervisor"], period=MARCH)
        assert all(tb.empty for tb in rep.tables if not tb.rows), name


# -- scoring sheet (Q4, S2) ------------------------------------------------------------------------


def test_scoring_sheet_per_agent_and_month_Q4_S2(data: Any, centre: Any) -> None:
    r = report_build("scoring_sheet", viewer=centre["users"]["supervisor"], period=MARCH)
    main, legend = r.tables
    rows = by(main.rows, "agent_id")
    assert list(rows) == ["1001", "1002", "2001"]
    one = rows["1001"]
    # 1001's three inspections: opening 15/10/15 → 13.33; attitude 20/25/15 → 20; veto item 10/10/0 → 6.67;
    # skills 20/15/20 → 18.33; information entry scored by hand once: 8; teamwork never → None.
    assert (one["item_opening_closing"], one["item_attitude"], one["item_severe_attitude"]) == (13.33, 20.0, 6.67)
    assert (one["item_skills_efficiency"], one["item_information_entry"], one["item_teamwork"]) == (18.33, 8.0, None)
    # automatic (92.86 + 85.71 + 0)/3 = 59.52; final (92.86 + 88 + 0)/3 = 60.29; one veto, one forbidden phrase,
    # one scored by hand.
    assert (one["contacts"], one["reviewed"], one["vetoes"], one["forbidden"]) == (3, 1, 1, 1)
    assert (one["auto_score"], one["final_score"]) == (59.52, 60.29)
    assert one["manual_score"] == 88.0  # the one contact scored by hand
    # surveys for 1001 in March: 5, 4, 2 → 3 answers, 2 satisfied (66.67 %), average 11/3 = 3.67;
    # complaints owned in March: B, F → 2.
    assert (one["surveys"], one["satisfaction"], one["survey_average"], one["complaints"]) == (3, 66.67, 3.67, 2)
    # 2001 has no inspection and no survey but two complaints (E, G): a row of zeros and dashes, no error.
    other = rows["2001"]
    assert (other["contacts"], other["final_score"], other["satisfaction"], other["complaints"]) == (0, None, None, 2)
    assert rows["1002"]["final_score"] == 100.0 and rows["1002"]["complaints"] == 2  # H, K
    # the legend is the sheet of the active rule set: points, weight, veto, how scored
    items = by(legend.rows, "item")
    veto_item = [i for i in legend.rows if i["veto"] == "是"]
    assert len(veto_item) == 1 and veto_item[0]["max_points"] == 10.0
    assert sum(i["max_points"] for i in legend.rows) == 100.0 and len(items) == 9
    assert any(c.label.endswith("（15）") for c in main.columns)


def test_scoring_sheet_item_points_ignore_pending_and_malformed_sheets_Q4(data: Any, centre: Any) -> None:
    """The item averages are computed in the database from the stored sheets: a pending item (null
    points), text points or a sheet that is not a list never count and never fail."""
    rs = RuleSet.objects.get(active=True)
    x = data["calls"][3]  # agent2's answered call already has a sheet with opening 15
    for n, stored in enumerate(({}, [{"code": "opening_closing", "points": "lots"}], [{"code": "opening_closing", "points": 5}])):
        y = Interaction.objects.create(channel="call", agent=x.agent, agent_code="1002", team=x.team,
                                       started_at=at(3, 20 + n), talk_seconds=60)
        Inspection.objects.create(interaction=y, ruleset=rs, ruleset_version=rs.version, agent=x.agent, team=x.team,
                                  channel="call", started_at=y.started_at, auto_score=None, score=None, sheet=stored)
    row = by(report_build("scoring_sheet", viewer=centre["users"]["supervisor"], period=MARCH).tables[0].rows,
             "agent_id")["1002"]
    # opening: 15 (the first) and 5 (the last) → 10; the object and the text are left out; 4 contacts inspected
    assert (row["item_opening_closing"], row["item_attitude"], row["contacts"], row["final_score"]) == (10.0, 25.0, 4, 100.0)


def test_scoring_sheet_scope_S2(data: Any, centre: Any) -> None:
    mine = report_build("scoring_sheet", viewer=centre["users"]["agent2"], period=MARCH)
    assert [r["agent_id"] for r in mine.tables[0].rows] == ["1002"]
    # one agent: the paper sheet with their points per item and the final score
    sheet_ = mine.tables[1]
    assert sheet_.title == "agent2(1002)的员工评分表"
    points = {r["item"]: r["points"] for r in sheet_.rows}
    assert points["开头语报工号，问候语和结束语恰当"] == 15.0 and points["团队精神，协助各部门完成工作"] is None
    assert sheet_.total == {"item": "最终平均分", "max_points": 100.0, "points": 100.0}
    team = report_build("scoring_sheet", viewer=centre["users"]["lead"], period=MARCH)
    assert [r["agent_id"] for r in team.tables[0].rows] == ["1001", "1002"]


# -- feedback register (A2, seed 003 §一.6) --------------------------------------------------------


def test_feedback_register_lists_complaints_suggestions_and_remarks_masked_A2(data: Any, centre: Any, settings: Any) -> None:
    r = report_build("feedback_register", viewer=centre["users"]["supervisor"], period=MARCH)
    rows = r.tables[0].rows
    # complaints B, E (2 March), F (3 March), G, H, K; suggestion D (2 March); remark on A (5 March) → 8, by date
    assert [x["number"] for x in rows] == ["GDB", "GDD", "GDE", "GDF", "GDA", "GDG", "GDH", "GDK"]
    assert [x["no"] for x in rows] == list(range(1, 9))
    b = rows[0]
    assert (b["customer"], b["phone"], b["region"], b["kind"]) == ("张**", "138****8000", "广东 广州", "投诉")
    assert (b["handled_by"], b["outcome"], b["return_visit"], b["satisfaction"]) == ("网络维护部", "已退还多扣话费58元", "不满意", 2)
    assert b["category"].endswith("资费争议")
    remark = rows[4]
    assert (remark["kind"], remark["summary"], remark["satisfaction"]) == ("满意度评价意见", "处理太慢", 2)
    assert r.masked is True
    settings.KEFU_PII_PLAIN_ROLES = ["supervisor"]
    plain = report_build("feedback_register", viewer=centre["users"]["supervisor"], period=MARCH)
    assert plain.tables[0].rows[0]["customer"] == "张三丰" and plain.masked is False
    # a page builds only its first rows, and knows how many there are
    first = report_build("feedback_register", viewer=centre["users"]["supervisor"], period=MARCH, limit=3).tables[0]
    assert [x["number"] for x in first.rows] == ["GDB", "GDD", "GDE"] and first.all_rows == 8
    # an agent sees only the orders they took
    mine = report_build("feedback_register", viewer=centre["users"]["agent"], period=MARCH)
    assert [x["number"] for x in mine.tables[0].rows] == ["GDB", "GDF", "GDA"]


# -- complaint causes (F4) -------------------------------------------------------------------------


def test_pareto_classes_and_cumulative_share_F4() -> None:
    # 10, 5, 3, 1, 1 of 20: cumulative 50, 75, 90, 95, 100; the share *before* each is 0, 50, 75, 90, 95 →
    # A, A, B (75 ≥ 80? no: A), …: before < 80 → A; < 95 → B; else C → A, A, A, B, C.
    rows = pareto([("a", "甲", 10), ("b", "乙", 5), ("c", "丙", 3), ("d", "丁", 1), ("e", "戊", 1)])
    assert [(r["cause"], r["share"], r["cumulative"], r["class"]) for r in rows] == [
        ("甲", 50.0, 50.0, "A"), ("乙", 25.0, 75.0, "A"), ("丙", 15.0, 90.0, "A"), ("丁", 5.0, 95.0, "B"), ("戊", 5.0, 100.0, "C"),
    ]
    assert pareto([]) == []


def test_complaint_causes_by_category_region_product_F4(data: Any, centre: Any) -> None:
    sup = centre["users"]["supervisor"]
    r = report_build("complaint_causes", viewer=sup, period=MARCH)
    rows = r.tables[0].rows
    # complaints in March: 资费争议 B, F, H; 服务态度 G; 网络质量 E; 装维服务 K → 6; ties by label
    # (服 < 网 < 装): 3 (50 %, cum 50, A), 1 (16.67, 66.67, A), 1 (16.67, 83.33, A), 1 (16.67, 100, B: 83.33 before)
    got = [(x["cause"].split(" › ")[-1], x["complaints"], x["share"], x["cumulative"], x["class"]) for x in rows]
    assert got == [("资费争议", 3, 50.0, 50.0, "A"), ("服务态度", 1, 16.67, 66.67, "A"),
                   ("网络质量", 1, 16.67, 83.33, "A"), ("装维服务", 1, 16.67, 100.0, "B")]
    assert r.tables[0].total["complaints"] == 6
    region = report_build("complaint_causes", viewer=sup, period=MARCH, dimension="region").tables[0].rows
    assert [(x["cause"], x["complaints"], x["share"]) for x in region] == [("广东 广州", 6, 100.0)]
    product = report_build("complaint_causes", viewer=sup, period=MARCH, dimension="product").tables[0].rows
    # B names the mobile service; the other five name none
    assert [(x["cause"], x["complaints"]) for x in product] == [("（未关联业务）", 5), ("移动号码 · 5G畅享129元套餐", 1)]


def test_improvement_note_is_audited_and_shown_with_its_cause_F4(data: Any, centre: Any) -> None:
    from kefu.analytics import report_services as svc
    from kefu.audit.models import AuditRecord
    from kefu.core.errors import PermissionDenied, ValidationFailed
    from kefu.core.models import OutboxEvent

    sup = centre["users"]["supervisor"]
    rows = report_build("complaint_causes", viewer=sup, period=MARCH).tables[0].rows
    top = rows[0]
    note = svc.improvement_note_create(actor=sup, dimension="category", cause_key=top["key"], cause_label=top["cause"],
                                       department="billing", suggestion="核查套餐扣费规则，短信提前告知", period=MARCH)
    assert AuditRecord.objects.filter(action="analytics.note_created", object_id=str(note.pk)).count() == 1
    assert OutboxEvent.objects.filter(topic="analytics.improvement_note").count() == 1
    r = report_build("complaint_causes", viewer=sup, period=MARCH)
    assert r.tables[0].rows[0]["notes"] == 1 and r.tables[1].rows[0]["department"] == "计费部"
    assert r.tables[1].rows[0]["status"] == "在办"
    # bad input writes nothing
    with pytest.raises(ValidationFailed) as e:
        svc.improvement_note_create(actor=sup, dimension="colour", cause_key="x", cause_label="", department="nowhere",
                                    suggestion=" ", period=MARCH)
    assert set(e.value.fields) == {"dimension", "department", "suggestion"}
    with pytest.raises(PermissionDenied):
        svc.improvement_note_create(actor=centre["users"]["agent"], dimension="category", cause_key=top["key"],
                                    cause_label="", department="billing", suggestion="x", period=MARCH)
    assert centre["users"]["network"].department.code == "network"
    with pytest.raises(PermissionDenied):  # a network user may not answer a note addressed to billing
        svc.improvement_note_update(actor=centre["users"]["network"], note_id=note.pk, status="done")
    assert AuditRecord.objects.filter(action__startswith="analytics.note").count() == 1
    done = svc.improvement_note_update(actor=sup, note_id=note.pk, status="done", response="已调整扣费提醒")
    assert done.status == "done" and AuditRecord.objects.filter(action="analytics.note_updated").count() == 1


# -- marketing (A4) --------------------------------------------------------------------------------


def test_marketing_topics_trend_products_and_bot_A4(data: Any, centre: Any) -> None:
    from kefu.knowledge.models import BotSession, BotTurn, ItemVersion, KnowledgeItem
    import uuid

    item = KnowledgeItem.objects.create()
    item.published = ItemVersion.objects.create(item=item, number=1, question="如何办理携号转网", answer="…", status="published")
    item.save()
    s = BotSession.objects.create(id=uuid.uuid4())
    for mode, it, helpful in (("answer", item, True), ("answer", item, None), ("handoff", None, None)):
        turn = BotTurn.objects.create(session=s, question="携号转网", item=it, mode=mode, helpful=helpful)
        BotTurn.objects.filter(pk=turn.pk).update(created_at=at(3, 5))
    period = Period.of_days(date(2030, 2, 1), date(2030, 3, 31))
    r = report_build("marketing", viewer=centre["users"]["supervisor"], period=period)
    topics, trend, products, _competition, bot = r.tables
    # consultations Feb–Mar: 套餐资费 C (2 Mar), I (15 Feb); 流量 J (20 Feb) → 2 (66.67 %), 1 (33.33 %);
    # the 59 days before had none → change has no base (None).
    assert [(x["topic"].split(" › ")[-1], x["count"], x["share"], x["previous"], x["change"]) for x in topics.rows] == [
        ("套餐资费", 2, 66.67, 0, None), ("流量", 1, 33.33, 0, None)]
    # per type and month: consultation Feb 2 → Mar 1 (−50 %); complaint 0 → 6 (no base); fault 0 → 1; suggestion 0 → 1
    t = by(trend.rows, "type")
    assert (t["咨询"]["m203002"], t["咨询"]["m203003"], t["咨询"]["mom"]) == (2, 1, -50.0)
    assert (t["投诉"]["m203002"], t["投诉"]["m203003"], t["投诉"]["mom"]) == (0, 6, None)
    assert set(t) == {"咨询", "投诉", "故障报修", "建议"}
    assert [(x["product"], x["complaint"], x["orders"], x["satisfaction"]) for x in products.rows] == [
        ("移动号码 · 5G畅享129元套餐", 1, 1, 2.0)]
    # the bot: 携号转网 asked twice, answered twice, once helpful; one hand-over without an answer
    b = by(bot.rows, "item")
    assert (b["如何办理携号转网"]["n"], b["如何办理携号转网"]["answered_n"], b["如何办理携号转网"]["helpful_n"]) == (2, 2, 1)
    assert b["（未找到答案）"]["handoff_n"] == 1
    # month-over-month change of the previous period for March alone: 1 consultation vs Feb's 2 → −50 %
    march = report_build("marketing", viewer=centre["users"]["supervisor"], period=MARCH).tables[0]
    assert march.total["previous"] == 2 and march.total["change"] == -50.0
    # agents get no bot table (it is not about their own work)
    assert [t.key for t in report_build("marketing", viewer=centre["users"]["agent"], period=MARCH).tables] == [
        "topics", "trend", "products", "competition"]


def test_marketing_churn_and_competitor_signals_A4(data: Any, centre: Any, customer: Any, settings: Any) -> None:
    settings.KEFU_COMPETITOR_NAMES = ["某通信"]
    cat = {c.code: c for c in Category.objects.all()}
    a = centre["users"]["agent"]
    for number, code, day, subject in (("GDM1", "consultation-mnp", 5, "咨询携号转网到某通信"),
                                       ("GDM2", "consultation-mnp", 6, "携号转网条件"),
                                       ("GDM3", "consultation-mnp", 20, "携号转网"),  # 20 February
                                       ("GDM4", "business-cancel", 7, "销户")):
        month = 2 if number == "GDM3" else 3
        Ticket.objects.create(number=number, type=code.split("-")[0], customer=customer, subject=subject,
                              owner=a, assignee=a, team=a.team, created_at=at(month, day), updated_at=at(month, day),
                              category=cat[code])
    table = report_build("marketing", viewer=centre["users"]["supervisor"], period=MARCH).tables[3]
    rows = by(table.rows, "signal")
    # March: two portability consultations (5, 6 March), February one (20 Feb) → +100 %; one cancellation, none
    # before (no base); one subject names the competitor.
    assert (rows["携号转网咨询"]["count"], rows["携号转网咨询"]["previous"], rows["携号转网咨询"]["change"]) == (2, 1, 100.0)
    assert (rows["销户申请"]["count"], rows["销户申请"]["change"]) == (1, None)
    assert rows["提及“某通信”的工单"]["count"] == 1
    assert rows["退订退费"]["count"] == 0
