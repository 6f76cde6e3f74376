"""Indicator definitions in one place (A1, issue #7): each with its formula in words, its unit and
which way is better. Computation lives in ``selectors.py``; every number a page shows comes from there.

Work-order indicators are defined over a period [start, end):

- first_response_sla 首次响应及时率 = orders whose first-response promise fell due or was met in the period
  and were answered by it ÷ those orders (orders still waiting whose promise has not yet fallen due are not
  counted).
- resolution_sla 解决及时率 = orders whose resolution promise fell due or was met in the period and were
  resolved by it ÷ those orders.
- rework_rate 返工率 = reopenings in the period ÷ resolutions in the period.
- fcr 一次解决率 = orders resolved in the period that were never transferred and never reopened ÷ orders
  resolved in the period (a first-contact-resolution proxy on the work-order side).
- complaint_rate_per_10k 万客户投诉率 = complaint orders opened in the period ÷ customers on record at its
  end × 10,000.
- escalation_rate 升级率 = orders opened in the period and escalated ÷ orders opened in the period.
- avg_resolution_hours 平均解决时长 = mean of (resolved − opened) over orders resolved in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Any
    formula: Any
    unit: Literal["percent", "per_10k", "hours"]
    better: Literal["higher", "lower"]
    target: float | None = None


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in [
        Indicator(
            "first_response_sla", _("First response on time"),
            _("Orders answered by their first-response promise ÷ orders whose promise fell due or was met in the period"),
            "percent", "higher", 95.0,
        ),
        Indicator(
            "resolution_sla", _("Resolution on time"),
            _("Orders resolved by their resolution promise ÷ orders whose promise fell due or was met in the period"),
            "percent", "higher", 95.0,
        ),
        Indicator(
            "rework_rate", _("Rework rate"),
            _("Reopenings in the period ÷ resolutions in the period"), "percent", "lower", 5.0,
        ),
        Indicator(
            "fcr", _("First-contact resolution"),
            _("Orders resolved in the period never transferred nor reopened ÷ orders resolved in the period"),
            "percent", "higher", 75.0,
        ),
        Indicator(
            "complaint_rate_per_10k", _("Complaints per 10,000 customers"),
            _("Complaint orders opened in the period ÷ customers on record × 10,000"), "per_10k", "lower", None,
        ),
        Indicator(
            "escalation_rate", _("Escalation rate"),
            _("Orders opened in the period and escalated ÷ orders opened in the period"), "percent", "lower", None,
        ),
        Indicator(
            "avg_resolution_hours", _("Average resolution time"),
            _("Mean of resolution time minus opening time over orders resolved in the period"), "hours", "lower", None,
        ),
    ]
}


@dataclass(frozen=True)
class Value:
    """One computed figure with the counts behind it, so that it can be checked by hand. ``value`` is
    None (never a division by zero) when the denominator is empty, and ``reason`` says so."""

    code: str
    value: float | None
    numerator: float
    denominator: float
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        ind = INDICATORS[self.code]
        return {
            "code": self.code, "name": str(ind.name), "formula": str(ind.formula), "unit": ind.unit,
            "better": ind.better, "target": ind.target, "value": self.value,
            "numerator": self.numerator, "denominator": self.denominator, "reason": self.reason,
        }


def ratio(code: str, numerator: float, denominator: float, *, scale: float = 100.0) -> Value:
    if not denominator:
        return Value(code, None, numerator, denominator, str(_("No data in this period.")))
    return Value(code, round(numerator / denominator * scale, 2), numerator, denominator)
