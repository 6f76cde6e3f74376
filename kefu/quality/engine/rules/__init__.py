"""Inspection rules and the factory that builds them from config (see ``ruleset``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..types import SEVERITIES, Severity
from .base import Analysis, PhraseClass, PhraseSpan, Rule
from .phrases import (
    ClosingRule,
    CourtesyGroup,
    CourtesyRule,
    CustomerDistressRule,
    ForbiddenPhraseRule,
    OpeningRule,
    find_agent_ids,
)
from .timing import HoldRule, ResponseTimeRule, RingTimeRule, TalkOverRule

__all__ = [
    "Analysis",
    "PhraseClass",
    "PhraseSpan",
    "Rule",
    "ClosingRule",
    "CourtesyGroup",
    "CourtesyRule",
    "CustomerDistressRule",
    "ForbiddenPhraseRule",
    "OpeningRule",
    "HoldRule",
    "ResponseTimeRule",
    "RingTimeRule",
    "TalkOverRule",
    "build_rules",
    "find_agent_ids",
]


def _severity(cfg: Mapping[str, Any], default: Severity) -> Severity:
    value = cfg.get("severity", default)
    if value not in SEVERITIES:
        raise ValueError(f"unknown severity {value!r}")
    return value  # type: ignore[no-any-return]  # checked against SEVERITIES


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings")
    return tuple(value)


def _channels(cfg: Mapping[str, Any], default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    value = cfg.get("channels", default)
    return None if value is None else tuple(value)


def _forbidden(cfg: Mapping[str, Any]) -> list[Rule]:
    rules: list[Rule] = []
    for g in cfg["groups"]:
        phrases: list[str] = []
        for item in g.get("items", ()):
            phrases.extend(_strings(item["phrases"], f"forbidden group {g['code']} phrases"))
        phrases.extend(_strings(g.get("variants", []), f"forbidden group {g['code']} variants"))
        rules.append(
            ForbiddenPhraseRule(
                group=str(g["code"]),
                group_name=str(g.get("name", g["code"])),
                phrases=tuple(dict.fromkeys(phrases)),
                clause_only=tuple(sorted(set(g.get("clause_only", ())))),
                severity=_severity(g, "major"),
            )
        )
    return rules


def _opening(cfg: Mapping[str, Any]) -> list[Rule]:
    return [
        OpeningRule(
            phrases=_strings(cfg["phrases"], "opening phrases"),
            window=int(cfg.get("window", 1)),
            require_agent_id=bool(cfg.get("require_agent_id", True)),
            channels=_channels(cfg, ("call", "chat")),
            severity=_severity(cfg, "major"),
        )
    ]


def _closing(cfg: Mapping[str, Any]) -> list[Rule]:
    return [
        ClosingRule(
            phrases=_strings(cfg["phrases"], "closing phrases"),
            window=int(cfg.get("window", 1)),
            require_agent_id=bool(cfg.get("require_agent_id", True)),
            channels=_channels(cfg, ("call", "chat")),
            severity=_severity(cfg, "minor"),
        )
    ]


def _courtesy(cfg: Mapping[str, Any]) -> list[Rule]:
    groups = []
    for g in cfg["groups"]:
        when = g.get("when", "always")
        if when not in ("always", "customer_distress"):
            raise ValueError(f"courtesy group {g['code']}: unknown when {when!r}")
        groups.append(
            CourtesyGroup(
                str(g["code"]), str(g.get("name", g["code"])), _strings(g["phrases"], "courtesy phrases"), when
            )
        )
    return [
        CourtesyRule(groups=tuple(groups), channels=_channels(cfg, ("call", "chat")), severity=_severity(cfg, "minor"))
    ]


def _hold(cfg: Mapping[str, Any]) -> list[Rule]:
    gaps = {
        str(k): (None if v is None else float(v))
        for k, v in dict(cfg.get("min_gap_seconds", {"call": 10, "chat": 120})).items()
    }
    return [
        HoldRule(
            wait_phrases=_strings(cfg["wait"], "hold wait phrases"),
            thanks_phrases=_strings(cfg["thanks"], "hold thanks phrases"),
            customer_wait_phrases=_strings(cfg.get("customer_wait", []), "customer wait phrases"),
            min_gap_seconds=gaps,
            severity=_severity(cfg, "minor"),
        )
    ]


def _ring(cfg: Mapping[str, Any]) -> list[Rule]:
    return [
        RingTimeRule(
            max_seconds=float(cfg.get("max_seconds", 15)),
            channels=_channels(cfg, ("call",)),
            severity=_severity(cfg, "minor"),
        )
    ]


def _response(cfg: Mapping[str, Any]) -> list[Rule]:
    return [
        ResponseTimeRule(
            first_seconds=float(cfg.get("first_seconds", 30)),
            reply_seconds=float(cfg.get("reply_seconds", 60)),
            channels=_channels(cfg, ("chat",)),
            severity=_severity(cfg, "minor"),
        )
    ]


def _talk_over(cfg: Mapping[str, Any]) -> list[Rule]:
    return [
        TalkOverRule(
            min_overlap_ms=int(cfg.get("min_overlap_ms", 1000)),
            channels=_channels(cfg, ("call",)),
            severity=_severity(cfg, "minor"),
        )
    ]


def _distress(cfg: Mapping[str, Any]) -> list[Rule]:
    keywords = {str(g): _strings(ps, "distress keywords") for g, ps in dict(cfg.get("keywords", {})).items()}
    return [
        CustomerDistressRule(
            keywords=keywords,
            threshold=float(cfg.get("threshold", 0.5)),
            use_sentiment=bool(cfg.get("use_sentiment", True)),
            min_chars=int(cfg.get("min_chars", 4)),
            severity=_severity(cfg, "info"),
        )
    ]


FACTORIES: dict[str, Callable[[Mapping[str, Any]], list[Rule]]] = {
    "forbidden_phrases": _forbidden,
    "opening": _opening,
    "closing": _closing,
    "courtesy": _courtesy,
    "hold": _hold,
    "ring_time": _ring,
    "response_time": _response,
    "talk_over": _talk_over,
    "customer_distress": _distress,
}


def build_rules(configs: list[Mapping[str, Any]]) -> list[Rule]:
    """Build rule objects from resolved rule configs (``{"type": ..., params}``)."""
    rules: list[Rule] = []
    for cfg in configs:
        kind = cfg.get("type")
        factory = FACTORIES.get(str(kind))
        if factory is None:
            raise ValueError(f"unknown rule type {kind!r}")
        rules.extend(factory(cfg))
    return rules
