"""The per-process knowledge index against the database (K4, K5): deltas after publish, archive,
expiry and deletion; vectors only from the background job; the bot's and the import's bad input
(K1, K4)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import mmap
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from kefu.knowledge import search
from kefu.knowledge.models import BotTurn, ItemVersion, KnowledgeItem

pytestmark = pytest.mark.django_db

KB = [
    {"id": "kb-bill", "question": "怎么查询话费余额？", "answer": "编辑短信CXHF发送到10001查询话费余额。",
     "category": "话费/查询", "similar_questions": ["话费还剩多少", "余额怎么查"]},
    {"id": "kb-bb", "question": "宽带断网了怎么办？", "answer": "请先重启光猫和路由器；如光猫LOS灯红灯，请拨打10000报修。",
     "category": "宽带/故障", "similar_questions": ["家里网断了", "光猫亮红灯"]},
]


def jsonl(rows: list[Any]) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()


@pytest.fixture
def imported(centre):  # type: ignore[no-untyped-def]
    from kefu.knowledge.services import kb_import

    search.reset()
    kb_import(actor=centre["users"]["supervisor"], lines=[json.dumps(r, ensure_ascii=False) for r in KB])
    yield centre
    search.reset()


def ids(q: str, audience: str = "all") -> list[str | None]:
    return [KnowledgeItem.objects.get(pk=int(c.item_id)).external_id for c in search.engine_for(audience).search(q, k=5)]


def test_vectors_come_from_the_background_job_only_K5(imported, monkeypatch):  # type: ignore[no-untyped-def]
    from kefu.knowledge.retrieval import dense

    engine = search.engine_for("all")
    bill = KnowledgeItem.objects.get(external_id="kb-bill")
    assert engine.item_vectors(str(bill.pk)) is None  # imported, not yet encoded: lexical only
    assert ids("话费还剩多少")[0] == "kb-bill"
    # Serving a search never encodes an item.
    calls: list[int] = []
    enc = dense.load_encoder()
    assert enc is not None
    monkeypatch.setattr(type(enc), "encode_passages", lambda self, texts: calls.append(len(texts)))
    search.reset()
    search.engine_for("all").search("家里网断了")
    assert calls == []
    monkeypatch.undo()
    assert search.compute_vectors() == 2
    v = bill.published
    v.refresh_from_db()
    assert v.vector is not None and v.vector_model == search.encoder_name()
    assert search.engine_for("all").item_vectors(str(bill.pk)) is not None  # picked up by the delta
    assert search.compute_vectors() == 0  # idempotent
    ItemVersion.objects.filter(pk=v.pk).update(vector_model="an-older-encoder")
    assert search.compute_vectors() == 1  # another encoder's vector is computed again


def test_archive_edit_delete_and_expiry_reach_the_index_K5(imported, monkeypatch):  # type: ignore[no-untyped-def]
    from kefu.knowledge import services

    sup, lead = imported["users"]["supervisor"], imported["users"]["lead"]
    bb = KnowledgeItem.objects.get(external_id="kb-bb")
    assert ids("光猫亮红灯")[0] == "kb-bb"
    services.item_archive(actor=sup, item_id=bb.pk, reason="业务下线")
    assert "kb-bb" not in ids("光猫亮红灯")
    bill = KnowledgeItem.objects.get(external_id="kb-bill")
    v = services.item_revise(actor=lead, item_id=bill.pk, question="话费余额短信查询怎么发？", answer="发送CXHF到10001。")
    assert ids("话费余额短信")[0] == "kb-bill"  # the draft changes nothing yet: the old version serves
    assert search.engine_for("all").get(str(bill.pk)).question == "怎么查询话费余额？"  # type: ignore[union-attr]
    services.version_submit(actor=lead, version_id=v.pk)
    services.version_review(actor=sup, version_id=v.pk, approve=True)
    assert search.engine_for("all").get(str(bill.pk)).question == "话费余额短信查询怎么发？"  # type: ignore[union-attr]
    # Expiry without an edit: the index notices when the moment comes.
    soon = timezone.now() + timedelta(hours=1)
    KnowledgeItem.objects.filter(pk=bill.pk).update(expires_at=soon, updated_at=timezone.now())
    assert ids("话费余额")[:1] == ["kb-bill"]
    later = soon + timedelta(minutes=1)
    monkeypatch.setattr(search.timezone, "now", lambda: later)
    assert "kb-bill" not in ids("话费余额")
    # A row deleted outright (admin) disappears as well, once the row count is read again
    # (at most every COUNT_SECONDS; zero here).
    monkeypatch.undo()
    monkeypatch.setattr(search, "COUNT_SECONDS", 0.0)
    KnowledgeItem.objects.filter(pk=bill.pk).update(expires_at=None, updated_at=timezone.now())
    assert ids("话费余额")[:1] == ["kb-bill"]
    KnowledgeItem.objects.filter(pk=bill.pk).delete()
    assert search.engine_for("all").get(str(bill.pk)) is None


def test_internal_items_stay_out_of_the_bot_K4(imported, centre):  # type: ignore[no-untyped-def]
    from kefu.knowledge import services

    sup, lead = centre["users"]["supervisor"], centre["users"]["lead"]
    item = services.item_create(actor=lead, question="内部：携号转网挽留话术", answer="先了解原因……", audience="internal")
    v = item.versions.get()
    services.version_submit(actor=lead, version_id=v.pk)
    services.version_review(actor=sup, version_id=v.pk, approve=True)
    assert search.engine_for("all").get(str(item.pk)) is not None
    assert search.engine_for("public").get(str(item.pk)) is None
    assert str(item.pk) not in [c.item_id for c in search.engine_for("public").search("携号转网挽留话术", k=10)]
    # one index serves both: an administrator making the item public is seen by the bot at once
    item.refresh_from_db()
    item.audience = "public"
    item.save()
    assert search.engine_for("public").get(str(item.pk)) is not None
    assert str(item.pk) in [c.item_id for c in search.engine_for("public").search("携号转网挽留话术", k=10)]
    assert search.engine_for("public").engine is search.engine_for("all")


def test_published_event_sends_the_vector_job_and_the_job_continues_K5(imported, monkeypatch, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    from kefu.core import events
    from kefu.knowledge import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.compute_vectors_task, "delay", lambda limit=tasks.BATCH: sent.append(limit))
    # Many versions published together (an import: one event each) send one run, not one per event.
    for n in range(50):
        with django_capture_on_commit_callbacks(execute=True):
            assert events.consume(event_id=987600 + n, topic="kb.published", payload={"item_id": 1, "version_id": 1})
    assert sent == [tasks.BATCH]
    # A run that reaches its limit sends itself again; the last one does not.
    assert tasks.compute_vectors_task.run(limit=1) == 1 and sent == [tasks.BATCH, 1]
    assert tasks.compute_vectors_task.run(limit=5) == 1 and sent == [tasks.BATCH, 1]
    assert ItemVersion.objects.filter(vector__isnull=True, status="published").count() == 0
    # A version published while a run works: no second run beside it, but one after it.
    from kefu.knowledge import search

    def run_with_a_publish(limit: int | None = None) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            events.consume(event_id=987700, topic="kb.published", payload={"item_id": 1, "version_id": 1})
        assert sent == [tasks.BATCH, 1, tasks.BATCH]  # nothing sent while this run is on
        return 0

    assert tasks.request_vectors() and sent == [tasks.BATCH, 1, tasks.BATCH]
    monkeypatch.setattr(search, "compute_vectors", run_with_a_publish)
    assert tasks.compute_vectors_task.run() == 0 and sent == [tasks.BATCH, 1, tasks.BATCH, tasks.BATCH]


def ask(client, body: Any, raw: bool = False):  # type: ignore[no-untyped-def]
    data = body if raw else json.dumps(body, ensure_ascii=False)
    return client.post("/api/v1/bot/ask", data, content_type="application/json")


@pytest.mark.parametrize("question,answered", [
    ("話費餘額怎麼查", "kb-bill"),  # traditional characters
    ("宽代断网了怎么办", "kb-bb"),  # typo
    ("我家WiFi 断网了 help!!", None),  # mixed script: any outcome, never a failure
    ("家里网断了" + "。" * 9990, None),  # 10,000 characters
])
def test_bot_copes_with_customers_writing_K4(client, imported, question, answered):  # type: ignore[no-untyped-def]
    search.compute_vectors()
    r = ask(client, {"question": question})
    assert r.status_code == 200, r.content
    body = r.json()
    assert isinstance(body["handoff"], bool) and 0.0 <= body["confidence"] <= 1.0
    if answered:
        ranked = [body["external_id"]] + [s["external_id"] for s in body["suggestions"]]
        assert answered in ranked


@pytest.mark.parametrize("body,status,code", [
    ({"question": "\x00\x01\x02"}, 422, "empty_question"),  # control characters only
    ({"question": "\u3000\u00a0 "}, 422, "empty_question"),  # ideographic / no-break spaces only
    ({"question": ["话费"]}, 422, None),
    ({"question": "话费", "session_id": "x" * 65}, 422, None),
    ({"question": "话费", "session_id": "00000000-0000-0000-0000-000000000000"}, 404, "bot_session_not_found"),
    ({"question": "话费", "session_id": "'; DROP TABLE x; --"}, 404, "bot_session_not_found"),
    ('{"question": "话费"', 400, None),  # malformed JSON
    ('["话费"]', None, None),  # not an object: a clear 4xx
])
def test_bad_bot_requests_get_a_clear_error_and_write_nothing_K4(client, imported, body, status, code):  # type: ignore[no-untyped-def]
    r = ask(client, body, raw=isinstance(body, str))
    assert 400 <= r.status_code < 500, r.content
    if status:
        assert r.status_code == status, r.content
    err = r.json()["error"]
    assert set(err) >= {"code", "message", "fields"}
    if code:
        assert err["code"] == code
    assert BotTurn.objects.count() == 0


def test_emoji_only_question_is_handed_over_K4(client, imported):  # type: ignore[no-untyped-def]
    body = ask(client, {"question": "😭😭😭🙏"}).json()
    assert body["handoff"] is True and body["item_id"] is None
    assert BotTurn.objects.get().mode == "handoff"


def test_failed_import_changes_nothing_in_a_filled_base_K1(api_for, imported):  # type: ignore[no-untyped-def]
    api = api_for("supervisor")
    before = list(ItemVersion.objects.order_by("pk").values_list("pk", "status", "answer"))
    lines = [
        "\ufeff" + json.dumps(dict(KB[0], answer="新的答案：拨打10000查询。"), ensure_ascii=False),  # BOM: fine
        "",  # blank lines are skipped but counted
        json.dumps({"id": "kb-new", "question": "新问题？", "answer": "新答案。"}, ensure_ascii=False),
        json.dumps({"id": "kb-x", "question": "q" * 301, "answer": "a"}, ensure_ascii=False),
        '{"id": "kb-y", "question": "半行',
        json.dumps({"id": "kb-z", "question": "好", "answer": "好", "similar_questions": 5}, ensure_ascii=False),
    ]
    raw = jsonl(lines) + b"\n" + "坏".encode("gbk") + b"\n"
    r = api.post("/kb/import", raw=raw)
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert sorted(fields) == ["line 4", "line 5", "line 6", "line 7"]
    assert list(ItemVersion.objects.order_by("pk").values_list("pk", "status", "answer")) == before
    assert not KnowledgeItem.objects.filter(external_id__in=["kb-new", "kb-x"]).exists()


def test_a_large_index_is_frozen_out_of_the_collectors_walk_K5(imported, monkeypatch):
    """At FREEZE_MIN_ITEMS items (5,000; lowered here) a full load freezes what is alive, so the
    collector's full collections no longer walk the index; below it nothing is frozen."""
    import gc

    gc.unfreeze()
    search.reset()
    search.engine_for("all")
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(search, "FREEZE_MIN_ITEMS", 2)
    search.reset()
    try:
        engine = search.engine_for("all")
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        assert engine.search("光猫红灯")[0].item_id  # still answers
    finally:
        gc.unfreeze()


