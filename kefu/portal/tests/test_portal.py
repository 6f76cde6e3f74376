"""Customer portal: submit, one-time code, track, confirm/reopen, rate; bad input and abuse."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kefu.audit.models import AuditRecord
from kefu.portal.models import OneTimeCode, SatisfactionRating, SmsOutbox
from kefu.tickets.models import Attachment, Status, Ticket

FORM = {"name": "王五", "type": "fault", "description": "家里宽带从昨晚开始断网，光猫红灯。", "contact_phone": "139 1234 5678"}


def code_from_outbox() -> str:
    return re.search(r"验证码(\d{6})", SmsOutbox.objects.filter(body__contains="验证码").first().body).group(1)


def test_submit_gives_number_with_attachment(client, centre):
    f = SimpleUploadedFile("光猫.jpg", b"\xff\xd8\xff" + b"0" * 50, content_type="image/jpeg")
    r = client.post("/portal/", {**FORM, "attachment": f, "form_token": "p1"})
    assert r.status_code == 302
    t = Ticket.objects.get()
    html = client.get(r["Location"]).content.decode()
    assert t.number in html
    assert t.channel == "web" and t.contact_phone == "13912345678" and t.customer.name == "王五"
    assert t.owner.username == "portal" and t.team == centre["teams"][0]
    assert Attachment.objects.get(ticket=t).name == "光猫.jpg"
    assert SmsOutbox.objects.get(to="13912345678").body.startswith("【kefu】您的工单" + t.number)


def test_submit_existing_customer_by_phone(client, customer):
    client.post("/portal/", {**FORM, "contact_phone": "13800138000", "form_token": "p2"})
    assert Ticket.objects.get().customer == customer


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "此字段为必填项"),
        ({"description": "断"}, "至少 5 个字"),
        ({"description": "长" * 2001}, "最多 2000 个字符"),
        ({"contact_phone": "12"}, "不是有效的中国电话号码"),
        ({"type": "hack"}, "请选择请求类型"),
    ],
)
def test_submit_bad_input_keeps_typed(client, centre, change, message):
    r = client.post("/portal/", {**FORM, **change, "form_token": "p3"})
    assert r.status_code == 422
    html = r.content.decode()
    assert message in html
    if "description" not in change:
        assert FORM["description"] in html
    assert not Ticket.objects.exists()


def test_submit_wrong_file_type_and_size(client, centre, settings):
    bad = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/x-msdownload")
    r = client.post("/portal/", {**FORM, "attachment": bad, "form_token": "p4"})
    assert r.status_code == 422 and "不接受此文件类型" in r.content.decode()
    settings.KEFU_ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("a.txt", b"x" * 11, content_type="text/plain")
    r = client.post("/portal/", {**FORM, "attachment": big, "form_token": "p5"})
    assert r.status_code == 422 and "文件超过" in r.content.decode()
    assert not Ticket.objects.exists() and not SmsOutbox.objects.exists()


def test_submit_double_and_rate_limit(client, centre, settings):
    assert client.post("/portal/", {**FORM, "form_token": "same"}).status_code == 302
    r = client.post("/portal/", {**FORM, "form_token": "same"})
    assert r.status_code == 409 and Ticket.objects.count() == 1
    settings.KEFU_PORTAL_SUBMITS_PER_HOUR = 3
    statuses = [client.post("/portal/", {**FORM, "form_token": f"n{i}"}).status_code for i in range(3)]
    assert statuses[-1] == 429 and Ticket.objects.count() == 2


@pytest.fixture
def resolved(make_ticket, centre):  # type: ignore[no-untyped-def]
    from kefu.tickets.services import ticket_reply, ticket_resolve

    t = make_ticket()
    ticket_reply(actor=centre["users"]["agent"], ticket_id=t.pk, body="您好，已安排师傅上门。")
    ticket_resolve(actor=centre["users"]["agent"], ticket_id=t.pk, resolution="已更换光猫，恢复上网。")
    return Ticket.objects.get(pk=t.pk)


def _verify(client, t) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/portal/track/", {"number": t.number, "phone": "13800138000", "step": "send"})
    assert r.status_code == 200 and "验证码" in r.content.decode()
    r = client.post("/portal/track/", {"number": t.number, "phone": "13800138000", "step": "verify", "code": code_from_outbox()})
    assert r.status_code == 302 and r["Location"] == "/portal/order/"


def test_code_is_hashed_and_unknown_order_looks_the_same(client, resolved):
    r1 = client.post("/portal/track/", {"number": "GD000", "phone": "13800138000", "step": "send"})
    r2 = client.post("/portal/track/", {"number": resolved.number, "phone": "13900000000", "step": "send"})
    r3 = client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "send"})
    assert r1.status_code == r2.status_code == r3.status_code == 200
    assert "如果工单号和手机号匹配" in r1.content.decode()
    assert SmsOutbox.objects.filter(body__contains="验证码").count() == 1
    row = OneTimeCode.objects.get()
    assert row.code_hash != code_from_outbox() and len(row.code_hash) == 64


def test_track_confirm_and_rate(client, resolved):
    _verify(client, resolved)
    html = client.get("/portal/order/").content.decode()
    assert "已解决" in html and "已更换光猫，恢复上网。" in html and "您好，已安排师傅上门。" in html
    assert "光猫LOS灯红灯闪烁" in html
    tok = re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)
    r = client.post("/portal/order/confirm/", {"version": resolved.version, "form_token": tok})
    assert r.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Status.CLOSED and resolved.confirmed_at is not None
    html = client.get("/portal/order/").content.decode()
    assert "已关闭" in html
    r = client.post("/portal/order/rate/", {"score": "9", "form_token": "r1"})
    assert r.status_code == 422 and "请选择 1 到 5 星" in r.content.decode()
    r = client.post("/portal/order/rate/", {"score": "5", "comment": "师傅很专业", "form_token": "r2"})
    assert r.status_code == 302
    assert SatisfactionRating.objects.get(ticket=resolved).score == 5
    r = client.post("/portal/order/rate/", {"score": "1", "form_token": "r3"})
    assert r.status_code == 409 and SatisfactionRating.objects.get().score == 5
    assert AuditRecord.objects.filter(action="portal.rate").count() == 1


def test_reopen_needs_reason(client, resolved):
    _verify(client, resolved)
    r = client.post("/portal/order/reopen/", {"reason": "", "version": resolved.version, "form_token": "o1"})
    assert r.status_code == 422 and "还有什么问题" in r.content.decode()
    r = client.post("/portal/order/reopen/", {"reason": "晚上还是断网", "version": resolved.version, "form_token": "o2"})
    assert r.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Status.IN_PROGRESS and resolved.reopen_count == 1


def test_wrong_code_counts_tries(client, resolved, settings):
    client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "send"})
    good = code_from_outbox()
    wrong = "000000" if good != "000000" else "111111"
    for left in range(settings.KEFU_PORTAL_CODE_ATTEMPTS - 1, -1, -1):
        r = client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "verify", "code": wrong})
        assert r.status_code == 422 and f"还可以尝试 {left} 次" in r.content.decode()
        assert f'value="{resolved.number}"' in r.content.decode()
    r = client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "verify", "code": good})
    assert r.status_code == 422 and "错误次数过多" in r.content.decode()
    assert client.get("/portal/order/").status_code == 302


def test_expired_and_malformed_code(client, resolved):
    client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "send"})
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "verify", "code": code_from_outbox()})
    assert r.status_code == 422 and "验证码已过期" in r.content.decode()
    r = client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "verify", "code": "12ab"})
    assert r.status_code == 422 and "6 位数字" in r.content.decode()


def test_code_requests_rate_limited(client, resolved, settings):
    settings.KEFU_PORTAL_CODES_PER_HOUR = 2
    codes = [client.post("/portal/track/", {"number": resolved.number, "phone": "13800138000", "step": "send"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


def test_portal_order_requires_verification(client, resolved):
    assert client.get("/portal/order/")["Location"] == "/portal/track/"
    assert client.post("/portal/order/confirm/", {"form_token": "z"})["Location"] == "/portal/track/"
    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED


def test_portal_escapes_description(client, centre):
    xss = '<script>alert(1)</script><img src=x onerror=alert(2)> 宽带断网'
    client.post("/portal/", {**FORM, "description": xss, "form_token": "x1"})
    t = Ticket.objects.get()
    client.post("/portal/track/", {"number": t.number, "phone": "13912345678", "step": "send"})
    client.post("/portal/track/", {"number": t.number, "phone": "13912345678", "step": "verify", "code": code_from_outbox()})
    html = client.get("/portal/order/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
