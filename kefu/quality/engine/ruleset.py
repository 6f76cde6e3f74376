"""Rule sets, automatic inspection and the live reply check (Q1-Q4).

A :class:`RuleSet` compiles all phrase classes of its rules into one Aho-Corasick
automaton per speaker side, once; ``inspect`` then normalises and scans each utterance
once and lets every rule read the shared :class:`~.rules.base.Analysis`. Its ``version``
is a hash of the fully inlined config (every phrase, parameter, training example and the
scoring sheet) plus :data:`ENGINE_VERSION`, so the Django layer can record exactly which
rules judged a contact, and the same config always gives the same version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .data import load_data, resolve
from .matcher import Matcher, MatcherBuilder
from .normalize import DROP_RE, _tables
from .rules import CustomerDistressRule, ForbiddenPhraseRule, Rule, build_rules
from .rules.base import Analysis, spans_of_text
from .scoring import ScoringSheet, SheetScore, score_sheet
from .sentiment import SentimentModel, train
from .types import Hit, Transcript

# Bump when the engine's behaviour changes for the same config (it is part of the version).
ENGINE_VERSION = "1"

_SIDES = ("agent", "customer")


@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of :func:`inspect`: hits (ordered by utterance), the sheet score (0-100),
    whether a veto item fired, and which rule-set version judged."""

    hits: tuple[Hit, ...]
    score: float | None
    veto: bool
    sheet: SheetScore | None
    ruleset_version: str
    customer_distress: bool
    distressed_utterances: tuple[int, ...]


def _hit_order(hit: Hit) -> tuple[int, int, str]:
    return (
        -1 if hit.utterance_index is None else hit.utterance_index,
        -1 if hit.start is None else hit.start,
        hit.rule,
    )


