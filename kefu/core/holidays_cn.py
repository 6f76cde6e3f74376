"""Official public holidays and 调休 make-up working days of the People's Republic of China (W6).

Seed data, transcribed from the State Council General Office (国务院办公厅) notices
《关于XXXX年部分节假日安排的通知》. The tickets app copies it into calendar rows an administrator
edits; SLA code never reads this module directly (STYLE.md §4: holidays are rows, not code).

Conventions:

* ``HOLIDAYS[year]`` lists the rest periods of the notice for ``year`` as ``(first, last, name)``,
  both ends inclusive. A period is the whole consecutive break the notice announces, weekend days
  included ("4月4日（周六）至6日（周一）放假，共3天"). Where a 2024 notice says "X日放假，与周末连休"
  the adjoining weekend is included too, so 2024's 元旦 period starts on 2023-12-30.
* ``MAKEUP_WORKDAYS[year]`` lists the weekend days declared working days (调休上班), each with the
  holiday it pays for.
* Only what the notice decrees is listed: days it merely *encourages* employers to give (2024:
  除夕 2月9日) are not holidays here.

Sources, each checked against several verbatim reprints of the Xinhua/gov.cn text:

* 2024 — notice of 2023-10-25.
* 2025 — 国办发明电〔2024〕12号 of 2024-11-12; the first year under the amended
  《全国年节及纪念日放假办法》 (one more day each for 春节, from 除夕, and 劳动节, 5月2日).
* 2026 — notice of 2025-11-04.

Later years must be added when their notice is published (usually in November of the year before);
`official_days` refuses a year it has no data for rather than pretending there are no holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

__all__ = ["HOLIDAYS", "MAKEUP_WORKDAYS", "NOTICES", "official_days"]

NOTICES: dict[int, str] = {
    2024: "国务院办公厅关于2024年部分节假日安排的通知（2023年10月25日）",
    2025: "国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号，2024年11月12日）",
    2026: "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）",
}

HOLIDAYS: dict[int, list[tuple[date, date, str]]] = {
    2024: [
        # "1月1日放假，与周末连休": Sat 2023-12-30 to Mon 2024-01-01.
        (date(2023, 12, 30), date(2024, 1, 1), "元旦"),
        (date(2024, 2, 10), date(2024, 2, 17), "春节"),
        (date(2024, 4, 4), date(2024, 4, 6), "清明节"),
        (date(2024, 5, 1), date(2024, 5, 5), "劳动节"),
        # "6月10日放假，与周末连休": Sat 6-08 to Mon 6-10.
        (date(2024, 6, 8), date(2024, 6, 10), "端午节"),
        (date(2024, 9, 15), date(2024, 9, 17), "中秋节"),
        (date(2024, 10, 1), date(2024, 10, 7), "国庆节"),
    ],
    2025: [
        (date(2025, 1, 1), date(2025, 1, 1), "元旦"),  # a Wednesday: one day, no 调休
        (date(2025, 1, 28), date(2025, 2, 4), "春节"),  # 除夕 to 正月初七
        (date(2025, 4, 4), date(2025, 4, 6), "清明节"),
        (date(2025, 5, 1), date(2025, 5, 5), "劳动节"),
        (date(2025, 5, 31), date(2025, 6, 2), "端午节"),
        (date(2025, 10, 1), date(2025, 10, 8), "国庆节、中秋节"),  # 中秋 (10-06) merged into 国庆
    ],
    2026: [
        (date(2026, 1, 1), date(2026, 1, 3), "元旦"),
        (date(2026, 2, 15), date(2026, 2, 23), "春节"),  # 腊月二十八 to 正月初七, 9 days
        (date(2026, 4, 4), date(2026, 4, 6), "清明节"),
        (date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
        (date(2026, 6, 19), date(2026, 6, 21), "端午节"),
        (date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
        (date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
    ],
}

MAKEUP_WORKDAYS: dict[int, list[tuple[date, str]]] = {
    2024: [
        (date(2024, 2, 4), "春节调休上班"),
        (date(2024, 2, 18), "春节调休上班"),
        (date(2024, 4, 7), "清明节调休上班"),
        (date(2024, 4, 28), "劳动节调休上班"),
        (date(2024, 5, 11), "劳动节调休上班"),
        (date(2024, 9, 14), "中秋节调休上班"),
        (date(2024, 9, 29), "国庆节调休上班"),
        (date(2024, 10, 12), "国庆节调休上班"),
    ],
    2025: [
        (date(2025, 1, 26), "春节调休上班"),
        (date(2025, 2, 8), "春节调休上班"),
        (date(2025, 4, 27), "劳动节调休上班"),
        (date(2025, 9, 28), "国庆节、中秋节调休上班"),
        (date(2025, 10, 11), "国庆节、中秋节调休上班"),
    ],
    2026: [
        (date(2026, 1, 4), "元旦调休上班"),
        (date(2026, 2, 14), "春节调休上班"),
        (date(2026, 2, 28), "春节调休上班"),
        (date(2026, 5, 9), "劳动节调休上班"),
        (date(2026, 9, 20), "国庆节调休上班"),
        (date(2026, 10, 10), "国庆节调休上班"),
    ],
}


def official_days(years: Iterable[int]) -> tuple[frozenset[date], frozenset[date]]:
    """``(holiday dates, make-up workdays)`` of the notices for ``years``, every day of each period
    expanded — ready for ``BusinessCalendar(holidays=..., makeup_workdays=...)``.

    Raises ``ValueError`` for a year without a published notice in this module, so that a missing
    year is noticed instead of silently treated as having no holidays.
    """
    holidays: set[date] = set()
    makeup: set[date] = set()
    for year in years:
        if year not in HOLIDAYS:
            known = ", ".join(str(y) for y in sorted(HOLIDAYS))
            raise ValueError(f"no official holiday data for {year} (known years: {known})")
        for first, last, _name in HOLIDAYS[year]:
            holidays.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        makeup.update(day for day, _name in MAKEUP_WORKDAYS[year])
    return frozenset(holidays), frozenset(makeup)
