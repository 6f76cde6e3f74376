"""Phrase rules: forbidden phrases (Q2), opening/closing with the agent id (Q1), courtesy
phrases (Q3) and customer distress (keywords + sentiment model)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..normalize import CN_DIGITS, fold_chars, normalize
from ..types import Hit, Severity
from .base import AGENT_ONLY, CUSTOMER_ONLY, Analysis, PhraseClass, Rule, applies


@dataclass
class ForbiddenPhraseRule(Rule):
    """Q2: one group of 服务禁忌用语 (seed 003 §4.2 (3)) said by the agent.

    Matching ignores spacing, punctuation, full-width forms and traditional characters;
    ``clause_only`` phrases (什么, 为什么...) hit only as a whole clause. Hit code:
    ``forbidden.<group>``; offsets point at the phrase in the original text.
    """

    code = "forbidden"
    live = True
    group: str = ""
    group_name: str = ""
    phrases: tuple[str, ...] = ()
    clause_only: tuple[str, ...] = ()
    severity: Severity = "major"

    def hit_code(self) -> str:
        return f"forbidden.{self.group}"

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return (PhraseClass(self.hit_code(), self.phrases, AGENT_ONLY, "hit", self.clause_only),)

    def make_hit(self, index: int | None, start: int, end: int, phrase: str, evidence: str) -> Hit:
        return Hit(
            self.hit_code(),
            self.severity,
            index,
            start,
            end,
            f"Forbidden phrase ({self.group_name}): {phrase}",
            evidence,
        )

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        return [
            self.make_hit(s.utterance_index, s.start, s.end, s.phrase, s.evidence)
            for s in analysis.spans(self.hit_code())
        ]


# Agent id as spoken: "工号1234", "工号是 1234", "1234号(客服)", "幺二三四号".
_ID = r"[0-9a-z]{1,12}"
_ID_RE = re.compile(rf"工号\s*(?:是|为|:|：)?\s*({_ID})(?![0-9a-z])|(?<![0-9a-z])({_ID})\s*号(?!码)")


def find_agent_ids(text: str) -> list[tuple[int, int, str]]:
    """Agent ids stated in ``text``: ``(start, end, id)`` with original offsets.

    Full-width digits, traditional 工號 and spoken Chinese digits (一二三, 幺) are accepted;
    the folded text has the same length as ``text``, so offsets carry over unchanged.
    """
    folded = fold_chars(text).translate(CN_DIGITS)
    out: list[tuple[int, int, str]] = []
    for m in _ID_RE.finditer(folded):
        group = 1 if m.group(1) is not None else 2
        out.append((m.start(group), m.end(group), m.group(group)))
    return out


def same_agent_id(said: str, agent_id: str) -> bool:
    """Compare ids ignoring case, full-width forms and leading zeros of numeric ids."""
    a = fold_chars(said).lower()
    b = fold_chars(agent_id.strip()).lower()
    if a.isdigit() and b.isdigit():
        return a.lstrip("0") == b.lstrip("0")
    return a == b


@dataclass
class _ScriptRule(Rule):
    """Shared logic of opening and closing: phrase class + the agent's OWN id."""

    phrases: tuple[str, ...] = ()
    window: int = 1
    require_agent_id: bool = True
    channels: tuple[str, ...] | None = ("call", "chat")
    severity: Severity = "major"
    _phrase_code: str = field(default="", init=False)

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return (PhraseClass(f"{self.code}.phrase", self.phrases, AGENT_ONLY, "flag"),)

    def _turns(self, analysis: Analysis) -> list[int]:
        raise NotImplementedError

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        t = analysis.transcript
        if not applies(t.channel, self.channels):
            return []
        turns = self._turns(analysis)
        code = self.code
        if not turns:
            return [Hit(f"{code}.no_agent_turn", self.severity, None, None, None, "The agent never spoke.", "")]
        hits: list[Hit] = []
        anchor = turns[0]
        if not analysis.any_has(turns, f"{code}.phrase"):
            hits.append(
                Hit(f"{code}.{self._phrase_code}", self.severity, anchor, None, None, self._missing_message(), "")
            )
        if self.require_agent_id:
            found = [(i, s, e, said) for i in turns for s, e, said in find_agent_ids(analysis.utterances[i].text)]
            if not found:
                hits.append(
                    Hit(
                        f"{code}.missing_agent_id",
                        self.severity,
                        anchor,
                        None,
                        None,
                        f"The agent did not state the agent id {t.agent_id}.",
                        "",
                    )
                )
            elif not any(same_agent_id(said, t.agent_id) for _, _, _, said in found):
                i, s, e, said = found[0]
                hits.append(
                    Hit(
                        f"{code}.wrong_agent_id",
                        self.severity,
                        i,
                        s,
                        e,
                        f"The agent stated id {said}, not their own id {t.agent_id}.",
                        analysis.utterances[i].text[s:e],
                    )
                )
        return hits

    def _missing_message(self) -> str:
        raise NotImplementedError


@dataclass
class OpeningRule(_ScriptRule):
    """Q1: the first agent turn(s) greet (您好) and state the agent's own id (报工号),
    as in "您好，短信通，*号客服为您服务" (seed 003 §4.2 (1)). Codes:
    ``opening.missing_greeting``, ``opening.missing_agent_id``, ``opening.wrong_agent_id``."""

    code = "opening"

    def __post_init__(self) -> None:
        self._phrase_code = "missing_greeting"

    def _turns(self, analysis: Analysis) -> list[int]:
        return analysis.agent_indices[: self.window]

    def _missing_message(self) -> str:
        return "The opening has no greeting."