def test_search_hits_from_the_index_equal_the_database_K5(imported):  # type: ignore[no-untyped-def]
    """Agents' hits are served from the index's copy of each item: field for field what
    ``item_present`` reads from the database — also right after a revision is published."""
    from kefu.knowledge.selectors import item_present, kb_search
    from kefu.knowledge.services import item_revise, item_set_properties, version_review, version_submit

    sup, lead = imported["users"]["supervisor"], imported["users"]["lead"]

    def check(q: str) -> dict:  # type: ignore[type-arg]
        hit = kb_search(q=q)[0]
        item = KnowledgeItem.objects.select_related("published").get(pk=hit["id"])
        assert {k: v for k, v in hit.items() if k not in ("score", "matched_question", "highlights")} == item_present(item)
        return hit

    hit = check("话费余额")
    item_set_properties(actor=sup, item_id=hit["id"], category="话费/查询", kind="faq", audience="internal",
                        tags=["查询"], products=["5G畅享"])
    v = item_revise(actor=lead, item_id=hit["id"], question="怎么查询话费余额？", answer="发送CXHF到10001，或登录APP查询。")
    version_submit(actor=lead, version_id=v.pk)
    version_review(actor=sup, version_id=v.pk, approve=True)
    again = check("话费余额")
    assert (again["version"], again["audience"], again["products"]) == (2, "internal", ["5G畅享"])


