"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser). They walk the
main flow — log in, take a call, reply with a script, transfer, resolve, the customer confirms and
rates in the portal — plus output escaping and data scope. KEFU_SCREENSHOTS=1 refreshes
docs/screenshots/*.png."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls run in their own.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
PW = "x-Strong-pass-2026"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--lang=zh-CN"]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    pg = ctx.new_page()
    yield pg
    ctx.close()


def shot(page: Page, name: str, tmp_path: Path) -> None:
    target = SHOTS if os.environ.get("KEFU_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PW)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工单")).to_be_visible()


def test_call_reply_transfer_resolve_then_portal_confirm_and_rate(page, live_server, centre, customer, tmp_path):
    from kefu.portal.models import SatisfactionRating, SmsOutbox
    from kefu.tickets.models import Status, Ticket
    from kefu.tickets.services import ticket_create

    base = live_server.url
    # A few orders so the list and board have something to show.
    for subject, kind, prio in [("投诉上月话费多扣58元", "complaint", "normal"), ("小区手机信号差", "fault", "urgent")]:
        ticket_create(actor=centre["users"]["agent2"], type=kind, priority=prio, customer_id=customer.pk, subject=subject)
    shot_login = page.goto(f"{base}/login/")
    assert shot_login is not None
    shot(page, "01-login", tmp_path)
    log_in(page, base, "agent")

    # Take a call: the calling number finds the customer; the order is created prefilled.
    page.get_by_role("link", name="来电受理").click()
    page.get_by_label("来电号码").fill("+86 138-0013-8000")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("张三丰"))).to_be_visible()
    page.get_by_label("类型").select_option("fault")
    page.get_by_label("优先级").select_option("high")
    page.get_by_label("标题").fill("宽带无法上网，光猫LOS灯红灯闪烁")
    page.get_by_label("描述").fill("客户来电反映家中宽带从昨晚开始无法上网。")
    shot(page, "03-take-a-call", tmp_path)
    page.get_by_role("button", name="创建工单").click()
    expect(page.locator(".msg.success")).to_contain_text("您是首问责任人")
    ticket = Ticket.objects.get(subject="宽带无法上网，光猫LOS灯红灯闪烁")
    assert ticket.owner.username == "agent"

    # Reply with the greeting script (it carries the agent id), then transfer, then resolve.
    page.get_by_role("button", name="问候语").click()
    expect(page.get_by_label("内容")).to_have_value("您好，短信通，1001号客服为您服务！")
    page.get_by_label("内容").press("End")
    page.keyboard.type("已为您登记，师傅会尽快联系您。")
    page.get_by_role("button", name="发送回复给客户").click()
    expect(page.locator(".msg.success")).to_contain_text("回复已发送")
    expect(page.locator("#timeline")).to_contain_text("您好，短信通，1001号客服为您服务！已为您登记")

    page.get_by_role("button", name="转派").click()
    dlg = page.locator("#dlg-transfer")
    dlg.get_by_label("转派给").select_option("department:network")
    dlg.locator("#transfer-reason").fill("需要网络维护部上门检修")
    shot(page, "05-transfer-dialog", tmp_path)
    dlg.get_by_role("button", name="转派").click()
    expect(page.locator("#handled-by")).to_have_text("网络维护部")
    expect(page.locator("#ticket-status")).to_have_text("待部门处理")

    page.get_by_role("button", name="恢复处理").click()
    page.locator("#dlg-resume").get_by_role("button", name="恢复处理").click()
    page.get_by_role("button", name="解决").click()
    page.locator("#dlg-resolve").get_by_label("处理结果（客户可见）").fill("装维人员已上门更换光猫，宽带恢复正常。")
    page.locator("#dlg-resolve").get_by_role("button", name="解决").click()
    expect(page.locator("#ticket-status")).to_have_text("已解决")
    shot(page, "04-order-detail", tmp_path)

    page.goto(f"{base}/w/?tab=scope")
    expect(page.locator("#ticket-table")).to_contain_text("小区手机信号差")
    expect(page.locator(".sla").first).to_be_visible()
    shot(page, "02-workspace-list", tmp_path)

    # The customer, on a phone, tracks the order with a one-time code, confirms and rates it.
    phone_ctx = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    cp = phone_ctx.new_page()
    cp.goto(f"{base}/portal/track/")
    cp.get_by_label("工单号").fill(ticket.number)
    cp.get_by_label("工单登记的手机号").fill("13800138000")
    cp.get_by_role("button", name="发送验证码").click()
    expect(cp.locator(".msg.info")).to_contain_text("验证码已通过短信发送")
    code = re.search(r"验证码(\d{6})", SmsOutbox.objects.filter(body__contains="验证码").first().body).group(1)
    cp.get_by_label("验证码（6 位数字）").fill(code)
    cp.get_by_role("button", name="验证", exact=True).click()
    expect(cp.locator("#portal-status")).to_have_text("已解决")
    expect(cp.locator("body")).to_contain_text("装维人员已上门更换光猫")
    shot(cp, "07-portal-order-phone", tmp_path)
    cp.get_by_role("button", name="已解决，确认").click()
    expect(cp.locator("#portal-status")).to_have_text("已关闭")
    cp.get_by_text("5★").click()
    cp.get_by_label("评价（选填）").fill("师傅很专业")
    cp.get_by_role("button", name="提交评价").click()
    expect(cp.locator(".msg.success").first).to_contain_text("感谢")
    phone_ctx.close()
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and SatisfactionRating.objects.get(ticket=ticket).score == 5


def test_xss_description_is_text_and_scope_is_enforced(page, live_server, centre, customer, tmp_path):
    from kefu.tickets.services import ticket_create

    xss = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    mine = ticket_create(actor=centre["users"]["agent"], type="complaint", customer_id=customer.pk,
                         subject="XSS 测试", description=xss)
    theirs = ticket_create(actor=centre["users"]["other"], type="fault", customer_id=customer.pk,
                           subject="二班的机密工单")
    log_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/w/t/{mine.pk}/")
    expect(page.locator("#description")).to_have_text(xss)
    assert page.evaluate("window.__pwned") is None
    r = page.goto(f"{live_server.url}/w/t/{theirs.pk}/")
    assert r is not None and r.status == 404
    expect(page.get_by_role("heading", name="未找到")).to_be_visible()
    assert "二班的机密工单" not in page.content()


def test_portal_submit_on_a_phone_and_board(page, live_server, centre, customer, tmp_path):
    from kefu.tickets.models import Ticket

    ctx = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    cp = ctx.new_page()
    cp.goto(f"{live_server.url}/portal/")
    cp.get_by_label("您的姓名").fill("王五")
    cp.get_by_label("诉求类型").select_option("fault")
    cp.get_by_label("描述").fill("短")
    cp.get_by_label("联系电话").fill("13912345678")
    cp.get_by_role("button", name="提交").click()
    expect(cp.locator(".field-error")).to_contain_text("至少 5 个字")
    expect(cp.get_by_label("您的姓名")).to_have_value("王五")  # what was typed is kept
    cp.get_by_label("描述").fill("家里宽带从昨晚开始断网，光猫红灯一直闪。")
    shot(cp, "06-portal-submit-phone", tmp_path)
    cp.get_by_role("button", name="提交").click()
    number = Ticket.objects.get(channel="web").number
    expect(cp.locator("#order-number")).to_have_text(number)
    ctx.close()

    log_in(page, live_server.url, "lead")
    page.get_by_role("link", name="班组看板").click()
    expect(page.get_by_role("heading", name="坐席负载")).to_be_visible()
    shot(page, "08-team-board", tmp_path)