class RuleSet:
    """Compiled rules + sentiment model + scoring sheet. Immutable and thread-safe."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        sentiment: SentimentModel | None = None,
        sheet: ScoringSheet | None = None,
        name: str = "adhoc",
        version: str | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.sentiment = sentiment
        self.sheet = sheet
        self.name = name
        builders = {side: MatcherBuilder() for side in _SIDES}
        bits: dict[str, int] = {}
        seen: set[str] = set()
        self._live: dict[str, ForbiddenPhraseRule] = {}
        for rule in self.rules:
            for pc in rule.phrase_classes():
                if pc.name in seen:
                    raise ValueError(f"phrase class {pc.name!r} is defined twice")
                seen.add(pc.name)
                if pc.mode == "flag":
                    bits[pc.name] = 1 << len(bits)
                for side in pc.speakers:
                    builder = builders[side]
                    for phrase in pc.phrases:
                        if pc.mode == "flag":
                            builder.add_flag(phrase, bits[pc.name])
                        else:
                            builder.add_hit(phrase, pc.name, clause_only=phrase in pc.clause_only)
                if rule.live and isinstance(rule, ForbiddenPhraseRule):
                    self._live[pc.name] = rule
        self._distress = next((r for r in self.rules if isinstance(r, CustomerDistressRule)), None)
        if sentiment is not None:
            for key, weight in sentiment.weights.items():
                builders["customer"].add_weight(key, weight)
        self.bits = bits
        self.matchers: dict[str, Matcher] = {side: b.build() for side, b in builders.items()}
        if version is None:
            digest = hashlib.sha256(repr((ENGINE_VERSION, self.rules, sentiment, sheet)).encode()).hexdigest()
            version = f"{name}@{digest[:16]}"
        self.version = version

    # -- construction from data -------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RuleSet:
        """Build from a config dict (the shape of ``data/default_ruleset.json``).

        ``{"$data": "file#path"}`` references are inlined first; the version is the hash
        of the inlined config, so it is stable for the same config and changes with any
        phrase, parameter, training example or sheet item.
        """
        resolved = resolve(dict(config))
        canonical = json.dumps(resolved, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{ENGINE_VERSION}\n{canonical}".encode()).hexdigest()
        name = str(resolved.get("name", "ruleset"))
        rules = build_rules(list(resolved.get("rules", [])))
        sentiment = None
        scfg = resolved.get("sentiment")
        if scfg and any(isinstance(r, CustomerDistressRule) and r.use_sentiment for r in rules):
            sentiment = _train_cached(json.dumps(scfg, ensure_ascii=False, sort_keys=True))
        sheet = ScoringSheet.from_config(resolved["sheet"]) if resolved.get("sheet") else None
        return cls(rules, sentiment=sentiment, sheet=sheet, name=name, version=f"{name}@{digest[:16]}")

    # -- inspection ---------------------------------------------------------------------

    def analyse(self, transcript: Transcript) -> Analysis:
        """Normalise and scan every agent and customer utterance once (bot turns skipped)."""
        utts = transcript.utterances
        n = len(utts)
        flags = [0] * n
        weights = [0.0] * n
        raw: dict[int, list[tuple[int, tuple[object, ...]]]] = {}
        table, needs = _tables()
        search = needs.search
        drop = DROP_RE.sub
        agent_scan = self.matchers["agent"].scan
        customer_scan = self.matchers["customer"].scan
        for i, u in enumerate(utts):
            speaker = u.speaker
            if speaker == "agent":
                scan = agent_scan
            elif speaker == "customer":
                scan = customer_scan
            else:
                continue
            text = u.text
            if search(text) is not None:
                text = text.translate(table)
            mask, weight, found = scan(drop("", text))
            flags[i] = mask
            weights[i] = weight
            if found is not None:
                raw[i] = found
        analysis = Analysis(
            transcript,
            bits=self.bits,
            flags=flags,
            weights=weights,
            raw=raw,
            matchers=self.matchers,
            sentiment_bias=self.sentiment.bias if self.sentiment is not None else None,
        )
        distress = self._distress
        if distress is not None:
            cache: list[list[int]] = []

            def distressed() -> list[int]:
                if not cache:
                    cache.append(distress.distressed_indices(analysis))
                return cache[0]

            analysis.distressed = distressed
        return analysis

    def run_rules(self, transcript: Transcript) -> list[Hit]:
        """All hits of all rules, ordered by utterance and offset (contact-level first)."""
        analysis = self.analyse(transcript)
        hits = [hit for rule in self.rules for hit in rule.evaluate(analysis)]
        hits.sort(key=_hit_order)
        return hits

    def inspect(self, transcript: Transcript, manual_points: Mapping[str, float] | None = None) -> Result:
        analysis = self.analyse(transcript)
        hits = [hit for rule in self.rules for hit in rule.evaluate(analysis)]
        hits.sort(key=_hit_order)
        sheet = score_sheet(self.sheet, hits, manual_points) if self.sheet is not None else None
        distressed = tuple(analysis.distressed())
        return Result(
            hits=tuple(hits),
            score=sheet.total if sheet is not None else None,
            veto=sheet.veto if sheet is not None else False,
            sheet=sheet,
            ruleset_version=self.version,
            customer_distress=bool(distressed),
            distressed_utterances=distressed,
        )

    def check_reply(self, text: str) -> list[Hit]:
        """Forbidden phrases in a reply being typed; offsets refer to ``text``."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        matcher = self.matchers["agent"]
        table, needs = _tables()
        norm = text.translate(table) if needs.search(text) is not None else text
        _, _, raw = matcher.scan(DROP_RE.sub("", norm))
        if raw is None:
            return []
        hits: list[Hit] = []
        for start, end, tag in spans_of_text(text, matcher, raw):
            rule = self._live.get(tag.cls)
            if rule is not None:
                hits.append(rule.make_hit(None, start, end, tag.phrase, text[start:end]))
        return hits


@lru_cache(maxsize=8)
def _train_cached(config_json: str) -> SentimentModel:
    cfg = json.loads(config_json)
    model = cfg.get("model", "naive_bayes_char_ngram")
    if model != "naive_bayes_char_ngram":
        raise ValueError(f"unknown sentiment model {model!r}")
    return train(
        cfg["examples"],
        sizes=tuple(int(n) for n in cfg.get("sizes", (2,))),
        alpha=float(cfg.get("alpha", 0.5)),
        min_count=int(cfg.get("min_count", 2)),
        min_abs_weight=float(cfg.get("min_abs_weight", 0.5)),
    )


def default_config() -> dict[str, Any]:
    """The default config from ``data/default_ruleset.json`` with references inlined."""
    return resolve(load_data("default_ruleset.json"))  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """The default rule set (cached: building it trains the sentiment model)."""
    return RuleSet.from_config(default_config())


def inspect(
    transcript: Transcript, ruleset: RuleSet | None = None, manual_points: Mapping[str, float] | None = None
) -> Result:
    """Inspect one transcript with ``ruleset`` (default rule set when None)."""
    return (ruleset or default_ruleset()).inspect(transcript, manual_points)


def check_reply(text: str, ruleset: RuleSet | None = None) -> list[Hit]:
    """Live check while an agent types: forbidden phrases only, fast."""
    return (ruleset or default_ruleset()).check_reply(text)