def test_customers_numbers_in_a_question_do_not_change_the_answer_K4(client, imported):  # type: ignore[no-untyped-def]
    """“我的号码13812345678话费还剩多少” is answered exactly as the question without the number (a
    phone, ID card or account number cannot match an item, it only disturbed the match); a service
    number stays part of the question; a question that is only a number still gets a reply."""
    search.compute_vectors()

    def outcome(q: str) -> tuple[Any, ...]:
        body = ask(client, {"question": q}).json()
        return body["external_id"], body["confidence"], [s["external_id"] for s in body["suggestions"]], body["handoff"]

    plain = outcome("我的号码话费还剩多少")
    assert plain[0] == "kb-bill"
    for q in ("我的号码13812345678话费还剩多少", "我的号码138 1234 5678话费还剩多少", "我的号码０１０－８８１２３４５６话费还剩多少"):
        assert outcome(q) == plain, q
    assert outcome("身份证110101199003071234名下话费还剩多少") == outcome("身份证名下话费还剩多少")
    assert outcome("邮箱zhang.san@example.com的话费还剩多少") == outcome("邮箱的话费还剩多少")
    assert BotTurn.objects.filter(question="我的号码13812345678话费还剩多少").exists()  # stored as asked
    engine = search.engine_for("all")
    assert engine._prepare("拨打10086查话费").folded == engine._prepare("拨打10086查话费").folded
    assert "10086" in engine._prepare("拨打10086查话费").folded
    assert "13812345678" not in engine._prepare("我的号码13812345678话费还剩多少").folded
    only = ask(client, {"question": "13812345678"})
    assert only.status_code == 200 and isinstance(only.json()["handoff"], bool)


