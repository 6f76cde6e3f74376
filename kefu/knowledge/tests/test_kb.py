"""Knowledge base: versions through review (K1), import all-or-nothing (K1), troubleshooting flows
inside a work order (K3)."""

from __future__ import annotations

import json

import pytest

from kefu.audit.models import AuditRecord
from kefu.knowledge.flows import FLOWS, validate_flow
from kefu.knowledge.models import FlowRun, ItemVersion, KnowledgeItem
from kefu.knowledge.selectors import published_items

pytestmark = pytest.mark.django_db


def test_shipped_flows_are_complete_K3():
    for flow in FLOWS:
        assert validate_flow(flow) == [], flow["code"]
    sms = FLOWS[0]["steps"]
    # Every branch of seed 003 §5.3 is a first answer.
    assert len(sms["which"]["options"]) == 7


def test_review_before_publishing_with_four_eyes_K1(api_for, centre):
    lead, sup = api_for("lead"), api_for("supervisor")
    r = lead.post("/kb/items", {"question": "宽带如何移机？", "answer": "可通过营业厅或10000号申请移机。",
                                "similar_questions": ["搬家了宽带怎么办"], "category": "宽带/业务"})
    assert r.status_code == 201, r.content
    vid = r.json()["version_id"]
    assert published_items().count() == 0
    assert api_for("agent").post("/kb/items", {"question": "q", "answer": "a"}).status_code == 403
    assert sup.post(f"/kb/versions/{vid}/review", {"approve": True}).status_code == 409  # still a draft
    assert lead.post(f"/kb/versions/{vid}/submit").json()["status"] == "in_review"
    assert lead.post(f"/kb/versions/{vid}/review", {"approve": True}).status_code == 403  # not a reviewer
    back = sup.post(f"/kb/versions/{vid}/review", {"approve": False})
    assert back.status_code == 422 and "note" in back.json()["error"]["fields"]
    assert sup.post(f"/kb/versions/{vid}/review", {"approve": False, "note": "补充资费说明"}).json()["status"] == "draft"
    lead.post(f"/kb/versions/{vid}/submit")
    assert sup.post(f"/kb/versions/{vid}/review", {"approve": True, "note": "ok"}).json()["status"] == "published"
    item = published_items().get()
    assert item.published.question == "宽带如何移机？"
    actions = list(AuditRecord.objects.filter(action__startswith="kb.").order_by("id").values_list("action", flat=True))
    assert actions == ["kb.create", "kb.submit", "kb.reject", "kb.submit", "kb.approve"]


def test_author_cannot_approve_own_change(centre):
    from kefu.core.errors import PermissionDenied
    from kefu.knowledge import services

    sup = centre["users"]["supervisor"]
    item = services.item_create(actor=sup, question="如何查话费", answer="发送CXHF到10001。")
    v = item.versions.get()
    services.version_submit(actor=sup, version_id=v.pk)
    with pytest.raises(PermissionDenied):
        services.version_review(actor=sup, version_id=v.pk, approve=True)


LINES = [
    {"id": "kb-1", "question": "怎么查询话费余额？", "answer": "编辑短信CXHF发送到10001即可查询。", "category": "话费",
     "similar_questions": ["话费还剩多少", "余额怎么查"]},
    {"id": "kb-2", "question": "国际漫游怎么开通？", "answer": "可在APP或营业厅开通国际漫游。"},
]


def jsonl(rows):  # type: ignore[no-untyped-def]
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


def test_import_creates_updates_and_is_idempotent_K1(api_for):
    api = api_for("supervisor")
    r = api.post("/kb/import", raw=jsonl(LINES))
    assert r.status_code == 200 and r.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert api.post("/kb/import", raw=jsonl(LINES)).json() == {"created": 0, "updated": 0, "unchanged": 2}
    changed = [dict(LINES[0], answer="编辑短信CXHF发送到10001，或拨打10000查询。"), LINES[1]]
    assert api.post("/kb/import", raw=jsonl(changed)).json() == {"created": 0, "updated": 1, "unchanged": 1}
    item = KnowledgeItem.objects.get(external_id="kb-1")
    assert item.published.number == 2 and item.versions.filter(status="archived").count() == 1


