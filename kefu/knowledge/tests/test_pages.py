"""The knowledge pages (Django test client): the portal bot 智能客服 (K4), the agents' search (K5),
the assist panel 知识推荐 on the order page (K5) and walking a troubleshooting flow inside an order
(K3). Bad input gets a clear message naming the field and writes nothing; outside the agent's data
scope everything is a 404 that leaks nothing."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache

from kefu.knowledge import search
from kefu.knowledge.models import BotSession, BotTurn, FlowRun, KnowledgeItem
from kefu.tickets.models import EventKind, Ticket, TicketEvent, TicketLink

from .test_bot import KB

pytestmark = pytest.mark.django_db

INTERNAL = {"id": "kb-int-sms", "question": "短信提醒漏收如何提报技术？", "audience": "internal", "category": "短信/故障",
            "answer": "在工单中走“短信提醒收不到”排障流程，测试后仍收不到时系统自动生成故障单提报技术。",
            "similar_questions": ["动账短信收不到怎么处理", "短信提醒收不到提报"]}
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _clear_cache():  # type: ignore[no-untyped-def]
    cache.clear()  # rate limits live in the cache (as in kefu/web/tests/conftest.py)
    yield
    cache.clear()


@pytest.fixture
def kb(centre):  # type: ignore[no-untyped-def]
    from kefu.knowledge.services import kb_import

    search.reset()
    kb_import(actor=centre["users"]["supervisor"], lines=[json.dumps(r, ensure_ascii=False) for r in [*KB, INTERNAL]])
    search.compute_vectors()
    yield
    search.reset()


@pytest.fixture
def order(centre, customer):  # type: ignore[no-untyped-def]
    from kefu.tickets.services import ticket_create

    return ticket_create(actor=centre["users"]["agent"], type="fault", priority="normal", customer_id=customer.pk,
                         subject="宽带上不了网", description="客户家里网断了，光猫亮红灯", contact_phone="13800138000")


def items(html: str) -> list[str]:
    return re.findall(r'<article class="kb-hit[^"]*" data-item="([^"]+)"', html)


def as_user(client, centre, name):  # type: ignore[no-untyped-def]
    client.force_login(centre["users"][name])
    return client


# --- the portal bot (K4) --------------------------------------------------------------------------


def test_bot_page_is_public_chinese_and_linked_from_the_portal_K4(client, kb):
    html = client.get("/portal/bot/").content.decode()
    assert "智能客服" in html and "您好！我是智能客服" in html and 'name="question"' in html
    assert 'href="/portal/bot/"' in client.get("/portal/").content.decode()
    english = client.get("/portal/bot/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Smart assistant" in english


def test_asking_answers_and_follow_ups_keep_the_session_K4(client, kb):
    r = client.post("/portal/bot/ask/", {"question": "我的话费余额要怎么查"})
    assert r.status_code == 302 and r["Location"].startswith("/portal/bot/")
    sid = client.session["kb_bot_session"]
    html = client.get("/portal/bot/").content.decode()
    assert "我的话费余额要怎么查" in html and "CXHF" in html and "有帮助" in html
    # A follow-up is asked in the same conversation (its context is the earlier questions).
    r = client.post("/portal/bot/ask/", {"question": "那出国怎么开通漫游"}, **HX)
    assert r.status_code == 200
    fragment = r.content.decode()
    assert "<html" not in fragment and 'id="bot-chat"' in fragment and "国际漫游" in fragment
    assert client.session["kb_bot_session"] == sid
    assert BotTurn.objects.filter(session_id=sid).count() == 2 and BotSession.objects.count() == 1


def test_suggestions_are_buttons_that_ask_that_question_K4(client, kb):
    session = BotSession.objects.create(id="6f1c1a52-7a4e-4d5c-9d8e-00000000000a")
    ids = list(KnowledgeItem.objects.filter(external_id__in=["kb-bill", "kb-mnp"]).order_by("external_id")
               .values_list("pk", flat=True))
    BotTurn.objects.create(session=session, question="号码的事", mode="suggest", suggestions=ids)
    s = client.session
    s["kb_bot_session"] = str(session.pk)
    s.save()
    html = client.get("/portal/bot/").content.decode()
    assert "您是想问" in html
    for q in ("怎么查询话费余额？", "携号转网需要什么条件？"):
        assert f'name="question" value="{q}"' in html
    r = client.post("/portal/bot/ask/", {"question": "携号转网需要什么条件？"}, **HX)
    assert "CXXZ" in r.content.decode()
    assert BotTurn.objects.filter(session=session).count() == 2


@pytest.mark.parametrize("question,message", [
    ("", "请输入您的问题"), ("   \n ", "请输入您的问题"), ("\x00\x07\x1b", "请输入您的问题"),
    ("话" * 10000, "不超过 500 个字"),
])
def test_bad_questions_show_a_clear_message_and_write_nothing_K4(client, kb, question, message):
    r = client.post("/portal/bot/ask/", {"question": question})
    assert r.status_code == 422
    html = r.content.decode()
    assert message in html and 'id="bot-q-error"' in html
    assert BotTurn.objects.count() == 0 and BotSession.objects.count() == 0
    # Through HTMX the same message comes back in the swapped fragment (htmx swaps only 2xx).
    r = client.post("/portal/bot/ask/", {"question": question}, **HX)
    assert r.status_code == 200 and message in r.content.decode()


@pytest.mark.parametrize("question", ["😀😀😀", "宽带\x00\x07断网了", "？？？", "a" * 500])
def test_odd_questions_get_an_answer_or_a_person_never_a_500_K4(client, kb, question):
    r = client.post("/portal/bot/ask/", {"question": question}, **HX)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'class="bot"' in html and BotTurn.objects.count() == 1
    turn = BotTurn.objects.get()
    assert "\x00" not in turn.question
    if turn.mode == "handoff":
        assert "转人工" in html and 'name="phone"' in html  # the hand-over form is offered at once


def test_a_lost_conversation_starts_a_new_one_K4(client, kb):
    s = client.session
    s["kb_bot_session"] = "6f1c1a52-7a4e-4d5c-9d8e-000000000000"
    s.save()
    r = client.post("/portal/bot/ask/", {"question": "我的话费余额要怎么查"})
    assert r.status_code == 302
    assert client.session["kb_bot_session"] == str(BotSession.objects.get().pk)


def test_feedback_only_on_turns_of_the_own_conversation_K4(client, kb):
    client.post("/portal/bot/ask/", {"question": "我的话费余额要怎么查"})
    mine = BotTurn.objects.get()
    other = BotTurn.objects.create(session=BotSession.objects.create(id="6f1c1a52-7a4e-4d5c-9d8e-00000000000b"),
                                   question="别人的问题", mode="answer")
    r = client.post("/portal/bot/feedback/", {"turn_id": other.pk, "helpful": "0"})
    assert r.status_code == 404
    other.refresh_from_db()
    assert other.helpful is None
    assert client.post("/portal/bot/feedback/", {"turn_id": "x", "helpful": "1"}).status_code == 404
    r = client.post("/portal/bot/feedback/", {"turn_id": mine.pk, "helpful": "0"}, **HX)
    assert r.status_code == 200 and "可以换个说法" in r.content.decode()
    mine.refresh_from_db()
    assert mine.helpful is False


def test_asking_for_a_person_hands_over_with_a_work_order_number_K4(client, kb, customer):
    client.post("/portal/bot/ask/", {"question": "去国外手机还能用吗"})
    html = client.post("/portal/bot/person/", **HX).content.decode()
    assert 'name="phone"' in html and "转人工" in html
    # Bad phone: a clear message on the field, no order.
    r = client.post("/portal/bot/handoff/", {"phone": "12345", "name": ""})
    assert r.status_code == 422 and 'name="phone"' in r.content.decode()
    assert Ticket.objects.filter(channel="chat").count() == 0
    r = client.post("/portal/bot/handoff/", {"phone": "138-0013-8000"})
    assert r.status_code == 302
    ticket = Ticket.objects.get(channel="chat")
    assert ticket.customer == customer and "去国外手机还能用吗" in ticket.description
    html = client.get("/portal/bot/").content.decode()
    assert f'<strong class="kb-number" id="bot-ticket">{ticket.number}</strong>' in html
    assert 'id="bot-queued"' not in html  # an agent has it
    # Handing over again gives the same order.
    client.post("/portal/bot/handoff/", {"phone": "13800138000"})
    assert Ticket.objects.filter(channel="chat").count() == 1


def test_the_customer_is_told_when_nobody_is_free_K4(client, kb, customer):
    from kefu.accounts.models import Team
    from kefu.knowledge.models import HandoffRoute

    HandoffRoute.objects.create(match="", team=Team.objects.create(name="夜班"))
    client.post("/portal/bot/ask/", {"question": "去国外手机还能用吗"})
    assert client.post("/portal/bot/handoff/", {"phone": "138-0013-8000"}).status_code == 302
    html = client.get("/portal/bot/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="bot-ticket"' in html and "客服人员都在忙" in html


def test_a_new_customer_is_asked_for_a_name_K4(client, kb):
    client.post("/portal/bot/ask/", {"question": "明天北京会下雨吗？我要不要带伞"})
    r = client.post("/portal/bot/handoff/", {"phone": "13912345678", "name": ""}, **HX)
    assert r.status_code == 200 and "请告诉我们您的称呼" in r.content.decode()
    assert Ticket.objects.count() == 0
    client.post("/portal/bot/handoff/", {"phone": "13912345678", "name": "王五"})
    assert Ticket.objects.get(channel="chat").customer.name == "王五"


def test_a_person_without_a_conversation_first_says_what_they_need_K4(client, kb, customer):
    client.post("/portal/bot/person/")
    html = client.get("/portal/bot/").content.decode()
    assert 'name="question"' in html and "您需要办理什么" in html
    r = client.post("/portal/bot/handoff/", {"phone": "13800138000", "question": " "})
    assert r.status_code == 422 and "请简单说明" in r.content.decode()
    assert Ticket.objects.count() == 0
    client.post("/portal/bot/handoff/", {"phone": "13800138000", "question": "我要投诉营业厅"})
    ticket = Ticket.objects.get(channel="chat")
    assert "我要投诉营业厅" in ticket.description


def test_the_page_shares_the_api_rate_limit_K4(client, kb):
    cache.set("kefu:rl:bot:127.0.0.1", 120, 60)
    r = client.post("/portal/bot/ask/", {"question": "我的话费余额要怎么查"})
    assert r.status_code == 429 and "请求过于频繁" in r.content.decode()
    api = client.post("/api/v1/bot/ask", json.dumps({"question": "话费"}), content_type="application/json")
    assert api.status_code == 429
    assert BotTurn.objects.count() == 0


def test_new_conversation_forgets_the_session_K4(client, kb):
    client.post("/portal/bot/ask/", {"question": "我的话费余额要怎么查"})
    client.post("/portal/bot/new/")
    assert "kb_bot_session" not in client.session
    assert "CXHF" not in client.get("/portal/bot/").content.decode()


# --- agents' search (K5) --------------------------------------------------------------------------


def test_search_needs_a_login_and_is_in_the_menu_K5(client, centre, kb):
    r = client.get("/w/kb/?q=光猫")
    assert r.status_code == 302 and "/login/" in r["Location"]
    html = as_user(client, centre, "agent").get("/w/").content.decode()
    assert 'href="/w/kb/"' in html and "知识库" in html


def test_search_highlights_answers_and_finds_internal_items_K5(client, centre, kb):
    c = as_user(client, centre, "agent")
    html = c.get("/w/kb/", {"q": "光猫红灯"}).content.decode()
    assert items(html)[0] == "kb-bb"
    assert "<mark>光猫</mark>" in html and "复制答案" in html and "拨打10000报修" in html
    # Internal items are for agents (engine "all"), marked as such.
    html = c.get("/w/kb/", {"q": "动账短信收不到怎么处理"}).content.decode()
    assert 'data-item="kb-int-sms"' in html and "内部" in html
    # The category filter keeps a category and its children.
    html = c.get("/w/kb/", {"q": "光猫", "category": "话费"}).content.decode()
    assert 'data-item="kb-bb"' not in html
    assert '<option value="宽带" ' in html or '<option value="宽带">' in html


def test_search_bad_input_is_a_clear_message_K5(client, centre, kb):
    c = as_user(client, centre, "agent")
    r = c.get("/w/kb/", {"q": "网" * 201})
    assert r.status_code == 422 and "最多 200 个字" in r.content.decode()
    r = c.get("/w/kb/", {"q": "网" * 201}, **HX)
    assert r.status_code == 200 and 'id="kb-q-error"' in r.content.decode()
    for q in ("😀😀", "\x00", "？？？"):
        assert c.get("/w/kb/", {"q": q}).status_code == 200
    assert "输入客户的问题" in c.get("/w/kb/").content.decode()


def test_blank_search_through_the_api_is_empty_not_a_500_K5(api_for, kb):
    r = api_for("agent").get("/kb/search", q="   ")
    assert r.status_code == 200 and r.json()["items"] == []


# --- assist on the order page (K5) ----------------------------------------------------------------


def test_assist_panel_suggests_with_insert_buttons_like_the_api_K5(client, centre, kb, order, api_for):
    c = as_user(client, centre, "agent")
    detail = c.get(f"/w/t/{order.pk}/").content.decode()
    assert f'hx-get="/w/t/{order.pk}/kb/assist/"' in detail and "知识推荐" in detail
    html = c.get(f"/w/t/{order.pk}/kb/assist/", **HX).content.decode()
    assert 1 <= len(items(html)) <= 5 and items(html)[0] == "kb-bb"
    assert 'data-target="body-input"' in html and "插入回复" in html
    assert 'data-script="请先重启光猫和路由器；如光猫LOS灯红灯，请拨打10000报修。"' in html
    api = [h["external_id"] for h in api_for("agent").get(f"/tickets/{order.pk}/kb-suggestions").json()["items"]]
    assert items(html) == api  # the same selector behind both


def test_assist_and_flows_outside_the_scope_are_404_K5(client, centre, kb, order):
    c = as_user(client, centre, "other")  # another team's agent
    for url in (f"/w/t/{order.pk}/kb/assist/", f"/w/t/{order.pk}/kb/flow/", f"/w/t/{order.number}/kb/assist/"):
        r = c.get(url)
        assert r.status_code == 404 and "宽带上不了网" not in r.content.decode() and "光猫" not in r.content.decode()
    r = c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "sms-alerts-not-received"})
    assert r.status_code == 404 and FlowRun.objects.count() == 0


def test_read_only_roles_see_suggestions_without_insert_or_flow_buttons_K5(client, centre, kb, order):
    c = as_user(client, centre, "inspector")
    html = c.get(f"/w/t/{order.pk}/kb/assist/").content.decode()
    assert 'data-item="kb-bb"' in html and "插入回复" not in html
    assert "开始排障" not in c.get(f"/w/t/{order.pk}/kb/flow/").content.decode()


def test_detail_page_panels_add_no_queries(client, centre, kb, order, django_assert_max_num_queries):
    """The panels load after the page (their own small views), so the order page's query count does
    not depend on the knowledge base or on flow runs."""
    from kefu.knowledge import services

    c = as_user(client, centre, "agent")
    with django_assert_max_num_queries(40) as few:
        c.get(f"/w/t/{order.pk}/")
    for _ in range(3):
        services.flow_start(actor=centre["users"]["agent"], ticket_id=order.pk, flow_code="broadband-cannot-get-online")
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get(f"/w/t/{order.pk}/")


# --- troubleshooting flows inside the order (K3) --------------------------------------------------


def test_walk_the_sms_flow_to_a_fault_order_K3(client, centre, kb, order):
    c = as_user(client, centre, "agent")
    html = c.get(f"/w/t/{order.pk}/kb/flow/", **HX).content.decode()
    assert "短信提醒收不到" in html and "宽带无法上网" in html and "开始排障" in html
    html = c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "sms-alerts-not-received"}, **HX).content.decode()
    run = FlowRun.objects.get()
    assert "请问您是哪一种情况？" in html and "客户坚持说一直收不到" in html and 'data-step="which"' in html
    # “客户坚持说一直收不到” (option 5): the script to say is passed and shown, then the test question.
    html = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": "5"}, **HX).content.decode()
    assert "请对客户说" in html and "不要顺着客户思路" in html and 'data-step="insists-test"' in html
    assert "→ <span class=\"ans\">客户坚持说一直收不到</span>" in html
    # “仍收不到”: the end creates the fault order; the page reloads to show the timeline.
    r = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": "1"}, **HX)
    assert r.status_code == 204 and r["HX-Trigger"] == "kbFlowFinished"
    run.refresh_from_db()
    assert run.outcome == "create_order" and run.finished_at is not None
    new = Ticket.objects.exclude(pk=order.pk).get()
    assert new.type == "fault" and new.subject == "短信提醒收不到（已测试仍失败）"
    assert TicketLink.objects.filter(source=order, target=new).exists()
    note = TicketEvent.objects.filter(ticket=order, kind=EventKind.NOTE).get()
    assert "【短信提醒收不到】" in note.body and "客户坚持说一直收不到" in note.body and "仍收不到" in note.body
    page = c.get(f"/w/t/{order.pk}/").content.decode()
    assert "排障流程已完成" in page and "【短信提醒收不到】" in page
    html = c.get(f"/w/t/{order.pk}/kb/flow/").content.decode()
    assert f'id="flow-created">{new.number}</a>' in html and "已生成故障工单" in html


def test_flow_without_htmx_redirects_to_the_order(client, centre, kb, order):
    c = as_user(client, centre, "agent")
    r = c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "broadband-cannot-get-online"})
    assert r.status_code == 302 and r["Location"] == f"/w/t/{order.pk}/#kb-flow"
    run = FlowRun.objects.get()
    r = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": "0"})  # LOS 红灯
    assert r.status_code == 302
    run.refresh_from_db()
    assert run.current == "los-fiber" and run.finished_at is None


@pytest.mark.parametrize("option,message", [("abc", "请选择一个答案"), ("", "请选择一个答案"), ("99", "请从 7 个选项中选择")])
def test_bad_flow_answers_are_refused_and_change_nothing_K3(client, centre, kb, order, option, message):
    c = as_user(client, centre, "agent")
    c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "sms-alerts-not-received"})
    run = FlowRun.objects.get()
    r = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": option})
    assert r.status_code == 422 and message in r.content.decode()
    r = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": option}, **HX)
    assert r.status_code == 200 and message in r.content.decode()
    run.refresh_from_db()
    assert run.current == "which" and run.path == []


def test_unknown_flow_finished_run_and_foreign_run_K3(client, centre, kb, order, make_other_order):
    c = as_user(client, centre, "agent")
    r = c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "no-such-flow"})
    assert r.status_code == 422 and "未知的排障流程" in r.content.decode()
    assert FlowRun.objects.count() == 0
    c.post(f"/w/t/{order.pk}/kb/flow/start/", {"flow": "sms-alerts-not-received"})
    run = FlowRun.objects.get()
    c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": "6"})  # 签约网点调整 → ends at once
    run.refresh_from_db()
    assert run.outcome == "resolved"
    r = c.post(f"/w/t/{order.pk}/kb/flow/{run.pk}/answer/", {"option": "0"})
    assert r.status_code == 409 and "已结束" in r.content.decode()
    # A run is answered only through its own order: from another order (in scope) it is not found.
    other = make_other_order()
    assert c.post(f"/w/t/{other.pk}/kb/flow/{run.pk}/answer/", {"option": "0"}).status_code == 404
    assert c.post(f"/w/t/{order.pk}/kb/flow/999999/answer/", {"option": "0"}).status_code == 404


@pytest.fixture
def make_other_order(centre, customer):  # type: ignore[no-untyped-def]
    from kefu.tickets.services import ticket_create

    def make():  # type: ignore[no-untyped-def]
        return ticket_create(actor=centre["users"]["agent"], type="consultation", customer_id=customer.pk, subject="另一单")

    return make


# --- demo data ------------------------------------------------------------------------------------


def test_demo_knowledge_base_and_flows_are_loaded_K4(centre):
    from kefu.core.demo import load_knowledge
    from kefu.knowledge.bot import bot_rank
    from kefu.knowledge.models import Flow

    Flow.objects.all().delete()
    items, vectors = load_knowledge(centre["users"]["admin"], vectors=False)
    assert items == 312 and vectors == 0
    assert set(Flow.objects.values_list("code", flat=True)) == {"sms-alerts-not-received", "broadband-cannot-get-online"}
    # Published and searchable at once (lexical; the vectors come from `kefu kb vectors` here).
    first = bot_rank("怎么查询我现在用的是什么套餐？")[0]
    assert KnowledgeItem.objects.get(pk=first).external_id == "kb-0001"
    # Loading again changes nothing.
    assert load_knowledge(centre["users"]["admin"], vectors=False) == (312, 0)
    # Hand-over routes for the teams that exist (this centre has no 在线客服班 for the catch-all).
    from kefu.knowledge.models import HandoffRoute

    assert sorted(HandoffRoute.objects.values_list("match", "team__name", "ticket_type")) == [
        ("投诉", "热线一班", "complaint"), ("政企", "热线二班", "")]
    search.reset()


def test_search_filters_by_kind_audience_product_and_tag_K5(client, api_for, centre, kb):
    """Agents narrow a search by kind, audience, product and tag (page and API); the product and
    tag lists offer what the items carry; an unknown kind or audience is named in Chinese."""
    from kefu.knowledge.services import kb_import

    kb_import(actor=centre["users"]["supervisor"], lines=[json.dumps(
        {"id": "kb-script-bb", "question": "光猫红灯安抚话术", "answer": "您别着急，我马上为您登记报修。", "kind": "script",
         "category": "宽带/故障", "tags": ["安抚"], "products": ["融合宽带"], "audience": "internal"}, ensure_ascii=False)])
    c = as_user(client, centre, "agent")
    page = c.get("/w/kb/", {"q": "光猫红灯"}).content.decode()
    assert 'id="kb-kind"' in page and '<option value="融合宽带"' in page and '<option value="安抚"' in page
    assert "#安抚" in page and '<span class="badge">话术</span>' in page  # the hit shows its tag and kind
    for params in ({"kind": "script"}, {"product": "融合宽带"}, {"tag": "安抚"}, {"audience": "internal", "category": "宽带"}):
        assert items(c.get("/w/kb/", {"q": "光猫红灯", **params}).content.decode()) == ["kb-script-bb"], params
    assert "kb-script-bb" not in items(c.get("/w/kb/", {"q": "光猫红灯", "audience": "public"}).content.decode())
    api = api_for("agent")
    r = api.get("/kb/search", q="光猫红灯", kind="script")
    assert r.status_code == 200 and [h["external_id"] for h in r.json()["items"]] == ["kb-script-bb"]
    assert r.json()["items"][0]["products"] == ["融合宽带"]
    bad = api.get("/kb/search", q="光猫", kind="poem", audience="everyone")
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"kind", "audience"}
    assert "未知" in bad.json()["error"]["fields"]["kind"]
    r = c.get("/w/kb/", {"q": "光猫", "kind": "poem"})
    assert r.status_code == 422 and "未知" in r.content.decode()