def test_the_centres_own_vocabulary_reaches_every_search_at_once_K5(api_for, imported, client):  # type: ignore[no-untyped-def]
    """A supervisor adds a synonym group (a word customers use that no item has) and a correction;
    agents' search and the bot use them on their next question, without re-indexing; removing them
    stops them; bad entries are refused in Chinese with nothing written; only supervisors and
    administrators change the vocabulary, and every change is audited."""
    from kefu.audit.models import AuditRecord
    from kefu.knowledge.models import VocabularyEntry

    sup = api_for("supervisor")
    assert "kb-bill" not in ids("翼钱")  # nobody calls 话费 翼钱 … yet
    assert "话费" not in search.engine_for("public").engine._prepare("我的翼钱还剩多少").weights
    r = sup.post("/kb/vocabulary", {"kind": "synonym", "words": "翼钱 话费"})
    assert r.status_code == 201, r.content
    group = r.json()
    assert group["words"] == ["翼钱", "话费"] and group["kind"] == "synonym"
    assert ids("翼钱")[0] == "kb-bill"  # the next search, same process, no rebuild
    bot_view = search.engine_for("public")  # the bot's view: the same pipeline, the same words
    assert bot_view.engine._prepare("我的翼钱还剩多少").weights.get("话费") == bot_view.engine.pipeline.synonym_weight
    fix = sup.post("/kb/vocabulary", {"kind": "rewrite", "words": ["鬼猫", "光猫"]}).json()
    assert ids("鬼猫红灯")[0] == "kb-bb"
    listed = sup.get("/kb/vocabulary").json()["items"]
    assert [(x["kind"], x["words"]) for x in listed] == [("rewrite", ["鬼猫", "光猫"]), ("synonym", ["翼钱", "话费"])]
    assert list(AuditRecord.objects.filter(action="kb.vocabulary").values_list("changes", flat=True)) == [
        {"kind": "synonym", "words": ["翼钱", "话费"]}, {"kind": "rewrite", "words": ["鬼猫", "光猫"]}]

    for body, field_text in [
        ({"kind": "synonym", "words": "翼钱"}, "至少"),  # one word
        ({"kind": "synonym", "words": "翼钱 话费"}, "已"),  # the same group again
        ({"kind": "synonym", "words": ["话费", "a" * 21]}, "20"),
        ({"kind": "synonym", "words": ["话费", "余额!"]}, "汉字"),
        ({"kind": "rewrite", "words": "猫 光猫"}, "两个字"),  # one character would be rewritten everywhere
        ({"kind": "rewrite", "words": "鬼猫 路由器"}, "已"),  # corrected already
        ({"kind": "rewrite", "words": "宽代 宽带 网络"}, "两个词"),
        ({"kind": "nonsense", "words": "a b"}, "同义词"),
    ]:
        bad = sup.post("/kb/vocabulary", body)
        assert bad.status_code == 422, (body, bad.content)
        message = " ".join(str(v) for v in bad.json()["error"]["fields"].values())
        assert field_text in message, (body, message)
    assert VocabularyEntry.objects.count() == 2
    for name in ("agent", "lead"):
        assert api_for(name).post("/kb/vocabulary", {"kind": "synonym", "words": "甲乙 丙丁"}).status_code == 403
        assert api_for(name).get("/kb/vocabulary").status_code == 403

    assert sup.delete(f"/kb/vocabulary/{group['id']}").status_code == 204
    assert "kb-bill" not in ids("翼钱")  # gone at once
    assert sup.delete(f"/kb/vocabulary/{group['id']}").status_code == 404
    assert AuditRecord.objects.filter(action="kb.vocabulary_delete").count() == 1