def test_bad_import_lines_are_reported_and_nothing_is_written_K1(api_for):
    api = api_for("supervisor")
    bad = [LINES[0], "{not json", {"id": "kb-3", "question": "", "answer": "x"}, ["list"], LINES[0],
           {"id": "kb-4", "question": "q", "answer": "a", "similar_questions": [1, 2]}, {"question": "no id", "answer": "a"},
           {"id": True, "question": "q", "answer": "a"}, {"id": "kb-5", "question": "q", "answer": "a", "category": {"x": 1}},
           {"id": "kb-6", "question": "q", "answer": "a", "similar_questions": [f"问法{i}" for i in range(2001)]}]
    r = api.post("/kb/import", raw=jsonl(bad))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "import_failed"
    assert sorted(err["fields"], key=lambda k: int(k.split()[1])) == [f"line {n}" for n in range(2, 11)]
    assert "repeats line 1" in err["fields"]["line 5"] or "重复" in err["fields"]["line 5"]
    assert KnowledgeItem.objects.count() == 0 and ItemVersion.objects.count() == 0


def test_import_takes_what_real_exports_carry_K1(api_for):
    """Extra fields of an export are left out and reported (not a refusal); a numeric id is kept
    as text; a category as a list of parts becomes a path; one similar question may come as text;
    hundreds of customers' wordings under one standard question are kept."""
    api = api_for("supervisor")
    wordings = [f"宽带第{i}种说法上不了网" for i in range(300)]
    rows = [
        {"id": 101, "question": "宽带上不了网怎么办？", "answer": "先重启光猫。", "category": ["宽带", "故障"],
         "similar_questions": wordings, "url": "https://faq.example/101", "source": "faq"},
        {"id": "kb-2", "question": "话费怎么查？", "answer": "发送CXHF到10001。", "similar_questions": "余额怎么查",
         "source": "faq", "category": None},
    ]
    r = api.post("/kb/import", raw=jsonl(rows))
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [(x["field"], x["lines"]) for x in body["ignored_fields"]] == [("source", [1, 2]), ("url", [1])]
    assert "source" in body["ignored_fields"][0]["message"]
    item = KnowledgeItem.objects.get(external_id="101")
    assert item.category == "宽带/故障" and len(item.published.similar_questions) == 300
    assert KnowledgeItem.objects.get(external_id="kb-2").published.similar_questions == ["余额怎么查"]
    assert AuditRecord.objects.filter(action="kb.import").latest("pk").changes["ignored_fields"] == ["source", "url"]
    # without extra fields the answer has no ignored_fields
    assert "ignored_fields" not in api.post("/kb/import", raw=jsonl(LINES)).json()


def test_kb_import_command_reports_line_numbers(tmp_path, centre):
    from io import StringIO

    from django.core.management import CommandError, call_command

    good = tmp_path / "kb.jsonl"
    good.write_bytes(jsonl(LINES))
    out = StringIO()
    call_command("kb", "import", str(good), stdout=out)
    assert "2 new" in out.getvalue()
    extra = tmp_path / "extra.jsonl"
    extra.write_bytes(jsonl([dict(LINES[0], source="crm")]))
    err = StringIO()
    call_command("kb", "import", str(extra), stdout=out, stderr=err)
    assert "source" in err.getvalue() and "1 unchanged" in out.getvalue()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl([LINES[0], "oops"]) + b"\n\xff\xfe")
    err = StringIO()
    with pytest.raises(CommandError, match="2 bad lines"):
        call_command("kb", "import", str(bad), stderr=err)
    assert f"{bad}:2:" in err.getvalue() and f"{bad}:3:" in err.getvalue()


