"""The two troubleshooting flows kefu ships (K3), written from the source documents.

"SMS alerts not received" follows seed 003 §5.3 branch by branch (welcome SMS, no fresh data, missed
account messages, occasional misses, damaged card, a customer who insists, a changed signing outlet);
"broadband cannot get online" follows the usual line → device → account → network order of checks.
Step kinds: question (options branch), check (options branch), script (say it, then ``next``), end
(``outcome``: resolved, callback, or create_order with the order to open).
"""

from __future__ import annotations

from typing import Any

SMS_NOT_RECEIVED: dict[str, Any] = {
    "code": "sms-alerts-not-received",
    "name": "短信提醒收不到",
    "description": "客户反映收不到动账/短信提醒（依据《客服管理制度》§5.3 各种状况应对）。",
    "start": "which",
    "steps": {
        "which": {"kind": "question", "text": "请问您是哪一种情况？", "options": [
            {"label": "从未收到欢迎短信（刚签约）", "next": "welcome-segment"},
            {"label": "查询不到实时数据（数据未更新）", "next": "no-data"},
            {"label": "能收到测试短信，但漏收动账信息", "next": "missed"},
            {"label": "偶尔收不到", "next": "occasional"},
            {"label": "卡折、卡损、卡消磁", "next": "card"},
            {"label": "客户坚持说一直收不到", "next": "insists"},
            {"label": "签约网点调整，无法修改或取消", "next": "outlet"},
        ]},
        # (1) welcome SMS not received
        "welcome-segment": {"kind": "check", "text": "核对号码：是否为省外号码或电信号段？", "options": [
            {"label": "是省外号码或电信号段", "next": "welcome-segment-end"},
            {"label": "不是", "next": "welcome-signed"},
        ]},
        "welcome-segment-end": {"kind": "end", "outcome": "resolved",
                                "text": "向客户说明该号段暂不支持短信提醒服务，并致歉。"},
        "welcome-signed": {"kind": "check", "text": "请柜员核查签约是否成功（菜单码 5992）。结果？", "options": [
            {"label": "查询状态未知", "next": "welcome-wrong-number"},
            {"label": "显示已签约", "next": "welcome-bz"},
        ]},
        "welcome-wrong-number": {"kind": "check", "text": "进入 5995 查询原始签约手机号：号码是否签错？", "options": [
            {"label": "号码签错", "next": "welcome-fix-number"},
            {"label": "号码正确", "next": "welcome-bz"},
        ]},
        "welcome-fix-number": {"kind": "script", "next": "welcome-fix-end",
                               "text": "“您好，也许是柜员不注意将您的号码输错了，因此导致您没有收到短信，您可以到办理柜台让柜员（5993）更换号码就可以了。”请记录错误号码。"},
        "welcome-fix-end": {"kind": "end", "outcome": "resolved", "text": "已告知客户到柜台更正签约号码，并记录错误号码。"},
        "welcome-bz": {"kind": "check", "text": "请客户发送 BZ 进行测试。能否收到回复？", "options": [
            {"label": "收不到，手机设置了免打扰/屏蔽端口号码", "next": "welcome-dnd"},
            {"label": "系统显示发送成功，客户仍未收到", "next": "welcome-settings"},
            {"label": "能收到", "next": "resolved-test-ok"},
        ]},
        "welcome-dnd": {"kind": "script", "next": "callback-end",
                        "text": "“您的号码在移动设定了免打扰功能，我们会在每 10 天的时候统一报给移动公司处理，请您耐心等待，给您带来不便请谅解。”"},
        "welcome-settings": {"kind": "script", "next": "resolved-settings",
                             "text": "“您好，我查询了一下，我们给您发送的短信都是确定发送成功的，请您查看一下自己的手机设置，看是否短信内存已满，或者是否设定了防火墙功能。”"},
        "resolved-settings": {"kind": "end", "outcome": "resolved", "text": "已指导客户检查短信内存与拦截设置。"},
        "resolved-test-ok": {"kind": "end", "outcome": "resolved", "text": "测试短信正常，服务已恢复。"},
        # (2) no fresh data
        "no-data": {"kind": "script", "next": "callback-end",
                    "text": "“您好，您的信息已记录，因数据未有更新，暂时看不到您的信息，为了给您解决问题，请您稍后发送短信（余额、明细）测试一下好吗？很抱歉，虽暂时查询不到信息，但您提供的信息这边已完整记录，稍后报给技术，得到答复时会及时与您联系，请您谅解。”"},
        # (3) receives test SMS but misses account messages
        "missed": {"kind": "script", "next": "missed-end",
                   "text": "先安抚客户，语调委婉：“您好，您的号码已经报给技术，很抱歉给您带来不便，等技术有答复了会及时联系您，请您谅解。”"},
        "missed-end": {"kind": "end", "outcome": "create_order",
                       "text": "对客户做特殊标注，提报技术处理，事后回访。",
                       "order": {"type": "fault", "category": "fault-sms", "priority": "normal",
                                 "subject": "短信提醒漏收（能收测试短信），需技术核查"}},
        # (4) occasional misses
        "occasional": {"kind": "script", "next": "occasional-recall",
                       "text": "“您说的这种情况，之前也有其他客户反映过，经过汇总分析，发现手机在停机、关机、信号不稳定、信号盲区、出差在外、号码不在归属地，手机设置防火墙拦截屏蔽甚至拒收等情况下会收不到，您可以回忆下是不是有这些情况发生。”"},
        "occasional-recall": {"kind": "question", "text": "客户能否回忆起上述情况？", "options": [
            {"label": "是，属于上述情况", "next": "resolved-explained"},
            {"label": "表达不清或坚持都没有", "next": "occasional-test"},
        ]},
        "occasional-test": {"kind": "script", "next": "callback-end",
                            "text": "建议清理手机内存后发 BZ 测试，或发送“余额”“明细”实时测试。结束时告知：“您的号码已报技术后台监测，再观察一段时间，如还有类似情况，请您及时联系我们。”"},
        "resolved-explained": {"kind": "end", "outcome": "resolved", "text": "已向客户解释偶发收不到的原因。"},
        # (5) damaged card
        "card": {"kind": "script", "next": "card-end",
                 "text": "“您好，请您带着新补的账号，到前台重新签约；如旧卡还有剩余服务期限，请您及时联系我们。”"},
        "card-end": {"kind": "end", "outcome": "resolved", "text": "已告知客户持新卡到前台重新签约。"},
        # (6) customer insists
        "insists": {"kind": "script", "next": "insists-test",
                    "text": "不要顺着客户思路在原地纠结；说明收不到可能有多种因素（手机拒收、信号盲区等）。"},
        "insists-test": {"kind": "question", "text": "建议客户发 BZ 测试或换手机测试。测试结果？", "options": [
            {"label": "换手机或测试后能收到", "next": "resolved-test-ok"},
            {"label": "仍收不到", "next": "insists-order"},
        ]},
        "insists-order": {"kind": "end", "outcome": "create_order", "text": "测试后仍收不到，提报技术处理并回访。",
                          "order": {"type": "fault", "category": "fault-sms", "priority": "normal",
                                    "subject": "短信提醒收不到（已测试仍失败）"}},
        # (7) changed signing outlet
        "outlet": {"kind": "end", "outcome": "resolved",
                   "text": "建议到系统查到签约网点解除签约，或将余额清零销卡，避免以后扣费。"},
        "callback-end": {"kind": "end", "outcome": "callback", "text": "已记录并报技术，待答复后回电客户（003 §5.2：需查询的问题以回电答复）。"},
    },
}

