"""Quality API and pages: live reply check (Q2), appeals and scoring over HTTP (Q4), scorecards,
the Q5 report, the transcript with every hit highlighted, and constant query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.interactions.tests.test_api import call
from kefu.quality.models import Inspection
from kefu.quality.presenters import highlight

pytestmark = pytest.mark.django_db


def test_q2_live_check_reply_endpoint(api_for: Any) -> None:
    a = api_for("agent")
    r = a.post("/quality/check-reply", {"text": "您好，这不是我办理的，用不起就别用！"})
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is False and body["message"]
    assert [(h["rule"], h["start"], h["end"], h["evidence"]) for h in body["hits"]] == [
        ("forbidden.shirking", 3, 9, "这不是我办理"), ("forbidden.arrogance", 11, 17, "用不起就别用")]
    assert a.post("/quality/check-reply", {"text": "您好，请稍等，马上为您查询。"}).json() == {
        "ok": True, "hits": [], "message": ""}
    assert a.post("/quality/check-reply", {"text": "x" * 5001}).status_code == 422


def _import(api_for: Any, item: dict[str, Any]) -> int:
    r = api_for("supervisor").post("/interactions", item)
    assert r.status_code == 201, r.content
    return Inspection.objects.get(interaction_id=r.json()["results"][0]["id"]).pk


def test_q4_appeal_and_scoring_over_the_api(api_for: Any) -> None:
    item = call(external_id="API-1")
    item["utterances"][2]["text"] = "用不起就别用！请您考虑一下，谢谢。"
    pk = _import(api_for, item)
    insp = api_for("agent").get(f"/quality/inspections/{pk}").json()
    assert (insp["score"], insp["veto"]) == (0.0, True)
    hit_id = next(h["id"] for h in insp["hits"] if h["rule"] == "forbidden.arrogance")
    assert api_for("other").get(f"/quality/inspections/{pk}").status_code == 404
    r = api_for("agent").post(f"/quality/inspections/{pk}/appeals", {"reason": "复述客户原话", "hit_ids": [hit_id]})
    assert r.status_code == 201, r.content
    appeal = r.json()
    assert [a["id"] for a in api_for("lead").get("/quality/appeals", status="pending").json()["items"]] == [appeal["id"]]
    d = api_for("inspector").post(f"/quality/appeals/{appeal['id']}/decide", {"outcome": "upheld", "note": "核实"})
    assert d.status_code == 200 and d.json()["score_after"] == 100.0
    queue = api_for("inspector").get("/quality/review-queue").json()["items"]
    assert [q["inspection_id"] for q in queue] == [pk] and queue[0]["reasons"] == ["veto"]
    s = api_for("inspector").post(f"/quality/inspections/{pk}/score", {"points": {"teamwork": 5}})
    assert s.status_code == 200 and s.json()["manual_points"] == {"teamwork": 5.0}
    assert api_for("inspector").get("/quality/review-queue").json()["items"] == []
    bad = api_for("inspector").post(f"/quality/inspections/{pk}/score", {"points": {"nope": 1}})
    assert bad.status_code == 422 and "points.nope" in bad.json()["error"]["fields"]


def test_scorecard_and_cross_check_api(api_for: Any) -> None:
    _import(api_for, call(external_id="SC-1", started_at="2026-03-02T09:00:00+08:00"))
    r = api_for("agent").get("/quality/scorecards/agent", start="2026-03-01T00:00:00+08:00",
                             end="2026-04-01T00:00:00+08:00")
    assert r.status_code == 200 and (r.json()["contacts"], r.json()["average_score"]) == (1, 100.0)
    assert api_for("agent").get("/quality/scorecards/agent", agent_id="1002").status_code == 404
    t = api_for("lead").get("/quality/scorecards/team", start="2026-03-01T00:00:00+08:00",
                            end="2026-04-01T00:00:00+08:00").json()
    assert t["team"]["contacts"] == 1 and [a["agent_id"] for a in t["agents"]] == ["1001"]
    assert api_for("agent").get("/quality/cross-check").status_code == 403
    assert api_for("inspector").get("/quality/cross-check").json()["flagged"] == 0


def test_rulesets_api_publishes_new_version(api_for: Any) -> None:
    active = api_for("admin").get("/quality/rulesets/active").json()
    config = active["config"]
    config["rules"][0]["groups"][0]["items"].append({"label": "X", "phrases": ["你烦不烦"]})
    r = api_for("admin").post("/quality/rulesets", {"config": config, "note": "加一条"})
    assert r.status_code == 201 and r.json()["version"] != active["version"]
    hits = api_for("agent").post("/quality/check-reply", {"text": "你烦不烦啊"}).json()["hits"]
    assert [h["rule"] for h in hits] == ["forbidden.rude_address"]
    assert api_for("agent").post("/quality/rulesets", {"config": config}).status_code == 403


def test_highlight_escapes_text_and_merges_overlapping_marks() -> None:
    html = highlight("<b>你好</b>喂，嘿", [(3, 5, "A"), (9, 10, "B"), (4, 6, "C"), (-3, 0, "x"), (9, 99, "B")])
    assert html == ('&lt;b&gt;<mark title="A">你</mark><mark title="A；C">好</mark><mark title="C">&lt;</mark>'
                    '/b&gt;<mark title="B">喂，嘿</mark>')


def _login(name: str) -> Client:
    from kefu.accounts.models import User

    c = Client()
    c.force_login(User.objects.get(username=name))
    return c


def test_q1_q2_detail_page_marks_every_hit_at_its_offsets(api_for: Any) -> None:
    item = call(external_id="P-1")
    item["utterances"][2]["text"] = "这不是我办理的，<请>您去营业厅问吧。"
    pk = _import(api_for, item)
    page = _login("inspector").get(f"/q/i/{pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<mark title="服务禁忌用语（推诿）：“这不是我办理”">这不是我办理</mark>的，&lt;请&gt;' in html
    assert 'name="points.teamwork"' in html  # inspectors score
    agent_page = _login("agent").get(f"/q/i/{pk}/").content.decode()
    assert 'name="points.teamwork"' not in agent_page and 'name="reason"' in agent_page  # agents appeal
    assert _login("other").get(f"/q/i/{pk}/").status_code == 404


def test_pages_appeal_and_score_in_the_browser_flow(api_for: Any) -> None:
    item = call(external_id="P-2")
    item["utterances"][2]["text"] = "用不起就别用！请您考虑一下，谢谢。"
    pk = _import(api_for, item)
    r = _login("agent").post(f"/q/i/{pk}/do/appeal/", {"reason": "复述"})
    assert r.status_code == 302
    appeal = Inspection.objects.get(pk=pk).appeals.get()
    r = _login("inspector").post(f"/q/i/{pk}/do/decide/", {"appeal_id": appeal.pk, "outcome": "upheld", "score": "88"})
    assert r.status_code == 302 and Inspection.objects.get(pk=pk).score == 88.0
    r = _login("inspector").post(f"/q/i/{pk}/do/score/", {"points.teamwork": "9"})
    assert r.status_code == 422 and "必须在 0 到 5 之间。" in r.content.decode()
    assert Inspection.objects.get(pk=pk).manual_points == {}


def test_live_check_session_endpoint_and_snippet(api_for: Any) -> None:
    c = _login("agent")
    r = c.post("/q/check-reply/", '{"text": "喂，你说什么？"}', content_type="application/json")
    assert [h["rule"] for h in r.json()["hits"]] == ["forbidden.rude_address", "forbidden.questioning"]
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    req = RequestFactory().get("/")
    html = render_to_string("quality/_reply_check.html", {"target": "body-input"}, request=req)
    assert 'id="qa-hint-body-input"' in html and 'name="csrfmiddlewaretoken"' in html and "/q/check-reply/" in html


def test_queue_and_scorecard_pages_query_count_constant(api_for: Any) -> None:
    def load() -> tuple[int, int]:
        c = _login("inspector")
        with CaptureQueriesContext(connection) as q1:
            assert c.get("/q/").status_code == 200
        with CaptureQueriesContext(connection) as q2:
            assert c.get("/q/scorecards/").status_code == 200
        return len(q1), len(q2)

    def bad(i: int) -> dict[str, Any]:
        item = call(external_id=f"QC-{i}", agent_id="1001" if i % 2 else "1002")
        item["utterances"][2]["text"] = "用不起就别用！请您考虑一下，谢谢。"
        return item

    api_for("supervisor").post("/interactions", {"items": [bad(i) for i in range(2)]})
    few = load()
    api_for("supervisor").post("/interactions", {"items": [bad(i) for i in range(2, 12)]})
    assert load() == few