def test_ignorable_words_are_left_out_of_every_question_K5(api_for, imported, client):  # type: ignore[no-untyped-def]
    """A supervisor marks the operator's own names as ignorable: “天翼怎么查询话费余额” is then
    matched, scored and answered exactly as “怎么查询话费余额” (agents' search and the bot), a word
    that merely contains the name stays (电信局), a question that is only the name still gets a
    reply; removing the entry brings the word back. Refused in Chinese, nothing written: a single
    character, a word already left out, a word that is also a synonym; the file loader takes
    ``! 电信 天翼`` lines."""
    from kefu.knowledge.models import VocabularyEntry
    from kefu.knowledge.services import ImportFailed, vocabulary_import

    search.compute_vectors()
    sup = api_for("supervisor")

    def folded(q: str) -> str:  # the text the engine matches, with the vocabulary as it is now
        return search.engine_for("all")._prepare(q).folded

    def outcome(q: str) -> tuple[Any, ...]:
        body = ask(client, {"question": q}).json()
        return body["external_id"], body["confidence"], [s["external_id"] for s in body["suggestions"]], body["handoff"]

    plain = outcome("怎么查询话费余额")
    assert "天翼" in folded("天翼怎么查询话费余额")
    r = sup.post("/kb/vocabulary", {"kind": "ignore", "words": "天翼 中国电信"})
    assert r.status_code == 201, r.content
    entry = r.json()
    assert entry["kind"] == "ignore" and entry["words"] == ["天翼", "中国电信"]
    assert folded("天翼怎么查询话费余额") == folded("怎么查询话费余额")
    assert outcome("天翼怎么查询话费余额") == plain
    assert outcome("中国电信宽带断网了怎么办") == outcome("宽带断网了怎么办")
    assert ids("天翼 话费余额") == ids("话费余额")
    assert "电信局" in folded("电信局在哪里")  # a longer word keeps its letters
    only = ask(client, {"question": "天翼"})
    assert only.status_code == 200 and "天翼" in folded("天翼")  # nothing else: kept

    for body, field_text in [
        ({"kind": "ignore", "words": "移"}, "两个字"),  # one character
        ({"kind": "ignore", "words": "天翼"}, "已"),  # left out already
        ({"kind": "ignore", "words": ""}, "至少"),
        ({"kind": "synonym", "words": "天翼 电信"}, "先删除"),  # a word that is ignored cannot mean something
        ({"kind": "rewrite", "words": "天一 天翼"}, "先删除"),
    ]:
        bad = sup.post("/kb/vocabulary", body)
        assert bad.status_code == 422, (body, bad.content)
        message = " ".join(str(v) for v in bad.json()["error"]["fields"].values())
        assert field_text in message, (body, message)
    assert VocabularyEntry.objects.count() == 1

    with pytest.raises(ImportFailed) as failed:
        vocabulary_import(actor=imported["users"]["supervisor"], lines=["! 电信 联通", "！天翼", "! 号"])
    assert [n for n, _ in failed.value.lines] == [2, 3]  # 天翼 is left out already; one character
    assert VocabularyEntry.objects.count() == 1
    assert vocabulary_import(actor=imported["users"]["supervisor"], lines=["! 电信 联通", "！天翼 中国电信"]) == (1, 1)
    assert "电信" not in folded("电信怎么查询话费余额")

    assert sup.delete(f"/kb/vocabulary/{entry['id']}").status_code == 204
    assert "天翼" in folded("天翼怎么查询话费余额")  # back at once