BROADBAND_DOWN: dict[str, Any] = {
    "code": "broadband-cannot-get-online",
    "name": "宽带无法上网",
    "description": "家庭宽带无法上网的排查：光猫指示灯 → 重启设备 → 账户状态 → 单设备或全部 → 拨号错误码。",
    "start": "los",
    "steps": {
        "los": {"kind": "check", "text": "请客户查看光猫指示灯：LOS 灯是否红灯（常亮或闪烁）？", "options": [
            {"label": "LOS 红灯", "next": "los-fiber"},
            {"label": "LOS 不亮，PON 灯常亮", "next": "restart"},
            {"label": "PON 灯闪烁或不亮", "next": "pon"},
            {"label": "光猫所有灯都不亮", "next": "power"},
        ]},
        "los-fiber": {"kind": "check", "text": "请客户检查光纤是否弯折、松脱，重新插紧光纤接头后 LOS 是否恢复？", "options": [
            {"label": "恢复正常", "next": "resolved"},
            {"label": "仍是红灯", "next": "order-line"},
        ]},
        "order-line": {"kind": "end", "outcome": "create_order", "text": "光信号中断，属线路故障，派单装维上门。",
                       "order": {"type": "fault", "category": "fault-broadband-down", "priority": "high",
                                 "subject": "宽带无法上网：光猫LOS红灯，疑似光路故障"}},
        "pon": {"kind": "check", "text": "断电重启光猫 2 分钟后，PON 灯是否常亮？", "options": [
            {"label": "恢复常亮", "next": "restart"},
            {"label": "仍闪烁或不亮", "next": "order-register"},
        ]},
        "order-register": {"kind": "end", "outcome": "create_order", "text": "光猫未能注册，派单网络维护核查。",
                           "order": {"type": "fault", "category": "fault-broadband-down", "priority": "high",
                                     "subject": "宽带无法上网：光猫PON注册失败"}},
        "power": {"kind": "check", "text": "检查电源适配器与插座，更换插座后光猫是否通电？", "options": [
            {"label": "通电了", "next": "restart"},
            {"label": "仍不通电", "next": "order-device"},
        ]},
        "order-device": {"kind": "end", "outcome": "create_order", "text": "光猫或电源适配器损坏，派单更换设备。",
                         "order": {"type": "fault", "category": "fault-broadband-down", "priority": "normal",
                                   "subject": "宽带无法上网：光猫不通电，需更换设备"}},
        "restart": {"kind": "check", "text": "请依次重启光猫和路由器，等待 3 分钟后能否上网？", "options": [
            {"label": "能上网了", "next": "resolved"},
            {"label": "仍不能", "next": "account"},
        ]},
        "account": {"kind": "check", "text": "查询宽带账户：是否欠费停机或到期？", "options": [
            {"label": "欠费或到期", "next": "account-pay"},
            {"label": "账户正常", "next": "scope"},
        ]},
        "account-pay": {"kind": "end", "outcome": "resolved",
                        "text": "告知客户缴费或续费后约 5 分钟自动复通，可通过营业厅、APP 或 10000 号办理。"},
        "scope": {"kind": "question", "text": "是所有设备都上不了网，还是只有某一台（或只有 WiFi）？", "options": [
            {"label": "只有某一台设备", "next": "single-device"},
            {"label": "只有 WiFi 不行，网线可以", "next": "wifi"},
            {"label": "所有设备都不行", "next": "dialup"},
        ]},
        "single-device": {"kind": "end", "outcome": "resolved",
                          "text": "指导客户检查该设备的网络设置（飞行模式、IP 自动获取、代理），属终端问题。"},
        "wifi": {"kind": "end", "outcome": "resolved",
                 "text": "指导客户检查路由器 WiFi 设置与密码，必要时恢复出厂设置后重新配置。"},
        "dialup": {"kind": "check", "text": "路由器拨号是否报错？（691 账号密码错误 / 678 或 651 无响应）", "options": [
            {"label": "691", "next": "reset-password"},
            {"label": "678 / 651 或其它", "next": "order-network"},
            {"label": "没有报错但打不开网页", "next": "order-network"},
        ]},
        "reset-password": {"kind": "end", "outcome": "resolved",
                           "text": "核实身份后为客户重置宽带密码，并指导在路由器中重新填写。"},
        "order-network": {"kind": "end", "outcome": "create_order", "text": "设备与账户正常仍无法上网，派单网络维护核查端口与认证。",
                          "order": {"type": "fault", "category": "fault-broadband-down", "priority": "high",
                                    "subject": "宽带无法上网：拨号无响应，需核查端口/认证"}},
        "resolved": {"kind": "end", "outcome": "resolved", "text": "故障已排除，客户确认可以正常上网。"},
    },
}

FLOWS = [SMS_NOT_RECEIVED, BROADBAND_DOWN]


def validate_flow(flow: dict[str, Any]) -> list[str]:
    """Problems with a flow definition: unknown targets, steps that cannot be reached, ends without outcome."""
    steps = flow["steps"]
    problems = []
    if flow["start"] not in steps:
        problems.append(f"start step {flow['start']!r} does not exist")
    for code, step in steps.items():
        targets = [o["next"] for o in step.get("options", [])] + ([step["next"]] if "next" in step else [])
        problems += [f"{code}: unknown next step {t!r}" for t in targets if t not in steps]
        if step["kind"] == "end" and step.get("outcome") not in ("resolved", "callback", "create_order"):
            problems.append(f"{code}: an end step needs an outcome")
        if step["kind"] in ("question", "check") and not step.get("options"):
            problems.append(f"{code}: a {step['kind']} needs options")
    seen, todo = set(), [flow["start"]]
    while todo:
        code = todo.pop()
        if code in seen or code not in steps:
            continue
        seen.add(code)
        step = steps[code]
        todo += [o["next"] for o in step.get("options", [])] + ([step["next"]] if "next" in step else [])
    problems += [f"{code}: cannot be reached" for code in steps if code not in seen]
    return problems
