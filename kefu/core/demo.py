"""Demo data: a believable telecom contact centre, built through the real services so that every
order has its timeline, audit trail and time promises. Deterministic for a given seed."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from kefu.accounts.models import Department, Level, Role, Team, User
from kefu.customers.models import Customer
from kefu.customers.services import customer_create
from kefu.tickets import services as ts
from kefu.tickets.models import Category, Ticket, TicketEvent

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉宇浩凯健俊帆帅旭宁婷雪琳晨欣怡佳"
REGIONS = [
    ("广东", ["广州", "深圳", "佛山", "东莞", "珠海"]), ("浙江", ["杭州", "宁波", "温州", "绍兴"]),
    ("江苏", ["南京", "苏州", "无锡", "常州"]), ("北京", ["北京"]), ("上海", ["上海"]),
    ("四川", ["成都", "绵阳", "德阳"]), ("湖北", ["武汉", "宜昌", "襄阳"]), ("福建", ["福州", "厦门", "泉州"]),
    ("山东", ["济南", "青岛", "烟台"]), ("河南", ["郑州", "洛阳"]),
]
STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "文化路", "新华路", "科技园路", "滨江大道", "长安街"]
MOBILE_PLANS = ["5G畅享129元套餐", "5G畅享199元套餐", "4G畅聊59元套餐", "大王卡19元套餐", "融合套餐169元", "亲情副卡10元"]
BROADBAND_PLANS = ["千兆宽带融合套餐", "500M宽带", "300M宽带", "200M宽带（包年）"]
TAGS = ["老年用户", "政企客户", "校园用户", "融合套餐", "高价值", "易投诉", "携号转入"]
SPECIAL_NOTES = ["老年用户，耳背，请放慢语速", "重复投诉客户，处理前请先联系班长", "媒体从业人员，谨慎答复", "残障用户，优先上门"]

# (type, category code, priority, subject, description)
SCENARIOS: list[tuple[str, str, str, str, str]] = [
    ("fault", "fault-broadband-down", "high", "宽带无法上网，光猫LOS灯红灯闪烁", "客户来电反映家中宽带从昨晚开始无法上网，光猫LOS灯红灯闪烁，已重启光猫无效，要求尽快上门维修。"),
    ("fault", "fault-broadband-slow", "normal", "宽带晚上网速很慢", "客户反映每天晚上8点到11点宽带网速只有几兆，看视频卡顿，测速结果远低于签约的300M。"),
    ("fault", "fault-no-signal", "high", "小区手机信号差，室内无信号", "客户反映所在小区近一周室内手机信号很差，经常无服务，打电话断断续续。"),
    ("fault", "fault-sms", "normal", "手机收不到短信验证码", "客户反映手机收不到银行和网站的短信验证码，但可以正常打电话，已确认短信中心号码未修改。"),
    ("fault", "fault-iptv", "low", "IPTV机顶盒无法开机", "客户反映IPTV机顶盒开机后一直停留在启动界面，无法观看电视节目。"),
    ("fault", "fault-enterprise-line", "urgent", "企业专线中断，业务系统无法访问", "政企客户反映专线自上午9点起中断，门店收银系统无法联网，影响营业，要求紧急处理。"),
    ("fault", "fault-no-call", "normal", "手机无法拨打电话，提示呼叫受限", "客户反映拨打电话时提示呼叫受限，账户余额充足，未欠费。"),
    ("complaint", "complaint-charges", "normal", "投诉上月话费多扣58元", "客户投诉上月账单中出现未订购的增值业务费用58元，要求查明原因并退还费用。"),
    ("complaint", "complaint-attitude", "high", "投诉营业厅工作人员服务态度差", "客户投诉在营业厅办理补卡业务时工作人员态度冷淡、不耐烦，要求道歉。"),
    ("complaint", "complaint-network", "normal", "投诉家中宽带频繁掉线多次报修未解决", "客户投诉宽带一个月内掉线多次，已报修三次仍未彻底解决，表示若再不解决将向工信部投诉。"),
    ("complaint", "complaint-installation", "normal", "投诉装维人员未按预约时间上门", "客户预约周六上午安装宽带，装维人员未按时上门且未提前告知，客户等待半天。"),
    ("complaint", "complaint-marketing", "low", "投诉频繁收到营销电话", "客户已申请免打扰，但仍频繁接到套餐升级的营销电话，要求停止骚扰。"),
    ("consultation", "consultation-plans", "normal", "咨询5G套餐资费和合约期", "客户咨询目前适合的5G套餐，每月流量需求约40G，通话300分钟左右，想了解合约期和违约金规定。"),
    ("consultation", "consultation-roaming", "normal", "咨询出国漫游流量包如何办理", "客户下周去日本出差一周，咨询国际漫游流量包的价格和开通方式。"),
    ("consultation", "consultation-billing", "low", "咨询账单中的通信费明细", "客户看不懂本月账单中的通信费明细，希望了解各项费用的含义。"),
    ("consultation", "consultation-mnp", "normal", "咨询携号转网条件", "客户咨询携号转网需要满足什么条件，是否需要先解除合约。"),
    ("consultation", "consultation-data", "normal", "咨询流量用完后如何计费", "客户咨询套餐内流量用完后是否会自动叠加流量包，费用如何计算。"),
    ("business", "business-relocation", "normal", "申请宽带移机到新住址", "客户搬家，申请将宽带从原住址移机到新住址，希望本周末上门办理。"),
    ("business", "business-plan-change", "normal", "申请变更为199元5G套餐", "客户申请下月起将套餐变更为5G畅享199元套餐，已核实身份。"),
    ("business", "business-suspend", "high", "手机丢失申请紧急停机", "客户手机丢失，申请立即办理挂失停机，已通过服务密码验证身份。"),
    ("business", "business-new", "normal", "申请新装千兆宽带", "客户申请在新房新装千兆宽带，需要预约装维人员上门勘查。"),
    ("suggestion", "suggestion-service", "low", "建议营业厅延长周末营业时间", "客户建议营业厅周末延长营业时间到晚上8点，方便上班族办理业务。"),
    ("suggestion", "suggestion-product", "low", "建议推出老年人专属套餐", "客户建议推出流量少、通话多、资费低的老年人专属套餐。"),
    ("refund", "refund-overcharge", "normal", "申请退还重复扣除的宽带费", "客户反映本月宽带费被重复扣除两次，申请退还多扣的费用。"),
    ("refund", "refund-unsubscribe", "normal", "申请退还误订彩铃业务费用", "客户表示从未主动订购彩铃业务，要求退订并退还已扣的三个月费用。"),
]

REPLIES = [
    "您好，您反映的问题我们已经受理，工作人员会尽快为您处理，请您保持电话畅通。",
    "非常抱歉给您带来不便，我们已安排相关部门核查，预计今天内给您回复。",
    "您好，经核实，问题原因已查明，我们会尽快为您处理。",
]
RESOLUTIONS = [
    "装维人员已上门更换光猫，经测试宽带恢复正常，客户确认可以正常上网。",
    "经核查确系系统误扣，已为客户退还相应费用，预计3个工作日内到账。",
    "已为客户详细解释相关资费规定，客户表示理解。",
    "已完成业务办理，并短信告知客户办理结果。",
    "基站设备故障已修复，该区域信号恢复正常。",
]


@dataclass
class DemoResult:
    users: int
    customers: int
    tickets: int
    password: str
    knowledge: int = 0
    vectors: int = 0


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "135", "150", "186", "177", "189", "133", "199", "158"]) + f"{rng.randrange(10**8):08d}"


def _id_number(rng: random.Random) -> str:
    return f"{rng.choice(['440106', '330102', '110101', '510104', '420102'])}{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randrange(1000):03d}{rng.choice('0123456789X')}"


def _users(password: str) -> dict[str, Any]:
    depts = {}
    for code, name in [
        ("network", "网络维护部"), ("billing", "计费部"), ("installation", "装维部"),
        ("complaints", "投诉处理中心"), ("enterprise", "政企客户部"), ("tech", "技术支持部"),
    ]:
        depts[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
    teams = [Team.objects.get_or_create(name=n)[0] for n in ("热线一班", "热线二班", "在线客服班")]

    def mk(username: str, role: str, display: str, agent_id: str | None, **extra: Any) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"role": role, "display_name": display, "agent_id": agent_id, **extra},
        )
        if created:
            user.set_password(password)
            user.save()
        return user

    admin = mk("admin", Role.ADMIN, "系统管理员", None, is_staff=True, is_superuser=True)
    supervisor = mk("zhuguan", Role.SUPERVISOR, "周主管", "9001", level=Level.MANAGEMENT, is_staff=True)
    mk("zhijian", Role.INSPECTOR, "吴质检", "9101", level=Level.SENIOR)
    mk("shenji", Role.AUDITOR, "郑审计", "9201")
    agents: list[User] = []
    names = ["李静", "王磊", "张敏", "刘洋", "陈婷", "杨帆", "黄丽", "赵强", "吴娟", "孙浩", "徐佳", "马超"]
    for i, team in enumerate(teams):
        lead = mk(f"banzhang{i + 1}", Role.TEAM_LEAD, ["何班长", "林班长", "郭班长"][i], f"80{i + 1:02d}", team=team, level=Level.SENIOR)
        team.lead = lead
        team.save(update_fields=["lead"])
        for j in range(4):
            n = i * 4 + j
            agents.append(
                mk(f"kefu{n + 1:02d}", Role.AGENT, names[n], f"{1001 + n}", team=team,
                   level=[Level.JUNIOR, Level.INTERMEDIATE, Level.SENIOR][n % 3])
            )
    backoffice = [
        mk("wangluo01", Role.AGENT, "网维-钱工", "5001", department=depts["network"]),
        mk("jifei01", Role.AGENT, "计费-孔工", "5101", department=depts["billing"]),
        mk("zhuangwei01", Role.AGENT, "装维-龙师傅", "5201", department=depts["installation"]),
    ]
    return {"admin": admin, "supervisor": supervisor, "agents": agents, "depts": depts, "backoffice": backoffice}


def _customers(rng: random.Random, n: int, actor: User) -> list[Customer]:
    out = []
    for i in range(n):
        province, cities = rng.choice(REGIONS)
        city = rng.choice(cities)
        address = f"{province}省{city}市{rng.choice(STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 30)}栋{rng.randint(101, 2802)}室"
        phone = _mobile(rng)
        services: list[dict[str, Any]] = [
            {"kind": "mobile", "identifier": phone, "plan": rng.choice(MOBILE_PLANS), "opened_at": f"{rng.randint(2012, 2025)}-{rng.randint(1, 12):02d}-01"}
        ]
        if rng.random() < 0.6:
            services.append({"kind": "broadband", "identifier": f"AD{rng.randrange(10**9):09d}", "plan": rng.choice(BROADBAND_PLANS), "address": address})
        if rng.random() < 0.2:
            services.append({"kind": "iptv", "identifier": f"ITV{rng.randrange(10**8):08d}", "plan": "IPTV高清"})
        if rng.random() < 0.1:
            services.append({"kind": "fixed", "identifier": f"0{rng.choice(['20', '755', '571', '10'])}{rng.randint(2, 8)}{rng.randrange(10**6):06d}{rng.randint(0, 9)}"[:12]})
        if rng.random() < 0.04:
            services.append({"kind": "enterprise_line", "identifier": f"ZX{rng.randrange(10**6):06d}", "plan": "100M互联网专线"})
            services[-1]["status"] = "active"
        if rng.random() < 0.05:
            services[0]["status"] = rng.choice(["suspended", "cancelled"])
        special = rng.random() < 0.08
        phones = [phone] + ([_mobile(rng)] if rng.random() < 0.2 else [])
        try:
            c = customer_create(
                actor=actor, name=_name(rng), phones=phones, id_number=_id_number(rng), province=province, city=city,
                address=address, star_level=rng.choices(range(8), weights=[10, 20, 25, 20, 12, 7, 4, 2])[0],
                tags=rng.sample(TAGS, k=rng.choice((0, 0, 1, 2))), special_mark=special,
                special_note=rng.choice(SPECIAL_NOTES) if special else "", do_not_disturb=rng.random() < 0.1,
                services=services,
            )
        except Exception:  # noqa: BLE001 — a random fixed-line number may be invalid; skip that customer
            continue
        out.append(c)
    return out


def _age(ticket: Ticket, delta: timedelta) -> None:
    """Move an order and its timeline back in time by ``delta`` (demo only)."""
    fields = [
        "created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at", "confirmed_at",
        "sla_started_at", "first_response_due_at", "resolution_due_at", "feedback_due_at", "sla_paused_at",
        "sla_watch_at",
    ]
    updates: dict[str, Any] = {f: F(f) - delta for f in fields if getattr(ticket, f) is not None}
    # Keep the number's date in step with the (aged) creation date; the per-run sequence stays unique.
    from django.utils import timezone

    day = timezone.localdate(ticket.created_at - delta)
    updates["number"] = f"{ticket.number[:-14]}{day:%Y%m%d}{ticket.number[-6:]}"
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    TicketEvent.objects.filter(ticket=ticket).update(created_at=F("created_at") - delta)
    from kefu.followup.models import ReturnVisit

    ReturnVisit.objects.filter(ticket=ticket).update(scheduled_at=F("scheduled_at") - delta, due_at=F("due_at") - delta)


def _tickets(rng: random.Random, n: int, people: dict[str, Any], customers: list[Customer]) -> int:
    agents: list[User] = people["agents"]
    depts = people["depts"]
    backoffice: list[User] = people["backoffice"]
    cats = {c.code: c for c in Category.objects.all()}
    made = 0
    for i in range(n):
        ttype, cat, prio, subject, desc = rng.choice(SCENARIOS)
        if rng.random() < 0.15:
            prio = rng.choice(["urgent", "high", "normal", "low"])
        customer = rng.choice(customers)
        agent = rng.choice(agents)
        svc = customer.services.first()
        t = ts.ticket_create(
            actor=agent, type=ttype, priority=prio, customer_id=customer.pk, service_id=svc.pk if svc else None,
            category=cats[cat].code if cat in cats else None, subject=subject, description=desc,
            channel=rng.choices(["phone", "chat", "web", "sms", "email", "api"], weights=[60, 15, 10, 5, 5, 5])[0],
            contact_phone=customer.phones.first().number,  # type: ignore[union-attr]
        )
        fate = rng.random()
        if fate > 0.12:
            ts.ticket_reply(actor=agent, ticket_id=t.pk, body=rng.choice(REPLIES))
        if fate > 0.3 and ttype in ("fault", "complaint", "refund", "business") and rng.random() < 0.6:
            dept = {"fault": "network", "complaint": "complaints", "refund": "billing", "business": "installation"}[ttype]
            ts.ticket_transfer(actor=agent, ticket_id=t.pk, department=depts[dept].code, reason="需要专业部门处理")
            if fate > 0.5:
                worker = next((u for u in backoffice if u.department_id == depts[dept].pk), None) or agent
                if worker.department_id == depts[dept].pk:
                    ts.ticket_note(actor=worker, ticket_id=t.pk, body="已安排人员处理，预计今天完成。")
                ts.ticket_resume(actor=agent, ticket_id=t.pk, reason="部门已处理完毕")
        if 0.3 < fate <= 0.4:
            ts.ticket_pend(actor=agent, ticket_id=t.pk, reason="等待客户提供账单截图")
        if 0.4 < fate <= 0.45:
            ts.ticket_escalate(actor=agent, ticket_id=t.pk, reason="客户情绪激动，表示要向工信部投诉")
        if fate > 0.55:
            t.refresh_from_db()
            if t.status in ("pending_department", "pending_customer"):
                ts.ticket_resume(actor=agent, ticket_id=t.pk, reason="继续处理")
            ts.ticket_resolve(actor=agent, ticket_id=t.pk, resolution=rng.choice(RESOLUTIONS))
            if fate > 0.7:
                ts.ticket_confirm(actor=agent, ticket_id=t.pk, note="客户回访确认问题已解决")
            if fate > 0.95:
                ts.ticket_reopen(actor=agent, ticket_id=t.pk, reason="客户反映问题再次出现")
        t.refresh_from_db()
        # Spread orders over the last 30 days; open ones mostly recent, some past their promise.
        days = rng.random() * 30 if not t.is_open else rng.random() ** 3 * 3
        _age(t, timedelta(days=days, minutes=rng.randint(0, 600)))
        made += 1
    return made


def load_knowledge(actor: User, *, vectors: bool = True) -> tuple[int, int]:
    """K4/K5: the demo knowledge base (kefu/knowledge/data/demo_kb.jsonl, published through the
    import service) with its dense vectors, and the two troubleshooting flows (seeded by a migration;
    put back if a test database flushed them). Returns (items in the base, vectors computed)."""
    from kefu.knowledge import search
    from kefu.knowledge.models import KnowledgeItem
    from kefu.knowledge.services import flows_ensure, kb_import

    flows_ensure()
    path = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "demo_kb.jsonl"
    with path.open("rb") as fh:
        kb_import(actor=actor, lines=fh)
    # Encoding ~1,900 questions takes about a minute on two cores; done once, like `kefu kb vectors`.
    done = search.compute_vectors() if vectors else 0
    search.reset()
    _handoff_routes(actor)
    return KnowledgeItem.objects.filter(published__isnull=False).count(), done


def _handoff_routes(actor: User) -> None:
    """K4: where the bot's hand-overs go — chats to the online team, complaints to the first hotline
    team at high priority, government and enterprise questions to the second (editable in the admin
    and through /api/v1/bot/routes)."""
    from kefu.knowledge.bot import handoff_route_set
    from kefu.knowledge.models import HandoffRoute

    for match, team, kind, priority in [
        ("", "在线客服班", "", "normal"), ("投诉", "热线一班", "complaint", "high"), ("政企", "热线二班", "", "normal"),
    ]:
        if not HandoffRoute.objects.filter(match=match).exists() and Team.objects.filter(name=team).exists():
            handoff_route_set(actor=actor, match=match, team=team, ticket_type=kind, priority=priority)


def load_demo(*, customers: int = 300, tickets: int = 600, seed: int = 2026, password: str | None = None,
              vectors: bool = True) -> DemoResult:
    """Create the demo centre. Passwords: ``password``, else $KEFU_DEMO_PASSWORD, else a random one;
    written to var/demo_credentials.txt (0600) so `make run` can print how to log in. ``vectors=False``
    skips encoding the knowledge base (search and the bot then run lexical-only until `kefu kb vectors`)."""
    import os

    password = password or os.environ.get("KEFU_DEMO_PASSWORD") or f"kefu-{secrets.token_hex(4)}"
    rng = random.Random(seed)
    with transaction.atomic():
        people = _users(password)
        custs = _customers(rng, customers, people["supervisor"])
        made = _tickets(rng, tickets, people, custs)
        from kefu.analytics.demo import load_analytics_demo

        load_analytics_demo(rng, people, custs, tickets=tickets)  # issue #7: contacts, surveys, roll-ups
    kb_items, kb_vectors = load_knowledge(people["admin"], vectors=vectors)
    path = settings.VAR_DIR / "demo_credentials.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(
            "kefu demo accounts (password for all: {pw})\n"
            "  admin       administrator\n  zhuguan     supervisor 9001\n  banzhang1   team lead 8001\n"
            "  kefu01      agent 1001 (kefu01…kefu12: agents 1001–1012)\n  wangluo01   network maintenance 5001\n"
            "  zhijian     quality inspector 9101\n  shenji      auditor 9201\n".format(pw=password)
        )
    return DemoResult(users=User.objects.count(), customers=len(custs), tickets=made, password=password,
                      knowledge=kb_items, vectors=kb_vectors)