@pytest.fixture
def committed_kb(centre):  # type: ignore[no-untyped-def]
    """The test base, committed (the test is marked ``transaction=True``): the loader thread reads
    it through a connection of its own."""
    from kefu.knowledge.services import kb_import

    search.reset()
    kb_import(actor=centre["users"]["supervisor"], lines=[json.dumps(r, ensure_ascii=False) for r in KB])
    yield centre
    search.reset()


def _wait_for(check, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    import time

    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_a_server_process_loads_its_index_in_a_thread_and_never_in_a_request_K4_K5(committed_kb, api_for, client, customer, monkeypatch):  # type: ignore[no-untyped-def]
    """A web server worker (``kefu/wsgi.py`` calls ``warm_up``) loads its index in a thread of its
    own: with 50,000 items the load outlasts gunicorn's 30-second worker timeout, and done in a
    request it got the worker killed and started over by the next one. While it loads, the bot,
    agents' search and 知识推荐 say so at once (503, in Chinese) instead of hanging; afterwards they
    answer; a bulk change is loaded by the same thread while requests are served by the index as
    it was; without ``warm_up`` (tests, commands) nothing changes."""
    import threading

    real_full, real_refresh = search._full, search._refresh
    gate = threading.Event()
    where: list[str] = []

    def slow_full(now):  # type: ignore[no-untyped-def]
        where.append(threading.current_thread().name)
        gate.wait(30)
        return real_full(now)

    def watched_refresh(stamp, now):  # type: ignore[no-untyped-def]
        where.append(threading.current_thread().name)
        return real_refresh(stamp, now)

    monkeypatch.setattr(search, "_full", slow_full)
    monkeypatch.setattr(search, "_refresh", watched_refresh)
    monkeypatch.setattr(search, "LOAD_WAIT_SECONDS", 0.2)
    search.warm_up()
    search.warm_up()  # idempotent: one thread
    assert [t.name for t in threading.enumerate()].count("kefu-kb-loader") == 1

    agent = api_for("agent")
    busy = agent.get("/kb/search", q="话费余额")
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "kb_loading"
    assert "正在加载" in busy.json()["error"]["message"]
    asked = ask(client, {"question": "话费还剩多少"})
    assert asked.status_code == 503 and "正在加载" in asked.json()["error"]["message"]
    client.force_login(committed_kb["users"]["agent"])
    page = client.get("/w/kb/", {"q": "话费余额"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 503 and "正在加载" in page.content.decode()
    from kefu.tickets.services import ticket_create

    order = ticket_create(actor=committed_kb["users"]["agent"], type="fault", priority="normal",
                          customer_id=customer.pk, subject="话费余额不对", contact_phone="13800138000")
    panel = client.get(f"/w/t/{order.pk}/kb/assist/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert panel.status_code == 200 and "正在加载" in panel.content.decode()  # the order page itself unaffected

    gate.set()
    _wait_for(lambda: "all" in search._engines)
    assert [h["external_id"] for h in agent.get("/kb/search", q="话费余额").json()["items"]][:1] == ["kb-bill"]
    body = ask(client, {"question": "话费还剩多少"}).json()
    assert "kb-bill" in [body["external_id"], *(s["external_id"] for s in body["suggestions"])]
    assert set(where) == {"kefu-kb-loader"}  # the full load, in the loader thread only

    # A bulk change (over BACKGROUND_DELTA items) is the loader's too; a small one a request's own.
    from kefu.knowledge.services import kb_import

    monkeypatch.setattr(search, "BACKGROUND_DELTA", 1)
    where.clear()
    kb_import(actor=committed_kb["users"]["supervisor"], lines=[json.dumps(r, ensure_ascii=False) for r in [
        {"id": "kb-esim", "question": "eSIM怎么开通？", "answer": "携带证件到营业厅办理eSIM。"},
        {"id": "kb-5g", "question": "5G套餐怎么办理？", "answer": "在营业厅APP办理5G套餐。"},
    ]])
    real_apply = search._apply
    held = threading.Event()

    def slow_apply(state, items, now):  # type: ignore[no-untyped-def]
        held.wait(30)
        return real_apply(state, items, now)

    monkeypatch.setattr(search, "_apply", slow_apply)
    during = agent.get("/kb/search", q="eSIM")  # the loader is busy with the delta: served at once, as it was
    assert during.status_code == 200 and "kb-esim" not in [h["external_id"] for h in during.json()["items"]]
    held.set()
    _wait_for(lambda: "kb-esim" in [h["external_id"] for h in agent.get("/kb/search", q="eSIM").json()["items"]])
    assert where and set(where) == {"kefu-kb-loader"}
    monkeypatch.setattr(search, "_apply", real_apply)
    monkeypatch.setattr(search, "BACKGROUND_DELTA", 2000)
    loader = search._loader
    assert loader is not None
    _wait_for(lambda: loader._done >= loader._asked)  # the refreshes the polling above asked for, done
    where.clear()
    kb_import(actor=committed_kb["users"]["supervisor"], lines=[json.dumps(
        {"id": "kb-wifi", "question": "WiFi密码忘了怎么办？", "answer": "在光猫背面查看默认密码。"}, ensure_ascii=False)])
    assert [h["external_id"] for h in agent.get("/kb/search", q="WiFi密码").json()["items"]][:1] == ["kb-wifi"]
    assert where == [threading.current_thread().name]  # in the request itself: found at once

    search.reset()  # stops the thread
    _wait_for(lambda: "kefu-kb-loader" not in [t.name for t in threading.enumerate()])


def _arrays(obj: Any, seen: set[int] | None = None) -> list[np.ndarray]:
    """Every numpy array reachable from ``obj`` (dicts, lists, objects' attributes)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in _arrays(v, seen)]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _arrays(v, seen)]
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("kefu."):
        return _arrays(vars(obj), seen)
    return []


def _mapped(arr: np.ndarray) -> bool:
    """Whether the array's memory is a file mapping."""
    base: Any = arr
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return base is not None


@pytest.mark.django_db(transaction=True)
def test_a_restarted_server_process_starts_from_its_snapshot_of_the_index_K4_K5(committed_kb, api_for, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A big base takes a minute or more to load: a web worker's loader, after a full load, writes
    a snapshot of the index next to the database, and the next worker to start (a restart, a
    replaced worker) starts from it — reconciled item by item with the database, so what changed
    while no worker ran is there: an edited answer, a new item, an item deleted outright, an item
    that expired. A snapshot of other code or another base is not used; a broken one costs only
    the full load."""
    from kefu.knowledge.services import kb_import

    snap = tmp_path / "kb-index.snapshot"
    monkeypatch.setattr(search, "SNAPSHOT_MIN_ITEMS", 1)
    monkeypatch.setattr(search, "SNAPSHOT_MAPPED_MIN_BYTES", 0)  # every array mapped from the file, as the large ones are
    monkeypatch.setattr(search, "_snapshot_file", lambda: snap)
    agent = api_for("agent")
    supervisor = committed_kb["users"]["supervisor"]
    kb_import(actor=supervisor, lines=[json.dumps(
        {"id": "kb-wifi", "question": "WiFi密码忘了怎么办？", "answer": "在光猫背面查看默认密码。"}, ensure_ascii=False)])

    def started() -> str:
        search.reset()
        search.warm_up()
        loader = search._loader
        assert loader is not None
        _wait_for(lambda: loader.first_load is not None)
        return loader.first_load  # type: ignore[return-value]

    def found(q: str) -> list[str]:
        return [h["external_id"] for h in agent.get("/kb/search", q=q).json()["items"]]

    assert started() == "full" and snap.exists()
    # The worker that wrote it serves from it too: its index's arrays are now the file's pages.
    assert _mapped(search._engines["all"].engine._words._len)
    written = snap.stat().st_mtime_ns
    content = hashlib.sha256(snap.read_bytes()).hexdigest()
    # Its arrays are read as the file's pages, mapped copy-on-write (workers started from the same
    # snapshot share them): writable, and a change stays in the process — the file is as written.
    arrays = [a for a in _arrays(search._snapshot_read(snap)) if a.nbytes and a.flags.c_contiguous]
    assert arrays and all(_mapped(a) and a.flags.writeable for a in arrays)
    for a in arrays:
        a[...] = 0
    del arrays
    assert hashlib.sha256(snap.read_bytes()).hexdigest() == content
    # While no worker runs: an answer edited, an item added, one deleted outright, one expired.
    kb_import(actor=supervisor, lines=[json.dumps(r, ensure_ascii=False) for r in [
        dict(KB[1], answer="请先重启光猫；仍断网请在营业厅APP自助报障。"),
        {"id": "kb-esim", "question": "eSIM怎么开通？", "answer": "携带证件到营业厅办理eSIM。"},
    ]])
    KnowledgeItem.objects.filter(external_id="kb-wifi").delete()
    KnowledgeItem.objects.filter(external_id="kb-bill").update(expires_at=timezone.now() - timedelta(minutes=1))

    # Workers starting together take turns: while another holds the turn (here the test, as a worker
    # in the middle of its full load would), this one waits — its requests get 503 kb_loading — and
    # then starts from the snapshot the other wrote instead of loading in full beside it.
    monkeypatch.setattr(search, "LOAD_WAIT_SECONDS", 0.2)
    with open(tmp_path / "kb-index.snapshot.lock", "a+b") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        search.reset()
        search.warm_up()
        waiting_loader = search._loader
        assert waiting_loader is not None
        assert agent.get("/kb/search", q="宽带断网").status_code == 503
        assert waiting_loader.first_load is None
    _wait_for(lambda: waiting_loader.first_load is not None)
    assert waiting_loader.first_load == "snapshot" and snap.stat().st_mtime_ns == written  # used, not written again
    assert hashlib.sha256(snap.read_bytes()).hexdigest() == content  # the reconciliation changed its own pages only
    hits = agent.get("/kb/search", q="宽带断网").json()["items"]
    assert hits[0]["external_id"] == "kb-bb" and "自助报障" in hits[0]["answer"]
    assert found("eSIM")[:1] == ["kb-esim"]
    assert "kb-wifi" not in found("WiFi密码") and "kb-bill" not in found("话费余额")
    # Many items edited since the snapshot (here: more than none): it is written anew at the start.
    monkeypatch.setattr(search, "SNAPSHOT_STALE", 0)
    assert started() == "snapshot" and snap.stat().st_mtime_ns != written
    rewritten = snap.stat().st_mtime_ns
    monkeypatch.setattr(search, "SNAPSHOT_STALE", 500)
    assert started() == "snapshot" and snap.stat().st_mtime_ns == rewritten
    assert found("eSIM")[:1] == ["kb-esim"]

    monkeypatch.setattr(search, "_snapshot_key", lambda: {"format": -1})  # other code, another base
    assert started() == "full"
    assert found("eSIM")[:1] == ["kb-esim"] and "kb-wifi" not in found("WiFi密码")
    snap.write_bytes(b"\x80\x05broken")
    assert started() == "full" and found("eSIM")[:1] == ["kb-esim"]
    monkeypatch.setattr(search, "_snapshot_key", lambda: {"format": -2})
    assert started() == "full"
    whole = snap.read_bytes()
    snap.write_bytes(whole[: len(whole) // 2] + whole[-8:])  # cut short: its arrays point past the end
    assert started() == "full" and found("eSIM")[:1] == ["kb-esim"]
    search.reset()