@dataclass
class ClosingRule(_ScriptRule):
    """Q1: the last agent turn(s) close (感谢来电/再见) and state the agent id again
    ("结束语必须报工号", seed 003 §4.2 (1)). Codes: ``closing.missing_phrase``,
    ``closing.missing_agent_id``, ``closing.wrong_agent_id``."""

    code = "closing"
    severity: Severity = "minor"

    def __post_init__(self) -> None:
        self._phrase_code = "missing_phrase"

    def _turns(self, analysis: Analysis) -> list[int]:
        return analysis.agent_indices[-self.window :] if self.window > 0 else []

    def _missing_message(self) -> str:
        return "The closing has no closing phrase."


@dataclass(frozen=True)
class CourtesyGroup:
    code: str
    name: str
    phrases: tuple[str, ...]
    when: str = "always"  # "always" | "customer_distress"


@dataclass
class CourtesyRule(Rule):
    """Q3: required courtesy phrases (您好、请、谢谢、很抱歉、再见) said by the agent.

    ``always`` groups must appear somewhere in the agent's turns; ``customer_distress``
    groups (the apology) must appear in an agent turn after the first distressed customer
    turn. 请稍等 is enforced where it matters, before a hold, by the hold rule.
    Codes: ``courtesy.<group>``; the hit has no position (it is an omission).
    """

    code = "courtesy"
    groups: tuple[CourtesyGroup, ...] = ()
    channels: tuple[str, ...] | None = ("call", "chat")
    severity: Severity = "minor"

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return tuple(PhraseClass(f"courtesy.{g.code}", g.phrases, AGENT_ONLY, "flag") for g in self.groups)

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        if not applies(analysis.transcript.channel, self.channels) or not analysis.agent_indices:
            return []
        hits: list[Hit] = []
        agents = analysis.agent_indices
        for g in self.groups:
            if g.when == "customer_distress":
                distressed = analysis.distressed()
                if not distressed:
                    continue
                after = [i for i in agents if i > distressed[0]]
                if analysis.any_has(after, f"courtesy.{g.code}"):
                    continue
                hits.append(
                    Hit(
                        f"courtesy.{g.code}",
                        self.severity,
                        distressed[0],
                        None,
                        None,
                        f"No courtesy phrase {g.name} after the customer was upset.",
                        "",
                    )
                )
            elif not analysis.any_has(agents, f"courtesy.{g.code}"):
                hits.append(
                    Hit(
                        f"courtesy.{g.code}",
                        self.severity,
                        None,
                        None,
                        None,
                        f"The agent never said the courtesy phrase {g.name}.",
                        "",
                    )
                )
        return hits


@dataclass
class CustomerDistressRule(Rule):
    """Flags an angry or distressed customer: a lexicon keyword (投诉, 工信部, 12300...) or
    the sentiment model's probability at or above ``threshold``. Only customer turns are
    looked at. Codes: ``customer_distress.keyword`` (with offsets) and
    ``customer_distress.sentiment`` (whole turn). Severity ``info``: a flag for review and
    for the apology check, not a fault of the agent."""

    code = "customer_distress"
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    threshold: float = 0.5
    use_sentiment: bool = True
    min_chars: int = 4  # shorter turns ("什么？", "好的") carry too little signal for the model
    severity: Severity = "info"

    def phrase_classes(self) -> Sequence[PhraseClass]:
        return tuple(
            PhraseClass(f"customer_distress.kw.{g}", tuple(ps), CUSTOMER_ONLY, "hit") for g, ps in self.keywords.items()
        )

    def distressed_indices(self, analysis: Analysis) -> list[int]:
        found = {s.utterance_index for g in self.keywords for s in analysis.spans(f"customer_distress.kw.{g}")}
        if self.use_sentiment:
            for i in analysis.customer_indices:
                if self._upset(analysis, i):
                    found.add(i)
        return sorted(found)

    def _upset(self, analysis: Analysis, index: int) -> float | None:
        """The model's probability when it flags customer turn ``index``, else None."""
        bias = analysis.sentiment_bias
        if bias is None:
            return None
        # compare log-odds first: most turns are far below the threshold
        if bias + analysis.weights[index] < self._threshold_logit:
            return None
        p = analysis.sentiment(index)
        if p is None or p < self.threshold or len(normalize(analysis.utterances[index].text)) < self.min_chars:
            return None
        return p

    @property
    def _threshold_logit(self) -> float:
        t = min(max(self.threshold, 1e-9), 1 - 1e-9)
        return math.log(t / (1 - t)) - 1e-9

    def evaluate(self, analysis: Analysis) -> list[Hit]:
        hits: list[Hit] = []
        with_keyword: set[int] = set()
        for g in self.keywords:
            for s in analysis.spans(f"customer_distress.kw.{g}"):
                with_keyword.add(s.utterance_index)
                hits.append(
                    Hit(
                        "customer_distress.keyword",
                        self.severity,
                        s.utterance_index,
                        s.start,
                        s.end,
                        f"Customer distress keyword ({g}): {s.phrase}",
                        s.evidence,
                    )
                )
        if self.use_sentiment:
            for i in analysis.customer_indices:
                if i in with_keyword:
                    continue
                p = self._upset(analysis, i)
                if p is not None:
                    hits.append(
                        Hit(
                            "customer_distress.sentiment",
                            self.severity,
                            i,
                            None,
                            None,
                            f"Customer sounds upset (p={p:.2f}).",
                            f"{p:.2f}",
                        )
                    )
        hits.sort(key=lambda h: (h.utterance_index or 0, h.start or 0))
        return hits
