"""Agent list and order detail: scope, masking, escaping, actions with reasons, stale edits, double
submits, attachments, reveal, and query counts that do not grow with the rows shown."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from kefu.audit.models import AuditRecord
from kefu.tickets.models import Attachment, Status, Ticket, TicketEvent
from kefu.web.models import SavedView

XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def token(html: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)


def test_list_tabs_masking_and_sla(web_client, make_ticket, centre):
    mine = make_ticket()
    make_ticket(actor="agent2", subject="同班组的工单")
    c = web_client("agent")
    html = c.get("/w/").content.decode()
    assert mine.number in html and "同班组的工单" not in html
    assert "张**" in html and "张三丰" not in html  # masked customer name (X1)
    assert 'x-data="sla(' in html and "sla-ok" in html
    html = c.get("/w/?tab=scope").content.decode()
    assert "同班组的工单" in html
    html = c.get("/w/?tab=scope&type=complaint").content.decode()
    assert mine.number not in html and "没有符合条件的工单" in html


def test_list_filters_sort_and_htmx_partial(web_client, make_ticket):
    make_ticket(subject="宽带断网")
    make_ticket(subject="话费投诉", type="complaint", priority="normal")
    c = web_client("agent")
    html = c.get("/w/?tab=scope&sort=due&priority=normal").content.decode()
    assert "话费投诉" in html and "宽带断网" not in html
    r = c.get("/w/?tab=scope&q=宽带", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "宽带断网" in r.content.decode()


def test_list_query_count_does_not_grow(web_client, make_ticket, django_assert_max_num_queries):
    c = web_client("agent")
    make_ticket()
    with django_assert_max_num_queries(12) as few:
        c.get("/w/?tab=scope")
    for i in range(25):
        make_ticket(subject=f"工单{i}")
    with django_assert_max_num_queries(len(few.captured_queries)) :
        html = c.get("/w/?tab=scope").content.decode()
    assert html.count('href="/w/t/') == 26


def test_saved_view(web_client, centre):
    c = web_client("agent")
    r = c.post("/w/views/", {"name": "我的紧急故障", "query": "tab=mine&priority=urgent&type=fault"})
    assert r.status_code == 302
    assert SavedView.objects.get(user=centre["users"]["agent"]).query == "tab=mine&priority=urgent&type=fault"
    html = c.get("/w/").content.decode()
    assert "我的紧急故障" in html and "?tab=mine&amp;priority=urgent&amp;type=fault" in html
    r = c.post("/w/views/", {"name": "", "query": "x"}, follow=True)
    assert "此字段为必填项" in r.content.decode()


def test_xss_description_is_text(web_client, make_ticket):
    t = make_ticket(subject=XSS, description=XSS)
    c = web_client("agent")
    for url in [f"/w/t/{t.pk}/", "/w/"]:
        html = c.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_detail_outside_scope_is_404(web_client, make_ticket):
    t = make_ticket(actor="other")  # another team's order
    c = web_client("agent")
    for url in [f"/w/t/{t.pk}/", f"/w/t/{t.number}/", f"/w/t/999999/"]:
        r = c.get(url)
        assert r.status_code == 404
        assert t.subject not in r.content.decode() and "张三丰" not in r.content.decode()
    r = c.post(f"/w/t/{t.pk}/do/reply/", {"body": "x", "version": t.version})
    assert r.status_code == 404
    assert not TicketEvent.objects.filter(ticket=t, kind="reply").exists()


def test_detail_shows_scripts_with_agent_id_and_customer_360(web_client, make_ticket):
    t = make_ticket()
    html = web_client("agent").get(f"/w/t/{t.pk}/").content.decode()
    assert "您好，短信通，1001号客服为您服务！" in html
    assert "感谢来电，1001号客服再会！" in html
    assert "很抱歉给您带来不便" in html and "请稍等" in html
    assert "138****8000" in html and "13800138000" not in html
    assert "5G畅享129元套餐" in html and "300M宽带" in html


def test_detail_query_count_does_not_grow(web_client, make_ticket, django_assert_max_num_queries):
    from kefu.tickets.services import ticket_note

    t = make_ticket()
    c = web_client("agent")
    with django_assert_max_num_queries(40) as few:
        c.get(f"/w/t/{t.pk}/")
    agent = t.owner
    for i in range(20):
        ticket_note(actor=agent, ticket_id=t.pk, body=f"备注{i}")
        make_ticket(subject=f"旧工单{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = c.get(f"/w/t/{t.pk}/").content.decode()
    assert html.count('class="ev ev-note') == 20


def test_reply_with_script_and_transfer_resolve(web_client, make_ticket, centre):
    t = make_ticket()
    c = web_client("agent")
    html = c.get(f"/w/t/{t.pk}/").content.decode()
    r = c.post(f"/w/t/{t.pk}/do/reply/", {"body": "您好，短信通，1001号客服为您服务！已为您登记。",
                                         "version": t.version, "form_token": token(html)})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == Status.IN_PROGRESS
    html = c.get(f"/w/t/{t.pk}/").content.decode()
    assert "回复已发送" in html and "1001号客服为您服务" in html
    r = c.post(f"/w/t/{t.pk}/do/transfer/", {"target": "department:network", "reason": "需要上门检修",
                                            "version": t.version, "form_token": token(html)})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == Status.PENDING_DEPARTMENT and t.assignee_department.code == "network" and t.owner.agent_id == "1001"
    html = c.get(f"/w/t/{t.pk}/").content.decode()
    assert "转派至 网络维护部" in html
    r = c.post(f"/w/t/{t.pk}/do/resolve/", {"resolution": "已更换光猫", "version": t.version, "form_token": token(html)})
    t.refresh_from_db()
    assert r.status_code == 302 and t.status == Status.RESOLVED


def test_empty_reason_keeps_dialog_and_nothing_saved(web_client, make_ticket):
    t = make_ticket()
    c = web_client("agent")
    html = c.get(f"/w/t/{t.pk}/").content.decode()
    r = c.post(f"/w/t/{t.pk}/do/escalate/", {"reason": "   ", "version": t.version, "form_token": token(html)})
    assert r.status_code == 422
    html = r.content.decode()
    assert "此字段为必填项" in html and 'id="dlg-escalate"' in html and "data-open" in html
    t.refresh_from_db()
    assert t.escalation_level == 0
    # The same form token works again after a refusal (nothing was used up).
    r = c.post(f"/w/t/{t.pk}/do/escalate/", {"reason": "客户第三次来电", "version": t.version, "form_token": token(html)})
    assert r.status_code == 302


def test_over_long_reply_keeps_text(web_client, make_ticket):
    t = make_ticket()
    c = web_client("agent")
    long = "很" * 10001
    r = c.post(f"/w/t/{t.pk}/do/reply/", {"body": long, "version": t.version, "form_token": "a1"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "最多 10000 个字符" in html and long in html
    assert not TicketEvent.objects.filter(ticket=t, kind="reply").exists()


def test_stale_edit_says_changed_by_someone_else_and_keeps_text(web_client, make_ticket, centre):
    from kefu.tickets.services import ticket_note

    t = make_ticket()
    old_version = t.version
    ticket_note(actor=centre["users"]["agent2"], ticket_id=t.pk, body="同事先改了")
    c = web_client("agent")
    r = c.post(f"/w/t/{t.pk}/do/reply/", {"body": "我的回复草稿", "version": old_version, "form_token": "b1"})
    assert r.status_code == 409
    html = r.content.decode()
    assert "已被他人修改" in html and "我的回复草稿" in html and "同事先改了" in html
    assert not TicketEvent.objects.filter(ticket=t, kind="reply").exists()


def test_double_submit_is_done_once(web_client, make_ticket):
    t = make_ticket()
    c = web_client("agent")
    data = {"body": "只记一次", "form_token": "c" * 32}
    assert c.post(f"/w/t/{t.pk}/do/note/", data).status_code == 302
    r = c.post(f"/w/t/{t.pk}/do/note/", data)
    assert r.status_code == 409 and "已经提交过" in r.content.decode()
    assert TicketEvent.objects.filter(ticket=t, kind="note").count() == 1


def test_transition_not_allowed_message(web_client, make_ticket):
    t = make_ticket()
    r = web_client("agent").post(f"/w/t/{t.pk}/do/reopen/", {"reason": "x", "version": t.version})
    assert r.status_code == 409
    assert "不能从" in r.content.decode()


def test_attachment_ok_wrong_type_and_too_big(web_client, make_ticket, settings):
    t = make_ticket()
    c = web_client("agent")
    ok = SimpleUploadedFile("光猫.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")
    assert c.post(f"/w/t/{t.pk}/attach/", {"file": ok, "form_token": "d1"}).status_code == 302
    att = Attachment.objects.get(ticket=t)
    r = c.get(f"/w/t/{t.pk}/files/{att.pk}/")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    bad = SimpleUploadedFile("run.exe", b"MZ....", content_type="application/x-msdownload")
    r = c.post(f"/w/t/{t.pk}/attach/", {"file": bad, "form_token": "d2"})
    assert r.status_code == 422 and "不接受此文件类型" in r.content.decode()
    settings.KEFU_ATTACHMENT_MAX_BYTES = 50
    big = SimpleUploadedFile("big.txt", b"x" * 51, content_type="text/plain")
    r = c.post(f"/w/t/{t.pk}/attach/", {"file": big, "form_token": "d3"})
    assert r.status_code == 422 and "文件超过" in r.content.decode()
    r = c.post(f"/w/t/{t.pk}/attach/", {"form_token": "d4"})
    assert r.status_code == 422 and "请选择文件" in r.content.decode()
    assert Attachment.objects.filter(ticket=t).count() == 1


def test_reveal_with_reason_is_audited(web_client, make_ticket):
    t = make_ticket()
    c = web_client("agent")
    r = c.post(f"/w/t/{t.pk}/reveal/", {"field": "phones", "reason": ""})
    assert r.status_code == 422 and "说明" in r.content.decode()
    assert not AuditRecord.objects.filter(action="customer.reveal").exists()
    r = c.post(f"/w/t/{t.pk}/reveal/", {"field": "phones", "reason": "客户要求核对回拨号码"})
    assert r.status_code == 200 and "<mark>13800138000</mark>" in r.content.decode()
    rec = AuditRecord.objects.get(action="customer.reveal")
    assert rec.reason == "客户要求核对回拨号码" and rec.actor.username == "agent"
    # Masked again on the next page.
    assert "13800138000" not in c.get(f"/w/t/{t.pk}/").content.decode()


def test_read_only_roles_see_no_actions(web_client, make_ticket):
    t = make_ticket()
    html = web_client("auditor").get(f"/w/t/{t.pk}/").content.decode()
    assert "data-dialog=" not in html and 'id="body-input"' not in html
    r = web_client("auditor").post(f"/w/t/{t.pk}/do/note/", {"body": "x"})
    assert r.status_code == 403
