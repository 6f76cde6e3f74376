"""Taking a call (W2, W4) and the team board with bulk reassign."""

from __future__ import annotations

import re

from kefu.customers.models import Customer
from kefu.tickets.models import Ticket


def token(html: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)


def test_lookup_finds_customer_and_prefills(web_client, customer):
    c = web_client("agent")
    html = c.get("/w/call/", {"phone": "+86 138-0013-8000"}).content.decode()
    assert "张三丰" in html and "5G畅享129元套餐" in html and "138****8000" in html
    assert f'name="customer_id" value="{customer.pk}"' in html
    # The service matching the calling number is preselected.
    svc = customer.services.get(identifier="13800138000")
    assert f'<option value="{svc.pk}" selected>' in html


def test_create_order_taker_is_owner(web_client, customer, centre, django_assert_max_num_queries):
    c = web_client("agent")
    html = c.get("/w/call/", {"phone": "13800138000"}).content.decode()
    r = c.post("/w/call/", {"phone": "13800138000", "customer_id": customer.pk, "type": "fault", "priority": "high",
                            "subject": "宽带断网", "description": "光猫红灯", "form_token": token(html)})
    assert r.status_code == 302
    t = Ticket.objects.get()
    assert r["Location"] == f"/w/t/{t.pk}/"
    assert t.owner == centre["users"]["agent"] and t.assignee == centre["users"]["agent"]
    assert t.channel == "phone" and t.contact_phone == "13800138000" and t.customer == customer
    with django_assert_max_num_queries(30):
        c.get("/w/call/", {"phone": "13800138000"})


def test_new_caller_creates_customer_and_order(web_client, centre):
    c = web_client("agent")
    html = c.get("/w/call/", {"phone": "13912345678"}).content.decode()
    assert "新来电客户" in html
    r = c.post("/w/call/", {"phone": "13912345678", "new_customer_name": "李四", "type": "consultation",
                            "priority": "normal", "subject": "咨询套餐", "form_token": token(html)})
    assert r.status_code == 302
    t = Ticket.objects.get()
    assert t.customer.name == "李四" and t.customer.phones.get().number == "13912345678"


def test_bad_input_keeps_typed_and_saves_nothing(web_client, centre):
    c = web_client("agent")
    r = c.get("/w/call/", {"phone": "1380013800"})
    assert r.status_code == 422 and "不是有效的中国电话号码" in r.content.decode()
    r = c.post("/w/call/", {"phone": "13912345678", "new_customer_name": "李四", "type": "fault",
                            "priority": "normal", "subject": "", "description": "我打的描述", "form_token": "t1"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "此字段为必填项" in html and "我打的描述" in html and 'value="李四"' in html
    assert not Customer.objects.exists() and not Ticket.objects.exists()
    r = c.post("/w/call/", {"phone": "13912345678", "new_customer_name": "李四", "type": "fault",
                            "priority": "normal", "subject": "长" * 201, "form_token": "t2"})
    assert r.status_code == 422 and "最多 200 个字符" in r.content.decode()
    assert not Customer.objects.exists() and not Ticket.objects.exists()


def test_double_submit_creates_one_order(web_client, customer):
    c = web_client("agent")
    data = {"phone": "13800138000", "customer_id": customer.pk, "type": "fault", "priority": "high",
            "subject": "宽带断网", "form_token": "e" * 32}
    assert c.post("/w/call/", data).status_code == 302
    r = c.post("/w/call/", data)
    assert r.status_code == 409 and "已经提交过" in r.content.decode()
    assert Ticket.objects.count() == 1


def test_board_load_and_bulk_reassign(web_client, make_ticket, centre, django_assert_max_num_queries):
    t1 = make_ticket()
    t2 = make_ticket()
    Ticket.objects.filter(pk=t1.pk).update(sla_breach_at="2020-01-01T00:00:00Z")
    c = web_client("lead")
    with django_assert_max_num_queries(20):
        html = c.get("/w/board/").content.decode()
    assert "agent(1001)" in html and t1.number in html
    r = c.post("/w/board/reassign/", {"ids": [t1.pk, t2.pk], "agent": "1002", "reason": "均衡负载"}, follow=True)
    assert "已改派 2 张工单" in r.content.decode()
    for t in (t1, t2):
        t.refresh_from_db()
        assert t.assignee.agent_id == "1002" and t.owner.agent_id == "1001"
    r = c.post("/w/board/reassign/", {"ids": [t1.pk], "agent": "", "reason": ""}, follow=True)
    assert "请选择工单" in r.content.decode()


def test_board_forbidden_for_agents(web_client):
    assert web_client("agent").get("/w/board/").status_code == 403
    assert web_client("agent").post("/w/board/reassign/", {"ids": ["1"], "agent": "1002", "reason": "x"}).status_code == 403


def test_board_shows_the_team_queue_and_the_lead_dispatches_it_W2_K4(web_client, make_ticket, centre):
    from kefu.tickets.services import ticket_queue

    waiting = make_ticket()
    ticket_queue(actor=centre["users"]["agent"], ticket_id=waiting.pk, team_id=centre["teams"][0].pk, reason="无人值守")
    c = web_client("lead")
    html = c.get("/w/board/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    queue = html.split('id="board-queue"')[1].split("</section>")[0]
    assert "待认领（1）" in queue and waiting.number in queue
    r = c.post("/w/board/reassign/", {"ids": [waiting.pk], "agent": "1002", "reason": "派单"}, follow=True)
    assert "已改派 1 张工单" in r.content.decode()
    waiting.refresh_from_db()
    assert waiting.assignee.agent_id == "1002"
    html = c.get("/w/board/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "待认领（0）" in html.split('id="board-queue"')[1].split("</section>")[0]
