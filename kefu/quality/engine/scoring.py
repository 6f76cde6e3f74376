"""Scoring sheets 员工评分表 (Q4): a pure function from hits to a 0-100 score.

A sheet is a list of items. Each item has ``max_points``, a ``weight``, the rule codes it
is linked to (a code also covers its sub-codes: ``opening`` covers
``opening.wrong_agent_id``), a deduction per linked hit (optionally per rule code) and a
``veto`` flag (一票否决): any hit on a veto item sets the whole score to 0. ``manual``
items (information entry, teamwork...) are scored by a supervisor; until their points are
given they are ``pending`` and left out of the total, which is normalised over the items
that are scored:

    total = 100 * sum(weight * points) / sum(weight * max_points)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .types import Hit


@dataclass(frozen=True, slots=True)
class SheetItem:
    code: str
    name: str
    max_points: float
    weight: float = 1.0
    rules: tuple[str, ...] = ()
    deduction_per_hit: float = 0.0
    deductions: Mapping[str, float] = field(default_factory=dict)
    veto: bool = False
    manual: bool = False

    def links(self, rule: str) -> str | None:
        """The linked code covering hit code ``rule`` (most specific), or None."""
        best: str | None = None
        for code in self.rules:
            if (rule == code or rule.startswith(code + ".")) and (best is None or len(code) > len(best)):
                best = code
        return best

    def deduction(self, rule: str, linked: str) -> float:
        parts = rule.split(".")
        for n in range(len(parts), 0, -1):  # most specific configured deduction wins
            key = ".".join(parts[:n])
            if key in self.deductions:
                return float(self.deductions[key])
            if key == linked:
                break
        return self.deduction_per_hit


@dataclass(frozen=True, slots=True)
class ScoringSheet:
    code: str
    name: str
    items: tuple[SheetItem, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScoringSheet:
        """Build from the JSON shape of ``kefu/quality/data/default_sheet.json``."""
        items: list[SheetItem] = []
        seen: set[str] = set()
        for raw in config["items"]:
            code = str(raw["code"])
            if code in seen:
                raise ValueError(f"duplicate sheet item code {code!r}")
            seen.add(code)
            max_points = float(raw["max_points"])
            weight = float(raw.get("weight", 1.0))
            if max_points < 0 or weight < 0:
                raise ValueError(f"sheet item {code!r}: max_points and weight must not be negative")
            items.append(
                SheetItem(
                    code=code,
                    name=str(raw.get("name", code)),
                    max_points=max_points,
                    weight=weight,
                    rules=tuple(str(r) for r in raw.get("rules", ())),
                    deduction_per_hit=float(raw.get("deduction_per_hit", 0.0)),
                    deductions={str(k): float(v) for k, v in dict(raw.get("deductions", {})).items()},
                    veto=bool(raw.get("veto", False)),
                    manual=bool(raw.get("manual", False)),
                )
            )
        return cls(code=str(config.get("code", "sheet")), name=str(config.get("name", "")), items=tuple(items))


@dataclass(frozen=True, slots=True)
class ItemScore:
    code: str
    name: str
    max_points: float
    points: float | None  # None while a manual item is pending
    hits: int
    vetoed: bool = False


@dataclass(frozen=True, slots=True)
class SheetScore:
    total: float
    veto: bool
    items: tuple[ItemScore, ...]
    veto_items: tuple[str, ...] = ()
    pending_items: tuple[str, ...] = ()


def score_sheet(
    sheet: ScoringSheet, hits: Sequence[Hit], manual_points: Mapping[str, float] | None = None
) -> SheetScore:
    """Q4: apply ``sheet`` to ``hits`` (and supervisor ``manual_points`` per item code).

    Returns the total (0-100, two decimals; 0 when a veto fired), each item's points and
    hit count, the veto items that fired and the manual items still pending. Raises
    ``ValueError`` for manual points outside ``0..max_points`` or for an unknown item.
    """
    manual = dict(manual_points or {})
    known = {item.code for item in sheet.items}
    for code in manual:
        if code not in known:
            raise ValueError(f"unknown sheet item {code!r}")
    results: list[ItemScore] = []
    veto_items: list[str] = []
    pending: list[str] = []
    earned = possible = 0.0
    rules = [hit.rule for hit in hits]
    for item in sheet.items:
        count = 0
        deducted = 0.0
        if item.rules:
            memo: dict[str, float | None] = {}
            for rule in rules:
                if rule not in memo:
                    linked = item.links(rule)
                    memo[rule] = None if linked is None else item.deduction(rule, linked)
                cost = memo[rule]
                if cost is not None:
                    count += 1
                    deducted += cost
        points: float | None
        if item.manual and item.code not in manual:
            points = None
        elif item.code in manual:
            given = float(manual[item.code])
            if not 0.0 <= given <= item.max_points:
                raise ValueError(f"points for {item.code!r} must be between 0 and {item.max_points:g}")
            points = max(0.0, given - deducted)
        else:
            points = max(0.0, item.max_points - deducted)
        vetoed = item.veto and count > 0
        if vetoed:
            points = 0.0
            veto_items.append(item.code)
        if points is None:
            pending.append(item.code)
        else:
            earned += item.weight * points
            possible += item.weight * item.max_points
        results.append(
            ItemScore(
                item.code, item.name, item.max_points, None if points is None else round(points, 2), count, vetoed
            )
        )
    total = 100.0 if possible == 0 else round(100.0 * earned / possible, 2)
    if veto_items:
        total = 0.0
    return SheetScore(
        total=total,
        veto=bool(veto_items),
        items=tuple(results),
        veto_items=tuple(veto_items),
        pending_items=tuple(pending),
    )
