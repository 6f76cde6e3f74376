"""Rule protocol and the per-transcript :class:`Analysis` every rule reads (Q1-Q3).

A rule declares the phrase classes it needs (:class:`PhraseClass`); the rule set puts all
of them in one automaton per speaker side. For each transcript the engine normalises
every utterance once and scans it once, producing an :class:`Analysis`; each rule then
only reads bits (``has``), positional hits (``spans``) or sentiment scores from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from ..matcher import HitTag, Matcher
from ..normalize import is_clause, is_digit_bounded, kept_indices, to_original
from ..sentiment import sigmoid
from ..types import Hit, Severity, Transcript, Utterance

if TYPE_CHECKING:
    from ..ruleset import RuleSet


AGENT_ONLY: frozenset[str] = frozenset({"agent"})
CUSTOMER_ONLY: frozenset[str] = frozenset({"customer"})


@dataclass(frozen=True, slots=True)
class PhraseClass:
    """A named list of phrases a rule looks for.

    ``mode="flag"``: only "said in this turn" matters (one bit per class).
    ``mode="hit"``: every occurrence is reported with its offsets.
    """

    name: str
    phrases: tuple[str, ...]
    speakers: frozenset[str]
    mode: Literal["flag", "hit"]
    clause_only: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PhraseSpan:
    """One occurrence of a ``hit`` phrase, in ORIGINAL text offsets."""

    utterance_index: int
    start: int
    end: int
    phrase: str
    evidence: str


class Analysis:
    """Everything the rules need about one transcript, computed once."""

    def __init__(
        self,
        transcript: Transcript,
        *,
        bits: Mapping[str, int],
        flags: list[int],
        weights: list[float],
        raw: dict[int, list[tuple[int, tuple[object, ...]]]],
        matchers: Mapping[str, Matcher],
        sentiment_bias: float | None,
    ) -> None:
        self.transcript = transcript
        self.utterances: list[Utterance] = transcript.utterances
        self.bits = bits
        self.flags = flags
        self.weights = weights
        self._raw = raw
        self._matchers = matchers
        self.sentiment_bias = sentiment_bias
        self._spans: dict[str, list[PhraseSpan]] | None = None
        self.agent_indices = [i for i, u in enumerate(self.utterances) if u.speaker == "agent"]
        self.customer_indices = [i for i, u in enumerate(self.utterances) if u.speaker == "customer"]
        self.distressed: Callable[[], list[int]] = lambda: []

    def has(self, index: int, cls: str) -> bool:
        """Was a phrase of flag class ``cls`` said in utterance ``index``?"""
        bit = self.bits.get(cls, 0)
        return bool(bit) and bool(self.flags[index] & bit)

    def any_has(self, indices: Sequence[int], cls: str) -> bool:
        bit = self.bits.get(cls, 0)
        if not bit:
            return False
        flags = self.flags
        return any(flags[i] & bit for i in indices)

    def sentiment(self, index: int) -> float | None:
        """Probability that customer utterance ``index`` is distressed (None: no model)."""
        if self.sentiment_bias is None or self.utterances[index].speaker != "customer":
            return None
        return sigmoid(self.sentiment_bias + self.weights[index])

    def spans(self, cls: str) -> list[PhraseSpan]:
        """Occurrences of hit class ``cls`` (original offsets, clause and digit checks done,
        occurrences contained in a longer occurrence of the same class dropped)."""
        if self._spans is None:
            self._spans = self._resolve()
        return self._spans.get(cls, [])

    def _resolve(self) -> dict[str, list[PhraseSpan]]:
        out: dict[str, list[PhraseSpan]] = {}
        for index, raw in self._raw.items():
            utt = self.utterances[index]
            matcher = self._matchers[utt.speaker]
            text = utt.text
            kept = kept_indices(text)
            last_end: dict[str, int] = {}
            for start, end, tag in matcher.spans(raw):
                s, e = to_original(kept, start, end)
                if tag.clause_only and not is_clause(text, s, e):
                    continue
                if tag.digit_bounded and not is_digit_bounded(text, s, e):
                    continue
                if last_end.get(tag.cls, -1) >= e:  # inside a longer hit of the same class
                    continue
                last_end[tag.cls] = e
                out.setdefault(tag.cls, []).append(PhraseSpan(index, s, e, tag.phrase, text[s:e]))
        return out


def spans_of_text(
    text: str, matcher: Matcher, raw: list[tuple[int, tuple[object, ...]]]
) -> list[tuple[int, int, HitTag]]:
    """Original-offset spans of one free text (live reply check)."""
    kept = kept_indices(text)
    out: list[tuple[int, int, HitTag]] = []
    last_end: dict[str, int] = {}
    for start, end, tag in matcher.spans(raw):
        s, e = to_original(kept, start, end)
        if tag.clause_only and not is_clause(text, s, e):
            continue
        if tag.digit_bounded and not is_digit_bounded(text, s, e):
            continue
        if last_end.get(tag.cls, -1) >= e:
            continue
        last_end[tag.cls] = e
        out.append((s, e, tag))
    return out


@dataclass
class Rule(ABC):
    """One inspection rule: a stable ``code``, its params, and ``evaluate(analysis)``.

    ``check(transcript)`` runs the rule alone (building a one-rule rule set once).
    """

    code: ClassVar[str]
    live: ClassVar[bool] = False  # used by check_reply (typing-time warnings)
    severity: Severity = "minor"
    _solo: RuleSet | None = field(default=None, init=False, repr=False, compare=False)

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return ()

    def hit_code(self) -> str:
        """Code of the hits this rule reports for its ``hit`` phrase classes."""
        return self.code

    @abstractmethod
    def evaluate(self, analysis: Analysis) -> list[Hit]: ...

    def check(self, transcript: Transcript) -> list[Hit]:
        """Run this rule alone on ``transcript``."""
        if self._solo is None:
            from ..ruleset import RuleSet

            self._solo = RuleSet([self])
        return self._solo.run_rules(transcript)


def applies(channel: str, channels: Sequence[str] | None) -> bool:
    return channels is None or channel in channels