def test_walk_sms_flow_inside_an_order_records_the_path_K3(api_for, customer):
    api = api_for("agent")
    t = api.post("/tickets", {"type": "consultation", "customer_id": customer.pk, "subject": "收不到短信提醒"}).json()
    r = api.post(f"/tickets/{t['id']}/flows", {"flow": "sms-alerts-not-received"})
    assert r.status_code == 201, r.content
    run = r.json()
    assert run["current"]["options"][2] == "能收到测试短信，但漏收动账信息"
    r = api.post(f"/flow-runs/{run['id']}/answer", {"option": 2})
    done = r.json()
    assert done["finished"] and done["outcome"] == "create_order"
    created = done["path"][-1]["text"]
    assert created.startswith("GD")
    detail = api.get(f"/tickets/{t['id']}").json()
    note = [e for e in detail["timeline"] if e["kind"] == "note"][-1]["body"]
    assert "短信提醒收不到" in note and "漏收动账信息" in note
    assert detail["links"] == [{"kind": "related", "direction": "out", "number": created}]
    new = api.get(f"/tickets/{created}").json()
    assert new["type"] == "fault" and new["category"]["code"] == "fault-sms"
    # A finished run takes no more answers; bad options are named.
    assert api.post(f"/flow-runs/{run['id']}/answer", {"option": 0}).status_code == 409
    run2 = api.post(f"/tickets/{t['id']}/flows", {"flow": "broadband-cannot-get-online"}).json()
    bad = api.post(f"/flow-runs/{run2['id']}/answer", {"option": 9})
    assert bad.status_code == 422 and "option" in bad.json()["error"]["fields"]
    assert api.post(f"/tickets/{t['id']}/flows", {"flow": "nope"}).status_code == 422
    # Another team's agent cannot walk flows on this order.
    assert api_for("other").post(f"/flow-runs/{run2['id']}/answer", {"option": 0}).status_code == 404
    assert FlowRun.objects.count() == 2


def test_broadband_flow_resolved_path_K3(api_for, customer):
    api = api_for("agent")
    t = api.post("/tickets", {"type": "fault", "customer_id": customer.pk, "subject": "宽带上不了网"}).json()
    run = api.post(f"/tickets/{t['id']}/flows", {"flow": "broadband-cannot-get-online"}).json()
    for option in (1, 1, 0):  # LOS off & PON on → restart fails → account in arrears
        run = api.post(f"/flow-runs/{run['id']}/answer", {"option": option}).json()
    assert run["finished"] and run["outcome"] == "resolved"
    assert [p["answer"] for p in run["path"][:3]] == ["LOS 不亮，PON 灯常亮", "仍不能", "欠费或到期"]


def test_export_is_the_import_format_and_round_trips_K1(api_for, centre):
    """GET /kb/export: the published items as import lines; items written in kefu get an id so that
    importing the file back changes nothing; filters by audience and category; reviewers only."""
    from kefu.knowledge.services import item_create, version_review, version_submit

    api = api_for("supervisor")
    assert api.post("/kb/import", raw=jsonl(LINES + [
        {"id": "kb-9", "question": "内部：宽带装机流程", "answer": "派单给装维。", "category": "宽带/办理", "audience": "internal"},
        {"id": "kb-10", "question": "光猫红灯怎么办", "answer": "检查光纤。", "category": "宽带故障", "products": ["融合宽带"],
         "tags": "光猫,故障"}])).status_code == 200
    lead, sup = centre["users"]["lead"], centre["users"]["supervisor"]
    mine = item_create(actor=lead, question="宽带怎么办理移机？", answer="营业厅或10000办理。", category="宽带")
    version_submit(actor=lead, version_id=mine.versions.get().pk)
    version_review(actor=sup, version_id=mine.versions.get().pk, approve=True)
    draft = item_create(actor=lead, question="还没发布的", answer="草稿。")  # not published: not exported
    archived = KnowledgeItem.objects.get(external_id="kb-2")
    archived.archived = True
    archived.save()

    r = api.get("/kb/export")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/x-ndjson")
    assert r["Content-Disposition"].startswith('attachment; filename="kefu-kb-')
    rows = [json.loads(line) for line in r.content.decode("utf-8").splitlines()]
    assert [x["id"] for x in rows] == ["kb-1", "kb-9", "kb-10", f"kefu-{mine.pk}"]
    assert rows[0] == dict(LINES[0], tags=[], products=[], audience="public", kind="faq")
    mine.refresh_from_db()
    assert mine.external_id == f"kefu-{mine.pk}" and KnowledgeItem.objects.get(pk=draft.pk).external_id is None
    assert AuditRecord.objects.filter(action="kb.export").latest("pk").changes == {
        "items": 4, "audience": "", "category": "", "ids_given": 1}
    # importing the export back changes nothing
    assert api.post("/kb/import", raw=r.content).json() == {"created": 0, "updated": 0, "unchanged": 4}
    # filters: the category and the ones under it (not 宽带故障), one audience
    ids = lambda resp: [json.loads(line)["id"] for line in resp.content.decode().splitlines()]  # noqa: E731
    assert ids(api.get("/kb/export", category="宽带")) == ["kb-9", f"kefu-{mine.pk}"]
    assert ids(api.get("/kb/export", audience="internal")) == ["kb-9"]
    assert [x for x in rows if x["id"] == "kb-10"][0] == {
        "id": "kb-10", "question": "光猫红灯怎么办", "answer": "检查光纤。", "category": "宽带故障", "similar_questions": [],
        "tags": ["光猫", "故障"], "products": ["融合宽带"], "audience": "public", "kind": "faq"}
    # labels, kind or audience changed alone: the item is updated, the published version serves on
    relabelled = [dict(x, products=["融合宽带", "IPTV"]) if x["id"] == "kb-10" else x for x in rows]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in relabelled).encode()
    assert api.post("/kb/import", raw=body).json() == {"created": 0, "updated": 1, "unchanged": 3}
    kb10 = KnowledgeItem.objects.get(external_id="kb-10")
    assert kb10.products == ["融合宽带", "IPTV"] and kb10.published.number == 1 and kb10.versions.count() == 1
    bad = api.get("/kb/export", audience="everyone")
    assert bad.status_code == 422 and "public" in bad.json()["error"]["fields"]["audience"]
    for name in ("agent", "lead", "auditor"):
        denied = api_for(name).get("/kb/export")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "role_not_allowed"


