"""Importing contacts through the API (S4) and seeing their automatic inspection (Q1-Q3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kefu.audit.models import AuditRecord
from kefu.interactions.models import Interaction, Utterance
from kefu.quality.models import Hit, Inspection

pytestmark = pytest.mark.django_db


def call(agent_id: str = "1001", **kw: Any) -> dict[str, Any]:
    """A good call by agent 1001: opening and closing with the agent id, courtesy phrases."""
    item: dict[str, Any] = {
        "channel": "call", "agent_id": agent_id, "ring_seconds": 6, "started_at": "2026-03-02T09:30:00+08:00",
        "utterances": [
            {"speaker": "agent", "text": f"您好，短信通，{agent_id}号客服为您服务！", "start_ms": 0, "end_ms": 3000},
            {"speaker": "customer", "text": "你好，我这几天收不到银行的短信提醒了。", "start_ms": 3500, "end_ms": 7000},
            {"speaker": "agent", "text": "请您发送BZ测试一下，谢谢。", "start_ms": 7500, "end_ms": 10000},
            {"speaker": "customer", "text": "好的，谢谢。", "start_ms": 10500, "end_ms": 11500},
            {"speaker": "agent", "text": f"感谢来电，{agent_id}号客服，再见！", "start_ms": 12000, "end_ms": 14000},
        ],
    }
    item.update(kw)
    return item


def test_q1_q2_import_single_call_is_inspected_with_exact_hits(api_for: Any, customer: Any) -> None:
    """Q2: a forbidden phrase in the 3rd utterance and Q1: an opening without the 工号 are
    found at their utterance and offsets, and the import's detail shows them."""
    item = call(external_id="CTI-1", customer_id=customer.pk)
    item["utterances"][0]["text"] = "您好，短信通客服为您服务！"
    item["utterances"][2]["text"] = "这不是我办理的，请您去营业厅问吧。"
    r = api_for("supervisor").post("/interactions", item)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["summary"] == {"created": 1, "duplicate": 0, "error": 0}
    iid = body["results"][0]["id"]
    detail = api_for("supervisor").get(f"/interactions/{iid}").json()
    assert [u["speaker"] for u in detail["utterances"]] == ["agent", "customer", "agent", "customer", "agent"]
    insp = detail["inspection"]
    hits = [(h["rule"], h["utterance_index"], h["start"], h["end"], h["evidence"]) for h in insp["hits"]]
    assert hits == [
        ("opening.missing_agent_id", 0, None, None, ""),
        ("forbidden.shirking", 2, 0, 6, "这不是我办理"),
    ]
    assert insp["ruleset_version"].startswith("default@")
    assert insp["score"] is not None and insp["score"] < 100
    # Chinese messages by default
    assert insp["hits"][1]["message"] == "服务禁忌用语（推诿）：“这不是我办理”"


def test_q1_good_call_scores_full_and_is_audited(api_for: Any) -> None:
    r = api_for("supervisor").post("/interactions", call(external_id="CTI-2"))
    assert r.status_code == 201
    x = Interaction.objects.get()
    insp = Inspection.objects.get(interaction=x)
    assert (insp.score, insp.veto, insp.forbidden_count, insp.hits.count()) == (100.0, False, 0, 0)
    assert x.agent is not None and x.agent.agent_id == "1001" and x.team_id == x.agent.team_id
    assert Utterance.objects.filter(interaction=x).count() == 5
    assert AuditRecord.objects.filter(action="interaction.imported", object_id=str(x.pk)).count() == 1
    assert AuditRecord.objects.filter(action="quality.inspected").count() == 1


def test_s4_duplicate_external_id_is_reported_not_stored_twice(api_for: Any) -> None:
    a = api_for("supervisor")
    first = a.post("/interactions", call(external_id="CTI-9")).json()["results"][0]
    again = a.post("/interactions", call(external_id="CTI-9"))
    assert again.status_code == 200
    assert again.json()["results"][0] == {"index": 0, "status": "duplicate", "id": first["id"]}
    assert Interaction.objects.count() == 1 and Inspection.objects.count() == 1
    # another source may reuse the id
    other = a.post("/interactions", call(external_id="CTI-9", source="chatstore")).json()["results"][0]
    assert other["status"] == "created"


