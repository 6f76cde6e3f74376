"""Indicator definitions in one place (A1, issue #7): each with its formula in words, its unit, which
way is better and its target. Every indicator is a function of the summed measures of
``models.MEASURES`` (counts and sums, never ratios), so the same definition serves any period and any
breakdown; ``selectors.py`` sums the measures, ``compute`` turns them into figures. docs/indicators.md
explains each formula with what is counted and what is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

Unit = Literal["percent", "per_10k", "per_1000", "hours", "seconds", "score", "points"]
# Where an indicator's figures come from: decides which breakdowns make sense (a call has no work-order
# type or category) and where its numbers drill down to (work orders or contacts).
Source = Literal["tickets", "contacts", "surveys", "visits"]

ALL_DIMENSIONS = ("team", "agent", "type", "category", "region", "channel")
CONTACT_DIMENSIONS = ("team", "agent", "region", "channel")
Measures = Mapping[str, float]


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Any
    formula: Any
    unit: Unit
    better: Literal["higher", "lower"]
    target: float | None
    source: Source
    num: tuple[str, ...]  # numerator = Σ of these measures
    den: tuple[str, ...]  # denominator = Σ of these
    scale: float = 100.0  # value = numerator ÷ denominator × scale

    @property
    def measures(self) -> tuple[str, ...]:
        return self.num + self.den

    def numerator(self, m: Measures) -> float:
        return sum(m.get(n, 0) or 0 for n in self.num)

    def denominator(self, m: Measures) -> float:
        return sum(m.get(n, 0) or 0 for n in self.den)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return CONTACT_DIMENSIONS if self.source == "contacts" else ALL_DIMENSIONS


def service_level_seconds() -> int:
    return int(getattr(settings, "KEFU_SERVICE_LEVEL_SECONDS", 20))


_INDICATORS = [
    # --- contacts (calls): 接通率, service level, ASA, abandonment, AHT -------------------------------
    Indicator(
        "answer_rate", _("Answer rate"),
        _("Calls answered by an agent ÷ calls offered"), "percent", "higher", 95.0, "contacts",
        ("calls_answered",), ("calls_offered",),
    ),
    Indicator(
        "service_level", _("Service level"),
        _("Calls answered within the service-level threshold of waiting ÷ calls offered"),
        "percent", "higher", 80.0, "contacts", ("calls_answered_sl",), ("calls_offered",),
    ),
    Indicator(
        "asa", _("Average speed of answer"),
        _("Total waiting time of answered calls ÷ calls answered"), "seconds", "lower", 20.0, "contacts",
        ("answered_wait_ms",), ("calls_answered",), scale=0.001,
    ),
    Indicator(
        "abandonment_rate", _("Abandonment rate"),
        _("Calls the caller hung up before an agent answered ÷ calls offered"), "percent", "lower", 5.0,
        "contacts", ("calls_abandoned",), ("calls_offered",),
    ),
    Indicator(
        "aht", _("Average handling time"),
        _("(Talk + hold + wrap-up time) of answered calls ÷ calls answered"), "seconds", "lower", None,
        "contacts", ("talk_ms", "hold_ms", "wrap_ms",), ("handled",), scale=0.001,
    ),
    # --- work orders --------------------------------------------------------------------------------
    Indicator(
        "fcr", _("First-contact resolution"),
        _("Orders resolved in the period never transferred nor reopened ÷ orders resolved in the period"),
        "percent", "higher", 75.0, "tickets", ("first_resolved_clean",), ("first_resolved",),
    ),
    Indicator(
        "first_response_sla", _("First response on time"),
        _("Orders answered by their first-response promise ÷ orders whose promise fell due or was met in the period"),
        "percent", "higher", 95.0, "tickets", ("fr_met",), ("fr_due",),
    ),
    Indicator(
        "resolution_sla", _("Resolution on time"),
        _("Orders resolved by their resolution promise ÷ orders whose promise fell due or was met in the period"),
        "percent", "higher", 95.0, "tickets", ("res_met",), ("res_due",),
    ),
    Indicator(
        "rework_rate", _("Rework rate"),
        _("Reopenings in the period ÷ resolutions in the period"), "percent", "lower", 5.0, "tickets",
        ("reopenings",), ("resolutions",),
    ),
    Indicator(
        "complaint_rate_per_10k", _("Complaints per 10,000 customers"),
        _("Complaint orders opened in the period ÷ customers on record × 10,000"), "per_10k", "lower", None,
        "tickets", ("complaints_opened",), ("customers_on_record",), scale=10000.0,
    ),
    Indicator(
        "escalation_rate", _("Escalation rate"),
        _("Orders opened in the period and escalated ÷ orders opened in the period"), "percent", "lower", None,
        "tickets", ("opened_escalated",), ("opened",),
    ),
    Indicator(
        "avg_resolution_hours", _("Average resolution time"),
        _("Mean of resolution time minus opening time over orders resolved in the period"), "hours", "lower",
        None, "tickets", ("resolved_ms",), ("resolved",), scale=1 / 3_600_000,
    ),
    # --- satisfaction and follow-up -----------------------------------------------------------------
    Indicator(
        "csat", _("Customer satisfaction (mean score)"),
        _("Sum of survey scores (1–5) answered in the period ÷ surveys answered"), "score", "higher", 4.5,
        "surveys", ("csat_sum",), ("csat_n",), scale=1.0,
    ),
    Indicator(
        "csat_satisfied", _("Share of satisfied customers"),
        _("Surveys answered in the period with a score of 4 or 5 ÷ surveys answered"), "percent", "higher",
        95.0, "surveys", ("csat_top2",), ("csat_n",),
    ),
    Indicator(
        "return_visit_completion", _("Return-visit completion"),
        _("Return visits due in the period that reached the customer (satisfied or unsatisfied) ÷ return visits due in the period, cancelled ones excepted"),
        "percent", "higher", 95.0, "visits", ("rv_done",), ("rv_due",),
    ),
    # --- quality inspection -------------------------------------------------------------------------
    Indicator(
        "inspection_score", _("Average inspection score"),
        _("Sum of the current inspection scores of contacts in the period ÷ contacts inspected"), "points",
        "higher", 90.0, "contacts", ("inspection_score_c",), ("inspected",), scale=0.01,
    ),
    Indicator(
        "forbidden_per_1000", _("Forbidden-phrase incidents per 1,000 contacts"),
        _("Forbidden-phrase hits (not waived on appeal) in contacts of the period ÷ contacts × 1,000"),
        "per_1000", "lower", 1.0, "contacts", ("forbidden_hits",), ("contacts",), scale=1000.0,
    ),
]

INDICATORS: dict[str, Indicator] = {i.code: i for i in _INDICATORS}


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
            "numerator_in_unit": numerator_in_unit(self.code, self.numerator),
        }


def numerator_in_unit(code: str, numerator: float) -> float:
    """The numerator as people read it: a total of seconds, hours or points rather than the stored
    milliseconds or hundredths; counts stay counts."""
    ind = INDICATORS[code]
    if ind.unit in ("seconds", "hours", "points", "score"):
        return round(numerator * ind.scale, 2)
    return numerator


def ratio(code: str, numerator: float, denominator: float, *, scale: float = 100.0) -> Value:
    if not denominator:
        return Value(code, None, numerator, denominator, str(_("No data in this period.")))
    return Value(code, round(numerator / denominator * scale, 2), numerator, denominator)


def compute(code: str, measures: Measures) -> Value:
    """The indicator ``code`` from summed measures."""
    ind = INDICATORS[code]
    return ratio(code, ind.numerator(measures), ind.denominator(measures), scale=ind.scale)


def compute_all(measures: Measures, codes: list[str] | None = None) -> dict[str, Value]:
    return {code: compute(code, measures) for code in (codes or list(INDICATORS))}


def definitions() -> list[dict[str, Any]]:
    return [
        {"code": i.code, "name": str(i.name), "formula": str(i.formula), "unit": i.unit, "better": i.better,
         "target": i.target, "source": i.source, "dimensions": list(i.dimensions)}
        for i in INDICATORS.values()
    ]


def meets_target(code: str, value: float | None) -> bool | None:
    ind = INDICATORS[code]
    if value is None or ind.target is None:
        return None
    return value >= ind.target if ind.better == "higher" else value <= ind.target