def test_kb_export_command_writes_the_file(tmp_path, centre):
    from io import StringIO

    from django.core.management import CommandError, call_command

    src = tmp_path / "kb.jsonl"
    src.write_bytes(jsonl(LINES))
    call_command("kb", "import", str(src), stdout=StringIO())
    out, err = StringIO(), StringIO()
    dest = tmp_path / "out.jsonl"
    call_command("kb", "export", str(dest), "--category", "话费", stdout=out, stderr=err)
    assert [json.loads(x)["id"] for x in dest.read_text(encoding="utf-8").splitlines()] == ["kb-1"]
    assert "exported 1 items" in err.getvalue() and not (tmp_path / "out.jsonl.part").exists()
    out = StringIO()
    call_command("kb", "export", stdout=out)  # to stdout
    assert [json.loads(x)["id"] for x in out.getvalue().splitlines()] == ["kb-1", "kb-2"]
    with pytest.raises(CommandError, match="cannot write"):
        call_command("kb", "export", str(tmp_path / "no-such-dir" / "x.jsonl"), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="no such user"):
        call_command("kb", "export", "--as", "nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="导出|export"):
        call_command("kb", "export", "--as", "agent", stdout=StringIO())


def test_import_and_export_carry_validity_dates_K1(api_for):
    """effective_from / expires_at travel in the file: set on import (local time without an offset),
    written back with their offset on export, round-trip unchanged; an expired item is taken and
    stays out of force; a line without them leaves an item's dates alone; bad dates refuse the file."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    from kefu.knowledge.selectors import published_items

    api = api_for("supervisor")
    rows = [
        {"id": "v-1", "question": "双十二流量包怎么办理？", "answer": "12月12日起在APP办理。",
         "effective_from": "2099-12-12T00:00", "expires_at": "2099-12-31T23:59:59"},
        {"id": "v-2", "question": "旧版畅享套餐怎么办理？", "answer": "已下架。", "expires_at": "2020-01-01T00:00:00+08:00"},
        {"id": "v-3", "question": "话费怎么查？", "answer": "发送CXHF到10001。", "effective_from": None},
    ]
    r = api.post("/kb/import", raw=jsonl(rows))
    assert r.status_code == 200 and r.json() == {"created": 3, "updated": 0, "unchanged": 0}, r.content
    v1, v2 = KnowledgeItem.objects.get(external_id="v-1"), KnowledgeItem.objects.get(external_id="v-2")
    assert timezone.localtime(v1.effective_from).replace(tzinfo=None) == datetime(2099, 12, 12)
    assert v1.expires_at - v1.effective_from == timedelta(days=19, hours=23, minutes=59, seconds=59)
    assert v2.effective_from is None and v2.expires_at < timezone.now()
    # neither the one not yet in force nor the expired one is served
    assert sorted(published_items().values_list("external_id", flat=True)) == ["v-3"]
    exported = [json.loads(line) for line in api.get("/kb/export").content.decode().splitlines()]
    by_id = {x["id"]: x for x in exported}
    offset = timezone.localtime(v1.effective_from).strftime("%z")
    assert by_id["v-1"]["effective_from"] == f"2099-12-12T00:00:00{offset[:3]}:{offset[3:]}"
    assert "effective_from" not in by_id["v-3"] and "expires_at" not in by_id["v-3"]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in exported).encode()
    assert api.post("/kb/import", raw=body).json() == {"created": 0, "updated": 0, "unchanged": 3}
    # a line without dates leaves them; null clears them (validity alone: no new version)
    plain = [{k: v for k, v in by_id["v-1"].items() if k not in ("effective_from", "expires_at")}]
    assert api.post("/kb/import", raw=jsonl(plain)).json()["unchanged"] == 1
    cleared = [dict(plain[0], effective_from=None, expires_at=None)]
    assert api.post("/kb/import", raw=jsonl(cleared)).json() == {"created": 0, "updated": 1, "unchanged": 0}
    v1.refresh_from_db()
    assert v1.effective_from is None and v1.expires_at is None and v1.versions.count() == 1
    assert "v-1" in published_items().values_list("external_id", flat=True)
    # bad dates: the line is refused with the field named, nothing changes
    bad = [dict(rows[0], id="v-9", effective_from="下周一"), dict(rows[0], id="v-10", expires_at="2099-01-01T00:00"),
           dict(rows[0], id="v-11", effective_from=20991212)]
    r = api.post("/kb/import", raw=jsonl(bad))
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert sorted(fields) == ["line 1", "line 2", "line 3"]
    assert fields["line 1"].startswith("effective_from:") and fields["line 2"].startswith("expires_at:")
    assert not KnowledgeItem.objects.filter(external_id__in=["v-9", "v-10", "v-11"]).exists()


def test_kb_vocabulary_command_loads_a_synonyms_file_all_or_nothing_K5(tmp_path, centre):
    """`kefu kb vocabulary FILE`: the shipped synonyms.txt format (groups, A -> B corrections,
    comments); loading it again adds nothing; one bad line refuses the file with its number."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    from kefu.knowledge.models import VocabularyEntry

    good = tmp_path / "vocab.txt"
    good.write_text("# 本中心词库\n天翼 电信 中国电信\n\n挪机 -> 移机\n﻿翼钱 话费\n", encoding="utf-8")
    out = StringIO()
    call_command("kb", "vocabulary", str(good), "--as", "supervisor", stdout=out)
    assert "3 added, 0 already there" in out.getvalue()
    assert sorted((e.kind, tuple(e.words)) for e in VocabularyEntry.objects.all()) == [
        ("rewrite", ("挪机", "移机")), ("synonym", ("天翼", "电信", "中国电信")), ("synonym", ("翼钱", "话费"))]
    out = StringIO()
    call_command("kb", "vocabulary", str(good), "--as", "supervisor", stdout=out)
    assert "0 added, 3 already there" in out.getvalue()
    assert AuditRecord.objects.filter(action="kb.vocabulary_import").count() == 2

    bad = tmp_path / "bad.txt"
    bad.write_text("宽频 宽带\n单词\n挪机 -> 搬机\n猫 -> 光猫\na -> b -> c\n话费！ 余额\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="5 bad lines; nothing was added"):
        call_command("kb", "vocabulary", str(bad), "--as", "supervisor", stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert [x.split(":")[1] for x in lines] == ["2", "3", "4", "5", "6"]
    assert "已有纠错" in lines[1] and "两个字" in lines[2]
    assert VocabularyEntry.objects.count() == 3  # 宽频 宽带 on line 1 was not added either
    with pytest.raises(CommandError, match="主管"):
        call_command("kb", "vocabulary", str(good), "--as", "agent", stdout=StringIO())