def test_batch_keeps_good_items_and_reports_each_bad_one(api_for: Any) -> None:
    """Bad input: overlapping (same speaker) and negative offsets, unknown speaker, empty and
    huge text, unknown agent and customer — each item its own errors, good items kept."""
    overlap = call(external_id="B-overlap")
    overlap["utterances"][0]["end_ms"] = 8000  # the agent's first turn runs into their next one
    negative = call(external_id="B-neg")
    negative["utterances"][0]["start_ms"] = -5
    speaker = call(external_id="B-speaker")
    speaker["utterances"][1]["speaker"] = "robot"
    empty = call(external_id="B-empty")
    empty["utterances"][3]["text"] = "   "
    huge = call(external_id="B-huge")
    huge["utterances"][1]["text"] = "长" * 5001
    items = [
        call(external_id="B-good-1"), overlap, negative, speaker, empty, huge,
        call(agent_id="7777", external_id="B-agent"), call(external_id="B-customer", customer_id=999999),
        "not an object", call(external_id="B-good-2", agent_id="1002"),
    ]
    r = api_for("supervisor", lang="en").post("/interactions", {"items": items})
    assert r.status_code == 200, r.content
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["created"] + ["error"] * 8 + ["created"]
    assert r.json()["summary"] == {"created": 2, "duplicate": 0, "error": 8}

    def first(i: int) -> tuple[str, str]:
        e = res[i]["errors"][0]
        return e["code"], e["field"]

    assert first(1) == ("overlap_same_speaker", "utterances[2].start_ms")
    assert first(2) == ("negative", "utterances[0].start_ms")
    assert first(3) == ("unknown_speaker", "utterances[1].speaker")
    assert first(4) == ("empty_text", "utterances[3].text")
    assert first(5) == ("too_long", "utterances[1].text")
    assert res[5]["errors"][0]["message"] == "Too long: at most 5000 characters."
    assert first(6) == ("unknown_agent", "agent_id")
    assert res[6]["errors"][0]["message"] == "No agent has the id 7777."
    assert first(7) == ("unknown_customer", "customer_id")
    assert first(8) == ("not_an_object", "")
    # nothing half-written: only the two good contacts, each with its utterances and inspection
    assert sorted(Interaction.objects.values_list("external_id", flat=True)) == ["B-good-1", "B-good-2"]
    assert Utterance.objects.count() == 10 and Inspection.objects.count() == 2


def test_errors_are_translated_to_chinese(api_for: Any) -> None:
    r = api_for("supervisor").post("/interactions", call(agent_id="7777"))
    assert r.status_code == 422
    assert r.json()["results"][0]["errors"][0]["message"] == "没有工号为 7777 的坐席。"


def test_non_utf8_body_is_a_clear_400(api_for: Any) -> None:
    raw = json.dumps(call(), ensure_ascii=False).encode("gbk")
    r = api_for("supervisor", lang="en").post("/interactions", raw=raw)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_encoding"
    assert "UTF-8" in err["message"]
    assert Interaction.objects.count() == 0


def test_malformed_and_oversized_batches(api_for: Any) -> None:
    a = api_for("supervisor")
    assert a.post("/interactions", raw="{nope").json()["error"]["code"] == "invalid_json"
    assert a.post("/interactions", raw="[1, 2]").json()["error"]["code"] == "invalid_json"
    assert a.post("/interactions", {"items": []}).status_code == 422
    assert a.post("/interactions", {"items": [{}] * 501}).status_code == 413
    assert Interaction.objects.count() == 0


def test_only_importers_may_import_and_agents_see_only_their_own(api_for: Any) -> None:
    r = api_for("agent").post("/interactions", call())
    assert r.status_code == 403 and Interaction.objects.count() == 0
    sup = api_for("supervisor")
    mine = sup.post("/interactions", call(external_id="own")).json()["results"][0]["id"]
    theirs = sup.post("/interactions", call(agent_id="2001", external_id="theirs")).json()["results"][0]["id"]
    agent = api_for("agent")
    assert agent.get(f"/interactions/{mine}").status_code == 200
    assert agent.get(f"/interactions/{theirs}").status_code == 404
    assert [x["id"] for x in agent.get("/interactions").json()["items"]] == [mine]
    lead = api_for("lead")  # team 1: sees 1001, not 2001 (team 2)
    assert lead.get(f"/interactions/{mine}").status_code == 200
    assert lead.get(f"/interactions/{theirs}").status_code == 404
    assert api_for("inspector").get(f"/interactions/{theirs}").status_code == 200


def test_linked_work_orders(api_for: Any, customer: Any) -> None:
    from kefu.tickets.services import ticket_create

    from kefu.accounts.models import User

    t = ticket_create(actor=User.objects.get(username="agent"), type="fault", customer_id=customer.pk,
                      subject="收不到短信")
    r = api_for("supervisor").post("/interactions", call(ticket_ids=[t.number]))
    iid = r.json()["results"][0]["id"]
    assert api_for("supervisor").get(f"/interactions/{iid}").json()["ticket_ids"] == [t.pk]
    bad = api_for("supervisor").post("/interactions", call(ticket_ids=["GD-NOPE"]))
    assert bad.json()["results"][0]["errors"][0]["field"] == "ticket_ids[0]"


def test_list_query_count_is_constant(api_for: Any, django_assert_max_num_queries: Any) -> None:
    sup = api_for("supervisor")
    sup.post("/interactions", {"items": [call(external_id=f"Q{i}") for i in range(3)]})
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert len(sup.get("/interactions").json()["items"]) == 3
    sup.post("/interactions", {"items": [call(external_id=f"R{i}") for i in range(10)]})
    with CaptureQueriesContext(connection) as many:
        assert len(sup.get("/interactions").json()["items"]) == 13
    assert len(many) == len(few)
    assert Hit.objects.count() == 0
