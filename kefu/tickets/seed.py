"""Default configuration a Chinese telecom centre starts from: calendars, public holidays with
调休 make-up days, SLA policies (W6) and the category tree (W1). Loaded by a data migration; every
row is then the administrator's to edit.

SLA figures follow seed 001 §1.2 (complaints: first response 48 h, detailed feedback 24 h later),
seed 003 §5.1/§5.4 (refunds within two weeks, rare cases needing authorisation within 3 days) and the
defaults proposed in research/telecom-standards.md §5 (fault restore 24–72 h, business changes ≤ 24 h).
"""

from __future__ import annotations

from typing import Any

H = 60  # minutes in an hour
D = 24 * H

OFFICE_HOURS = {str(d): [["09:00", "12:00"], ["13:30", "18:00"]] for d in range(5)}

# (type, priority) -> (calendar, first response, resolution, detailed feedback)
SLA_DEFAULTS: dict[tuple[str, str], tuple[str, int, int, int | None]] = {
    ("consultation", "urgent"): ("hotline", 30, 2 * H, None),
    ("consultation", "high"): ("hotline", 1 * H, 8 * H, None),
    ("consultation", "normal"): ("hotline", 2 * H, 24 * H, None),
    ("consultation", "low"): ("office", 4 * 60, 2 * int(7.5 * H), None),  # 2 working days
    ("fault", "urgent"): ("hotline", 30, 24 * H, None),
    ("fault", "high"): ("hotline", 1 * H, 24 * H, None),
    ("fault", "normal"): ("hotline", 2 * H, 48 * H, None),
    ("fault", "low"): ("hotline", 4 * H, 72 * H, None),
    ("complaint", "urgent"): ("hotline", 2 * H, 3 * D, 24 * H),
    ("complaint", "high"): ("hotline", 24 * H, 7 * D, 24 * H),
    ("complaint", "normal"): ("hotline", 48 * H, 7 * D, 24 * H),
    ("complaint", "low"): ("hotline", 48 * H, 15 * D, 24 * H),
    ("business", "urgent"): ("hotline", 30, 1 * H, None),
    ("business", "high"): ("hotline", 1 * H, 4 * H, None),
    ("business", "normal"): ("hotline", 2 * H, 24 * H, None),
    ("business", "low"): ("hotline", 4 * H, 48 * H, None),
    ("suggestion", "urgent"): ("hotline", 4 * H, 3 * D, None),
    ("suggestion", "high"): ("office", int(7.5 * H), 5 * int(7.5 * H), None),
    ("suggestion", "normal"): ("office", 2 * int(7.5 * H), 10 * int(7.5 * H), None),
    ("suggestion", "low"): ("office", 2 * int(7.5 * H), 10 * int(7.5 * H), None),
    ("refund", "urgent"): ("hotline", 2 * H, 3 * D, None),
    ("refund", "high"): ("hotline", 4 * H, 3 * D, None),
    ("refund", "normal"): ("hotline", 24 * H, 14 * D, None),
    ("refund", "low"): ("hotline", 24 * H, 14 * D, None),
}

TYPE_NAMES = {
    "consultation": "咨询", "fault": "故障报修", "complaint": "投诉",
    "business": "业务办理", "suggestion": "建议", "refund": "退费",
}
PRIORITY_NAMES = {"urgent": "紧急", "high": "高", "normal": "普通", "low": "低"}

CATEGORY_TREE: dict[str, list[tuple[str, str]]] = {
    "consultation": [
        ("plans", "套餐资费"), ("billing", "话费账单"), ("data", "流量"), ("broadband", "宽带业务"),
        ("roaming", "国际漫游"), ("vas", "增值业务"), ("mnp", "携号转网"), ("5g", "5G业务"),
    ],
    "fault": [
        ("broadband-down", "宽带无法上网"), ("broadband-slow", "宽带网速慢"), ("no-signal", "手机无信号"),
        ("no-call", "无法通话"), ("sms", "短信收不到"), ("iptv", "IPTV故障"), ("fixed", "固话故障"),
        ("enterprise-line", "专线中断"),
    ],
    "complaint": [
        ("charges", "资费争议"), ("attitude", "服务态度"), ("network", "网络质量"), ("installation", "装维服务"),
        ("marketing", "营销宣传"), ("privacy", "信息安全"),
    ],
    "business": [
        ("new", "新装"), ("plan-change", "套餐变更"), ("relocation", "宽带移机"), ("suspend", "停复机"),
        ("sim", "补卡换卡"), ("transfer", "过户"), ("cancel", "销户"),
    ],
    "suggestion": [("product", "产品建议"), ("service", "服务建议")],
    "refund": [("overcharge", "多扣费退费"), ("unsubscribe", "业务退订退费"), ("deposit", "押金退还")],
}


def load(apps: Any) -> None:
    """Create the defaults if absent (idempotent)."""
    from kefu.core.holidays_cn import HOLIDAYS, MAKEUP_WORKDAYS

    BusinessCalendar = apps.get_model("tickets", "BusinessCalendar")
    Holiday = apps.get_model("tickets", "Holiday")
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    Category = apps.get_model("tickets", "Category")

    hotline, _ = BusinessCalendar.objects.get_or_create(
        name="7×24 热线", defaults={"kind": "always", "hours": {}, "observe_holidays": False}
    )
    office, _ = BusinessCalendar.objects.get_or_create(
        name="工作日 9:00–18:00", defaults={"kind": "office", "hours": OFFICE_HOURS, "observe_holidays": True}
    )
    calendars = {"hotline": hotline, "office": office}

    from datetime import timedelta

    for year, spans in HOLIDAYS.items():
        for start, end, name in spans:
            day = start
            while day <= end:
                Holiday.objects.get_or_create(date=day, defaults={"name": name, "is_workday": False})
                day += timedelta(days=1)
    for year, days in MAKEUP_WORKDAYS.items():
        for day, name in days:
            Holiday.objects.get_or_create(date=day, defaults={"name": name, "is_workday": True})

    for (ttype, prio), (cal, first, resolution, feedback) in SLA_DEFAULTS.items():
        if not SlaPolicy.objects.filter(ticket_type=ttype, priority=prio, min_star_level=None).exists():
            SlaPolicy.objects.create(
                name=f"{TYPE_NAMES[ttype]}·{PRIORITY_NAMES[prio]}", ticket_type=ttype, priority=prio,
                calendar=calendars[cal], first_response_minutes=first, resolution_minutes=resolution,
                feedback_minutes=feedback,
            )

    position = 0
    for ttype, children in CATEGORY_TREE.items():
        root, _ = Category.objects.get_or_create(
            code=ttype, defaults={"name": TYPE_NAMES[ttype], "ticket_type": ttype, "position": position}
        )
        position += 1
        for code, name in children:
            Category.objects.get_or_create(
                code=f"{ttype}-{code}",
                defaults={"name": name, "parent": root, "ticket_type": ttype, "position": position},
            )
            position += 1
